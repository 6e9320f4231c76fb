/*
 * One VM, one process (docs/security.md, "The keeper"): the CLI forks,
 * the child becomes the VMM and jails its main thread once the VM runs;
 * the parent, its keeper, never touches the guest. It waits, passes on
 * the signals sent to it, and does what needs the host's files after the
 * VMM ended. The two live and die together: the child gets SIGKILL when
 * its keeper dies (the death signal survives the jail's id change, see
 * sm_process_jail()).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "util/error.h"
#include "util/fs.h"

/* signals that reach a foreground `run` and are the guest's to see */
static const int passed_on[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
static volatile pid_t vmm_pid;
static pid_t keeper_pid; /* in the child: the parent it was forked from */
static struct sigaction saved[sizeof(passed_on) / sizeof(passed_on[0])];

/* In the child: SIGKILL when the keeper dies, and it is still there. */
static bool tie_to_keeper(void)
{
	return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0 &&
	       getppid() == keeper_pid;
}

pid_t cli_vmm_fork(int *from_vmm, int *to_keeper, const int *keep, size_t nkeep)
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
		_exit(CLI_EXIT_FAILURE); /* the keeper is gone already */
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

int cli_vmm_enter_userns(bool verbose, struct sm_error *err)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int ret;

	if (uid == 0)
		return 0;
	if (unshare(CLONE_NEWUSER) < 0) {
		if (verbose) /* a host that allows none: as before */
			fprintf(stderr,
				"supermachine: no user namespace for "
				"the VMM (%s): it runs with no_new_privs "
				"only\n",
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

bool cli_vmm_keeper_alive(void)
{
	return !keeper_pid || getppid() == keeper_pid;
}

/*
 * A signal sent to the keeper (kill, timeout(1), a CI runner) is for the
 * container: the VMM passes it to the guest. One from the terminal
 * (si_code SI_KERNEL: ^C, a hang-up, a resize) reached the VMM too, as it
 * shares the foreground process group: passing it on would double it.
 */
static void pass_on(int sig, siginfo_t *si, void *ctx)
{
	int saved_errno = errno;

	(void)ctx;
	if (si->si_code != SI_KERNEL && vmm_pid > 0)
		kill(vmm_pid, sig);
	errno = saved_errno;
}

static void pass_signals(pid_t pid)
{
	struct sigaction sa = {.sa_sigaction = pass_on,
			       .sa_flags = SA_SIGINFO | SA_RESTART};

	vmm_pid = pid;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(passed_on) / sizeof(passed_on[0]); i++)
		sigaction(passed_on[i], &sa, &saved[i]);
}

/* Hands each line the VMM writes to line, until it closes the pipe. */
static void read_lines(int fd, void (*line)(void *, char *), void *opaque)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 ||
	       (n < 0 && errno == EINTR)) {
		char *start = buf, *nl;

		len += n > 0 ? (size_t)n : 0;
		buf[len] = '\0';
		while (
		    (nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
			*nl = '\0';
			if (line)
				line(opaque, start);
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == sizeof(buf) - 1)
			len = 0; /* a line that long is nobody's */
	}
}

int cli_vmm_wait(pid_t pid, int from_vmm, void (*line)(void *, char *),
		 void *opaque)
{
	int ws = 0;

	pass_signals(pid);
	read_lines(from_vmm, line, opaque);
	close(from_vmm);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < sizeof(passed_on) / sizeof(passed_on[0]); i++)
		sigaction(passed_on[i], &saved[i], NULL);
	vmm_pid = 0;
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}
