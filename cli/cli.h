/* Shared declarations of the CLI: one file per subcommand in cli/. */
#ifndef SM_CLI_H
#define SM_CLI_H

#include "supermachine.h"

/* Global options given before the subcommand. */
struct cli_globals {
	const char *root; /* --root DIR or $SUPERMACHINE_ROOT, NULL: default */
	int verbose;      /* --verbose / -v count */
};

extern struct cli_globals cli_globals;

/* Prints "supermachine: MSG" for a failed library call. */
void cli_print_error(const struct sm_error *err);

/* Exit status when supermachine itself fails (docker's number). */
#define CLI_EXIT_FAILURE 125

/* Each subcommand: argv[0] is the subcommand name. Returns exit status. */
int cmd_boot(int argc, char **argv);

#endif
