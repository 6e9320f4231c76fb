/*
 * src/sandbox: each role's filter lets its calls through and stops the
 * process on others with one line naming the role and the call, and
 * status 159. Each case runs in a forked child, in a thread started by
 * sm_thread_start() (the path the VMM's threads take).
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "test.h"

typedef void (*action_fn)(void);

static action_fn child_action;

static void *run_action(void *arg)
{
	(void)arg;
	child_action();
	return NULL;
}

/*
 * Runs action in a thread of role in a child; returns the child's wait
 * status and its stderr in out.
 */
static int in_role(enum sm_thread_role role, action_fn action, char *out,
		   size_t size)
{
	int p[2], status = -1;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		dup2(p[1], 2);
		child_action = action;
		if (sm_thread_start(&t, role, run_action, NULL))
			_exit(3);
		pthread_join(t, NULL);
		_exit(0); /* no leak check: it would clone and ptrace */
	}
	close(p[1]);
	while (got + 1 < size &&
	       (n = read(p[0], out + got, size - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return status;
}

static bool stopped_with(int status, const char *err, const char *line)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 159 &&
	       !strncmp(err, line, strlen(line));
}

/* ---- allowed ---- */

static void allowed_common(void)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec ts = {0, 1000};

	if (m == MAP_FAILED || munmap(m, 4096) || getpid() <= 0 ||
	    nanosleep(&ts, NULL) || write(2, "", 0) < 0)
		_exit(4);
	free(malloc(100000));
}

static void allowed_vcpu(void)
{
	allowed_common();
	/* an allowed request on a fd that is no vCPU: ENOTTY, not a stop */
	if (ioctl(0, KVM_RUN, 0) == 0 || ioctl(0, KVM_IRQ_LINE, NULL) == 0)
		_exit(5);
}

static void allowed_slirp(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int rd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);

	allowed_common();
	if (fd < 0)
		_exit(6);
	close(fd);
	if (rd >= 0)
		close(rd);
}

TEST(roles_allow_their_calls)
{
	char err[512];

	for (int r = 0; r < SM_ROLE_COUNT; r++) {
		int st = in_role(r,
				 r == SM_ROLE_VCPU    ? allowed_vcpu
				 : r == SM_ROLE_SLIRP ? allowed_slirp
						      : allowed_common,
				 err, sizeof(err));

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || err[0]) {
			fprintf(stderr, "role %s: status 0x%x: %s\n",
				sm_role_name(r), st, err);
			CHECK(0);
		}
	}
}

/* ---- forbidden ---- */

static void open_shadow(void)
{
	open("/etc/shadow", O_RDONLY);
}
static void do_execve(void)
{
	char *argv[] = {"true", NULL};

	execve("/bin/true", argv, NULL);
}
static void inet_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}
static void unix_socket(void)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
}
static void do_ptrace(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}
static void do_mount(void)
{
	mount("none", "/mnt", "tmpfs", 0, NULL);
}
static void tty_ioctl(void)
{
	ioctl(0, TIOCGWINSZ, NULL);
}
static void exec_mmap(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	     0);
}
static void disarm_sigsys(void)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};

	sigaction(SIGSYS, &sa, NULL);
}
static void do_fork(void)
{
	syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
}
static void open_write(void)
{
	open("/tmp/sm-sandbox-test", O_WRONLY | O_CREAT, 0600);
}

static void expect_stop(enum sm_thread_role role, action_fn action,
			const char *line)
{
	char err[512];
	int st = in_role(role, action, err, sizeof(err));

	if (!stopped_with(st, err, line)) {
		fprintf(stderr, "role %s: status 0x%x, stderr \"%s\"\n",
			sm_role_name(role), st, err);
		CHECK(0);
	}
}

#define LINE(role, call)                                               \
	"supermachine: seccomp: the " role " thread made a forbidden " \
	"system call " call

TEST(forbidden_calls_stop_with_a_line)
{
	expect_stop(SM_ROLE_TAP, open_shadow,
		    LINE("tap", "openat (257); stopping the VM\n"));
	expect_stop(SM_ROLE_VCPU, do_execve,
		    LINE("vcpu", "execve (59); stopping the VM\n"));
	expect_stop(SM_ROLE_VCPU, inet_socket,
		    LINE("vcpu", "socket (41); stopping the VM\n"));
	expect_stop(SM_ROLE_VCPU, do_ptrace,
		    LINE("vcpu", "ptrace (101); stopping the VM\n"));
	expect_stop(SM_ROLE_FUSE, do_mount,
		    LINE("fuse", "mount (165); stopping the VM\n"));
	expect_stop(SM_ROLE_VCPU, tty_ioctl,
		    LINE("vcpu", "ioctl (16) with arguments 0x0, 0x5413, 0x0; "
				 "stopping the VM\n"));
	expect_stop(SM_ROLE_VSOCK, tty_ioctl,
		    LINE("vsock", "ioctl (16) with arguments 0x0, 0x5413"));
	expect_stop(SM_ROLE_VCPU, exec_mmap,
		    LINE("vcpu", "mmap (9) with arguments 0x0, 0x1000, 0x5;"));
	expect_stop(SM_ROLE_SLIRP, unix_socket,
		    LINE("slirp", "socket (41) with arguments 0x1, 0x1, 0x0;"));
	expect_stop(SM_ROLE_SLIRP, open_write,
		    LINE("slirp", "openat (257) with arguments"));
	expect_stop(SM_ROLE_CONTROL, do_execve,
		    LINE("control", "execve (59); stopping the VM\n"));
	expect_stop(SM_ROLE_CONTROL, do_fork,
		    LINE("control", "clone (56) with arguments 0x11,"));
	expect_stop(SM_ROLE_CONTROL, disarm_sigsys,
		    LINE("control", "rt_sigaction (13) with arguments 0x1f,"));
}

/* Threads a control thread starts (vCPUs) inherit its filter: fine only
 * when control allows all they do. */
TEST(control_allows_what_every_role_allows)
{
	struct sm_error err = {0};
	int ret = sm_sandbox_check_subsets(&err);

	if (ret)
		fprintf(stderr, "%s\n", err.msg);
	CHECK_EQ(ret, 0);
}

static void *vcpu_in_control(void *arg)
{
	pthread_t t;

	(void)arg;
	child_action = allowed_vcpu;
	if (sm_thread_start(&t, SM_ROLE_VCPU, run_action, NULL))
		_exit(7);
	pthread_join(t, NULL);
	return NULL;
}

static void control_starts_vcpu(void)
{
	/* nothing to do: in_role's thread is control; start a vCPU in it */
	vcpu_in_control(NULL);
}

TEST(control_thread_starts_a_vcpu_thread)
{
	char err[512];
	int st =
	    in_role(SM_ROLE_CONTROL, control_starts_vcpu, err, sizeof(err));

	if (!WIFEXITED(st) || WEXITSTATUS(st) || err[0])
		fprintf(stderr, "status 0x%x: %s\n", st, err);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && !err[0]);
}

TEST(unconfined_policy_installs_nothing)
{
	char err[512];
	int st;

	sm_sandbox_set_thread_policy(false);
	st = in_role(SM_ROLE_VCPU, unix_socket, err, sizeof(err));
	sm_sandbox_set_thread_policy(true);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && !err[0]);
}

TEST(print_lists_every_role)
{
	for (int r = 0; r < SM_ROLE_COUNT; r++) {
		char *text = NULL, head[64];
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		CHECK(f && sm_sandbox_print(r, f) == 0);
		if (f)
			fclose(f);
		snprintf(head, sizeof(head), "# role %s:", sm_role_name(r));
		CHECK(text && !strncmp(text, head, strlen(head)));
		CHECK(text && strstr(text, "\nexit_group\n"));
		CHECK_EQ(sm_role_parse(sm_role_name(r)), r);
		free(text);
	}
	CHECK_EQ(sm_role_parse("nope"), -1);
}

/* The cost of building and loading one role's filter (each thread pays
 * it once at its start); printed for docs/security.md. */
static double enter_us(enum sm_thread_role r)
{
	struct timespec a, b;
	struct sm_error e = {0};

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (sm_sandbox_enter_role(r, &e))
		_exit(1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3;
}

static enum sm_thread_role timed_role;

static void *timed_enter(void *out)
{
	*(double *)out = enter_us(timed_role);
	return NULL;
}

/* Bound: 20 ms a filter even on a loaded CI machine (measured: well
 * under 1 ms); the child exits 2 past it. */
TEST(filter_cost_is_small)
{
	for (int r = 0; r < SM_ROLE_COUNT; r++) {
		int st = -1;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			/* the first one also sets up the process (once) */
			double first = -1, again = -1;
			pthread_t t;

			timed_role = r;
			if (pthread_create(&t, NULL, timed_enter, &first) ||
			    pthread_join(t, NULL) ||
			    pthread_create(&t, NULL, timed_enter, &again) ||
			    pthread_join(t, NULL))
				_exit(3);

			fprintf(stderr,
				"sandbox: role %s: first filter %.0f us "
				"(with the once-per-process setup), "
				"another %.0f us\n",
				sm_role_name(r), first, again);
			_exit(first > 20000 || again > 20000 ? 2 : 0);
		}
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

int main(void)
{
	/* as sm_vm_create() does before any thread: the ids are resolved
	 * (NSS) outside every filter */
	if (sm_jail_setup(NULL, NULL))
		return 1;
	RUN(roles_allow_their_calls);
	RUN(forbidden_calls_stop_with_a_line);
	RUN(control_allows_what_every_role_allows);
	RUN(control_thread_starts_a_vcpu_thread);
	RUN(unconfined_policy_installs_nothing);
	RUN(print_lists_every_role);
	RUN(filter_cost_is_small);
	return test_summary();
}
