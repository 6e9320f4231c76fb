/*
 * state ID, list [--format table|json] [-q], ps [--format table|json] ID:
 * what a container is, from its state directory (state.c). The state is
 * runtime-spec's JSON with runc's extra keys (rootfs, created, owner).
 */
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

static json_t *state_json(const struct oci_state *st)
{
	const char *status = oci_status(st);
	json_t *ann =
	    st->annotations ? json_loads(st->annotations, 0, NULL) : NULL;

	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o}",
			 "ociVersion", OCI_SPEC_VERSION, "id", st->id, "pid",
			 strcmp(status, "stopped") ? (int)st->pid : 0, "status",
			 status, "bundle", st->bundle, "rootfs", st->rootfs,
			 "created", st->created, "owner", "", "annotations",
			 ann ? ann : json_object());
}

static int print_json(json_t *j)
{
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

	json_decref(j);
	if (!text)
		return oci_fail("out of memory");
	puts(text);
	free(text);
	return 0;
}

int oci_cmd_state(int argc, char **argv)
{
	struct oci_state st;
	int r;

	if (argc != 2)
		return oci_fail("state: want exactly one container id");
	if (oci_state_load(argv[1], &st))
		return oci_fail("container \"%s\" does not exist", argv[1]);
	r = print_json(state_json(&st));
	free(st.annotations);
	return r;
}

/* --format/-f VALUE and -q of list and ps; the first operand's index. */
static int format_flags(int argc, char **argv, bool *json, bool *quiet)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"quiet", no_argument, NULL, 'q'},
	    {0, 0, 0, 0}};
	int c;

	*json = *quiet = false;
	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+f:q", opts, NULL)) != -1) {
		if (c == 'f' &&
		    (!strcmp(optarg, "json") || !strcmp(optarg, "table")))
			*json = !strcmp(optarg, "json");
		else if (c == 'q')
			*quiet = true;
		else
			return -1;
	}
	return optind;
}

int oci_cmd_list(int argc, char **argv)
{
	bool json, quiet;
	DIR *d;
	struct dirent *e;
	json_t *all = json_array();

	if (format_flags(argc, argv, &json, &quiet) != argc)
		return oci_fail("list: bad flags (--format table|json, -q)");
	if (!json && !quiet)
		printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID",
		       "STATUS", "BUNDLE", "CREATED", "OWNER");
	d = opendir(oci_globals.root);
	while (d && (e = readdir(d))) {
		struct oci_state st;

		if (e->d_name[0] == '.' || oci_state_load(e->d_name, &st))
			continue;
		if (json)
			json_array_append_new(all, state_json(&st));
		else if (quiet)
			printf("%s\n", st.id);
		else
			printf("%-12s %-8d %-10s %-40s %-30s %s\n", st.id,
			       strcmp(oci_status(&st), "stopped") ? st.pid : 0,
			       oci_status(&st), st.bundle, st.created, "root");
		free(st.annotations);
	}
	if (d)
		closedir(d);
	if (json)
		return print_json(all);
	json_decref(all);
	return 0;
}

/* The container's processes on the host: its VMM's (the guest's are
 * the guest's; `exec ID ps` lists them). */
int oci_cmd_ps(int argc, char **argv)
{
	bool json, quiet;
	int i = format_flags(argc, argv, &json, &quiet);
	struct oci_state st;
	bool up;

	if (i < 0 || i != argc - 1)
		return oci_fail("ps: want [--format table|json] ID");
	if (oci_state_load(argv[i], &st))
		return oci_fail("container \"%s\" does not exist", argv[i]);
	up = strcmp(oci_status(&st), "stopped") != 0;
	free(st.annotations);
	if (json)
		return print_json(up ? json_pack("[i]", (int)st.pid)
				     : json_array());
	printf("PID\n");
	if (up)
		printf("%d\n", (int)st.pid);
	return 0;
}
