/*
 * kill [--all] ID [SIGNAL] and delete [--force] ID. A signal goes to the
 * container's process (the VMM), which relays it to the guest's process;
 * SIGKILL ends the VM at once. delete removes the state directory and the
 * library's record, killing a created (never started) container first, as
 * runc does, and a running one only with --force.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"
#include "oci/store.h"

int oci_parse_signal(const char *s)
{
	int n = sm_signal_number(s);

	return n > 0 && n < 65 ? n : -1;
}

/* Flags of kill and delete: -a/--all, -f/--force (the one each has). */
static int one_flag(int argc, char **argv, const char *name, bool *set)
{
	struct option opts[] = {{name, no_argument, NULL, name[0]},
				{0, 0, 0, 0}};
	char shortopts[4] = {'+', name[0], 0, 0};
	int c;

	*set = false;
	optind = 1;
	while ((c = getopt_long_only(argc, argv, shortopts, opts, NULL)) != -1)
		if (c == name[0])
			*set = true;
		else
			return -1;
	return optind;
}

int oci_cmd_kill(int argc, char **argv)
{
	struct oci_state st;
	bool all;
	int i = one_flag(argc, argv, "all", &all), sig = SIGTERM, r = 0;

	if (i < 0 || argc - i < 1 || argc - i > 2)
		return oci_fail("kill: want [--all] ID [SIGNAL]");
	if (argc - i == 2 && (sig = oci_parse_signal(argv[i + 1])) < 0)
		return oci_fail("kill: unknown signal \"%.32s\"", argv[i + 1]);
	if (oci_state_load(argv[i], &st))
		return oci_fail("container \"%s\" does not exist", argv[i]);
	if (!strcmp(oci_status(&st), "stopped"))
		r = oci_fail("container not running");
	else if (kill(st.pid, sig) < 0)
		r = oci_fail("kill %s: %s", st.id, strerror(errno));
	free(st.annotations);
	return r;
}

/* SIGKILL, then until its process is gone (at most 10 s). */
static int kill_and_wait(const struct oci_state *st)
{
	struct timespec tick = {0, 20 * 1000 * 1000};

	if (kill(st->pid, SIGKILL) < 0 && errno != ESRCH)
		return oci_fail("kill %s: %s", st->id, strerror(errno));
	for (int i = 0; i < 500; i++) {
		if (oci_proc_starttime(st->pid) != st->starttime)
			return 0;
		nanosleep(&tick, NULL);
	}
	return oci_fail("delete %s: its process %d did not end", st->id,
			(int)st->pid);
}

static void remove_record(const char *id)
{
	struct sm_container *c = NULL;
	char name[300];

	oci_record_name(id, name, sizeof(name));
	if (!sm_container_open(name, &c, NULL))
		sm_container_remove(c, 1, NULL);
	sm_container_close(c);
}

int oci_cmd_delete(int argc, char **argv)
{
	struct oci_state st;
	const char *status;
	char dir[4200];
	bool force;
	int i = one_flag(argc, argv, "force", &force), r = 0;

	if (i < 0 || i != argc - 1)
		return oci_fail("delete: want [--force] ID");
	if (oci_state_load(argv[i], &st))
		return force ? 0
			     : oci_fail("container %s does not exist", argv[i]);
	status = oci_status(&st);
	if (!strcmp(status, "running") && !force)
		r = oci_fail("cannot delete container %s that is not stopped: "
			     "running",
			     st.id);
	else if (strcmp(status, "stopped"))
		r = kill_and_wait(&st);
	if (!r) {
		remove_record(st.id);
		if (!oci_path(dir, sizeof(dir), st.id, NULL))
			store_rmtree(dir);
	}
	free(st.annotations);
	return r;
}
