/* supermachine boot: low-level entry, replaced below once the VMM lands. */
#include <stdio.h>

#include "cli.h"

int cmd_boot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "supermachine: boot: not built yet\n");
	return CLI_EXIT_FAILURE;
}
