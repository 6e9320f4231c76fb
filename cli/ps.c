/* supermachine ps [-a] [-q] [--no-trunc]: list containers (docker's
 * columns; sm_container_list). */
#include <getopt.h>
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
	if (!quiet)
		printf("%-12s   %-24s %-22s %-16s %-26s %-24s %s\n",
		       "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
		       "PORTS", "NAMES");
	for (int i = 0; i < n; i++) {
		const struct sm_container_info *v =
		    sm_container_info_at(list, i);
		char cmd[sizeof(v->command)], created[64], status[96];

		if (!all && v->status != SM_CONTAINER_RUNNING)
			continue;
		if (quiet) {
			printf("%.*s\n", trunc ? 12 : 64, v->id);
			continue;
		}
		snprintf(cmd, sizeof(cmd), "%s", v->command);
		if (trunc && strlen(cmd) > 20)
			strcpy(cmd + 19, "…");
		ago(v->created_ns, created, sizeof(created));
		strcat(created, " ago");
		status_of(v, status, sizeof(status));
		printf("%.*s   %-24s \"%s\"%*s %-16s %-26s %-24s %s\n",
		       trunc ? 12 : 64, v->id, v->image, cmd,
		       (int)(20 > strlen(cmd) ? 20 - strlen(cmd) : 0), "",
		       created, status, v->ports, v->name);
	}
	free(list);
	return 0;
}
