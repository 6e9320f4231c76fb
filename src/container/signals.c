/*
 * docker's signal handling, for a program that asks (sm_signal_pipe) and
 * for the processes the library forks: SIGINT, SIGTERM, SIGHUP, SIGQUIT
 * and SIGWINCH are written, one int each, to a pipe whose read end goes
 * to sm_run_options.signal_fd or sm_exec_options.signal_fd. The library
 * installs no handler in its caller's process on its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "container/container.h"

static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
static int sig_pipe[2] = {-1, -1};

/* SI_KERNEL: the terminal's (^C, a hang-up, a resize), sent to its whole
 * foreground process group; kill(2) and friends: to this process. */
static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	int v = sig | (si->si_code == SI_KERNEL ? SM_SIGNAL_FROM_TERMINAL : 0);

	(void)ctx;
	if (write(sig_pipe[1], &v, sizeof(v)) < 0) {
		/* a full pipe drops the signal: nothing better to do */
	}
	errno = saved;
}

static int install(void)
{
	struct sigaction sa = {.sa_sigaction = on_signal,
			       .sa_flags = SA_SIGINFO};

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK))
		return -1;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	return sig_pipe[0];
}

SM_API int sm_signal_pipe(void)
{
	return sig_pipe[0] >= 0 ? sig_pipe[0] : install();
}

/* The parent's pipe is not closed here: the fork closed its numbers,
 * which may name other files by now. */
int ctr_signal_pipe_fresh(void)
{
	return install();
}
