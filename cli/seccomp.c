/*
 * supermachine seccomp [ROLE...]: prints the allow-list of each thread
 * role (docs/security.md, "Seccomp"), for auditing; and --security-opt.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sandbox/sandbox.h"

int cmd_seccomp(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c, status = 0;

	while ((c = cli_getopt(argc, argv, "", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		/* 'h' */
		printf("usage: supermachine seccomp [ROLE...]\n\n"
		       "Prints each thread role's allowed system calls (all "
		       "roles when none is named).\nRoles:");
		for (int r = 0; r < SM_ROLE_COUNT; r++)
			printf(" %s", sm_role_name(r));
		printf("\n");
		return 0;
	}
	for (int r = 0; optind >= argc && r < SM_ROLE_COUNT; r++)
		if (sm_sandbox_print(r, stdout))
			status = CLI_EXIT_FAILURE;
	for (int i = optind; i < argc; i++) {
		int r = sm_role_parse(argv[i]);

		if (r < 0) {
			fprintf(stderr,
				"supermachine: seccomp: no role \"%s\" "
				"(see supermachine seccomp --help)\n",
				argv[i]);
			return CLI_EXIT_FAILURE;
		}
		if (sm_sandbox_print(r, stdout))
			status = CLI_EXIT_FAILURE;
	}
	return status;
}

int cli_security_opt(const char *arg, struct sm_run_options *o)
{
	if (!strcmp(arg, "seccomp=unconfined")) {
		o->seccomp_unconfined = 1;
		return 0;
	}
	if (!strcmp(arg, "jail=off")) {
		o->jail_off = 1;
		return 0;
	}
	if (!strncmp(arg, "jail-user=", 10) && arg[10]) {
		struct sm_error err = {0};
		uid_t uid;
		gid_t gid;

		if (sm_jail_resolve_ids(arg + 10, &uid, &gid, &err)) {
			cli_print_error(&err);
			return -1;
		}
		o->jail_user = arg + 10;
		return 0;
	}
	fprintf(stderr,
		"supermachine: --security-opt %s: not supported (only "
		"seccomp=unconfined, jail=off, jail-user=USER)\n",
		arg);
	return -1;
}
