/* supermachine images [REPOSITORY[:TAG]]: list the named images in the
 * store (those of one repository, as docker's filter). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_open_store(struct sm_store **s, const char *const *insecure)
{
	struct sm_store_options o = {.size = sizeof(o),
				     .root = cli_globals.root,
				     .insecure_registries = insecure};
	struct sm_error err = {0};

	if (sm_store_open(s, &o, &err)) {
		cli_print_error(&err);
		return -1;
	}
	return 0;
}

void cli_human_size(uint64_t n, char *buf, size_t len)
{
	const char *u[] = {"B", "kB", "MB", "GB", "TB"};
	double v = n;
	int i = 0;

	while (v >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, i ? "%.3g%s" : "%.0f%s", v, u[i]);
}

/* "docker.io/library/alpine:3.20" -> repo "alpine", tag "3.20". */
static void split_name(const char *full, char *repo, size_t rl, char *tag,
		       size_t tl)
{
	const char *n = full, *at, *slash, *colon;

	if (!strncmp(n, "docker.io/library/", 18) && !strchr(n + 18, '/'))
		n += 18;
	else if (!strncmp(n, "docker.io/", 10))
		n += 10;
	at = strchr(n, '@');
	slash = strrchr(n, '/');
	colon = strrchr(slash ? slash : n, ':');
	if (colon && (!at || colon < at)) {
		snprintf(repo, rl, "%.*s", (int)(colon - n), n);
		snprintf(tag, tl, "%.*s", at ? (int)(at - colon - 1) : 128,
			 colon + 1);
	} else {
		snprintf(repo, rl, "%.*s", at ? (int)(at - n) : 256, n);
		snprintf(tag, tl, "<none>");
	}
	if (!*n)
		snprintf(repo, rl, "<none>");
}

/* docker's filter: REPOSITORY[:TAG] as images shows them ("alpine",
 * "ghcr.io/o/i") or in full ("docker.io/library/alpine"). */
static bool wanted(const char *filter, const char *full, const char *repo,
		   const char *tag)
{
	char frepo[512], ftag[160];

	if (!filter)
		return true;
	split_name(filter, frepo, sizeof(frepo), ftag, sizeof(ftag));
	if (strcmp(ftag, "<none>") && strcmp(ftag, tag))
		return false;
	return !strcmp(frepo, repo) || (!strncmp(full, frepo, strlen(frepo)) &&
					full[strlen(frepo)] == ':');
}

static const char usage[] = "usage: supermachine images [-q] [--digests] "
			    "[REPOSITORY[:TAG]]\n";

int cmd_images(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"quiet", no_argument, NULL, 'q'},
	    {"digests", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_store *s;
	struct sm_image_info *l;
	struct sm_error err = {0};
	const char *filter;
	int c, n, quiet = 0, digests = 0;

	while ((c = cli_getopt(argc, argv, "qh", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		case 'd':
			digests = 1;
			break;
		default: /* 'h' */
			fputs(usage, stdout);
			return 0;
		}
	}
	if (argc - optind > 1)
		return cli_args_error(argv, "requires at most 1 argument",
				      usage);
	filter = optind < argc ? argv[optind] : NULL;
	if (cli_open_store(&s, NULL))
		return CLI_EXIT_FAILURE;
	n = sm_image_list(s, &l, &err);
	sm_store_close(s);
	if (n < 0) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	if (!quiet)
		printf("%-40s %-16s %s%-14s %-12s %-10s %s\n", "REPOSITORY",
		       "TAG",
		       digests ? "DIGEST                                       "
				 "                           "
			       : "",
		       "IMAGE ID", "CREATED", "SIZE", "PLATFORM");
	for (int i = 0; i < n; i++) {
		char repo[512], tag[160], size[32], created[32] = "N/A";
		const char *id = l[i].id[0] ? l[i].id + 7 : "?";

		split_name(l[i].name, repo, sizeof(repo), tag, sizeof(tag));
		if (!wanted(filter, l[i].name, repo, tag))
			continue;
		if (quiet) {
			printf("%.12s\n", id);
			continue;
		}
		cli_human_size(l[i].size, size, sizeof(size));
		if (l[i].created) {
			time_t t = l[i].created;
			struct tm tm;
			strftime(created, sizeof(created), "%Y-%m-%d",
				 gmtime_r(&t, &tm));
		}
		printf("%-40s %-16s %s%s%-14.12s %-12s %-10s %s\n", repo, tag,
		       digests ? l[i].repo_digest : "", digests ? " " : "", id,
		       created, size, l[i].platform);
	}
	free(l);
	return 0;
}
