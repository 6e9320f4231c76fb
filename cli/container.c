/*
 * The CLI's side of containers (supermachine.h, "Containers"): a run or
 * restore as one, and finding one by what the user typed.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"

int cli_run_container(struct sm_container_options *o)
{
	struct sm_container *c = NULL;
	struct sm_error err = {0};
	int status = CLI_EXIT_FAILURE;

	o->store_root = cli_globals.root;
	if (!o->detach) /* the user's signals go in */
		o->run->signal_fd = sm_signal_pipe();
	if (sm_container_create(o, &c, &err)) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	if (sm_container_start(c, &status, &err)) {
		cli_print_error(&err); /* status: 125, or docker's 127, 126 */
		/* as a detached run that failed to start: no record (its
		 * name is free again) */
		if (!o->detach && *sm_container_id(c))
			sm_container_remove(c, 0, NULL);
	} else if (o->detach) {
		printf("%s\n", sm_container_id(c));
		status = 0;
	}
	sm_container_close(c);
	return status;
}

int cli_container_status(const struct sm_error *err)
{
	switch (err->code) {
	case -ENOENT:	    /* no such container (or it keeps no logs) */
	case -ESRCH:	    /* it is not running */
	case -ECONNREFUSED: /* its process is gone */
	case -EBUSY:	    /* running: a conflict */
	case -EINVAL:	    /* an ambiguous id prefix */
		return 1;
	default:
		return CLI_EXIT_FAILURE;
	}
}

struct sm_container *cli_open_container(const char *ref, int *status)
{
	struct sm_container *c = NULL;
	struct sm_error err = {0};

	if (sm_container_open(ref, &c, &err)) {
		cli_print_error(&err);
		*status = cli_container_status(&err);
	}
	return c;
}

int cli_each_container(char **refs, int n,
		       int (*op)(struct sm_container *, int, struct sm_error *),
		       int arg)
{
	int status = 0;

	for (int i = 0; i < n; i++) {
		int st = 0;
		struct sm_container *ct = cli_open_container(refs[i], &st);
		struct sm_error err = {0};

		if (ct && op(ct, arg, &err)) {
			cli_print_error(&err);
			st = cli_container_status(&err);
		}
		if (!st)
			printf("%s\n", refs[i]);
		status = status > st ? status : st;
		sm_container_close(ct);
	}
	return status;
}
