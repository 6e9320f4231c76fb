/*
 * supermachine restore DIR: resumes a VM saved with sm_vm_snapshot() (its
 * process continues where it was; output comes here) and exits with the
 * process's status. Any number of restores of one snapshot may run at once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_restore(int argc, char **argv)
{
	struct sm_run_options o;
	struct sm_error err = { 0 };
	struct sm_vm *vm;
	int status = 0;

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: supermachine restore DIR\n");
		return argc == 2 ? 0 : CLI_EXIT_FAILURE;
	}
	sm_run_options_init(&o);
	o.verbose = cli_globals.verbose;
	if (sm_vm_restore(argv[1], &o, &vm, &err) || sm_vm_start(vm, &err) ||
	    sm_vm_wait(vm, &status, &err)) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	sm_vm_destroy(vm);
	return status;
}
