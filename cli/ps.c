/* supermachine ps [-a] [-q] [--no-trunc] [-f KEY=VALUE]...: list
 * containers (docker's columns and filters; sm_container_list). */
#include <getopt.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
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

/* ---- --filter: docker's keys that apply; one key's values are ORed,
 * different keys ANDed ---- */

#define MAX_FILTERS 64

struct filters {
	const char *key[MAX_FILTERS], *value[MAX_FILTERS];
	int n;
};

static const char *const filter_keys[] = {"id", "name", "status", "exited",
					  "ancestor"};
static const char *const status_names[] = {
    "created", "restarting", "running", "removing", "paused", "exited", "dead"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/* "KEY=VALUE" into f; a key docker lacks or we cannot apply is refused */
static int add_filter(struct filters *f, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg) {
		fprintf(stderr, "supermachine: bad format of filter (expected "
				"name=value)\n");
		return -1;
	}
	*eq = '\0';
	if (!in_list(arg, filter_keys,
		     sizeof(filter_keys) / sizeof(*filter_keys))) {
		fprintf(stderr, "supermachine: invalid filter '%s'\n", arg);
		return -1;
	}
	if (!strcmp(arg, "status") &&
	    !in_list(eq + 1, status_names,
		     sizeof(status_names) / sizeof(*status_names))) {
		fprintf(stderr, "supermachine: invalid filter 'status=%s'\n",
			eq + 1);
		return -1;
	}
	if (f->n == MAX_FILTERS) {
		fprintf(stderr, "supermachine: more than %d filters\n",
			MAX_FILTERS);
		return -1;
	}
	f->key[f->n] = arg;
	f->value[f->n++] = eq + 1;
	return 0;
}

/* docker matches a name filter as a regular expression, unanchored */
static bool name_matches(const char *name, const char *pattern)
{
	regex_t re;
	bool hit;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		return strstr(name, pattern) != NULL;
	hit = regexec(&re, name, 0, NULL, 0) == 0;
	regfree(&re);
	return hit;
}

/* IMAGE, IMAGE:TAG, as the container was run (no tag: any tag) */
static bool image_matches(const char *image, const char *want)
{
	size_t n = strlen(want);

	return !strcmp(image, want) ||
	       (!strncmp(image, want, n) && image[n] == ':' &&
		!strchr(image + n + 1, '/'));
}

static bool one_matches(const struct sm_container_info *v, const char *key,
			const char *value)
{
	static const char *const st[] = {"created", "running", "exited"};
	char *end;
	long code;

	if (!strcmp(key, "id"))
		return !strncmp(v->id, value, strlen(value));
	if (!strcmp(key, "name"))
		return name_matches(v->name, value);
	if (!strcmp(key, "status"))
		return v->status >= 0 && v->status <= 2 &&
		       !strcmp(st[v->status], value);
	if (!strcmp(key, "exited")) {
		code = strtol(value, &end, 10);
		return *value && !*end && v->status == SM_CONTAINER_EXITED &&
		       v->exit_code == code;
	}
	return image_matches(v->image, value);
}

static bool filters_match(const struct filters *f,
			  const struct sm_container_info *v)
{
	for (size_t k = 0; k < sizeof(filter_keys) / sizeof(*filter_keys);
	     k++) {
		bool given = false, hit = false;

		for (int i = 0; i < f->n; i++)
			if (!strcmp(f->key[i], filter_keys[k])) {
				given = true;
				hit |= one_matches(v, f->key[i], f->value[i]);
			}
		if (given && !hit)
			return false;
	}
	return true;
}

static bool has_key(const struct filters *f, const char *key)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->key[i], key))
			return true;
	return false;
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

/* docker's Ellipsis: more than max characters keep max - 1 and "…";
 * a character (UTF-8 sequence) is never split. */
static void ellipsis(char *s, size_t max)
{
	size_t chars = 0;

	if (width_of(s) <= max)
		return;
	for (char *p = s; *p; p++)
		if (((unsigned char)*p & 0xc0) != 0x80 && chars++ == max - 1) {
			strcpy(p, "…");
			return;
		}
}

/* The length of the valid UTF-8 character at p (2 to 4 bytes), 0 when
 * it is none (a stray or overlong byte, a surrogate, past U+10FFFF). */
static size_t utf8_len(const unsigned char *p)
{
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	uint32_t c = p[0] & (0x7f >> len);

	if (!len || p[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return len;
}

/* Go's strconv.Quote, as docker prints COMMAND: quotes and backslashes
 * escaped, control characters as \n, \xNN or \u00NN (C1), bytes of no
 * valid character as \xNN: one cell is one line whatever the command
 * holds, and no escape sequence reaches the terminal. */
static void go_quote(const char *in, char *out, size_t size)
{
	static const char named[] = "\a\b\f\n\r\t\v";
	size_t n = 0;

	out[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)in; *p;) {
		char e[8];
		size_t len = 1;
		const char *k;

		if (*p == '"' || *p == '\\')
			snprintf(e, sizeof(e), "\\%c", *p);
		else if (*p && (k = strchr(named, *p)))
			snprintf(e, sizeof(e), "\\%c", "abfnrtv"[k - named]);
		else if (*p < 0x20 || *p == 0x7f ||
			 (*p >= 0x80 && !(len = utf8_len(p))))
			snprintf(e, sizeof(e), "\\x%02x", *p), len = 1;
		else if (len == 2 && p[0] == 0xc2 && p[1] < 0xa0) /* C1 */
			snprintf(e, sizeof(e), "\\u00%02x", p[1]);
		else
			snprintf(e, sizeof(e), "%.*s", (int)len,
				 (const char *)p);
		if (n + strlen(e) + 2 > size)
			break;
		memcpy(out + n, e, strlen(e));
		n += strlen(e);
		p += len;
	}
	out[n++] = '"';
	out[n] = '\0';
}

/* One container's cells, docker's columns. */
static void row_of(const struct sm_container_info *v, int trunc,
		   char cells[NCOLS][1100])
{
	char cmd[sizeof(v->command)], when[64];

	snprintf(cmd, sizeof(cmd), "%s", v->command);
	if (trunc)
		ellipsis(cmd, 20);
	ago(v->created_ns, when, sizeof(when));
	snprintf(cells[0], sizeof(cells[0]), "%.*s", trunc ? 12 : 64, v->id);
	snprintf(cells[1], sizeof(cells[1]), "%s", v->image);
	go_quote(cmd, cells[2], sizeof(cells[2]));
	snprintf(cells[3], sizeof(cells[3]), "%s ago", when);
	status_of(v, cells[4], sizeof(cells[4]));
	snprintf(cells[5], sizeof(cells[5]), "%s", v->ports);
	snprintf(cells[6], sizeof(cells[6]), "%s", v->name);
}

static void print_row(char cells[NCOLS][1100], const size_t *w)
{
	for (int c = 0; c < NCOLS - 1; c++)
		printf("%s%*s", cells[c], (int)(w[c] - width_of(cells[c]) + 3),
		       "");
	printf("%s\n", cells[NCOLS - 1]);
}

/* docker's table: each column as wide as its widest cell, 3 apart. */
static void print_table(const struct sm_container_info *list, const bool *shown,
			int n, int trunc)
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
		if (shown[i])
			row_of(sm_container_info_at(list, i), trunc,
			       rows[nrows++]);
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < NCOLS; c++)
			w[c] = width_of(rows[r][c]) > w[c]
				   ? width_of(rows[r][c])
				   : w[c];
	for (int r = 0; r < nrows; r++)
		print_row(rows[r], w);
	free(rows);
}

static const char usage[] =
    "usage: supermachine ps [-a|--all] [-q|--quiet] [--no-trunc]\n"
    "                       [-f|--filter KEY=VALUE]... (id, name, status, "
    "exited, ancestor)\n";

int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"no-trunc", no_argument, NULL, 'T'},
	    {"filter", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	static struct filters f;
	struct sm_container_info *list;
	struct sm_error err = {0};
	int all = 0, quiet = 0, trunc = 1, c, n;
	bool *shown;

	while ((c = cli_getopt(argc, argv, "aqf:", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'a')
			all = 1;
		else if (c == 'q')
			quiet = 1;
		else if (c == 'T')
			trunc = 0;
		else if (c == 'f') {
			if (add_filter(&f, optarg))
				return CLI_EXIT_FAILURE;
		} else {
			fputs(usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : CLI_EXIT_FAILURE;
		}
	}
	if (optind < argc)
		return cli_args_error(argv, "accepts no arguments", usage);
	/* docker: a status filter shows what it names, running or not */
	all |= has_key(&f, "status");
	if ((n = sm_container_list(&list, &err)) < 0) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	shown = calloc((size_t)n + 1, sizeof(*shown));
	if (!shown) {
		free(list);
		fprintf(stderr, "supermachine: ps: out of memory\n");
		return CLI_EXIT_FAILURE;
	}
	for (int i = 0; i < n; i++) {
		const struct sm_container_info *v =
		    sm_container_info_at(list, i);

		shown[i] = (all || v->status == SM_CONTAINER_RUNNING) &&
			   filters_match(&f, v);
	}
	if (quiet) {
		for (int i = 0; i < n; i++)
			if (shown[i])
				printf("%.*s\n", trunc ? 12 : 64,
				       sm_container_info_at(list, i)->id);
	} else {
		print_table(list, shown, n, trunc);
	}
	free(shown);
	free(list);
	return 0;
}
