/* supermachine ps [-a] [-q] [--no-trunc]: list containers (docker's
 * columns; sm_container_list). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void ago(int64_t ns, char *buf, size_t size)
{
	struct timespec now;
	int64_t s;

	clock_gettime(CLOCK_REALTIME, &now);
	s = (int64_t)now.tv_sec - ns / 1000000000LL;
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, size, "%lld second%s", (long long)s,
			 s == 1 ? "" : "s");
	else if (s < 3600)
		snprintf(buf, size, "%lld minute%s", (long long)(s / 60),
			 s / 60 == 1 ? "" : "s");
	else if (s < 86400)
		snprintf(buf, size, "%lld hour%s", (long long)(s / 3600),
			 s / 3600 == 1 ? "" : "s");
	else
		snprintf(buf, size, "%lld days", (long long)(s / 86400));
}

static void status_of(const struct sm_container_info *c, char *buf, size_t size)
{
	char when[64];

	ago(c->changed_ns, when, sizeof(when));
	if (c->status == SM_CONTAINER_RUNNING)
		snprintf(buf, size, "Up %s", when);
	else if (c->status == SM_CONTAINER_EXITED)
		snprintf(buf, size, "Exited (%d) %s ago", c->exit_code, when);
	else
		snprintf(buf, size, "Created");
}

#define NCOLS 7

/* Columns on a terminal: UTF-8 continuation bytes take none. */
static size_t width_of(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* One container's cells, docker's columns; false when not shown. */
static bool row_of(const struct sm_container_info *v, int all, int trunc,
		   char cells[NCOLS][1100])
{
	char cmd[sizeof(v->command)], when[64];

	if (!all && v->status != SM_CONTAINER_RUNNING)
		return false;
	snprintf(cmd, sizeof(cmd), "%s", v->command);
	if (trunc && width_of(cmd) > 20)
		strcpy(cmd + 19, "…");
	ago(v->created_ns, when, sizeof(when));
	snprintf(cells[0], sizeof(cells[0]), "%.*s", trunc ? 12 : 64, v->id);
	snprintf(cells[1], sizeof(cells[1]), "%s", v->image);
	snprintf(cells[2], sizeof(cells[2]), "\"%s\"", cmd);
	snprintf(cells[3], sizeof(cells[3]), "%s ago", when);
	status_of(v, cells[4], sizeof(cells[4]));
	snprintf(cells[5], sizeof(cells[5]), "%s", v->ports);
	snprintf(cells[6], sizeof(cells[6]), "%s", v->name);
	return true;
}

static void print_row(char cells[NCOLS][1100], const size_t *w)
{
	for (int c = 0; c < NCOLS - 1; c++)
		printf("%s%*s", cells[c], (int)(w[c] - width_of(cells[c]) + 3),
		       "");
	printf("%s\n", cells[NCOLS - 1]);
}

/* docker's table: each column as wide as its widest cell, 3 apart. */
static void print_table(const struct sm_container_info *list, int n, int all,
			int trunc)
{
	static const char *const head[NCOLS] = {
	    "CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
	    "STATUS",	    "PORTS", "NAMES"};
	char(*rows)[NCOLS][1100] = calloc((size_t)n + 1, sizeof(*rows));
	size_t w[NCOLS] = {0};
	int nrows = 1;

	if (!rows) {
		fprintf(stderr, "supermachine: ps: out of memory\n");
		return;
	}
	for (int c = 0; c < NCOLS; c++)
		snprintf(rows[0][c], sizeof(rows[0][c]), "%s", head[c]);
	for (int i = 0; i < n; i++)
		nrows += row_of(sm_container_info_at(list, i), all, trunc,
				rows[nrows]);
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < NCOLS; c++)
			w[c] = width_of(rows[r][c]) > w[c]
				   ? width_of(rows[r][c])
				   : w[c];
	for (int r = 0; r < nrows; r++)
		print_row(rows[r], w);
	free(rows);
}

int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"no-trunc", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_container_info *list;
	struct sm_error err = {0};
	int all = 0, quiet = 0, trunc = 1, c, n;

	while ((c = cli_getopt(argc, argv, "aq", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'a')
			all = 1;
		else if (c == 'q')
			quiet = 1;
		else if (c == 'T')
			trunc = 0;
		else {
			fprintf(c == 'h' ? stdout : stderr,
				"usage: supermachine ps [-a|--all] "
				"[-q|--quiet] [--no-trunc]\n");
			return c == 'h' ? 0 : CLI_EXIT_FAILURE;
		}
	}
	if ((n = sm_container_list(&list, &err)) < 0) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	if (quiet) {
		for (int i = 0; i < n; i++) {
			const struct sm_container_info *v =
			    sm_container_info_at(list, i);

			if (all || v->status == SM_CONTAINER_RUNNING)
				printf("%.*s\n", trunc ? 12 : 64, v->id);
		}
	} else {
		print_table(list, n, all, trunc);
	}
	free(list);
	return 0;
}
