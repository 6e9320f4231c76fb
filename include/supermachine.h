/*
 * supermachine: run OCI images as KVM microVMs.
 *
 * Public API. Every function returns 0 (or a non-negative value where
 * documented) on success and -errno on failure; on failure it fills the
 * caller's struct sm_error (when non-NULL) with a message that says what
 * failed and why. See docs/errors.md.
 */
#ifndef SUPERMACHINE_H
#define SUPERMACHINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SM_API __attribute__((visibility("default")))

#define SM_VERSION_MAJOR 0
#define SM_VERSION_MINOR 1
#define SM_VERSION_PATCH 0

/* Error object filled by every failing call. */
struct sm_error {
	int code;	/* negative errno, 0 when no error */
	char msg[1024]; /* human readable: "what failed: why" */
};

SM_API const char *sm_version(void);

/* ---- Diagnostics ---- */

enum sm_log_level {
	SM_LOG_ERROR = 0,
	SM_LOG_WARN = 1,
	SM_LOG_INFO = 2, /* warm or cold start, templates, phase timings */
	SM_LOG_DEBUG = 3,
};

/* Called from any of the library's threads; msg has no trailing newline. */
typedef void (*sm_log_fn)(enum sm_log_level level, const char *msg,
			  void *opaque);

/*
 * Process-wide handler for the library's diagnostics (NULL: none, the
 * default). Errors are also returned through struct sm_error; the log
 * adds what is not an error (a template dropped and rebuilt, timings).
 */
SM_API void sm_set_log(sm_log_fn fn, void *opaque);

/* ---- Low-level boot (kernel + initrd + command line) ---- */

/* A host directory served to the guest over virtio-fs. */
struct sm_share {
	const char *tag;     /* mount tag in the guest (1..36 bytes) */
	const char *dir;     /* host directory */
	int read_only;	     /* every write fails with EROFS */
	uint64_t dax_window; /* DAX window bytes (multiple of 2 MiB), 0: none */
};

struct sm_boot_config {
	size_t size;	     /* sizeof(struct sm_boot_config), for growth */
	const char *kernel;  /* ELF vmlinux or bzImage */
	const char *initrd;  /* optional initramfs */
	const char *cmdline; /* extra kernel command line */
	unsigned int cpus;   /* default 1 */
	uint64_t memory_mib; /* default 256 */
	int console_fd;	     /* where guest serial output goes; -1: discard */
	unsigned int timeout_ms;       /* 0: none; past it the VM is stopped */
	const struct sm_share *shares; /* virtio-fs shares */
	unsigned int nshares;
	unsigned int reserved0; /* no tail padding (docs/errors.md) */
};

/* Outcome of a VM run, also encoded in the return value of sm_boot(). */
enum sm_vm_exit {
	SM_EXIT_GUEST = 0,    /* the guest reported an exit status */
	SM_EXIT_POWEROFF = 1, /* the guest stopped without reporting one */
	SM_EXIT_PANIC = 2,    /* guest kernel panic */
	SM_EXIT_TRIPLE_FAULT = 3,
	SM_EXIT_TIMEOUT = 4,
	SM_EXIT_INTERNAL = 5, /* unexpected exit from the hypervisor */
};

struct sm_boot_result {
	size_t size; /* set by the caller: sizeof(struct sm_boot_result);
		      * the library fills that many bytes (docs/errors.md,
		      * "Structs that grow") */
	enum sm_vm_exit reason;
	int status; /* guest-reported exit status (SM_EXIT_GUEST) */
	uint64_t
	    boot_to_init_ns; /* VMM start to init's first report, 0 if none */
	uint64_t total_ns;
	char detail[512]; /* why the VM stopped, when not SM_EXIT_GUEST */
};

/*
 * Boots a kernel and runs it to completion. Returns 0 when the VM ran
 * (see result->reason), -errno when it could not be started or ran into a
 * host-side failure.
 */
SM_API int sm_boot(const struct sm_boot_config *cfg,
		   struct sm_boot_result *result, struct sm_error *err);

/* ==== Images (src/oci/, docs/images.md) ==== */

/* A local image store: blobs by digest, unpacked images, names. */
struct sm_store;

struct sm_store_options {
	size_t size;	  /* sizeof(struct sm_store_options) */
	const char *root; /* NULL: $SUPERMACHINE_ROOT, $XDG_DATA_HOME/
			   * supermachine, ~/.local/share/supermachine */
	const char *const *insecure_registries; /* NULL-terminated; plain
						 * HTTP allowed (loopback
						 * always is) */
	int rootless;  /* -1/0 auto (not root), 1 force: ownership in
			* xattrs, no device nodes */
	int reserved0; /* no tail padding (docs/errors.md) */
};

SM_API int sm_store_open(struct sm_store **store,
			 const struct sm_store_options *opts,
			 struct sm_error *err);
SM_API void sm_store_close(struct sm_store *store);

enum sm_pull_state {
	SM_PULL_WAITING,     /* queued */
	SM_PULL_DOWNLOADING, /* current/total bytes */
	SM_PULL_RETRYING,    /* transient failure; retrying or resuming */
	SM_PULL_DOWNLOADED,  /* verified and stored */
	SM_PULL_EXISTS,	     /* already in the store */
	SM_PULL_EXTRACTING,  /* being unpacked */
	SM_PULL_EXTRACTED,
};

struct sm_pull_progress {
	unsigned int index; /* layer index, 0-based */
	unsigned int count; /* number of layers */
	const char *digest; /* "sha256:..." */
	uint64_t current, total;
	enum sm_pull_state state;
};

/* Called from one thread at a time (the library serialises calls). */
typedef void (*sm_pull_progress_fn)(const struct sm_pull_progress *p,
				    void *opaque);

struct sm_pull_options {
	size_t size;	      /* sizeof(struct sm_pull_options) */
	const char *platform; /* "os/arch[/variant]"; NULL: the host's */
	const char *username; /* NULL: ~/.docker/config.json, anonymous */
	const char *password;
	unsigned int parallel; /* concurrent layer downloads; 0: 3 */
	unsigned int retries;  /* per request on 5xx/429/network; 0: 5 */
	sm_pull_progress_fn progress;
	void *progress_opaque;
};

struct sm_image_info {
	/* sizeof(struct sm_image_info): for sm_image_pull()'s info set by
	 * the caller (that many bytes are filled); in a list the library's,
	 * the stride sm_image_info_at() steps by (docs/errors.md) */
	size_t struct_size;
	char name[512];	      /* "docker.io/library/alpine:3.20", "" if none */
	char digest[72];      /* manifest digest */
	char repo_digest[72]; /* digest the name resolved to (index or
			       * manifest) */
	char id[72];	      /* config digest (docker's image ID) */
	char platform[64];    /* "linux/amd64" */
	int64_t created;      /* image creation, seconds since epoch, or 0 */
	uint64_t size;	      /* compressed layer bytes */
};

/* Pulls (or refreshes) ref; fills info (may be NULL). */
SM_API int sm_image_pull(struct sm_store *store, const char *ref,
			 const struct sm_pull_options *opts,
			 struct sm_image_info *info, struct sm_error *err);
/*
 * The i-th entry of a list from sm_image_list() or sm_image_load(),
 * whatever header the caller was built against (entries are
 * list->struct_size bytes apart). NULL when list is NULL.
 */
SM_API const struct sm_image_info *
sm_image_info_at(const struct sm_image_info *list, int i);
/* Lists named images; free *list with free(). Returns the count. */
SM_API int sm_image_list(struct sm_store *store, struct sm_image_info **list,
			 struct sm_error *err);
/* Removes a name (or an image ID prefix with all its names); unreferenced
 * images and blobs are deleted. -EBUSY (docker's conflict) when that
 * would leave nameless an image a running VM uses. */
SM_API int sm_image_remove(struct sm_store *store, const char *ref,
			   struct sm_error *err);
/* sm_image_remove() even then (docker rmi -f): the image a VM uses stays,
 * nameless, and goes with the first removal after its last VM ended. */
SM_API int sm_image_untag(struct sm_store *store, const char *ref,
			  struct sm_error *err);

struct sm_load_options {
	size_t size;	      /* sizeof(struct sm_load_options) */
	const char *tag;      /* name for an image the archive leaves unnamed */
	const char *platform; /* for OCI indexes; NULL: the host's */
};

/* Imports a docker-archive or OCI archive/layout directory. Returns the
 * number of images loaded; *list (free()) describes them. */
SM_API int sm_image_load(struct sm_store *store, const char *path,
			 const struct sm_load_options *opts,
			 struct sm_image_info **list, struct sm_error *err);
/* JSON description (names, digests, config, layers); free() it. */
SM_API int sm_image_inspect(struct sm_store *store, const char *ref,
			    char **json, struct sm_error *err);

/* ==== end Images ==== */

/* ---- Running images (docker run semantics) ---- */

/* The least guest memory a run takes (its kernel and init need it). */
#define SM_MIN_MEMORY_MIB 64

enum sm_pull_policy {
	SM_PULL_MISSING = 0, /* pull only when the image is not in the store */
	SM_PULL_ALWAYS = 1,
	SM_PULL_NEVER = 2,
};

struct sm_run_options {
	size_t size;		      /* sizeof(struct sm_run_options) */
	const char *const *cmd;	      /* CMD after the image; NULL: image Cmd */
	const char *entrypoint;	      /* NULL: image Entrypoint; "": none */
	const char *const *env;	      /* "K=V" or "K" (from the host env) */
	const char *const *env_files; /* --env-file paths */
	const char *workdir;	      /* -w */
	const char *user;	      /* -u: name, uid, uid:gid, name:group */
	const char *hostname;	      /* NULL: a random name */
	int tty;		      /* -t: a pty in the guest */
	int interactive;	      /* -i: forward stdin_fd until EOF */
	unsigned int cpus;	      /* 0: 1 */
	uint64_t memory_mib;	      /* 0: 512; else >= SM_MIN_MEMORY_MIB */
	enum sm_pull_policy pull;
	const char *kernel, *initrd;	    /* NULL: the installed defaults */
	int stdin_fd, stdout_fd, stderr_fd; /* set by sm_run_options_init */
	unsigned int timeout_ms;	    /* 0: none */
	int forward_signals;	 /* removed: must be 0 (-ENOTSUP). The
				  * library takes no process-wide signal
				  * handler; pass signal_fd (below) */
	int verbose;		 /* 1: notes (warm/cold start) on stderr_fd,
				  * 2: also the guest console */
	int no_snapshot;	 /* always boot cold, keep no template */
	const char *stop_signal; /* NULL: the image's, else SIGTERM */
	/* networking (issue 7) */
	const char *network;	    /* NULL/"slirp": user-mode NAT; "none";
				     * "tap:NAME" (docs/networking.md);
				     * "slirp:allow_host_loopback=true":
				     * the guest's 10.0.2.2 reaches the
				     * host's 127.0.0.1 (off by default) */
	const char *const *publish; /* -p specs, NULL-terminated */
	int publish_all;	    /* -P: the image's ExposedPorts */
	/* volumes (issue 7, docs/volumes.md); NULL-terminated lists */
	const char *const *volumes; /* -v HOST:GUEST[:ro], NAME:GUEST, GUEST */
	const char *const *mounts;  /* --mount type=bind|volume|tmpfs,... */
	const char *const *tmpfs;   /* --tmpfs PATH[:size=..,mode=..] */
	int remove_anonymous; /* --rm: delete anonymous volumes at the end */
	/* seccomp (issue 15, docs/security.md "Seccomp") */
	int seccomp_unconfined; /* 1: the VM's threads run without
				 * their seccomp filters (docker's
				 * --security-opt seccomp=unconfined);
				 * 0: each thread of the VM (vCPU,
				 * devices, network, its session)
				 * enters its role's filter */
	/* the jail (issue 15, docs/security.md "Jail") */
	int jail_off;	       /* 1: the VM's threads keep the
				* caller's root, ids and capabilities
				* (--security-opt jail=off) */
	const char *jail_user; /* ids jailed threads take: "NAME",
				* "UID" or "UID:GID"; NULL: the user
				* "supermachine" if any, else
				* 65534:65534 (--security-opt
				* jail-user=...) */
	/* what a guest can make the VMM hold (issue 14, docs/security.md
	 * "Resource caps", --guest-limit KEY=N); 0: the default. Over a
	 * cap the guest gets an error, never the process. */
	unsigned share_max_nodes;	/* per share: inodes known (ENFILE) */
	unsigned share_max_files;	/* per share: open files (EMFILE) */
	unsigned share_max_dax_maps;	/* per share: DAX mappings (ENOSPC) */
	unsigned vsock_max_conns;	/* connections (refused: RST) */
	unsigned long vsock_max_buffer; /* bytes queued for slow host sockets,
					 * all connections (over: reset) */
	unsigned net_max_rx_frames;	/* frames queued for the guest (over:
					 * dropped, as a full NIC does) */
	/* Fields added later start past the older struct's size, tail
	 * padding included (docs/errors.md, "Structs that grow"). */
	unsigned int reserved0; /* the 0.1 struct's tail padding: ignored */
	/* -1 (sm_run_options_init), or readable: one int signal number
	 * per read, sent to the guest's process (SIGWINCH: the terminal's
	 * new size), as sm_exec_options.signal_fd. The caller's signal
	 * handler writes them (sm_signal_pipe()). */
	int signal_fd;
	unsigned int reserved1; /* keeps the size a multiple of 8 */
	/* An OCI bundle's root (supermachine-oci, docs/oci-runtime.md): a
	 * host directory that is the guest's root file system instead of an
	 * image's; sm_vm_create()'s image is then NULL. Served read-write,
	 * with no overlay: the guest's writes land in it, as runc's do; no
	 * DAX window, no warm-start template (each such VM boots), no
	 * snapshot. rootfs_readonly: served read-only (config.json's
	 * root.readonly). */
	const char *rootfs;
	int rootfs_readonly;
	unsigned int reserved2; /* keeps the size a multiple of 8 */
};

/* Fills defaults: size, fds 0/1/2, everything else zero. */
SM_API void sm_run_options_init(struct sm_run_options *o);

/*
 * Runs `image` (pulled per o->pull) in a fresh microVM and waits for its
 * process. On success returns 0 and sets *exit_status to the process's
 * status (128+N when killed by signal N; 126: cannot be invoked; 127: not
 * found). Returns -errno when supermachine itself failed.
 */
SM_API int sm_run(struct sm_store *store, const char *image,
		  const struct sm_run_options *o, int *exit_status,
		  struct sm_error *err);

/* ---- VM handles: the steps of sm_run(), and snapshots ---- */

struct sm_vm; /* opaque */

/*
 * Resolves the image, builds the process spec and the VM (restoring the
 * image's warm-start template when there is a good one); does not run it.
 * o's strings are used during the call only, its fds until the VM ends.
 */
SM_API int sm_vm_create(struct sm_store *store, const char *image,
			const struct sm_run_options *o, struct sm_vm **vm,
			struct sm_error *err);
/* Starts the vCPUs and the process; stdio is relayed in the background. */
SM_API int sm_vm_start(struct sm_vm *vm, struct sm_error *err);
/* Waits for the process; *exit_status as for sm_run(). */
SM_API int sm_vm_wait(struct sm_vm *vm, int *exit_status, struct sm_error *err);
/*
 * After sm_vm_start(): waits (up to timeout_ms; 0: no bound) until the
 * VM's process runs (0), or it could not start (its command not found or
 * not executable, a working directory that is not one): -ENOEXEC with
 * *exit_status (127, 126, 125, as docker) and err saying why. -ESRCH: the
 * VM ended first; -ETIMEDOUT: past the bound.
 */
SM_API int sm_vm_wait_started(struct sm_vm *vm, unsigned int timeout_ms,
			      int *exit_status, struct sm_error *err);
/* Sends a signal to the process in the guest. */
SM_API int sm_vm_kill(struct sm_vm *vm, int signo, struct sm_error *err);
/*
 * Saves the running VM to dir (state, which holds the machine's
 * configuration too, and memory) and lets it go on.
 * Restoring it (any number of times, in any process) resumes the process
 * where it was; its output goes to the restorer's fds.
 */
SM_API int sm_vm_snapshot(struct sm_vm *vm, const char *dir,
			  struct sm_error *err);
/*
 * The same into two regular files the caller opened for writing,
 * without a path: for a caller whose VMM can open none (a jailed VMM,
 * docs/security.md). They become DIR/memory and DIR/state of a snapshot
 * directory (the caller names and renames them).
 */
struct sm_snapshot_fds {
	size_t size; /* sizeof(struct sm_snapshot_fds) */
	int memory_fd, state_fd;
	int conf_fd;   /* not used (the configuration is in the state file) */
	int reserved0; /* no tail padding (docs/errors.md) */
};
SM_API int sm_vm_snapshot_fds(struct sm_vm *vm,
			      const struct sm_snapshot_fds *fds,
			      struct sm_error *err);
/*
 * Restores a snapshot directory. The directory is untrusted (anyone may
 * have written it): its image is looked up by digest in `store` (it must
 * be there), and its volumes are bound only to the directories o gives
 * (o->volumes / o->mounts: one per volume the snapshot has, at the same
 * guest path with the same ro/rw), never to a path read from the
 * snapshot. See docs/snapshot.md, "Trust".
 */
SM_API int sm_vm_restore(struct sm_store *store, const char *dir,
			 const struct sm_run_options *o, struct sm_vm **vm,
			 struct sm_error *err);
/* What sm_vm_exec() runs in a VM (docker exec). */
struct sm_exec_options {
	size_t size;		 /* sizeof(struct sm_exec_options) */
	const char *const *argv; /* required, NULL-terminated */
	const char *const *env;	 /* "K=V" or "K", over the VM process's */
	const char *workdir;	 /* NULL: the VM process's */
	const char *user;	 /* NULL: the VM process's */
	int tty;		 /* a pty in the guest */
	int interactive;	 /* forward stdin_fd until EOF */
	int stdin_fd, stdout_fd, stderr_fd; /* set by sm_exec_options_init */
	int signal_fd;			    /* -1, or readable: one int signal
					     * number per read, sent to the process
					     * (SIGWINCH: stdin_fd's window size) */
	unsigned int timeout_ms;	    /* 0: none */
	/* docker exec -d: return once the process started (*exit_status 0)
	 * or could not (126, 127); it runs on with dups of the stdio fds
	 * (sm_container_exec gives it /dev/null), no stdin, no signals */
	int detach;
};

/* Fills defaults: size, fds 0/1/2, signal_fd -1, everything else zero. */
SM_API void sm_exec_options_init(struct sm_exec_options *o);

/*
 * Runs another process in a started VM whose process runs, and waits for
 * it; *exit_status as for sm_run(). Several may run at once, from any
 * threads. When the VM's own process ends, so do they (-ECHILD).
 */
SM_API int sm_vm_exec(struct sm_vm *vm, const struct sm_exec_options *o,
		      int *exit_status, struct sm_error *err);
/* The stop signal for the VM's process (image StopSignal or SIGTERM);
 * -EINVAL without a VM. */
SM_API int sm_vm_stop_signal(struct sm_vm *vm);

/* "SIGTERM", "TERM", "15", "RTMIN+1" -> the number; -1 if unknown. */
SM_API int sm_signal_number(const char *name);

/*
 * The VM's published ports, docker-style: "127.0.0.1:34567->80/tcp, ..."
 * ("" when none). -ENOSPC when buf is too small.
 */
SM_API int sm_vm_ports(struct sm_vm *vm, char *buf, size_t size,
		       struct sm_error *err);
/*
 * The anonymous volume directories this VM's create made (for -v GUEST
 * and the image's VOLUME entries), one absolute path a line, into buf.
 * For a caller that removes them itself once the VM's process ended, as
 * the CLI's keeper of a jailed VMM does (docs/security.md, "Jail").
 * -ENOSPC when buf is too small.
 */
SM_API int sm_vm_anonymous_volumes(struct sm_vm *vm, char *buf, size_t size,
				   struct sm_error *err);
/* Stops the VM if it still runs and frees everything. */
SM_API void sm_vm_destroy(struct sm_vm *vm);

/*
 * Jails the calling thread as the main thread of a process that holds one
 * VM (docs/security.md, "Jail", "One VM per process"): its own mount, IPC
 * and UTS namespaces and an empty root, the jail's ids (options'
 * jail_user of the VM), no capabilities, no_new_privs, no core dumps, not
 * dumpable. Call it once the VM runs; the thread can then reach no host
 * path (leave what follows the VM's end, such as removing anonymous
 * volumes, to another process). Without root it only turns core dumps
 * off and sets no_new_privs. A parent-death signal (PR_SET_PDEATHSIG)
 * outlives the id change. 0 or -errno.
 */
SM_API int sm_process_jail(struct sm_error *err);

/*
 * ---- Containers (docs/containers.md) ----
 *
 * A container is a VM with a record that other processes find it by: its
 * id, name, image, command and state, its logs when detached, and a
 * control socket answered by the process that owns the VM. There is no
 * daemon: the VM runs in the process that called sm_container_start() (a
 * process of its own under it when the VMM jails its main thread), or,
 * detached, in a forked supervisor. Records live in the runtime directory:
 * $SUPERMACHINE_RUNTIME, else /run/supermachine for root, else
 * $XDG_RUNTIME_DIR/supermachine, else /tmp/supermachine-UID.
 */
struct sm_container; /* a handle on one record; opaque */

struct sm_container_options {
	size_t size;		 /* sizeof(struct sm_container_options) */
	const char *store_root;	 /* the image store; NULL: the default */
	const char *image;	 /* what to run, or: */
	const char *restore_dir; /* resume this snapshot (sm_vm_restore) */
	const char *name;	 /* NULL: generated ("brave_turing") */
	/* the VM's options (sm_run_options_init); the caller's until
	 * sm_container_start() returns. With detach, its fds are the
	 * supervisor's: the output goes to the record's log only (in the
	 * foreground to its fds and to the log). */
	struct sm_run_options *run;
	int detach;	  /* start returns once the VM runs (docker -d) */
	int auto_remove;  /* the record goes when the VM ends (--rm) */
	int stop_timeout; /* seconds sm_container_stop() waits; 0: 10 */
	unsigned int pids_limit;   /* cgroup v2 limits of the VM's process, */
	unsigned int cpu_shares;   /* where the host delegates them; 0: none */
	unsigned int reserved0;	   /* no tail padding (docs/errors.md) */
	const char *cgroup_parent; /* NULL: "supermachine" (with a limit) */
	/* the log's cap in bytes (docker's --log-opt max-size); 0: 10 MiB,
	 * at least 64 KiB: past it the oldest half is dropped */
	unsigned long long log_max_size;
};

enum sm_container_status {
	SM_CONTAINER_CREATED = 0,
	SM_CONTAINER_RUNNING = 1,
	SM_CONTAINER_EXITED = 2,
};

struct sm_container_info {
	/* sizeof(struct sm_container_info): set by the caller of
	 * sm_container_inspect() (that many bytes are filled); in a list
	 * the library's, the stride of sm_container_info_at() */
	size_t struct_size;
	char id[72]; /* 64 hex digits */
	char name[128];
	char image[1024];   /* the image reference, or the snapshot dir */
	char command[1024]; /* entrypoint and command, as docker ps shows */
	char ports[1024];   /* as sm_vm_ports(), while running */
	char error[1024];   /* why the VM failed, when it did */
	int status;	    /* enum sm_container_status */
	int exit_code;	    /* EXITED: the exit status; -1 when the process
			     * died without saying (SIGKILL) */
	int pid;	    /* the VM's process */
	int detached;
	int auto_remove;
	int stop_timeout;   /* seconds */
	int64_t created_ns; /* CLOCK_REALTIME */
	int64_t changed_ns; /* when it started or exited */
};

/*
 * Makes a record for a container to run (a new id, the name checked
 * unique). A foreground container (no detach) without a name runs even
 * where no record can be made: the handle's id is then "" and nothing
 * else finds it.
 */
SM_API int sm_container_create(const struct sm_container_options *o,
			       struct sm_container **c, struct sm_error *err);
/*
 * Runs it. Foreground: until the VM ends, with *exit_status its process's
 * status (124: o->run's timeout; 125: the VM failed, err says why and the
 * return is -errno); the record stays, EXITED, for the caller to remove.
 * Detached: returns once the VM's process runs (the record says RUNNING);
 * a supervisor process of the container's own keeps it. A process that
 * could not start (docker run -d of a missing command): -ENOEXEC, its
 * status (127, 126) in *exit_status, and no record left; any other
 * failure sets it to 125. A handle made by
 * sm_container_create() starts once. The VMM's main thread is confined
 * once the VM runs (docs/security.md): in a process of its own, forked
 * here, unless the run's jail is off; then, in the foreground, it is the
 * calling thread, which keeps the control role's seccomp filter (unless
 * seccomp is unconfined): call it from a process or thread that is the
 * container's alone.
 *
 * A handle from sm_container_open() (docker start): a record that ran
 * before runs again, detached, in a new VM made with the options it was
 * created with, under its id and name, its anonymous volumes reused and
 * its log going on; a record that runs already: 0, nothing done. The new
 * VM's root file system is the image's again (docs/containers.md, "Start
 * and restart"). -ENOTSUP: a record made before records kept options.
 */
SM_API int sm_container_start(struct sm_container *c, int *exit_status,
			      struct sm_error *err);
/* A container by full id, unique id prefix or name. -ENOENT: none. */
SM_API int sm_container_open(const char *ref, struct sm_container **c,
			     struct sm_error *err);
SM_API const char *sm_container_id(const struct sm_container *c);
SM_API const char *sm_container_name(const struct sm_container *c);
/* Its record now (info->struct_size set by the caller). */
SM_API int sm_container_inspect(struct sm_container *c,
				struct sm_container_info *info,
				struct sm_error *err);
/*
 * docker inspect CONTAINER: *json (free() it) is one object with docker's
 * keys that apply (Id, Created, Path, Args, State, Image, Name,
 * HostConfig.AutoRemove, Config.StopTimeout, NetworkSettings.Ports).
 */
SM_API int sm_container_inspect_json(struct sm_container *c, char **json,
				     struct sm_error *err);
/*
 * docker wait: blocks until the container's process ended; its exit
 * status in *exit_code (-1: it died without saying). -ENOENT: the record
 * went (removed) before the end was seen.
 */
SM_API int sm_container_wait(struct sm_container *c, int *exit_code,
			     struct sm_error *err);
/* Every record, newest first; free *list with free(). Returns the count. */
SM_API int sm_container_list(struct sm_container_info **list,
			     struct sm_error *err);
/* The i-th entry of a list, whatever header the caller was built against. */
SM_API const struct sm_container_info *
sm_container_info_at(const struct sm_container_info *list, int i);
/*
 * docker stop: the stop signal (the image's StopSignal, else SIGTERM),
 * SIGKILL after timeout_s (-1: the container's stop_timeout); returns
 * once the record says EXITED. A container not running: 0.
 */
SM_API int sm_container_stop(struct sm_container *c, int timeout_s,
			     struct sm_error *err);
/*
 * docker restart, on a handle from sm_container_open(): sm_container_stop()
 * when it runs, then as sm_container_start() of an opened handle.
 * -ENOTSUP for a container run with auto_remove (--rm): its record goes
 * when its VM stops.
 */
SM_API int sm_container_restart(struct sm_container *c, int timeout_s,
				struct sm_error *err);
/* A signal to the container's process. -ESRCH: it does not run. */
SM_API int sm_container_kill(struct sm_container *c, int signo,
			     struct sm_error *err);
/* Removes the record and its logs; -EBUSY while it runs unless force
 * (SIGKILL, then wait for its end). */
SM_API int sm_container_remove(struct sm_container *c, int force,
			       struct sm_error *err);
/*
 * docker logs: the container's output as recorded (docs/containers.md,
 * "Logs"), each stream's lines to its fd in the order they were written.
 */
struct sm_logs_options {
	size_t size;		  /* sizeof(struct sm_logs_options) */
	int stdout_fd, stderr_fd; /* where each stream goes (1, 2) */
	int follow;		  /* -f: until the container's process ended */
	int timestamps;		  /* -t: each line after its RFC3339Nano time
				   * (UTC) and a space, as docker's */
	long long tail;		  /* -n: the last N lines of both streams
				   * (-1: all, as sm_logs_options_init) */
	/* --since/--until: only lines written from since_ns to until_ns
	 * (CLOCK_REALTIME ns, both included; 0: no bound); --tail counts
	 * within them */
	int64_t since_ns, until_ns;
};
SM_API void sm_logs_options_init(struct sm_logs_options *o);
/* -ENOENT: no such record, or it never ran (no log). NULL o: defaults. */
SM_API int sm_container_logs_write(struct sm_container *c,
				   const struct sm_logs_options *o,
				   struct sm_error *err);
/* The logs as they are now, each stream's bytes in a memfd (read from
 * its start); -ENOENT as sm_container_logs_write(). */
SM_API int sm_container_logs(struct sm_container *c, int *stdout_fd,
			     int *stderr_fd, struct sm_error *err);
/*
 * docker exec: runs o's command in the running container's VM, o's fds
 * passed to the container's process, o->signal_fd's signals relayed;
 * *exit_status its status.
 */
SM_API int sm_container_exec(struct sm_container *c,
			     const struct sm_exec_options *o, int *exit_status,
			     struct sm_error *err);
/*
 * docker attach's stdin: fd's bytes go into the running container's
 * stdin until fd's EOF, the container's end, or sm_container_close() of
 * this handle (the container's process reads fd itself). Once per
 * handle. The container's stdin stays open after. -ENOTSUP: it was not run
 * detached with interactive (-i); -ESRCH: not running.
 */
SM_API int sm_container_attach_stdin(struct sm_container *c, int fd,
				     struct sm_error *err);
/* The published ports, as sm_vm_ports(). -ESRCH: not running. */
SM_API int sm_container_ports(struct sm_container *c, char *buf, size_t size,
			      struct sm_error *err);
/*
 * Saves the running container's VM into dir (made when missing) for
 * sm_vm_restore(); it goes on. The files are made by the caller and
 * written by the container's process (docs/snapshot.md).
 */
SM_API int sm_container_snapshot(struct sm_container *c, const char *dir,
				 struct sm_error *err);
SM_API void sm_container_close(struct sm_container *c);

/*
 * ---- Warm pools (docs/pool.md) ----
 *
 * VMs of one image restored ahead of need: sm_pool_acquire() hands out
 * one whose guest is up, for sm_vm_exec(); sm_pool_release() gives it
 * back, and the pool destroys it and restores a fresh one in the
 * background (a VM is never handed out twice). A pool's VMs run no
 * process of their own: their main process waits for the signal that
 * stops it, and exec'd processes take the image's env, workdir and user.
 * A background thread keeps min_idle VMs ready; an acquire that finds
 * none waits for one and raises the number kept ready, up to max_idle;
 * when no acquire came for idle_timeout_ms, one ready VM beyond
 * min_idle is stopped, and one more each idle_timeout_ms after that.
 */
struct sm_pool; /* opaque */
/* The most idle VMs a pool keeps (min_idle, max_idle): over it, -EINVAL. */
#define SM_POOL_MAX_IDLE 4096u
struct sm_pool_options {
	size_t size; /* sizeof(struct sm_pool_options) */
	/* the VMs' options (NULL: defaults). cmd and entrypoint must be
	 * NULL, tty and interactive 0 (what runs comes by exec); pull
	 * applies to sm_pool_create() only */
	const struct sm_run_options *run;
	unsigned int min_idle;	      /* 0: 1; SM_POOL_MAX_IDLE at most */
	unsigned int max_idle;	      /* 0: min_idle; else >= min_idle */
	unsigned int idle_timeout_ms; /* shrink period (above); 0: 30000 */
	unsigned int reserved0;	      /* no tail padding (docs/errors.md) */
};
/* Fills defaults: size, everything else zero. */
SM_API void sm_pool_options_init(struct sm_pool_options *o);
/*
 * Makes a pool of `image` (pulled per o->run->pull) and its first VM, so
 * that what would fail every VM fails here; the others follow in the
 * background. o's strings are used during the call only, the run
 * options' fds while the pool lives.
 */
SM_API int sm_pool_create(struct sm_store *store, const char *image,
			  const struct sm_pool_options *o,
			  struct sm_pool **pool, struct sm_error *err);
/*
 * A ready VM (*vm), waiting up to timeout_ms (0: no bound) when there is
 * none. -ETIMEDOUT past the bound; when the pool cannot make VMs any
 * more, the error of its last try.
 */
SM_API int sm_pool_acquire(struct sm_pool *pool, unsigned int timeout_ms,
			   struct sm_vm **vm, struct sm_error *err);
/* Gives an acquired VM back: the pool destroys it in the background.
 * -EINVAL for a VM this pool did not hand out (left alone). */
SM_API int sm_pool_release(struct sm_pool *pool, struct sm_vm *vm);
struct sm_pool_stats {
	size_t size; /* sizeof(struct sm_pool_stats), set by the caller */
	unsigned int ready;    /* VMs waiting for an acquire */
	unsigned int in_use;   /* acquired, not released */
	unsigned int starting; /* being made now (0 or 1) */
	unsigned int target;   /* ready VMs it keeps now: min_idle..max_idle */
	uint64_t made;	       /* VMs made since the pool's creation */
	uint64_t recycled;     /* released VMs destroyed */
	uint64_t expired;      /* ready VMs stopped by idle_timeout_ms */
	uint64_t waits;	       /* acquires that found no VM ready */
	uint64_t failures;     /* VMs that could not be made */
};
SM_API int sm_pool_stats(struct sm_pool *pool, struct sm_pool_stats *stats,
			 struct sm_error *err);
/*
 * Stops the pool's thread and destroys its ready and released VMs. VMs
 * still acquired stay the caller's (sm_vm_destroy() each).
 */
SM_API void sm_pool_destroy(struct sm_pool *pool);

/*
 * ---- Volumes (docs/volumes.md, "Volume commands") ----
 *
 * docker's local volumes: a volume NAME of a store is the directory
 * ROOT/volumes/NAME/_data (its mountpoint). Runs make them too: a named
 * one for -v NAME:/guest, an anonymous one (64 hex digits) for -v /guest
 * and each image VOLUME. A volume is in use while a container record,
 * running or exited, names it (docker's rule); VMs run without a
 * container (sm_run(), sm_vm_create()) leave no record.
 */
struct sm_volume_info {
	/* sizeof(struct sm_volume_info): set by the caller of
	 * sm_volume_create() and sm_volume_inspect() (that many bytes are
	 * filled); in a list the library's, the stride of
	 * sm_volume_info_at() */
	size_t struct_size;
	char name[136];	       /* [a-zA-Z0-9][a-zA-Z0-9_.-]+, <= 128 bytes */
	char mountpoint[4096]; /* ROOT/volumes/NAME/_data */
	int64_t created_ns;    /* CLOCK_REALTIME of its directory (docker's
				* CreatedAt) */
	uint64_t size;	       /* bytes of its files: sm_volume_prune()'s
				* list only (else 0) */
	int anonymous;	       /* made by a run for -v GUEST or a VOLUME */
	int users;	       /* container records that name it */
};

/*
 * docker volume create: NAME, or with NULL a new random name (64 hex
 * digits). A volume that exists already is fine (docker's). info (NULL,
 * or struct_size set) describes it. -EINVAL: a name docker refuses.
 */
SM_API int sm_volume_create(struct sm_store *store, const char *name,
			    struct sm_volume_info *info, struct sm_error *err);
/* One volume (info->struct_size set). -ENOENT: no such volume. */
SM_API int sm_volume_inspect(struct sm_store *store, const char *name,
			     struct sm_volume_info *info, struct sm_error *err);
/* Every volume, by name; free *list with free(). Returns the count. */
SM_API int sm_volume_list(struct sm_store *store, struct sm_volume_info **list,
			  struct sm_error *err);
/* The i-th entry of a list, whatever header the caller was built against. */
SM_API const struct sm_volume_info *
sm_volume_info_at(const struct sm_volume_info *list, int i);
/*
 * docker volume rm: deletes the volume and its files. -EBUSY ("volume is
 * in use - [ID, ...]", docker's conflict) while a container record names
 * it, force or not; -ENOENT when there is none, which force makes 0
 * (docker's volume rm -f).
 */
SM_API int sm_volume_remove(struct sm_store *store, const char *name, int force,
			    struct sm_error *err);
/*
 * docker volume prune (20.10): deletes every volume, named or anonymous,
 * that no container record names. Returns how many; *removed (NULL, or
 * free() it) lists them with their size, *reclaimed (may be NULL) their
 * bytes in all.
 */
SM_API int sm_volume_prune(struct sm_store *store,
			   struct sm_volume_info **removed, uint64_t *reclaimed,
			   struct sm_error *err);
/*
 * docker rm -v: sm_container_remove(), then the anonymous volumes the
 * container's run made, unless another container uses them (named
 * volumes stay, as docker's). A record from before volumes were recorded
 * names none.
 */
SM_API int sm_container_remove_with_volumes(struct sm_container *c, int force,
					    struct sm_error *err);

/*
 * For a program that wants docker's signal handling: installs handlers
 * for SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH in the calling
 * process (once) and returns the read end of their pipe, for
 * sm_run_options.signal_fd and sm_exec_options.signal_fd: one int per
 * signal, with SM_SIGNAL_FROM_TERMINAL set when the kernel sent it to the
 * terminal's whole foreground process group (^C, a hang-up, a resize).
 * -1 when no pipe can be made. The library calls it only in processes it
 * forks.
 */
#define SM_SIGNAL_FROM_TERMINAL 0x10000
SM_API int sm_signal_pipe(void);

#ifdef __cplusplus
}
#endif
#endif
