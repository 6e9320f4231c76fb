/* supermachine ps [-a] [-q] [--no-trunc]: list containers (cli/ctr.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ctr.h"

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

/* The image's config (Entrypoint, Cmd) from the store; NULL when the
 * image is gone or the record names a snapshot directory. */
static json_t *image_config(struct sm_store *store, const char *ref)
{
	char *text = NULL;
	json_t *o, *cfg = NULL;

	if (!store || !*ref || sm_image_inspect(store, ref, &text, NULL))
		return NULL;
	o = json_loads(text, 0, NULL);
	free(text);
	cfg = json_incref(json_object_get(o, "Config"));
	json_decref(o);
	return cfg;
}

static size_t append_words(char *buf, size_t size, size_t n, json_t *words)
{
	size_t i;
	json_t *a;

	json_array_foreach(words, i, a)
	{
		if (n >= size || !json_is_string(a))
			break;
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " " : "",
				      json_string_value(a));
	}
	return n;
}

/*
 * docker's COMMAND: what the container runs. The user's --entrypoint,
 * else the image's Entrypoint; then the user's command, else the image's
 * Cmd (which an --entrypoint drops, as in docker).
 */
static void command_of(struct sm_store *store, json_t *meta, char *buf,
		       size_t size, int trunc)
{
	json_t *cmd = json_object_get(meta, "cmd");
	const char *ep = ctr_str(meta, "entrypoint");
	json_t *cfg = NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (!*ep || !json_array_size(cmd))
		cfg = image_config(store, ctr_str(meta, "image"));
	if (*ep)
		n += (size_t)snprintf(buf, size, "%s", ep);
	else
		n = append_words(buf, size, n,
				 json_object_get(cfg, "Entrypoint"));
	if (json_array_size(cmd))
		n = append_words(buf, size, n, cmd);
	else if (!*ep)
		n = append_words(buf, size, n, json_object_get(cfg, "Cmd"));
	json_decref(cfg);
	if (trunc && strlen(buf) > 20)
		strcpy(buf + 19, "…");
}

static void status_of(struct ctr *c, char *buf, size_t size)
{
	char when[64];

	ago(ctr_int(c->state, "time_ns"), when, sizeof(when));
	if (ctr_running(c))
		snprintf(buf, size, "Up %s", when);
	else if (strcmp(ctr_str(c->state, "status"), "exited") == 0)
		snprintf(buf, size, "Exited (%lld) %s ago",
			 (long long)ctr_int(c->state, "exit_code"), when);
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
	struct sm_store_options so = {.size = sizeof(so),
				      .root = cli_globals.root};
	struct sm_store *store = NULL;
	struct sm_error err = {0};
	int all = 0, quiet = 0, trunc = 1, c;
	struct ctr *v;
	size_t n;

	while ((c = getopt_long(argc, argv, "aq", opts, NULL)) != -1) {
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
	if (ctr_list(&v, &n, &err)) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	/* for the images' own commands; ps works without it */
	if (!quiet && n)
		sm_store_open(&store, &so, NULL);
	if (!quiet)
		printf("%-12s   %-24s %-22s %-16s %-26s %-24s %s\n",
		       "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
		       "PORTS", "NAMES");
	for (size_t i = 0; i < n; i++) {
		char cmd[256], created[64], status[96];

		ctr_load(&v[i], NULL);
		if (!all && !ctr_running(&v[i]))
			continue;
		if (quiet) {
			printf("%.*s\n", trunc ? 12 : CTR_ID_LEN, v[i].id);
			continue;
		}
		command_of(store, v[i].meta, cmd, sizeof(cmd), trunc);
		ago(ctr_int(v[i].meta, "created_ns"), created, sizeof(created));
		strcat(created, " ago");
		status_of(&v[i], status, sizeof(status));
		printf("%.*s   %-24s \"%s\"%*s %-16s %-26s %-24s %s\n",
		       trunc ? 12 : CTR_ID_LEN, v[i].id,
		       ctr_str(v[i].meta, "image"), cmd,
		       (int)(20 > strlen(cmd) ? 20 - strlen(cmd) : 0), "",
		       created, status, ctr_str(v[i].state, "ports"),
		       v[i].name);
	}
	ctr_list_free(v, n);
	if (store)
		sm_store_close(store);
	return 0;
}
