/* supermachine rm [-f] CONTAINER...: removes records (and their logs). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "ctr.h"

/* rm -f: SIGKILL the process, then wait for its record to say so. */
static int force_stop(struct ctr *ct, struct sm_error *err)
{
	json_t *req = json_pack("{s:s, s:i}", "op", "kill", "signal", SIGKILL);
	json_t *reply = NULL;
	int r = ctr_request(ct, req, NULL, 0, &reply, NULL, err);

	json_decref(req);
	json_decref(reply);
	for (int i = 0; i < 300; i++) { /* 30 s */
		ctr_load(ct, NULL);
		if (!ctr_running(ct))
			return 0;
		usleep(100000);
	}
	if (!r)
		snprintf(err->msg, sizeof(err->msg),
			 "container %s did not stop after SIGKILL", ct->name);
	return -1;
}

static int remove_one(const char *ref, int force)
{
	struct sm_error err = {0};
	struct ctr ct = {0};
	int r = ctr_find(&ct, ref, &err);

	if (!r)
		r = ctr_load(&ct, &err);
	if (!r && ctr_running(&ct)) {
		if (!force) {
			snprintf(err.msg, sizeof(err.msg),
				 "cannot remove container %s: it is running "
				 "(stop it first, or rm -f)",
				 ref);
			r = -1;
		} else {
			r = force_stop(&ct, &err);
		}
	}
	if (!r)
		r = ctr_remove(&ct, &err);
	if (r)
		cli_print_error(&err);
	else
		printf("%s\n", ref);
	ctr_release(&ct);
	return r ? 1 : 0;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int force = 0, c, status = 0;

	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c == 'f') {
			force = 1;
			continue;
		}
		fprintf(c == 'h' ? stdout : stderr,
			"usage: supermachine rm [-f|--force] CONTAINER...\n");
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	if (optind >= argc) {
		fprintf(stderr,
			"usage: supermachine rm [-f|--force] CONTAINER...\n");
		return CLI_EXIT_FAILURE;
	}
	for (int i = optind; i < argc; i++)
		status |= remove_one(argv[i], force);
	return status;
}
