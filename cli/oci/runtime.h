/*
 * supermachine-oci: the runc-compatible runtime (docs/oci-runtime.md).
 * One file per command in cli/oci/; this header is what they share: the
 * global flags, the --log writer, and the per-container state directory
 * ROOT/ID (state.json, and exec.fifo until the container is started).
 */
#ifndef SM_CLI_OCI_RUNTIME_H
#define SM_CLI_OCI_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "supermachine.h"

#define OCI_SPEC_VERSION "1.0.2"
#define OCI_DEFAULT_ROOT "/run/supermachine-oci"

struct oci_globals {
	const char *root;     /* --root: state directories */
	const char *log_path; /* --log: NULL: stderr only */
	bool log_json;	      /* --log-format json */
	bool debug;	      /* --debug */
};
extern struct oci_globals oci_globals;

/* A line for --log (and, for errors, stderr): runc's text or JSON form,
 * {"level":"error","msg":"...","time":"..."}. */
void oci_log(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* oci_log("error") plus "supermachine-oci: MSG" on stderr; returns 1. */
int oci_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What state.json holds (written by create). */
struct oci_state {
	char id[256];
	char bundle[4096];
	char rootfs[4096];
	char created[64]; /* RFC 3339 */
	pid_t pid;
	uint64_t starttime; /* /proc/PID/stat's, against pid reuse */
	char *annotations;  /* JSON object text; free() */
};

/* Container ids as runc takes them: [A-Za-z0-9_+.-], 1..200, not "."
 * or "..". */
bool oci_id_valid(const char *id);
/* ROOT/ID[/NAME] into buf; -ENAMETOOLONG. */
int oci_path(char *buf, size_t size, const char *id, const char *name);
int oci_state_save(const struct oci_state *st);
/* -ENOENT: no such container (message printed by the caller). */
int oci_state_load(const char *id, struct oci_state *st);
/* "created", "running" or "stopped", from the process and exec.fifo. */
const char *oci_status(const struct oci_state *st);
/* The process's start time (field 22 of /proc/PID/stat); 0 if gone. */
uint64_t oci_proc_starttime(pid_t pid);
/* The library's container record of the OCI container ID. */
void oci_record_name(const char *id, char *buf, size_t size);
/* A child's pid into path (--pid-file), atomically; 0 or 1 (printed). */
int oci_write_pid_file(const char *path, pid_t pid);

/* The pty for --console-socket: sends the master to the socket at path;
 * *slave stays here. rows/cols: its size (0: left as is). 0 or 1. */
int oci_console_pty(const char *socket_path, unsigned rows, unsigned cols,
		    int *slave);

/* In the engine's network namespace: its interface handed to the VM
 * (netns.c); spec gets the run's network ("tap:..."). -1: none to hand
 * (the VM's NAT runs in the namespace). */
int oci_netns_bridge(char *spec, size_t size);

/* The container's process (create's child): waits for start, runs the
 * VM, exits with its process's status. Never returns. */
struct bundle_run;
void oci_container_main(const char *id, struct bundle_run *map,
			const char *netns, int ready_fd)
    __attribute__((noreturn));

int oci_cmd_create(int argc, char **argv);
int oci_cmd_run(int argc, char **argv);
int oci_cmd_start(int argc, char **argv);
int oci_cmd_state(int argc, char **argv);
int oci_cmd_list(int argc, char **argv);
int oci_cmd_ps(int argc, char **argv);
int oci_cmd_kill(int argc, char **argv);
int oci_cmd_delete(int argc, char **argv);
int oci_cmd_exec(int argc, char **argv);
int oci_cmd_features(int argc, char **argv);

/* A signal by name ("TERM", "SIGTERM") or number; -1 when neither. */
int oci_parse_signal(const char *s);

#endif
