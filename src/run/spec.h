/*
 * The process spec: what runs in the guest, built from the image config
 * and docker-style options (src/run/spec.c), sent to the guest init over
 * the agent protocol (src/proto/proto.h).
 */
#ifndef SM_RUN_SPEC_H
#define SM_RUN_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "supermachine.h"

struct oci_config;
struct vol_set;

struct run_spec {
	char **argv; /* NULL-terminated, argv[0] non-NULL */
	char **env;  /* NULL-terminated "K=V", no duplicate keys */
	char *cwd;   /* absolute path, "/" by default */
	char *user;  /* "", "name", "uid", "uid:gid", "name:group" (resolved in
			the guest) */
	char *hostname;
	bool tty;	 /* -t */
	bool stdin_open; /* -i */
	bool idle; /* no process of its own: waits for a signal (SM_S_IDLE) */
	unsigned short rows, cols; /* initial window size when tty */
	int stop_signal; /* signal number for stop (image StopSignal), default
			    SIGTERM */
	bool network;	 /* configure eth0 (set by run.c when there is a NIC) */
	const char *net_text; /* its SM_S_NET text; NULL: SM_NET_SPEC */
	const struct vol_set *volumes; /* mounts for the guest; not owned */
};

/* The name an idle spec's process shows (run_spec_options.idle). */
#define RUN_IDLE_NAME "sm-idle"

/* Docker-style options that shape the spec (a subset of sm_run options). */
struct run_spec_options {
	const char *const
	    *cmd; /* CMD args after the image; NULL/empty: image Cmd */
	const char
	    *entrypoint; /* --entrypoint; NULL: image Entrypoint; "": none */
	const char *const *env; /* -e K=V or -e K (taken from the host env) */
	const char *const *env_files; /* --env-file paths */
	const char *workdir;	      /* -w */
	const char *user;	      /* -u */
	const char *hostname; /* --hostname; NULL: derived from the VM id */
	bool tty, stdin_open;
	bool idle; /* a pool's VM: no process of its own (cmd and
		     entrypoint ignored); the spec's argv only names it */
};

/*
 * Builds the spec as docker does: entrypoint + cmd combination, env from
 * the image then env files then -e (later wins), PATH defaulted, HOSTNAME
 * set, workdir/user from options or image. Fails (-EINVAL with a message)
 * when there is nothing to run or an option is malformed.
 */
int run_spec_build(const struct oci_config *img,
		   const struct run_spec_options *o, struct run_spec *spec,
		   struct sm_error *err);
/*
 * The spec of an exec into a VM whose process runs `base` (docker exec):
 * o->cmd is the argv; env is base's plus o->env; workdir and user from o
 * or else base. No hostname (the guest keeps its own).
 */
int run_spec_exec(const struct run_spec *base, const struct run_spec_options *o,
		  struct run_spec *spec, struct sm_error *err);
void run_spec_free(struct run_spec *spec);

/* Parses a signal given as "SIGTERM", "TERM" or "15"; -1 if unknown. */
int run_parse_signal(const char *s);

#endif
