/*
 * supermachine logs [-f] [-t] [-n N|all] [--since T] [--until T] NAME:
 * a container's output as
 * its log recorded it (docs/containers.md, "Logs"): stdout to stdout,
 * stderr to stderr, in the order the guest wrote them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "container/log_format.h"

static const char usage[] =
    "usage: supermachine logs [OPTIONS] CONTAINER\n\n"
    "  -f, --follow        follow the output until the container ends\n"
    "  -t, --timestamps    each line after its time (RFC3339Nano, UTC)\n"
    "  -n, --tail N        the last N lines (default \"all\")\n"
    "      --since TIME    lines from TIME on: a date-time (RFC 3339),\n"
    "                      a Unix time, or a duration before now (10m)\n"
    "      --until TIME    lines up to TIME, the same forms\n";

/* docker's --tail: a count, or "all" (a negative count means all too). */
static int parse_tail(const char *s, long long *tail)
{
	char *end;

	if (!strcmp(s, "all")) {
		*tail = -1;
		return 0;
	}
	errno = 0;
	*tail = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	if (*tail < 0)
		*tail = -1;
	return 0;
}

static int parse_time(const char *flag, const char *s, int64_t *ns)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (!ctr_log_time_arg(
		s, (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, ns))
		return 0;
	fprintf(stderr,
		"supermachine logs: %s %s: not a time (a date-time such as "
		"2026-01-02T15:04:05Z, a Unix time, or a duration such as "
		"10m)\n",
		flag, s);
	return -1;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"timestamps", no_argument, NULL, 't'},
	    {"tail", required_argument, NULL, 'n'},
	    {"since", required_argument, NULL, 'S'},
	    {"until", required_argument, NULL, 'U'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_error err = {0};
	struct sm_logs_options o;
	struct sm_container *ct;
	int c, ret;

	sm_logs_options_init(&o);
	while ((c = cli_getopt(argc, argv, "ftn:", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'f') {
			o.follow = 1;
		} else if (c == 't') {
			o.timestamps = 1;
		} else if (c == 'n' && parse_tail(optarg, &o.tail)) {
			fprintf(stderr,
				"supermachine logs: --tail: not a number: "
				"%s\n",
				optarg);
			return CLI_EXIT_FAILURE;
		} else if ((c == 'S' || c == 'U') &&
			   parse_time(c == 'S' ? "--since" : "--until", optarg,
				      c == 'S' ? &o.since_ns : &o.until_ns)) {
			return CLI_EXIT_FAILURE;
		} else if (c != 'n' && c != 'S' && c != 'U') {
			fputs(usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : CLI_EXIT_FAILURE;
		}
	}
	if (optind + 1 != argc)
		return cli_args_error(argv, "requires exactly 1 argument",
				      usage);
	if (!(ct = cli_open_container(argv[optind], &c)))
		return c;
	fflush(stdout);
	ret = sm_container_logs_write(ct, &o, &err);
	if (ret && ret != -EPIPE)
		cli_print_error(&err);
	sm_container_close(ct);
	return ret ? cli_container_status(&err) : 0;
}

/* docker's --log-opt: max-size=SIZE (bytes, k/m/g: 1024's, as docker's
 * units); max-file=1 (one file is all there is). */
int cli_parse_log_opt(const char *s, unsigned long long *max_size)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!strcmp(s, "max-file=1"))
		return 0;
	if (strncmp(s, "max-size=", 9)) {
		fprintf(stderr,
			"supermachine: --log-opt %s: only max-size=SIZE (and "
			"max-file=1) are supported\n",
			s);
		return -1;
	}
	errno = 0;
	v = strtoull(s + 9, &end, 10);
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1ULL << 30;
		end++;
		break;
	}
	end += (*end == 'b' || *end == 'B');
	if (errno || end == s + 9 || *end || !v || v > ~0ULL / mul) {
		fprintf(stderr,
			"supermachine: --log-opt %s: expected max-size=SIZE "
			"(e.g. 10m)\n",
			s);
		return -1;
	}
	*max_size = v * mul;
	return 0;
}
