/*
 * run_echo: the smallest user of the public API. Runs `echo ARGS...` in a
 * fresh microVM from IMAGE and exits with the process's status.
 *
 *   run_echo IMAGE [WORD...]
 *
 * The store is $SUPERMACHINE_ROOT (or the default); the image is pulled
 * if it is missing. With RUN_ECHO_LOG set, the library's log goes to
 * stderr ("log: LEVEL: message"). Build against an installed supermachine with
 *   cc run_echo.c $(pkg-config --cflags --libs supermachine)
 */
#include <stdio.h>
#include <stdlib.h>

#include <supermachine.h>

static void log_to_stderr(enum sm_log_level level, const char *msg,
			  void *opaque)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	(void)opaque;
	fprintf(stderr, "log: %s: %s\n", names[level & 3], msg);
}

int main(int argc, char **argv)
{
	struct sm_store_options so = {.size = sizeof(so)};
	struct sm_error err = {0};
	struct sm_run_options o;
	struct sm_store *store;
	const char *cmd[64];
	int i, n = 0, status = 0;

	if (argc < 2 || argc > 62) {
		fprintf(stderr, "usage: %s IMAGE [WORD...]\n", argv[0]);
		return 2;
	}
	cmd[n++] = "echo";
	for (i = 2; i < argc; i++)
		cmd[n++] = argv[i];
	cmd[n] = NULL;

	if (getenv("RUN_ECHO_LOG"))
		sm_set_log(log_to_stderr, NULL);
	if (sm_store_open(&store, &so, &err) < 0) {
		fprintf(stderr, "run_echo: %s\n", err.msg);
		return 125;
	}
	sm_run_options_init(&o); /* stdio: our fds 0, 1, 2 */
	o.cmd = cmd;
	o.entrypoint = ""; /* run echo itself, whatever the image says */
	if (sm_run(store, argv[1], &o, &status, &err) < 0) {
		fprintf(stderr, "run_echo: %s\n", err.msg);
		status = 125;
	}
	sm_store_close(store);
	return status;
}
