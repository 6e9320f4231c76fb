/*
 * supermachine stop [-t SEC] CONTAINER...: the stop signal (image
 * StopSignal, --stop-signal, else SIGTERM), then SIGKILL after the
 * timeout (--stop-timeout of the run, else 10 s), as docker stop.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "ctr.h"

/*
 * The VM's process answered once its guest process ended; its record
 * says so a moment later (a jailed VMM's keeper writes it after reaping
 * it): wait for that, as docker stop returns with the container exited.
 */
static void wait_recorded(struct ctr *ct)
{
	for (int i = 0; i < 500; i++) { /* 10 s */
		struct timespec ts = {0, 20 * 1000 * 1000};

		if (ctr_load(ct, NULL) || !ctr_running(ct))
			return;
		nanosleep(&ts, NULL);
	}
}

int cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"time", required_argument, NULL, 't'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int timeout = -1, c, status = 0;

	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		if (c == 't') {
			timeout = atoi(optarg);
			continue;
		}
		fprintf(
		    c == 'h' ? stdout : stderr,
		    "usage: supermachine stop [-t|--time SEC] CONTAINER...\n");
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	if (optind >= argc) {
		fprintf(
		    stderr,
		    "usage: supermachine stop [-t|--time SEC] CONTAINER...\n");
		return CLI_EXIT_FAILURE;
	}
	for (int i = optind; i < argc; i++) {
		struct sm_error err = {0};
		json_t *req = json_pack("{s:s}", "op", "stop"), *reply = NULL;
		struct ctr ct = {0};

		if (timeout >= 0)
			json_object_set_new(req, "timeout",
					    json_integer(timeout));
		if (ctr_find(&ct, argv[i], &err)) {
			cli_print_error(&err);
			status = 1;
		} else if (ctr_load(&ct, NULL) == 0 && !ctr_running(&ct)) {
			printf("%s\n", argv[i]); /* stopped already: fine */
		} else if (ctr_request(&ct, req, NULL, 0, &reply, NULL, &err)) {
			cli_print_error(&err);
			status = 1;
		} else {
			wait_recorded(&ct);
			printf("%s\n", argv[i]);
		}
		json_decref(req);
		json_decref(reply);
		ctr_release(&ct);
	}
	return status;
}
