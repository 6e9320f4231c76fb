/*
 * Containers: the CLI's record of running and exited VMs, for `ps`,
 * `logs`, `stop`, `kill`, `rm`, `exec` and `snapshot` (docs/containers.md).
 *
 * There is no daemon. Each VM runs in its own process (the `run` process,
 * or for `run -d` a forked supervisor), which owns the VM handle and
 * answers requests on a unix socket in the container's runtime directory:
 *
 *   RUNTIME/containers/ID/meta        JSON: id, name, image, command, ...
 *   RUNTIME/containers/ID/state       JSON: status, pid, exit code, times
 *   RUNTIME/containers/ID/ctl.sock    requests (one JSON line each)
 *   RUNTIME/containers/ID/stdout.log, stderr.log   (detached runs)
 *
 * RUNTIME is $SUPERMACHINE_RUNTIME, else /run/supermachine for root, else
 * $XDG_RUNTIME_DIR/supermachine, else /tmp/supermachine-UID: a tmpfs,
 * because unix sockets cannot live on every file system.
 */
#ifndef SM_CLI_CTR_H
#define SM_CLI_CTR_H

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
/*
 * Loads c->meta and c->state; a record whose process died without
 * writing its end is reported as exited with code -1.
 */
int ctr_load(struct ctr *c, struct sm_error *err);
bool ctr_running(const struct ctr *c);
const char *ctr_str(json_t *obj, const char *key); /* "" when missing */
int64_t ctr_int(json_t *obj, const char *key);

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

/* ---- inside the VM's process (cli/ctr_serve.c) ---- */

struct ctr_server;

/* Answers requests for vm on the record's socket, in a thread. */
int ctr_serve_start(struct ctr *c, struct sm_vm *vm, int stop_timeout,
		    struct ctr_server **srv, struct sm_error *err);
/* Stops answering (before the VM is destroyed); removes the socket. */
void ctr_serve_stop(struct ctr_server *srv);
/* Marks the process finished: requests waiting in `stop` return. */
void ctr_serve_exited(struct ctr_server *srv);

#endif
