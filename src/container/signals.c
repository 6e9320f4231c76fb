/*
 * The CLI's one way to pass the user's signals on (docs/architecture.md):
 * SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH are written, one int
 * each, to a pipe whose read end goes to the library as
 * sm_run_options.signal_fd or sm_exec_options.signal_fd, or is polled
 * by `exec` to relay them to a detached VMM. The library itself takes no
 * signal handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "cli.h"

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;

	if (write(sig_pipe[1], &sig, sizeof(sig)) < 0) {
		/* a full pipe drops the signal: nothing better to do */
	}
	errno = saved;
}

int cli_signal_pipe(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
	struct sigaction sa = {.sa_handler = on_signal};

	if (sig_pipe[0] >= 0)
		return sig_pipe[0];
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK))
		return -1;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	return sig_pipe[0];
}
