/* Shared declarations of the CLI: one file per subcommand in cli/. */
#ifndef SM_CLI_H
#define SM_CLI_H

#include <stdbool.h>
#include <sys/types.h>

#include "supermachine.h"

/* Global options given before the subcommand. */
struct cli_globals {
	const char *root; /* --root DIR or $SUPERMACHINE_ROOT, NULL: default */
	int verbose;	  /* --verbose / -v count */
};

extern struct cli_globals cli_globals;

/* Prints "supermachine: MSG" for a failed library call. */
void cli_print_error(const struct sm_error *err);

/*
 * getopt_long() as docker's flags (cli/flags.c): flag errors reported
 * docker's way ("unknown flag: --bogus", "See 'supermachine run
 * --help'."), then CLI_BAD_FLAG for the caller to return
 * CLI_EXIT_FAILURE; long flags only by their whole name; 'h' (help)
 * where shortopts has no -h; `--flag=true|false` for a flag that takes
 * no value.
 */
struct option;
#define CLI_BAD_FLAG (-2)
int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/* pflag's booleans: 1 for 1, t, T, true, TRUE, True; 0 for 0, f, F,
 * false, FALSE, False; -1 for anything else. */
int cli_parse_bool(const char *s);
/* `invalid argument "VALUE" for "--FLAG" flag: WHY` and the See line;
 * CLI_BAD_FLAG. */
int cli_flag_value_error(char **argv, const char *flag, const char *value,
			 const char *why);

/* Exit status when supermachine itself fails, and of flag errors
 * (docker's number). */
#define CLI_EXIT_FAILURE 125
/* Exit status of a wrong count of arguments (docker's). */
#define CLI_EXIT_ARGS 1
/*
 * A wrong count of arguments, in docker's words: `"supermachine
 * snapshot" requires exactly 2 arguments.`, `See 'supermachine snapshot
 * --help'.`, then the first line of usage (NULL: none). what: "requires
 * exactly 2 arguments", "accepts no arguments"... Returns CLI_EXIT_ARGS.
 */
int cli_args_error(char **argv, const char *what, const char *usage);
/* The flags of a command that has only --help (-h): -1 to go on, optind
 * at its operands; else the status to exit with (0 once usage is on
 * stdout, CLI_EXIT_FAILURE after a flag error). */
int cli_help_only(int argc, char **argv, const char *usage);

/* "512m", "1g", "1024" (MiB) -> MiB. 0 or -EINVAL. */
int cli_parse_mib(const char *s, uint64_t *mib);
/* --memory: cli_parse_mib, at least SM_MIN_MEMORY_MIB; -1 (message
 * printed) when not. */
int cli_parse_memory(const char *s, uint64_t *mib);
/* run --log-opt KEY=VALUE (logs.c); -1 (message printed) when not one. */
int cli_parse_log_opt(const char *s, unsigned long long *max_size);

/* Each subcommand: argv[0] is the subcommand name. Returns exit status. */
int cmd_boot(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_seccomp(int argc, char **argv);
/* --security-opt ARG into o; -1 (message printed) when not supported. */
int cli_security_opt(const char *arg, struct sm_run_options *o);
/* --guest-limit KEY=N into o; -1 (message printed) when not valid. */
int cli_guest_limit(const char *arg, struct sm_run_options *o);
int cmd_pull(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_port(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_volume(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);

/*
 * One `run` or `restore` as a container (sm_container_create and
 * sm_container_start): detached, its id printed; in the foreground, the
 * user's signals passed in (its record stays, as docker's, unless --rm).
 * The exit status.
 */
int cli_run_container(struct sm_container_options *o);
/*
 * A container by id, id prefix or name; NULL (message printed, *status
 * set) when there is none. The container commands' exit statuses, as
 * docker's (docs/containers.md): 1 when the container is missing or not
 * in the state asked (cli_container_status), 125 when supermachine
 * failed.
 */
struct sm_container *cli_open_container(const char *ref, int *status);
/*
 * A container's output, stdout and stderr to ours, from since_ns
 * (CLOCK_REALTIME; 0: from now) until its process ends; its exit status
 * (cli/attach.c).
 */
int cli_attach_follow(struct sm_container *ct, int64_t since_ns);
/* CLOCK_REALTIME in ns: a since_ns for cli_attach_follow(). */
int64_t cli_wall_ns(void);
int cli_container_status(const struct sm_error *err);
/*
 * op(container, arg) on each of the n containers named: each name
 * printed once done, as docker's stop, kill and restart; errors printed.
 * The worst status (cli_container_status).
 */
int cli_each_container(char **refs, int n,
		       int (*op)(struct sm_container *, int, struct sm_error *),
		       int arg);

/* Image commands (cli/images.c): open the store of --root; sizes. */
int cli_open_store(struct sm_store **s, const char *const *insecure);
void cli_human_size(uint64_t n, char *buf, size_t len);

#endif
