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

/* Exit status when supermachine itself fails (docker's number). */
#define CLI_EXIT_FAILURE 125

/* "512m", "1g", "1024" (MiB) -> MiB. 0 or -EINVAL. */
int cli_parse_mib(const char *s, uint64_t *mib);

/* Each subcommand: argv[0] is the subcommand name. Returns exit status. */
int cmd_boot(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_seccomp(int argc, char **argv);
/* --security-opt ARG into o; -1 (message printed) when not supported. */
int cli_security_opt(const char *arg, struct sm_run_options *o);
/* --guest-limit KEY=N into o; -1 (message printed) when not valid. */
int cli_guest_limit(const char *arg, struct sm_run_options *o);
/*
 * The main thread once its VM runs: jailed when jail_main (a detached
 * VMM whose keeper does the record's last writes), then its seccomp
 * filter (unless o says unconfined); -1 (message printed) on failure.
 */
int cli_enter_control(const struct sm_run_options *o, bool jail_main);
/* The calling thread's seccomp and jail policies, from o; threads it
 * starts take them. */
void cli_thread_policy(const struct sm_run_options *o);
/* Whether the VMM jails its main thread (jail on, no sanitizer; without
 * root in a user namespace), in a process of its own under a keeper
 * (cli/vmm_proc.c) that does what needs the host's files. */
bool cli_jails_main_thread(const struct sm_run_options *o);

/*
 * The VMM's process (cli/vmm_proc.c). cli_vmm_fork: in the parent (the
 * keeper) the child's pid and *from_vmm, the read end of a pipe the child
 * writes; in the child 0 and *to_keeper, and the child dies with its
 * keeper; with keep non-NULL every fd above 2 but those (at most 15) and
 * the pipe is closed in the child. -1: no fork.
 */
pid_t cli_vmm_fork(int *from_vmm, int *to_keeper, const int *keep,
		   size_t nkeep);
/*
 * In the child, without root, while it has one thread: a user namespace
 * of its own whose uid 0 is the caller's, so the VM's threads take empty
 * roots and drop every capability as a root VMM's do (docs/security.md,
 * "Rootless"). 1: entered; 0: not entered (root, or a host that allows
 * none: the VMM runs as before, said when verbose); -errno and err: the
 * namespace is there but its id maps are not (the VMM cannot go on).
 */
int cli_vmm_enter_userns(bool verbose, struct sm_error *err);
/*
 * Installs the CLI's handlers for SIGINT, SIGTERM, SIGHUP, SIGQUIT and
 * SIGWINCH (once) and returns the read end of their pipe: one int
 * signal number per read (cli/signals.c). -1 when no pipe can be made.
 */
int cli_signal_pipe(void);

/* In the child: false once its keeper is gone. */
bool cli_vmm_keeper_alive(void);
/*
 * In the keeper: until the VMM ended, passes it the signals sent here and
 * hands each line it writes on its pipe (from_vmm, closed here) to line
 * (may be NULL). Returns its exit status, or 128 + the signal that ended
 * it.
 */
int cli_vmm_wait(pid_t pid, int from_vmm, void (*line)(void *, char *),
		 void *opaque);
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
int cmd_exec(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);

/* One `run` (cli/run_job.c): foreground or detached, with its record. */
struct run_job {
	const char *image;
	const char *restore_dir; /* `restore`: resume this snapshot instead */
	struct sm_run_options *o;
	const char *name; /* --name; NULL: generated */
	int detach;	  /* -d */
	int auto_remove;  /* --rm */
	int stop_timeout; /* --stop-timeout, seconds */
	/* cgroup v2 limits of the VMM process (cli/cgroup.c) */
	const char *cgroup_parent; /* --cgroup-parent; NULL: supermachine */
	unsigned pids_limit;	   /* --pids-limit */
	unsigned cpu_shares;	   /* --cpu-shares */
};
int cli_run_job(struct run_job *j);

/* cgroups (cli/cgroup.c): wanted when any of the three is given. */
bool cli_cgroup_wanted(const struct run_job *j);
int cli_cgroup_path(const struct run_job *j, const char *id, char *buf,
		    size_t size);
/* Moves this (single-threaded) process into its new cgroup. */
int cli_cgroup_enter(const struct run_job *j, const char *id,
		     struct sm_error *err);
/* Removes the cgroup once its process ended (the keeper). */
void cli_cgroup_remove(const struct run_job *j, const char *id);
/* Moves this process back where it was, then removes the cgroup. */
void cli_cgroup_leave(const struct run_job *j, const char *id);

/* Image commands (cli/images.c): open the store of --root; sizes. */
int cli_open_store(struct sm_store **s, const char *const *insecure);
void cli_human_size(uint64_t n, char *buf, size_t len);

#endif
