/* Host side of the agent protocol (src/proto/proto.h). */
#ifndef SM_RUN_AGENT_H
#define SM_RUN_AGENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "run/spec.h"
#include "supermachine.h"
#include "virtio/fs.h"

#define AGENT_MAX_PENDING_EXEC 8

struct agent {
	int conn_efd; /* signalled when the guest connected */
	pthread_mutex_t lock;
	int fd; /* the guest's connection, -1 until then */
	/* later connections: exec agents, not yet claimed by sm_vm_exec() */
	int extra[AGENT_MAX_PENDING_EXEC];
	unsigned nextra;
	int extra_efd; /* signalled when one arrives */
};

int agent_init(struct agent *a, struct sm_error *err);
void agent_destroy(struct agent *a);

/* vsock accept callback (virtio/vsock.h): takes the agent connection. */
int agent_accept(void *opaque, uint32_t port, int fd);

struct agent_io {
	int in_fd, out_fd, err_fd;
	/* NULL, or also gets each piece of the process's output (stream 1
	 * stdout, 2 stderr) and the guest's error lines, in the order they
	 * came: a container's log (run/output_sink.h) */
	void (*sink)(void *opaque, int stream, const uint8_t *data, size_t len);
	void *sink_opaque;
	bool interactive;
	/* readable: one int signal number per read, or -1 (the VM's
	 * sm_vm_kill pipe, and the caller's signal_fd) */
	int sig_fd, caller_sig_fd;
	int stop_fd;	      /* readable when the VM stopped */
	int exec_fd;	      /* readable: one u32 exec id per read, sent to the
			       * guest as SM_F_EXEC; -1: none */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: none */
	/* the hostname a resumed guest takes with its fresh identity
	 * (SM_F_IDENTITY); NULL: it keeps its own */
	const char *resume_hostname;
	/* an exec session's agent protocol (its EXEC_HELLO); 0 as 1: from
	 * 2 on it says when its process started */
	uint32_t exec_version;
	/* the VM's shares, so that the guest's errors name a volume by its
	 * host directory rather than its tag (NULL: none) */
	const struct virtio_fs_config *shares;
	const unsigned *nshares;
	/*
	 * Called once the guest said hello, before the spec goes out: the
	 * guest init is idle, waiting. Warm start snapshots the VM here.
	 * A failure is reported through verbose output only.
	 */
	void (*on_hello)(void *opaque);
	void *on_hello_opaque;
	/* Called once the spec went out (or before relaying a resumed
	 * process), before anything more is read from the guest; a failure
	 * ends the session. */
	int (*before_spec)(void *opaque, struct sm_error *err);
	void *before_spec_opaque;
	/* Called (on the session's thread) once spec_sent turned true. */
	void (*on_spec_sent)(void *opaque);
	void *on_spec_sent_opaque;
	/* out, written by the session's thread and read by others: use
	 * __atomic_load_n (release stores pair with acquire loads) */
	bool spec_sent; /* the process spec reached the guest */
	/* 1: the process runs; -1: it could not start (start_status, and
	 * start_error the guest's words); 0: not yet. on_started (on the
	 * session's thread) once it turned non-zero. */
	int started, start_status;
	char start_error[512];
	void (*on_started)(void *opaque);
	void *on_started_opaque;
	uint64_t connected_ns, hello_ns; /* CLOCK_MONOTONIC stamps */
};

/*
 * Sends the spec (or, when the guest resumes a process that was running
 * when its snapshot was taken, sends nothing: spec may then be NULL),
 * relays stdio and signals until the process exits.
 * Returns 0 with *status set, -ETIMEDOUT past the deadline, or another
 * -errno (message in err) when the guest went away first.
 */
int agent_session(struct agent *a, const struct run_spec *spec,
		  struct agent_io *io, int *status, struct sm_error *err);

/*
 * Claims the guest's connection for exec request `id` (the main session
 * sent SM_F_EXEC): returns its fd, its EXEC_HELLO consumed (the exec
 * agent's protocol in *version: agent_io.exec_version), or -errno.
 */
int agent_exec_connection(struct agent *a, uint32_t id, int stop_fd,
			  unsigned timeout_ms, uint32_t *version,
			  struct sm_error *err);
/* Runs an exec's process on the connection agent_exec_connection() gave. */
int agent_exec_session(int fd, const struct run_spec *spec, struct agent_io *io,
		       int *status, struct sm_error *err);

#endif
