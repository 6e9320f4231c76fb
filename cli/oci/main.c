/*
 * supermachine-oci [GLOBAL FLAGS] COMMAND [FLAGS] ARGS: the command line
 * engines call runc by (docs/oci-runtime.md), each container a microVM.
 * Global flags, the --log writer and the dispatch.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

struct oci_globals oci_globals = {.root = OCI_DEFAULT_ROOT};

static void now_rfc3339(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* msg as a JSON string body (quotes, backslashes, control bytes). */
static void json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

static void log_line(const char *level, const char *msg)
{
	char when[64];
	FILE *f;

	if (!oci_globals.log_path || !(f = fopen(oci_globals.log_path, "ae")))
		return;
	now_rfc3339(when, sizeof(when));
	if (oci_globals.log_json) {
		fprintf(f, "{\"level\":\"%s\",\"msg\":\"", level);
		json_escape(f, msg);
		fprintf(f, "\",\"time\":\"%s\"}\n", when);
	} else {
		fprintf(f, "time=\"%s\" level=%s msg=\"", when, level);
		json_escape(f, msg);
		fprintf(f, "\"\n");
	}
	fclose(f);
}

void oci_log(const char *level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(level, msg);
	if (oci_globals.debug && strcmp(level, "error"))
		fprintf(stderr, "supermachine-oci: %s: %s\n", level, msg);
}

int oci_fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line("error", msg);
	fprintf(stderr, "supermachine-oci: %s\n", msg);
	return 1;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} commands[] = {
    {"create", oci_cmd_create, "create a container from a bundle"},
    {"start", oci_cmd_start, "start a created container's process"},
    {"run", oci_cmd_run, "create and start a container"},
    {"state", oci_cmd_state, "a container's state, as JSON"},
    {"kill", oci_cmd_kill, "send a signal to a container's process"},
    {"delete", oci_cmd_delete, "delete a stopped container"},
    {"exec", oci_cmd_exec, "run another process in a container"},
    {"list", oci_cmd_list, "list the containers"},
    {"ps", oci_cmd_ps, "the processes of a container"},
    {"features", oci_cmd_features, "what this runtime supports, as JSON"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: supermachine-oci [--root DIR] [--log FILE] "
		   "[--log-format text|json] COMMAND [ARGS]\n\n"
		   "A runc-compatible OCI runtime: every container is a "
		   "microVM (docs/oci-runtime.md).\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].what);
	return status;
}

static int version(void)
{
	printf("supermachine-oci version %s\nspec: %s\n", sm_version(),
	       OCI_SPEC_VERSION);
	return 0;
}

/* argv[*i] is -NAME or --NAME (urfave/cli takes both), "=VALUE" or a
 * VALUE next: that value (*i moved past it); NULL when not NAME. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
	const char *a = argv[*i] + (argv[*i][1] == '-' ? 2 : 1);
	size_t n = strlen(name);

	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static bool is_flag(const char *arg, const char *name)
{
	return !strcmp(arg + (arg[1] == '-' ? 2 : 1), name);
}

/* Global flags: their values, and those engines pass that a VM needs
 * not (--systemd-cgroup, --rootless, --criu). The command's index, or
 * -2 (--version), -3 (--help), -1 (a bad flag, printed). */
static int parse_globals(int argc, char **argv)
{
	const char *v;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if ((v = flag_value(argc, argv, &i, "root")))
			oci_globals.root = v;
		else if ((v = flag_value(argc, argv, &i, "log-format")))
			oci_globals.log_json = !strcmp(v, "json");
		else if ((v = flag_value(argc, argv, &i, "log")))
			oci_globals.log_path = v;
		else if (is_flag(argv[i], "debug"))
			oci_globals.debug = true;
		else if (is_flag(argv[i], "systemd-cgroup"))
			continue;
		else if (flag_value(argc, argv, &i, "rootless") ||
			 flag_value(argc, argv, &i, "criu"))
			continue;
		else if (is_flag(argv[i], "version") || !strcmp(argv[i], "-v"))
			return -2;
		else if (is_flag(argv[i], "help") || !strcmp(argv[i], "-h"))
			return -3;
		else {
			fprintf(stderr,
				"supermachine-oci: unknown global flag "
				"%s\n",
				argv[i]);
			return -1;
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	int i = parse_globals(argc, argv);

	if (i == -2)
		return version();
	if (i == -3)
		return usage(stdout, 0);
	if (i < 0)
		return usage(stderr, 1);
	if (i >= argc)
		return usage(stderr, 1);
	for (size_t c = 0; c < NCOMMANDS; c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i, argv + i);
	return oci_fail("unknown command \"%s\" (supermachine-oci --help)",
			argv[i]);
}
