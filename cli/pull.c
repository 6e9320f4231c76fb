/* supermachine pull: fetch an image; docker-like progress on a TTY. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct layer_view {
	char id[13];
	uint64_t cur, total;
	enum sm_pull_state state;
	double t0;
};

struct view {
	int tty, quiet, drawn;
	unsigned int n;
	struct layer_view *l;
	double last;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *state_name(enum sm_pull_state s)
{
	switch (s) {
	case SM_PULL_WAITING:
		return "Waiting";
	case SM_PULL_DOWNLOADING:
		return "Downloading";
	case SM_PULL_RETRYING:
		return "Retrying";
	case SM_PULL_DOWNLOADED:
		return "Download complete";
	case SM_PULL_EXISTS:
		return "Already exists";
	case SM_PULL_EXTRACTING:
		return "Extracting";
	case SM_PULL_EXTRACTED:
		return "Pull complete";
	}
	return "?";
}

static void draw(struct view *v)
{
	if (v->drawn)
		printf("\033[%uA", v->n);
	for (unsigned int i = 0; i < v->n; i++) {
		struct layer_view *l = &v->l[i];
		char cur[32], tot[32], rate[48] = "";

		printf("\033[2K%s: %-18s", l->id, state_name(l->state));
		if (l->state == SM_PULL_DOWNLOADING ||
		    l->state == SM_PULL_RETRYING) {
			double dt = now() - l->t0;
			cli_human_size(l->cur, cur, sizeof(cur));
			cli_human_size(l->total, tot, sizeof(tot));
			if (dt > 0.2) {
				char r[32];
				cli_human_size(l->cur / dt, r, sizeof(r));
				snprintf(rate, sizeof(rate), "  %s/s", r);
			}
			printf(" %s/%s%s", cur, tot, rate);
		}
		printf("\n");
	}
	v->drawn = 1;
	fflush(stdout);
}

static void on_progress(const struct sm_pull_progress *p, void *opaque)
{
	struct view *v = opaque;
	struct layer_view *l;
	enum sm_pull_state old;

	if (!v->l) {
		v->n = p->count;
		v->l = calloc(v->n, sizeof(*v->l));
		if (!v->l)
			return;
	}
	if (p->index >= v->n)
		return;
	l = &v->l[p->index];
	old = l->state;
	snprintf(l->id, sizeof(l->id), "%.12s", p->digest + 7);
	if (p->state == SM_PULL_DOWNLOADING && !l->t0)
		l->t0 = now();
	l->cur = p->current;
	l->total = p->total;
	l->state = p->state;
	if (v->quiet)
		return;
	if (v->tty) {
		/* redraw on state changes, else at most 10 times a second */
		if (old != p->state || now() - v->last > 0.1) {
			v->last = now();
			draw(v);
		}
	} else if (old != p->state && (p->state == SM_PULL_DOWNLOADED ||
				       p->state == SM_PULL_EXISTS ||
				       p->state == SM_PULL_EXTRACTED)) {
		printf("%s: %s\n", l->id, state_name(p->state));
		fflush(stdout);
	}
}

/* The manifest digest ref has in the store now; "" when none. */
static void manifest_digest(struct sm_store *s, const char *ref, char *buf,
			    size_t size)
{
	char *text = NULL;
	json_t *o;

	buf[0] = '\0';
	if (sm_image_inspect(s, ref, &text, NULL))
		return;
	o = json_loads(text, 0, NULL);
	free(text);
	snprintf(buf, size, "%s",
		 json_string_value(json_object_get(o, "Digest")) ?: "");
	json_decref(o);
}

static const char usage[] =
    "usage: supermachine pull [--platform OS/ARCH[/VARIANT]] [-q] "
    "[--insecure-registry HOST] [-j N] IMAGE\n";

int cmd_pull(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"platform", required_argument, NULL, 'p'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"insecure-registry", required_argument, NULL, 'i'},
	    {"parallel", required_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_pull_options o = {.size = sizeof(o)};
	struct view v = {.tty = isatty(1)};
	struct sm_image_info info = {.struct_size = sizeof(info)};
	struct sm_error err = {0};
	const char *insecure[16] = {0};
	unsigned int ni = 0;
	struct sm_store *s;
	char before[72];
	int c, r;

	while ((c = cli_getopt(argc, argv, "qhj:", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		switch (c) {
		case 'p':
			o.platform = optarg;
			break;
		case 'q':
			v.quiet = 1;
			break;
		case 'i':
			if (ni < 15)
				insecure[ni++] = optarg;
			break;
		case 'j':
			o.parallel = atoi(optarg);
			break;
		default: /* 'h' */
			fputs(usage, stdout);
			return 0;
		}
	}
	if (optind != argc - 1)
		return cli_args_error(argv, "requires exactly 1 argument",
				      usage);
	if (cli_open_store(&s, insecure))
		return CLI_EXIT_FAILURE;
	o.progress = on_progress;
	o.progress_opaque = &v;
	manifest_digest(s, argv[optind], before, sizeof(before));
	r = sm_image_pull(s, argv[optind], &o, &info, &err);
	sm_store_close(s);
	free(v.l);
	if (r) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	if (!v.quiet) /* docker's words */
		printf("Digest: %s\nStatus: %s %s\n", info.repo_digest,
		       strcmp(before, info.digest)
			   ? "Downloaded newer image for"
			   : "Image is up to date for",
		       info.name);
	else
		printf("%s\n", info.name);
	return 0;
}
