/*
 * supermachine volume create|ls|inspect|rm|prune: docker's volume
 * commands over the store's volumes (sm_volume_*, docs/volumes.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define VOLUME_USAGE                                                     \
	"usage: supermachine volume COMMAND\n\n"                         \
	"commands:\n"                                                    \
	"  create [--name NAME] [NAME]       make a volume (no name: a " \
	"random one)\n"                                                  \
	"  ls [-q] [-f dangling=true|false]  list volumes\n"             \
	"  inspect NAME...                   show volumes as JSON\n"     \
	"  rm [-f] NAME...                   remove volumes no "         \
	"container uses\n"                                               \
	"  prune [-f]                        remove every volume no "    \
	"container uses\n"

/* docker's exit statuses: 1 for what the daemon refuses (a bad name, no
 * such volume, in use), 125 when supermachine itself failed. */
static int status_of(const struct sm_error *err)
{
	return err->code == -EINVAL || err->code == -ENOENT ||
		       err->code == -EBUSY
		   ? 1
		   : CLI_EXIT_FAILURE;
}

static int print_error(const char *name, const struct sm_error *err)
{
	if (err->code == -ENOENT)
		fprintf(stderr, "Error: No such volume: %s\n", name);
	else
		cli_print_error(err);
	return status_of(err);
}

/* Parses a subcommand's flags docker's way; -1 at the end of them, else
 * the exit status to return (help printed, or a bad flag). */
static int next_flag(int argc, char **argv, const char *so,
		     const struct option *lo, const char *usage, int *c)
{
	*c = cli_getopt(argc, argv, so, lo);
	if (*c == CLI_BAD_FLAG)
		return CLI_EXIT_FAILURE;
	if (*c == 'h') {
		printf("%s", usage);
		return 0;
	}
	return -1;
}

static int vol_create(int argc, char **argv, struct sm_store *s)
{
	static const char usage[] =
	    "usage: supermachine volume create [-d local] [--name NAME] "
	    "[NAME]\n";
	static const struct option lo[] = {
	    {"driver", required_argument, 0, 'd'},
	    {"name", required_argument, 0, 'n'},
	    {"help", no_argument, 0, 'h'},
	    {0}};
	struct sm_volume_info info = {.struct_size = sizeof(info)};
	struct sm_error err = {0};
	const char *name = NULL;
	int c, st;

	while ((st = next_flag(argc, argv, "d:h", lo, usage, &c)) < 0 &&
	       c != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 'd' && strcmp(optarg, "local")) {
			fprintf(stderr,
				"supermachine: volume driver %s: only "
				"\"local\" is supported\n",
				optarg);
			return CLI_EXIT_FAILURE;
		}
	}
	if (st >= 0)
		return st;
	if (argc - optind > 1)
		return cli_args_error(argv, "requires at most 1 argument",
				      usage);
	if (name && optind < argc && strcmp(name, argv[optind])) {
		fprintf(stderr, "supermachine: conflicting options: either "
				"specify --name or provide positional arg, "
				"not both\n");
		return 1; /* docker's */
	}
	if (optind < argc)
		name = argv[optind];
	if (sm_volume_create(s, name, &info, &err))
		return print_error(name ? name : "", &err);
	printf("%s\n", info.name);
	return 0;
}

static int vol_ls(int argc, char **argv, struct sm_store *s)
{
	static const char usage[] = "usage: supermachine volume ls [-q] "
				    "[-f dangling=true|false]\n";
	static const struct option lo[] = {
	    {"quiet", no_argument, 0, 'q'},
	    {"filter", required_argument, 0, 'f'},
	    {"help", no_argument, 0, 'h'},
	    {0}};
	struct sm_volume_info *list = NULL;
	struct sm_error err = {0};
	int c, st, n, quiet = 0, dangling = -1;

	while ((st = next_flag(argc, argv, "qf:h", lo, usage, &c)) < 0 &&
	       c != -1) {
		if (c == 'q')
			quiet = 1;
		else if (!strcmp(optarg, "dangling=true") ||
			 !strcmp(optarg, "dangling=1"))
			dangling = 1;
		else if (!strcmp(optarg, "dangling=false") ||
			 !strcmp(optarg, "dangling=0"))
			dangling = 0;
		else {
			fprintf(stderr,
				"supermachine: invalid filter '%s' (dangling="
				"true|false is supported)\n",
				optarg);
			return CLI_EXIT_FAILURE;
		}
	}
	if (st >= 0)
		return st;
	if (optind < argc)
		return cli_args_error(argv, "accepts no arguments", usage);
	if ((n = sm_volume_list(s, &list, &err)) < 0)
		return print_error("", &err);
	if (!quiet)
		printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
	for (int i = 0; i < n; i++) {
		const struct sm_volume_info *v = sm_volume_info_at(list, i);

		if (dangling >= 0 && (v->users == 0) != dangling)
			continue;
		if (quiet)
			printf("%s\n", v->name);
		else
			printf("%-10s%s\n", "local", v->name);
	}
	free(list);
	return 0;
}

/* A JSON string (the store's path may hold anything). */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* docker's CreatedAt: RFC 3339 in local time. */
static void rfc3339(int64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (off == 0)
		snprintf(buf + strlen(buf), size - strlen(buf), "Z");
	else
		snprintf(buf + strlen(buf), size - strlen(buf), "%c%02ld:%02ld",
			 off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

static void print_volume(const struct sm_volume_info *v, bool first)
{
	char when[64];

	rfc3339(v->created_ns, when, sizeof(when));
	printf("%s    {\n        \"CreatedAt\": \"%s\",\n"
	       "        \"Driver\": \"local\",\n        \"Labels\": %s,\n"
	       "        \"Mountpoint\": ",
	       first ? "" : ",\n", when,
	       /* docker 23's mark of an anonymous volume */
	       v->anonymous ? "{\n            \"com.docker.volume.anonymous\": "
			      "\"\"\n        }"
			    : "{}");
	json_str(v->mountpoint);
	printf(",\n        \"Name\": ");
	json_str(v->name);
	printf(",\n        \"Options\": {},\n        \"Scope\": \"local\"\n"
	       "    }");
}

static int vol_inspect(int argc, char **argv, struct sm_store *s)
{
	static const char usage[] =
	    "usage: supermachine volume inspect NAME...\n";
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int c, st, status = 0, shown = 0;

	while ((st = next_flag(argc, argv, "h", lo, usage, &c)) < 0 && c != -1)
		;
	if (st >= 0)
		return st;
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      usage);
	printf("[");
	for (int i = optind; i < argc; i++) {
		struct sm_volume_info v = {.struct_size = sizeof(v)};
		struct sm_error err = {0};

		if (sm_volume_inspect(s, argv[i], &v, &err)) {
			int e = print_error(argv[i], &err);

			status = status > e ? status : e;
			continue;
		}
		printf("%s", shown ? "" : "\n");
		print_volume(&v, !shown++);
	}
	printf(shown ? "\n]\n" : "]\n");
	return status;
}

static int vol_rm(int argc, char **argv, struct sm_store *s)
{
	static const char usage[] =
	    "usage: supermachine volume rm [-f|--force] NAME...\n";
	static const struct option lo[] = {
	    {"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	int c, st, force = 0, status = 0;

	while ((st = next_flag(argc, argv, "fh", lo, usage, &c)) < 0 && c != -1)
		force = 1;
	if (st >= 0)
		return st;
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      usage);
	for (int i = optind; i < argc; i++) {
		struct sm_error err = {0};
		int e;

		if (sm_volume_remove(s, argv[i], force, &err) == 0) {
			printf("%s\n", argv[i]);
			continue;
		}
		e = print_error(argv[i], &err);
		status = status > e ? status : e;
	}
	return status;
}

/* docker's units.HumanSize: decimal units, 4 significant digits. */
static void human(uint64_t n, char *buf, size_t size)
{
	static const char *const u[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double v = (double)n;
	int i = 0;

	while (v >= 1000 && i < 5) {
		v /= 1000;
		i++;
	}
	snprintf(buf, size, "%.4g%s", v, u[i]);
}

/* docker 20.10's prompt: a line from stdin, whatever it is; only "y"
 * (either case) goes on. */
static bool confirmed(void)
{
	char line[64] = "";

	printf("WARNING! This will remove all local volumes not used by at "
	       "least one container.\nAre you sure you want to continue? "
	       "[y/N] ");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return !strcmp(line, "y") || !strcmp(line, "Y");
}

static int vol_prune(int argc, char **argv, struct sm_store *s)
{
	static const char usage[] = "usage: supermachine volume prune [-f]\n";
	static const struct option lo[] = {
	    {"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	struct sm_volume_info *gone = NULL;
	struct sm_error err = {0};
	uint64_t bytes = 0;
	char size[32];
	int c, st, n, force = 0;

	while ((st = next_flag(argc, argv, "fh", lo, usage, &c)) < 0 && c != -1)
		force = 1;
	if (st >= 0)
		return st;
	if (optind < argc)
		return cli_args_error(argv, "accepts no arguments", usage);
	n = force || confirmed() ? sm_volume_prune(s, &gone, &bytes, &err) : 0;
	if (n < 0)
		return print_error("", &err);
	if (n > 0)
		printf("Deleted Volumes:\n");
	for (int i = 0; i < n; i++)
		printf("%s\n", sm_volume_info_at(gone, i)->name);
	free(gone);
	human(bytes, size, sizeof(size));
	printf("%sTotal reclaimed space: %s\n", n > 0 ? "\n" : "", size);
	return 0;
}

static const struct {
	const char *name, *alias, *argv0;
	int (*run)(int argc, char **argv, struct sm_store *s);
} volume_cmds[] = {
    {"create", NULL, "volume create", vol_create},
    {"ls", "list", "volume ls", vol_ls},
    {"inspect", NULL, "volume inspect", vol_inspect},
    {"rm", "remove", "volume rm", vol_rm},
    {"prune", NULL, "volume prune", vol_prune},
};

int cmd_volume(int argc, char **argv)
{
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	struct sm_store *s;
	int c, st;

	while ((c = cli_getopt(argc, argv, "+h", lo)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		printf("%s", VOLUME_USAGE);
		return 0;
	}
	if (optind >= argc) {
		printf("%s", VOLUME_USAGE);
		return 0;
	}
	for (size_t i = 0; i < sizeof(volume_cmds) / sizeof(volume_cmds[0]);
	     i++) {
		if (strcmp(argv[optind], volume_cmds[i].name) &&
		    (!volume_cmds[i].alias ||
		     strcmp(argv[optind], volume_cmds[i].alias)))
			continue;
		/* "See 'supermachine volume rm --help'." in flag errors */
		argv[optind] = (char *)volume_cmds[i].argv0;
		argv += optind;
		argc -= optind;
		optind = 0;
		if (cli_open_store(&s, NULL))
			return CLI_EXIT_FAILURE;
		st = volume_cmds[i].run(argc, argv, s);
		sm_store_close(s);
		return st;
	}
	fprintf(stderr, "supermachine: unknown command 'volume %s'\n%s",
		argv[optind], VOLUME_USAGE);
	return CLI_EXIT_FAILURE;
}
