/*
 * The VM handle (struct sm_vm) and what its files share (src/run/run.c,
 * session.c, machine.c, exec.c, vm_snapshot.c). Internal.
 */
#ifndef SM_RUN_HANDLE_H
#define SM_RUN_HANDLE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "net/net.h"
#include "run/agent.h"
#include "run/spec.h"
#include "run/template.h"
#include "run/vm_conf.h"
#include "run/volumes.h"
#include "supermachine.h"
#include "vmm/counts.h"
#include "util/log.h"
#include "vmm/vm_run.h"

#define ROOTFS_TAG "rootfs"
#define DEFAULT_MEMORY_MIB 512
#define DEFAULT_DAX_WINDOW (256ULL << 20)
#define RUN_CMDLINE \
	"sm.root=" ROOTFS_TAG " sm.rootflags=dax sm.overlay=1 sm.agent=1"
/* o->rootfs: the host directory is the root itself (no overlay, no DAX) */
#define RUN_CMDLINE_ROOTFS "sm.root=" ROOTFS_TAG " sm.agent=1"

struct warm {
	struct template t;
	struct vm *vm;
	const struct sm_run_options *o;
	uint64_t t0;
};

struct sm_vm {
	struct sm_run_options o; /* copied; cmd/env are consumed by create */
	struct oci_image *img;	 /* NULL when restored from a directory */
	struct run_spec spec;
	bool have_spec;
	bool exec_base; /* restored: spec holds env/cwd/user only */
	char kernel[PATH_MAX], initrd[PATH_MAX], rootfs[PATH_MAX];
	int image_pin; /* a restore's hold on its image (image_pin), or -1 */
	struct vol_set vols;
	struct vm_conf shape; /* image and volume slots, for vm.conf */
	struct virtio_vsock_config vs;
	struct virtio_net_config netcfg;
	struct net_backend *net; /* this VM's own; never in a snapshot */
	struct vm_config vc;
	struct agent agent;
	struct warm w;
	bool use_template;
	struct agent_io io;
	int kill_pipe[2];
	int exec_pipe[2];	   /* exec ids for the session to send */
	pthread_mutex_t exec_lock; /* one exec connection set up at a time */
	/* sm_vm_exec waits on it for the process to run (io.spec_sent) or
	 * the session to end; the session thread broadcasts both */
	pthread_mutex_t run_lock;
	pthread_cond_t run_cond;
	uint32_t exec_seq;
	unsigned detached_execs; /* running exec -d sessions (run_lock) */
	pthread_t thread;
	bool started, joined;
	bool session_over; /* the session thread is done (atomic) */
	int status, ret;
	struct sm_error err;
	uint64_t vcpus_ns; /* when the vCPUs were started */
	/* counts (vmm/counts.h) at the handle's start, the vCPUs' start and
	 * the spec sent: the phases `-v` prints */
	struct vm_counts at_start, at_vcpus, at_spec;
	bool counting; /* someone sees the notes: -v or a log handler */
};

/* ---- run.c ---- */

/*
 * A note about the run: to the log handler (sm_set_log), and with
 * o->verbose to the run's stderr as well.
 */
void run_note_at(const struct sm_run_options *o, enum sm_log_level level,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define note(o, ...) run_note_at(o, SM_LOG_INFO, __VA_ARGS__)
#define warn(o, ...) run_note_at(o, SM_LOG_WARN, __VA_ARGS__)

/* CLOCK_MONOTONIC ms from now (0: none). */
uint64_t run_deadline_after(unsigned ms);

struct sm_vm *run_handle_new(const struct sm_run_options *o,
			     struct sm_error *err);
void run_handle_free(struct sm_vm *h);

/*
 * The threads a VM's devices start while it is built (slirp, tap, vsock,
 * FUSE workers) take the building thread's seccomp and jail policies:
 * o's, for the call.
 */
struct run_policy {
	bool seccomp, jail;
};
struct run_policy run_policy_now(void);
void run_policy_set(struct run_policy p);
struct run_policy run_policy_of(const struct sm_run_options *o);

/*
 * sm_vm_create, or with idle a pool's VM (src/run/pool.c): its process
 * only waits for a signal, its work comes by sm_vm_exec.
 */
int run_vm_create(struct sm_store *store, const char *image,
		  const struct sm_run_options *o, bool idle, struct sm_vm **out,
		  struct sm_error *err);
/* The VM's session (its process, the VM) is over: no exec can start. */
static inline bool run_vm_over(struct sm_vm *h)
{
	return __atomic_load_n(&h->session_over, __ATOMIC_ACQUIRE);
}

/* ---- session.c ---- */

/* "supermachine: counts PHASE: ..." (to - from), for -v or a log
 * handler (docs/benchmarks.md, "Counts"). */
void run_note_counts(struct sm_vm *h, const char *phase,
		     const struct vm_counts *from, const struct vm_counts *to);
/* Restores the template if there is a good one, else boots cold. */
int run_start_vm(const struct vm_config *vc, struct warm *w, bool use_template,
		 struct sm_error *err);

/* ---- machine.c ---- */

int run_fill_config(const struct oci_image *img, const struct sm_run_options *o,
		    const struct vol_set *vols, struct vm_config *vc,
		    char *kernel, char *initrd, struct sm_error *err);
void run_fill_slots(struct vm_config *vc, const char *const *dirs,
		    const bool *ro);
void run_share_caps(struct vm_config *vc, const struct sm_run_options *o);
void run_slots_from_set(const struct vol_set *set, const char **dirs, bool *ro);
/* Marks the slots of set's file binds as single-file shares (after
 * run_fill_slots). */
void run_slot_files(struct vm_config *vc, const struct vol_set *set);
int run_setup_network(struct sm_vm *h, const struct oci_image *img,
		      const struct sm_run_options *o, bool force,
		      struct sm_error *err);
void run_shape_from_run(struct sm_vm *h);
/* 12 random hex digits: a VM's hostname when none was given (size >= 13) */
void run_random_hostname(char *buf, size_t size);
int run_volumes_setup(struct sm_store *store, const struct oci_image *img,
		      const struct sm_run_options *o, struct vol_set *vols,
		      struct sm_error *err);

/* ---- vm_snapshot.c ---- */

int run_restore_dir(struct sm_store *store, const char *dir,
		    const struct sm_run_options *o, struct sm_vm **out,
		    struct sm_error *err);

#endif
