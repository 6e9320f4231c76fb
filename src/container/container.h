/*
 * Containers, inside the library (the public API: sm_container_* in
 * supermachine.h): the record of running and exited VMs, for `ps`,
 * `logs`, `stop`, `kill`, `rm`, `exec` and `snapshot` (docs/containers.md).
 *
 * There is no daemon. Each VM runs in its own process (the `run` process,
 * or for `run -d` a forked supervisor), which owns the VM handle and
 * answers requests on a unix socket in the container's runtime directory:
 *
 *   RUNTIME/containers/ID/meta        JSON: id, name, image, command, ...
 *   RUNTIME/containers/ID/state       JSON: status, pid, exit code, times
 *   RUNTIME/containers/ID/ctl.sock    requests (one JSON line each)
 *   RUNTIME/containers/ID/container.log   its output (logs.h)
 *   RUNTIME/containers/ID/vmm.log   a detached VMM's own stderr
 *
 * RUNTIME is $SUPERMACHINE_RUNTIME, else /run/supermachine for root, else
 * $XDG_RUNTIME_DIR/supermachine, else /tmp/supermachine-UID: a tmpfs,
 * because unix sockets cannot live on every file system.
 */
#ifndef SM_CONTAINER_H
#define SM_CONTAINER_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "supermachine.h"

#define CTR_ID_LEN 64

struct ctr {
	char id[CTR_ID_LEN + 1];
	char name[128];
	char dir[PATH_MAX];
	json_t *meta;  /* NULL until loaded */
	json_t *state; /* NULL until loaded */
};

/* The runtime directory holding every container record (created). */
int ctr_root(char *buf, size_t size, struct sm_error *err);

/*
 * Makes a new record (random id; name given or generated, unique).
 * meta is taken over (id and name are added to it).
 */
int ctr_create(struct ctr *c, const char *name, json_t *meta,
	       struct sm_error *err);
/* Finds a container by full id, unique id prefix or name. */
int ctr_find(struct ctr *c, const char *ref, struct sm_error *err);
/* Every record, newest first; free with ctr_list_free(). */
int ctr_list(struct ctr **list, size_t *n, struct sm_error *err);
void ctr_list_free(struct ctr *list, size_t n);
void ctr_release(struct ctr *c);
/* Deletes the record (logs included). */
int ctr_remove(struct ctr *c, struct sm_error *err);

/* Writes the state file atomically (takes a reference to nothing). */
int ctr_write_state(struct ctr *c, const json_t *state, struct sm_error *err);
/* Writes c->meta again, atomically (a run adds its volumes to it). */
int ctr_write_meta(struct ctr *c, struct sm_error *err);
/*
 * Loads c->meta and c->state; a record whose process died without
 * writing its end is reported as exited with code -1.
 */
int ctr_load(struct ctr *c, struct sm_error *err);
bool ctr_running(const struct ctr *c);
/*
 * The lock the process owning the record's VM holds for its life
 * (record.c): its fd, or -EBUSY when another holds it past wait_ms.
 */
int ctr_lock_life(const struct ctr *c, int wait_ms);
const char *ctr_str(json_t *obj, const char *key); /* "" when missing */
int64_t ctr_int(json_t *obj, const char *key);

/* docker's COMMAND: entrypoint and command (command.c). */
void ctr_command(json_t *meta, char *buf, size_t size);

/* dir/file into buf; -ENAMETOOLONG when it does not fit. */
int ctr_join(char *buf, size_t size, const char *dir, const char *file);
int ctr_path(const struct ctr *c, const char *file, char *buf, size_t size);

/*
 * Sends one request to the container's process and reads its one-line
 * reply. fds (up to 3) travel with the request (SCM_RIGHTS). With
 * conn_out, the connection stays open for more lines (exec's signals).
 */
int ctr_request(const struct ctr *c, json_t *req, const int *fds, int nfds,
		json_t **reply, int *conn_out, struct sm_error *err);
/* Reads one JSON line from a connection (blocking). */
int ctr_read_line(int fd, json_t **msg, struct sm_error *err);
int ctr_write_line(int fd, json_t *msg);

/* ---- inside the VM's process (serve.c) ---- */

struct ctr_server;

/* Answers requests for vm on the record's socket, in a thread;
 * stdin_feed (-1: none): the write end of the VM's stdin pipe, for
 * attach's "stdin" requests. */
int ctr_serve_start(struct ctr *c, struct sm_vm *vm, int stop_timeout,
		    int stdin_feed, struct ctr_server **srv,
		    struct sm_error *err);
/* Stops answering (before the VM is destroyed); removes the socket. */
void ctr_serve_stop(struct ctr_server *srv);
/* Marks the process finished: requests waiting in `stop` return. */
void ctr_serve_exited(struct ctr_server *srv);

/* ---- what start and restart run again (config.c) ---- */

/* The record's "config": create's options, fixed at create (-e K took
 * the host's value, paths are absolute). */
json_t *ctr_config_save(const struct sm_container_options *o);

struct ctr_config {
	json_t *json; /* a reference: the strings below are its */
	struct sm_container_options o;
	struct sm_run_options run; /* o.run; its lists are ours */
	const char *cwd;	   /* the creator's, for relative binds */
	char *owned[64];	   /* strings made here (volume specs) */
	size_t nowned;
};

/*
 * The options to run the record again, from its meta: pull never, the
 * anonymous volumes its runs made reused (config_volumes.c). -ENOTSUP
 * for a record without them.
 */
int ctr_config_load(json_t *meta, struct ctr_config **cfg,
		    struct sm_error *err);
void ctr_config_free(struct ctr_config *cfg);
int ctr_config_reuse_anonymous(struct ctr_config *cfg, json_t *meta,
			       struct sm_error *err);

/* ---- the handle (api.c, start.c) ---- */

struct sm_container {
	struct ctr rec;
	bool recorded; /* false: a foreground run whose record failed */
	bool started;
	struct sm_container_options o; /* create's, for start */
	char *store_root, *image, *restore_dir, *cgroup_parent; /* copies */
	struct ctr_log_writer *log; /* while it runs (logs.h) */
	/* start of a record that ran before (restart.c): its options */
	struct ctr_config *cfg;
	int life_fd;	/* ctr_lock_life()'s, handed to the VM's owner; -1 */
	int stdin_feed; /* a detached -i VM's stdin pipe, write end; -1 */
	int stdin_conn; /* sm_container_attach_stdin()'s request; -1 */
};

/* The status a VMM exits with after it failed (docker's number). */
#define CTR_EXIT_FAILURE 125

/* ---- the VM's process (start.c, keeper.c, confine.c) ---- */

int ctr_start_foreground(struct sm_container *c, int *status,
			 struct sm_error *err);
/* status: the process's when it could not start (-ENOEXEC), else 125 */
int ctr_start_detached(struct sm_container *c, int *status,
		       struct sm_error *err);
/* sm_container_start() of an opened record: detached, from its config
 * (restart.c); a running one: 0, nothing done. */
int ctr_start_existing(struct sm_container *c, int *status,
		       struct sm_error *err);

/* CLOCK_REALTIME in nanoseconds: the records' times. */
int64_t ctr_wall_ns(void);

/* The state file: status, pid, time, exit code, error, ports. */
void ctr_write_state_of(struct ctr *c, pid_t pid, const char *status,
			int exit_code, const char *error, const char *ports);

/*
 * The VMM's process (keeper.c, docs/security.md, "The keeper"). In the
 * parent (the keeper) the child's pid and *from_vmm, the read end of a
 * pipe the child writes; in the child 0 and *to_keeper, and the child
 * dies with its keeper; with keep non-NULL every fd above 2 but those (at
 * most 15) and the pipe is closed in the child. -1: no fork.
 */
pid_t ctr_vmm_fork(int *from_vmm, int *to_keeper, const int *keep,
		   size_t nkeep);
/* In the child, without root, while it has one thread: a user namespace
 * whose uid 0 is the caller's (docs/security.md, "Rootless"). 1: entered;
 * 0: not (root, or a host that allows none); -errno and err: the
 * namespace is there but its id maps are not. */
int ctr_vmm_enter_userns(struct sm_error *err);
/* In the child, once its VM runs: gives back the heap's free pages
 * (what setting the VM up used). */
void ctr_vmm_trim(void);
/* In the child: false once its keeper is gone. */
bool ctr_vmm_keeper_alive(void);
/*
 * In the keeper: until the VMM ended, passes it the signals read from
 * sig_fd (-1: none) that did not reach it from the terminal too, and
 * hands each line it writes on its pipe (from_vmm, closed here) to line.
 * Returns its exit status, or 128 + the signal that ended it.
 */
int ctr_vmm_wait(pid_t pid, int from_vmm, int sig_fd,
		 void (*line)(void *, char *), void *opaque);

/* The thread policies of o, for this thread and those it starts. */
void ctr_thread_policy(const struct sm_run_options *o);
/* Whether the VMM jails its main thread, in a process of its own. */
bool ctr_jails_main_thread(const struct sm_run_options *o);
/* The main thread once its VM runs: jailed when jail_main, then its
 * seccomp filter (unless o says unconfined). */
int ctr_enter_control(const struct sm_run_options *o, bool jail_main,
		      struct sm_error *err);

/* cgroup v2 limits (cgroup.c): wanted when any is given. */
bool ctr_cgroup_wanted(const struct sm_container_options *o);
int ctr_cgroup_enter(const struct sm_container_options *o, const char *id,
		     struct sm_error *err);
void ctr_cgroup_remove(const struct sm_container_options *o, const char *id);
void ctr_cgroup_leave(const struct sm_container_options *o, const char *id);

/* A fresh signal pipe in a forked child (signals.c). */
int ctr_signal_pipe_fresh(void);

#endif
