/*
 * One VM, one process (docs/security.md, "The keeper"): the library
 * forks, the child becomes the VMM and jails its main thread once the VM
 * runs; the parent, its keeper, never touches the guest. It waits, passes
 * on the signals its caller hands it, and does what needs the host's
 * files after the VMM ended. The two live and die together: the child gets
 * SIGKILL when its keeper dies (the death signal survives the jail's id change,
 * see sm_process_jail()).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/container.h"
#include "util/log.h"
#include "util/error.h"
#include "util/fs.h"

static pid_t keeper_pid; /* in the child: the parent it was forked from */

/* In the child: SIGKILL when the keeper dies, and it is still there. */
static bool tie_to_keeper(void)
{
	return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0 &&
	       getppid() == keeper_pid;
}

/*
 * The VMM's process is ours alone: keep what an idle VM holds of the
 * host's memory small (docs/benchmarks.md, "Density"). No transparent
 * huge pages: a thread's 8 MiB stack mapping, 2 MiB-aligned, took a whole
 * 2 MiB page for the few KiB its top uses (guest memory is a file or
 * memfd mapping, which this does not cover). One malloc arena for its
 * few threads instead of one each.
 */
static void lean_process(void)
{
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	mallopt(M_ARENA_MAX, 1);
}

void ctr_vmm_trim(void)
{
	malloc_trim(0);
}

pid_t ctr_vmm_fork(int *from_vmm, int *to_keeper, const int *keep, size_t nkeep)
{
	pid_t parent = getpid(), pid;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		*from_vmm = p[0];
		return pid;
	}
	close(p[0]);
	keeper_pid = parent;
	if (!tie_to_keeper())
		_exit(CTR_EXIT_FAILURE); /* the keeper is gone already */
	lean_process();
	if (keep) {
		int all[SM_KEEP_FDS_MAX];
		size_t n = 0;

		all[n++] = p[1];
		for (size_t i = 0; i < nkeep && n < SM_KEEP_FDS_MAX; i++)
			all[n++] = keep[i];
		sm_close_fds_except(3, all, n);
	}
	*to_keeper = p[1];
	return 0;
}

static int write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));
	int ret = n == (ssize_t)strlen(text) ? 0 : -errno;

	if (fd >= 0)
		close(fd);
	return ret;
}

int ctr_vmm_enter_userns(struct sm_error *err)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int ret;

	if (uid == 0)
		return 0;
	if (unshare(CLONE_NEWUSER) < 0) {
		/* a host that allows none: as before */
		sm_log(SM_LOG_INFO,
		       "no user namespace for the VMM (%s): it runs with "
		       "no_new_privs only",
		       strerror(errno));
		return 0;
	}
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	ret = write_proc("/proc/self/uid_map", map);
	if (!ret)
		ret = write_proc("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	if (!ret)
		ret = write_proc("/proc/self/gid_map", map);
	if (ret)
		return sm_err(err, ret,
			      "the VMM's user namespace: its id maps: %s",
			      strerror(-ret));
	/* the new credentials cleared the death signal */
	if (keeper_pid && !tie_to_keeper())
		return sm_err(err, -ESRCH, "the VM's keeper is gone");
	return 1;
}

bool ctr_vmm_keeper_alive(void)
{
	return !keeper_pid || getppid() == keeper_pid;
}

/* Splits what arrived on the VMM's pipe into lines for line(); false at
 * its end. */
struct lines {
	char buf[8192];
	size_t len;
};

static bool read_lines(struct lines *l, int fd, void (*line)(void *, char *),
		       void *opaque)
{
	ssize_t n = read(fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len);
	char *start = l->buf, *nl;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	l->len += (size_t)n;
	l->buf[l->len] = '\0';
	while ((nl = memchr(start, '\n', l->len - (size_t)(start - l->buf)))) {
		*nl = '\0';
		if (line)
			line(opaque, start);
		start = nl + 1;
	}
	l->len -= (size_t)(start - l->buf);
	memmove(l->buf, start, l->len);
	if (l->len == sizeof(l->buf) - 1)
		l->len = 0; /* a line that long is nobody's */
	return true;
}

/*
 * A signal sent to the keeper (kill, timeout(1), a CI runner) is for the
 * container: the VMM passes it to the guest. One from the terminal (^C, a
 * hang-up, a resize) reached the VMM too, as it shares the foreground
 * process group: passing it on would double it.
 */
static void pass_on(int sig_fd, pid_t pid)
{
	int sig;

	while (read(sig_fd, &sig, sizeof(sig)) == sizeof(sig))
		if (!(sig & SM_SIGNAL_FROM_TERMINAL))
			kill(pid, sig);
}

int ctr_vmm_wait(pid_t pid, int from_vmm, int sig_fd,
		 void (*line)(void *, char *), void *opaque)
{
	struct lines l = {.len = 0};
	bool open = true;
	int ws = 0;

	while (open) {
		struct pollfd p[2] = {{.fd = from_vmm, .events = POLLIN},
				      {.fd = sig_fd, .events = POLLIN}};

		if (poll(p, sig_fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (sig_fd >= 0 && p[1].revents)
			pass_on(sig_fd, pid);
		if (p[0].revents)
			open = read_lines(&l, from_vmm, line, opaque);
	}
	close(from_vmm);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}
