/*
 * supermachine boot: the low-level entry point. Boots a kernel and an
 * initramfs, runs `-- CMD ARGS...` through the guest init, and exits with
 * the command's status (see docs/cli.md for the statuses of VM faults).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "cli.h"

#define EXIT_TIMEOUT 124
#define EXIT_TRIPLE_FAULT 133
#define EXIT_PANIC 134
#define EXIT_NO_STATUS 135

static void usage(FILE *out)
{
	fprintf(out, "usage: supermachine boot --kernel FILE [--initrd FILE] "
		     "[--cmdline STR]\n"
		     "                         [--cpus N] [--memory SIZE] "
		     "[--timeout SEC]\n"
		     "                         [--console FILE] [--timing]\n"
		     "                         [--share "
		     "TAG=DIR[,ro][,dax[=SIZE]]]... [-- CMD [ARGS...]]\n");
}

/* Parses docker-style sizes: 512m, 1g, 1024 (MiB when no suffix). */
int cli_parse_mib(const char *s, uint64_t *mib)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
	case 'm':
	case 'M':
		break;
	case 'g':
	case 'G':
		if (v > UINT64_MAX / 1024)
			return -EINVAL;
		v *= 1024;
		break;
	case 'k':
	case 'K':
		v /= 1024;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && !((end[1] == 'b' || end[1] == 'B') && !end[2]))
		return -EINVAL;
	*mib = v;
	return 0;
}

int cli_parse_memory(const char *s, uint64_t *mib)
{
	if (cli_parse_mib(s, mib)) {
		fprintf(stderr, "supermachine: --memory: bad size '%s'\n", s);
		return -1;
	}
	if (*mib < SM_MIN_MEMORY_MIB) {
		fprintf(stderr,
			"supermachine: --memory %s: Minimum memory limit "
			"allowed is %uMB (the guest's kernel and init need "
			"it)\n",
			s, SM_MIN_MEMORY_MIB);
		return -1;
	}
	return 0;
}

#define MAX_SHARES 8

/* TAG=DIR[,ro][,dax[=SIZE]]: a host directory served over virtio-fs. */
static int parse_share(char *spec, struct sm_share *sh)
{
	char *eq = strchr(spec, '='), *opt, *save = NULL;

	if (!eq || eq == spec)
		return -EINVAL;
	*eq = '\0';
	sh->tag = spec;
	sh->dir = strtok_r(eq + 1, ",", &save);
	if (!sh->dir || !*sh->dir)
		return -EINVAL;
	while ((opt = strtok_r(NULL, ",", &save))) {
		uint64_t mib = 256;

		if (strcmp(opt, "ro") == 0)
			sh->read_only = 1;
		else if (strcmp(opt, "dax") == 0 ||
			 (strncmp(opt, "dax=", 4) == 0 &&
			  cli_parse_mib(opt + 4, &mib) == 0))
			sh->dax_window = mib << 20;
		else
			return -EINVAL;
	}
	return 0;
}

/* The guest init reads its command as hex of NUL-separated arguments. */
static char *encode_command(const char *cmdline, char **argv, int argc)
{
	size_t len = (cmdline ? strlen(cmdline) : 0) + 16;
	char *out, *p;

	for (int i = 0; i < argc; i++)
		len += 2 * (strlen(argv[i]) + 1);
	out = malloc(len);
	if (!out)
		return NULL;
	p = out + sprintf(out, "%s%s", cmdline ? cmdline : "",
			  argc && cmdline && *cmdline ? " " : "");
	if (argc)
		p += sprintf(p, "sm.cmd=");
	for (int i = 0; i < argc; i++) {
		for (const char *c = argv[i];; c++) {
			p += sprintf(p, "%02x", (unsigned char)*c);
			if (!*c)
				break;
		}
	}
	*p = '\0';
	return out;
}

static int outcome_status(const struct sm_boot_result *r)
{
	if (r->reason != SM_EXIT_GUEST)
		fprintf(stderr, "supermachine: %s\n",
			r->detail[0] ? r->detail : "VM stopped");
	switch (r->reason) {
	case SM_EXIT_GUEST:
		return r->status;
	case SM_EXIT_TIMEOUT:
		return EXIT_TIMEOUT;
	case SM_EXIT_TRIPLE_FAULT:
		return EXIT_TRIPLE_FAULT;
	case SM_EXIT_PANIC:
		return EXIT_PANIC;
	case SM_EXIT_POWEROFF:
		return EXIT_NO_STATUS;
	default:
		return CLI_EXIT_FAILURE;
	}
}

int cmd_boot(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kernel", required_argument, NULL, 'k'},
	    {"initrd", required_argument, NULL, 'i'},
	    {"cmdline", required_argument, NULL, 'c'},
	    {"cpus", required_argument, NULL, 'n'},
	    {"memory", required_argument, NULL, 'm'},
	    {"timeout", required_argument, NULL, 't'},
	    {"console", required_argument, NULL, 'o'},
	    {"timing", no_argument, NULL, 'T'},
	    {"share", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_boot_config cfg = {.size = sizeof(cfg), .console_fd = 1};
	struct sm_share shares[MAX_SHARES] = {0};
	struct sm_boot_result res = {.size = sizeof(res)};
	struct sm_error err = {0};
	const char *cmdline = NULL;
	int c, timing = 0, ret;
	char *full;

	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		switch (c) {
		case 'k':
			cfg.kernel = optarg;
			break;
		case 'i':
			cfg.initrd = optarg;
			break;
		case 'c':
			cmdline = optarg;
			break;
		case 'n':
			cfg.cpus = (unsigned)atoi(optarg);
			if (cfg.cpus < 1) {
				fprintf(stderr, "supermachine: --cpus: need a "
						"number >= 1\n");
				return CLI_EXIT_FAILURE;
			}
			break;
		case 'm':
			if (cli_parse_memory(optarg, &cfg.memory_mib))
				return CLI_EXIT_FAILURE;
			break;
		case 't':
			cfg.timeout_ms = (unsigned)(atof(optarg) * 1000);
			break;
		case 'o':
			cfg.console_fd = open(
			    optarg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			    0644);
			if (cfg.console_fd < 0) {
				fprintf(stderr,
					"supermachine: --console %s: %s\n",
					optarg, strerror(errno));
				return CLI_EXIT_FAILURE;
			}
			break;
		case 'T':
			timing = 1;
			break;
		case 's':
			if (cfg.nshares >= MAX_SHARES ||
			    parse_share(optarg, &shares[cfg.nshares])) {
				fprintf(
				    stderr,
				    "supermachine: --share: expected "
				    "TAG=DIR[,ro][,dax[=SIZE]] (at most %d)\n",
				    MAX_SHARES);
				return CLI_EXIT_FAILURE;
			}
			cfg.nshares++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return CLI_EXIT_FAILURE;
		}
	}
	if (!cfg.kernel) { /* cobra's words for a required flag */
		fprintf(stderr, "supermachine: required flag(s) \"kernel\" "
				"not set\nSee 'supermachine boot --help'.\n");
		return CLI_EXIT_FAILURE;
	}
	full = encode_command(cmdline, argv + optind, argc - optind);
	if (!full) {
		fprintf(stderr, "supermachine: out of memory\n");
		return CLI_EXIT_FAILURE;
	}
	cfg.cmdline = full;
	cfg.shares = shares;
	ret = sm_boot(&cfg, &res, &err);
	free(full);
	if (ret) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	if (timing)
		fprintf(stderr, "timing: boot_to_init_ms=%.1f total_ms=%.1f\n",
			res.boot_to_init_ns / 1e6, res.total_ns / 1e6);
	return outcome_status(&res);
}
