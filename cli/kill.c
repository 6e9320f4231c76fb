/* supermachine kill [-s SIGNAL] CONTAINER...: a signal to its process. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ctr.h"

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"signal", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *sig_name = "KILL";
	int sig, c, status = 0;

	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		if (c == 's') {
			sig_name = optarg;
			continue;
		}
		fprintf(c == 'h' ? stdout : stderr,
			"usage: supermachine kill [-s|--signal SIG] "
			"CONTAINER...\n");
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	sig = sm_signal_number(sig_name);
	if (sig < 0 || optind >= argc) {
		fprintf(
		    stderr,
		    sig < 0
			? "supermachine: invalid signal: %s\n"
			: "usage: supermachine kill [-s SIG] CONTAINER...%s\n",
		    sig < 0 ? sig_name : "");
		return CLI_EXIT_FAILURE;
	}
	for (int i = optind; i < argc; i++) {
		struct sm_error err = {0};
		json_t *req =
		    json_pack("{s:s, s:i}", "op", "kill", "signal", sig);
		json_t *reply = NULL;
		struct ctr ct = {0};

		if (ctr_find(&ct, argv[i], &err) == 0 &&
		    ctr_request(&ct, req, NULL, 0, &reply, NULL, &err) == 0) {
			printf("%s\n", argv[i]);
		} else {
			cli_print_error(&err);
			status = 1;
		}
		json_decref(req);
		json_decref(reply);
		ctr_release(&ct);
	}
	return status;
}
