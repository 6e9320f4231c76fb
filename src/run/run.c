/*
 * sm_run(): an image's process in a fresh microVM. The image rootfs is
 * served read-only over virtio-fs (DAX), the guest init puts a tmpfs
 * overlay on it, and the process spec, stdio, signals and the exit status
 * travel over the vsock agent connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "sandbox/sandbox.h"
#include "oci/oci.h"
#include "oci/store.h"
#include "proto/proto.h"
#include "run/agent.h"
#include "run/assets.h"
#include "run/spec.h"
#include "run/template.h"
#include "run/vm_conf.h"
#include "run/volumes.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "vmm/vm_run.h"

#define ROOTFS_TAG "rootfs"
#define DEFAULT_MEMORY_MIB 512
#define DEFAULT_DAX_WINDOW (256ULL << 20)
#define RUN_CMDLINE \
	"sm.root=" ROOTFS_TAG " sm.rootflags=dax sm.overlay=1 sm.agent=1"

SM_API void sm_run_options_init(struct sm_run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->stdin_fd = 0;
	o->stdout_fd = 1;
	o->stderr_fd = 2;
}

/* ---- signal forwarding (process-wide, only while a run asks for it) ---- */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
static int sig_fd = -1; /* the kill pipe of the VM sm_run() runs */

static void on_signal(int sig)
{
	int saved = errno;
	ssize_t r = write(sig_fd, &sig, sizeof(sig));

	(void)r; /* a full pipe drops the signal: nothing better to do */
	errno = saved;
}

static void signals_install(struct sigaction *old, int fd)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sig_fd = fd;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, &old[i]);
}

static void signals_restore(const struct sigaction *old)
{
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &old[i], NULL);
	sig_fd = -1;
}

/* ---- the run ---- */

static void random_hostname(char *buf, size_t size)
{
	unsigned char r[6];

	if (getentropy(r, sizeof(r)))
		memset(r, 0x5a, sizeof(r));
	snprintf(buf, size, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
		 r[4], r[5]);
}

static int resolve_image(struct sm_store *store, const char *image,
			 const struct sm_run_options *o, struct oci_image **img,
			 struct sm_error *err)
{
	struct oci_get_options go = {.no_pull = o->pull == SM_PULL_NEVER};
	int ret;

	if (o->pull == SM_PULL_ALWAYS) {
		ret = sm_image_pull(store, image, NULL, NULL, err);
		if (ret)
			return ret;
	}
	return oci_image_get(store, image, &go, img, err);
}

static int build_spec(const struct oci_image *img,
		      const struct sm_run_options *o, const char *hostname,
		      struct run_spec *spec, struct sm_error *err)
{
	struct run_spec_options so = {
	    .cmd = o->cmd,
	    .entrypoint = o->entrypoint,
	    .env = o->env,
	    .env_files = o->env_files,
	    .workdir = o->workdir,
	    .user = o->user,
	    .hostname = hostname,
	    .tty = o->tty,
	    .stdin_open = o->interactive,
	};
	struct winsize ws;
	int ret = run_spec_build(&img->config, &so, spec, err);

	if (ret)
		return ret;
	if (o->tty && ioctl(o->stdin_fd, TIOCGWINSZ, &ws) == 0) {
		spec->rows = ws.ws_row;
		spec->cols = ws.ws_col;
	}
	return 0;
}

static uint64_t deadline_after(unsigned ms)
{
	struct timespec ts;

	if (!ms)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec +
	       (uint64_t)ms * 1000000ULL;
}

struct warm {
	struct template t;
	struct vm *vm;
	const struct sm_run_options *o;
	uint64_t t0;
};

/*
 * A note about the run: to the log handler (sm_set_log), and with
 * o->verbose to the run's stderr as well.
 */
static void note_at(const struct sm_run_options *o, enum sm_log_level level,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void note_at(const struct sm_run_options *o, enum sm_log_level level,
		    const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n] = '\0';
	sm_log(level, "%s", buf);
	if (!o->verbose)
		return;
	buf[n++] = '\n';
	if (write(o->stderr_fd, buf, (size_t)n) < 0)
		return;
}

#define note(o, ...) note_at(o, SM_LOG_INFO, __VA_ARGS__)
#define warn(o, ...) note_at(o, SM_LOG_WARN, __VA_ARGS__)

/* on_hello of a cold boot: the guest is ready, save it for next time. */
static void save_template(void *opaque)
{
	struct warm *w = opaque;
	struct sm_error e = {0};
	uint64_t t0 = sm_now_ns();

	if (template_save(&w->t, w->vm, &e))
		warn(w->o, "supermachine: no warm-start template: %s", e.msg);
	else
		note(w->o,
		     "supermachine: saved warm-start template %s (%.1f ms)",
		     w->t.dir, (sm_now_ns() - t0) / 1e6);
}

static const char *const slot_tags[VOL_SLOTS] = {
    "smvol0", "smvol1", "smvol2", "smvol3", "smvol4", "smvol5",
};

/*
 * Volume slots: virtio-fs devices after the rootfs, fixed in number so a
 * template fits every run; each serves its volume's directory, or the
 * image rootfs read-only when unused (the guest can read that already
 * and never mounts an unused slot). See docs/volumes.md.
 */
static void fill_slots(struct vm_config *vc, const char *const *dirs,
		       const bool *ro, const char *rootfs)
{
	vc->nshares = 1 + VOL_SLOTS;
	for (unsigned i = 0; i < VOL_SLOTS; i++)
		vc->shares[1 + i] = (struct virtio_fs_config){
		    .tag = slot_tags[i],
		    .dir = dirs[i] ? dirs[i] : rootfs,
		    .read_only = dirs[i] ? ro[i] : 1,
		};
}

/* The caps of o (0: each device's default) on every share. */
static void share_caps(struct vm_config *vc, const struct sm_run_options *o)
{
	for (unsigned i = 0; i < vc->nshares; i++) {
		vc->shares[i].max_nodes = o->share_max_nodes;
		vc->shares[i].max_handles = o->share_max_files;
		vc->shares[i].max_dax_mappings = o->share_max_dax_maps;
	}
}

static void slots_from_set(const struct vol_set *set, const char **dirs,
			   bool *ro)
{
	for (size_t i = 0; i < set->n; i++) {
		int s = set->m[i].slot;

		if (s >= 0 && s < VOL_SLOTS) {
			dirs[s] = set->m[i].host_dir;
			ro[s] = set->m[i].read_only;
		}
	}
}

static int fill_config(const struct oci_image *img,
		       const struct sm_run_options *o,
		       const struct vol_set *vols, struct vm_config *vc,
		       char *kernel, char *initrd, struct sm_error *err)
{
	int ret =
	    run_asset("kernel", o->kernel, "vmlinux", kernel, PATH_MAX, err);
	const char *dirs[VOL_SLOTS] = {0};
	bool ro[VOL_SLOTS] = {0};

	if (!ret)
		ret = run_asset("initrd", o->initrd, "initramfs.cpio", initrd,
				PATH_MAX, err);
	vc->kernel = kernel;
	vc->initrd = initrd;
	vc->cpus = o->cpus ? o->cpus : 1;
	vc->memory_mib = o->memory_mib ? o->memory_mib : DEFAULT_MEMORY_MIB;
	vc->console_fd = o->verbose >= 2 ? o->stderr_fd : -1;
	vc->cmdline = RUN_CMDLINE;
	vc->shares[0] =
	    (struct virtio_fs_config){.tag = ROOTFS_TAG,
				      .dir = img->rootfs,
				      .read_only = 1,
				      .dax_window = DEFAULT_DAX_WINDOW};
	slots_from_set(vols, dirs, ro);
	fill_slots(vc, dirs, ro, img->rootfs);
	share_caps(vc, o);
	return ret;
}

/*
 * Restores the template if there is a good one, else boots cold (and
 * then saves a template when the guest is ready).
 */
static int start_vm(const struct vm_config *vc, struct warm *w,
		    bool use_template, struct sm_error *err)
{
	struct sm_error e = {0};
	int ret;

	if (use_template && w->t.usable) {
		ret = vm_restore(vc, w->t.dir, &w->vm, &e);
		if (!ret) {
			note(w->o,
			     "supermachine: warm start: restored %s in %.1f ms",
			     w->t.dir, (sm_now_ns() - w->t0) / 1e6);
			return 0;
		}
		warn(w->o, "supermachine: template unusable, dropped (%s)",
		     e.msg);
		template_drop(&w->t);
		w->t.usable = false;
	}
	ret = vm_create(vc, &w->vm, err);
	if (!ret)
		note(w->o, "supermachine: cold boot");
	return ret;
}

/* ---- the handle API ---- */

struct sm_vm {
	struct sm_run_options o; /* copied; cmd/env are consumed by create */
	struct oci_image *img;	 /* NULL when restored from a directory */
	struct run_spec spec;
	bool have_spec;
	bool exec_base; /* restored: spec holds env/cwd/user only */
	char kernel[PATH_MAX], initrd[PATH_MAX], rootfs[PATH_MAX];
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
	pthread_t thread;
	bool started, joined;
	bool session_over; /* the session thread is done (atomic) */
	int status, ret;
	struct sm_error err;
	uint64_t vcpus_ns; /* when the vCPUs were started */
	bool forwarding;   /* o.forward_signals: handlers installed */
	struct sigaction old_sigs[sizeof(forwarded) / sizeof(forwarded[0])];
};

static void forwarding_end(struct sm_vm *h)
{
	if (h->forwarding)
		signals_restore(h->old_sigs);
	h->forwarding = false;
}

static void vm_handle_free(struct sm_vm *h)
{
	if (h->w.vm)
		vm_destroy(h->w.vm);
	net_close(h->net); /* after the device let go of it */
	if (h->o.remove_anonymous)
		vol_remove_anon(&h->vols); /* after the servers closed them */
	vol_set_free(&h->vols);
	agent_destroy(&h->agent);
	if (h->kill_pipe[0] >= 0)
		close(h->kill_pipe[0]);
	if (h->kill_pipe[1] >= 0)
		close(h->kill_pipe[1]);
	for (int i = 0; i < 2; i++)
		if (h->exec_pipe[i] >= 0)
			close(h->exec_pipe[i]);
	pthread_mutex_destroy(&h->exec_lock);
	pthread_mutex_destroy(&h->run_lock);
	pthread_cond_destroy(&h->run_cond);
	if (h->have_spec || h->exec_base)
		run_spec_free(&h->spec);
	oci_image_free(h->img);
	vm_conf_free(&h->shape);
	free(h);
}

static struct sm_vm *vm_handle_new(const struct sm_run_options *o,
				   struct sm_error *err)
{
	struct sm_vm *h = calloc(1, sizeof(*h));

	if (!h) {
		sm_err(err, -ENOMEM, "out of memory");
		return NULL;
	}
	h->o = *o;
	h->o.cmd = NULL;
	h->o.env = h->o.env_files = NULL;
	h->kill_pipe[0] = h->kill_pipe[1] = -1;
	h->exec_pipe[0] = h->exec_pipe[1] = -1;
	pthread_mutex_init(&h->exec_lock, NULL);
	pthread_mutex_init(&h->run_lock, NULL);
	{
		pthread_condattr_t a;

		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_init(&h->run_cond, &a);
		pthread_condattr_destroy(&a);
	}
	h->agent.conn_efd = h->agent.extra_efd = -1;
	h->agent.fd = -1;
	h->w.o = &h->o;
	h->w.t0 = sm_now_ns();
	if (pipe2(h->kill_pipe, O_CLOEXEC | O_NONBLOCK) ||
	    pipe2(h->exec_pipe, O_CLOEXEC | O_NONBLOCK) ||
	    agent_init(&h->agent, err)) {
		if (h->exec_pipe[0] < 0)
			sm_err_errno(err, "pipe");
		vm_handle_free(h);
		return NULL;
	}
	h->vs =
	    (struct virtio_vsock_config){.accept = agent_accept,
					 .accept_opaque = &h->agent,
					 .max_conns = h->o.vsock_max_conns,
					 .max_buffered = h->o.vsock_max_buffer};
	h->io = (struct agent_io){
	    .in_fd = o->stdin_fd,
	    .out_fd = o->stdout_fd,
	    .err_fd = o->stderr_fd,
	    .interactive = o->interactive,
	    .sig_fd = h->kill_pipe[0],
	    .exec_fd = h->exec_pipe[0],
	    .deadline_ns = deadline_after(o->timeout_ms),
	};
	return h;
}

/* ---- networking (docs/networking.md) ---- */

/* The forwards -p and -P ask for. */
static int collect_ports(const struct oci_image *img,
			 const struct sm_run_options *o, struct net_port *ports,
			 unsigned *n, struct sm_error *err)
{
	int ret = 0;

	*n = 0;
	for (const char *const *p = o->publish; !ret && p && *p; p++)
		ret = net_parse_publish(*p, ports, NET_MAX_PORTS, n, err);
	if (o->publish_all && img && img->config.exposed_ports)
		for (char **e = img->config.exposed_ports; !ret && *e; e++)
			ret =
			    net_parse_exposed(*e, ports, NET_MAX_PORTS, n, err);
	return ret;
}

/*
 * Opens this VM's own backend (published ports bound now, before the
 * process runs) and adds the device to the config. The device is the
 * same for every VM of a template; the backend is per VM.
 */
static int setup_network(struct sm_vm *h, const struct oci_image *img,
			 const struct sm_run_options *o, bool force,
			 struct sm_error *err)
{
	struct net_port ports[NET_MAX_PORTS];
	unsigned n;
	char list[1024];
	int ret;

	if (o->network && strcmp(o->network, "none") == 0 && !force) {
		if (o->publish && o->publish[0])
			return sm_err(
			    err, -EINVAL,
			    "-p needs a network: not with --network none");
		return 0;
	}
	ret = collect_ports(img, o, ports, &n, err);
	if (!ret)
		ret = net_open(force && o->network &&
				       strcmp(o->network, "none") == 0
				   ? NULL
				   : o->network,
			       ports, n, &h->net, err);
	if (ret)
		return ret;
	/* one MAC for all: clones of a template share what the guest read */
	h->netcfg = (struct virtio_net_config){
	    .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
	    .backend = h->net,
	    .rx_queue_max = h->o.net_max_rx_frames,
	};
	h->vc.net = &h->netcfg;
	h->spec.network = true;
	if (h->net->nports && net_format_ports(h->net->ports, h->net->nports,
					       list, sizeof(list)) == 0)
		note(&h->o, "supermachine: published %s", list);
	return 0;
}

SM_API int sm_vm_ports(struct sm_vm *h, char *buf, size_t size,
		       struct sm_error *err)
{
	if (!h || !buf)
		return sm_err(err, -EINVAL,
			      "sm_vm_ports: a VM and a buffer are required");
	if (!h->net) {
		if (size)
			buf[0] = '\0';
		return 0;
	}
	if (net_format_ports(h->net->ports, h->net->nports, buf, size))
		return sm_err(err, -ENOSPC,
			      "sm_vm_ports: buffer of %zu bytes too small",
			      size);
	return 0;
}

/* The guest targets of the volume slots, for a snapshot's vm.conf. */
static void shape_from_run(struct sm_vm *h)
{
	snprintf(h->shape.image, sizeof(h->shape.image), "%s",
		 h->img->manifest_digest + strlen("sha256:"));
	for (size_t i = 0; i < h->vols.n; i++) {
		const struct vol_mount *m = &h->vols.m[i];

		if (m->slot < 0 || m->slot >= VOL_SLOTS)
			continue;
		h->shape.slot[m->slot].used = true;
		h->shape.slot[m->slot].read_only = m->read_only;
		snprintf(h->shape.slot[m->slot].target,
			 sizeof(h->shape.slot[m->slot].target), "%s",
			 m->target);
	}
}

static int volumes_setup(struct sm_store *store, const struct oci_image *img,
			 const struct sm_run_options *o, struct vol_set *vols,
			 struct sm_error *err)
{
	char cwd[PATH_MAX];
	int ret;

	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0'; /* relative bind sources then fail clearly */
	ret = vol_plan(o->volumes, o->mounts, o->tmpfs, img->config.volumes,
		       cwd, vols, err);
	if (!ret)
		ret = vol_prepare(vols, store->root, img->rootfs,
				  img->owners_in_xattr, err);
	return ret;
}

static int vm_handle_create(struct sm_store *store, const char *image,
			    const struct sm_run_options *o, struct sm_vm **out,
			    struct sm_error *err)
{
	struct sm_vm *h;
	char hostname[16];
	int ret;

	if (!store || !image || !o || !out || o->size < sizeof(*o))
		return sm_err(err, -EINVAL,
			      "sm_vm_create: store, image, options (with size) "
			      "and a handle are required");
	h = vm_handle_new(o, err);
	if (!h)
		return err ? err->code : -ENOMEM;
	ret = resolve_image(store, image, o, &h->img, err);
	random_hostname(hostname, sizeof(hostname));
	if (!ret)
		ret =
		    build_spec(h->img, o, o->hostname ? o->hostname : hostname,
			       &h->spec, err);
	h->have_spec = !ret;
	if (!ret && o->stop_signal) {
		h->spec.stop_signal = run_parse_signal(o->stop_signal);
		if (h->spec.stop_signal < 0)
			ret = sm_err(err, -EINVAL,
				     "invalid stop signal \"%.64s\"",
				     o->stop_signal);
	}
	h->o.stop_signal = NULL; /* resolved into the spec */
	if (!ret)
		ret = volumes_setup(store, h->img, o, &h->vols, err);
	h->spec.volumes = &h->vols;
	h->vc.vsock = &h->vs;
	if (!ret)
		ret = fill_config(h->img, o, &h->vols, &h->vc, h->kernel,
				  h->initrd, err);
	if (!ret)
		shape_from_run(h);
	if (!ret)
		ret = setup_network(h, h->img, o, false, err);
	h->use_template = !o->no_snapshot;
	if (!ret && h->use_template)
		ret = template_locate(&h->w.t, h->img->dir,
				      h->img->manifest_digest, &h->vc, err);
	if (!ret)
		ret = start_vm(&h->vc, &h->w, h->use_template, err);
	if (ret) {
		h->o.remove_anonymous = 1; /* nothing can refer to them */
		vm_handle_free(h);
		return ret;
	}
	*out = h;
	return 0;
}

/* Boots cold after a template failed to come back to life. */
static int retry_cold(struct sm_vm *h, struct sm_error *err)
{
	warn(&h->o,
	     "supermachine: restored VM misbehaved (%s); dropping the "
	     "template, booting cold",
	     err->msg);
	template_drop(&h->w.t);
	h->w.t.usable = false;
	vm_destroy(h->w.vm);
	h->w.vm = NULL;
	agent_destroy(&h->agent);
	memset(err, 0, sizeof(*err));
	if (agent_init(&h->agent, err))
		return err->code;
	return start_vm(&h->vc, &h->w, h->use_template, err);
}

/*
 * The phases of a run, for --verbose and bench/run.sh: VMM start (handle
 * to vCPUs running), kernel boot (to the init's first marker; a restore
 * has none), init until the spec went out, and the process's own run
 * (spec sent to its exit status received).
 */
static void note_timing(struct sm_vm *h, bool restored)
{
	uint64_t init = h->w.vm->init_seen_ns, now = sm_now_ns();
	uint64_t boot_end = !restored && init ? init : h->vcpus_ns;

	note(&h->o,
	     "supermachine: timing: vmm %.1f ms, %s %.1f ms, init to spec %.1f "
	     "ms, process %.1f ms, total %.1f ms",
	     (h->vcpus_ns - h->w.t0) / 1e6,
	     restored ? "restore (no boot)" : "kernel boot",
	     (boot_end - h->vcpus_ns) / 1e6, (h->io.hello_ns - boot_end) / 1e6,
	     (now - h->io.hello_ns) / 1e6, (now - h->w.t0) / 1e6);
}

/*
 * The threads a VM's devices start while it is built (slirp, tap, vsock,
 * FUSE workers) take the building thread's seccomp and jail policies:
 * o's, for the call.
 */
struct policy {
	bool seccomp, jail;
};

static struct policy policy_now(void)
{
	return (struct policy){sm_sandbox_thread_policy(),
			       sm_jail_thread_policy()};
}

static void policy_set(struct policy p)
{
	sm_sandbox_set_thread_policy(p.seccomp);
	sm_jail_set_thread_policy(p.jail);
}

static struct policy policy_of(const struct sm_run_options *o)
{
	bool full = o && o->size >= sizeof(*o);

	return (struct policy){!(full && o->seccomp_unconfined),
			       !(full && o->jail_off)};
}

/*
 * before_spec: the session thread needs the host's files (a template to
 * save, a cold boot to retry) only until the image's process starts; it
 * jails itself then, before it reads a byte more from the guest, and off
 * the path to the process's start (docs/security.md, "Jail").
 */
static int jail_session(void *opaque, struct sm_error *err)
{
	struct sm_vm *h = opaque;

	return policy_of(&h->o).jail ? sm_jail_thread(SM_ROLE_CONTROL, err) : 0;
}

/* Wakes sm_vm_exec's wait (process_running): the process runs, or the
 * session ended. */
static void wake_run_waiters(void *opaque)
{
	struct sm_vm *h = opaque;

	pthread_mutex_lock(&h->run_lock);
	pthread_cond_broadcast(&h->run_cond);
	pthread_mutex_unlock(&h->run_lock);
}

static void *session_thread(void *arg)
{
	struct sm_vm *h = arg;
	struct sm_error *err = &h->err;
	bool restored;
	int ret;

	for (;;) {
		restored = h->use_template && h->w.t.usable;
		h->io.on_hello =
		    h->use_template && !restored ? save_template : NULL;
		h->io.on_hello_opaque = &h->w;
		h->io.before_spec = jail_session;
		h->io.before_spec_opaque = h;
		h->io.on_spec_sent = wake_run_waiters;
		h->io.on_spec_sent_opaque = h;
		h->io.stop_fd = h->w.vm->stop_efd;
		h->vcpus_ns = sm_now_ns();
		ret = vm_start_vcpus(h->w.vm, err);
		if (!ret)
			ret = agent_session(&h->agent,
					    h->have_spec ? &h->spec : NULL,
					    &h->io, &h->status, err);
		if (!ret)
			note_timing(h, restored);
		if (ret && !vm_is_stopped(h->w.vm))
			vm_stop(h->w.vm,
				ret == -ETIMEDOUT ? SM_EXIT_TIMEOUT
						  : SM_EXIT_INTERNAL,
				0, NULL);
		vm_wait(h->w.vm, 0);
		if (h->io.hello_ns)
			note(&h->o,
			     "supermachine: guest connected at %.1f ms, ready "
			     "at %.1f ms, done at %.1f ms",
			     (h->io.connected_ns - h->w.t0) / 1e6,
			     (h->io.hello_ns - h->w.t0) / 1e6,
			     (sm_now_ns() - h->w.t0) / 1e6);
		if (!(ret && restored && !h->io.spec_sent && ret != -ETIMEDOUT))
			break;
		ret = retry_cold(h, err);
		if (ret)
			break;
	}
	if (ret == -ECHILD && h->w.vm && h->w.vm->reason != SM_EXIT_GUEST)
		ret = sm_err(err, -EIO, "the VM stopped: %s",
			     h->w.vm->detail[0] ? h->w.vm->detail
						: "unknown reason");
	h->ret = ret;
	__atomic_store_n(&h->session_over, true, __ATOMIC_RELEASE);
	wake_run_waiters(h);
	return NULL;
}

/* The VM's session thread (control role) and the vCPU threads it
 * starts take h's seccomp policy. */
static int start_session_thread(struct sm_vm *h)
{
	struct policy saved = policy_now();
	int ret;

	policy_set(policy_of(&h->o));
	ret = sm_thread_start(&h->thread, SM_ROLE_CONTROL, session_thread, h);
	policy_set(saved);
	return ret;
}

SM_API int sm_vm_start(struct sm_vm *h, struct sm_error *err)
{
	if (h->started)
		return sm_err(err, -EALREADY, "the VM was started already");
	if (h->o.forward_signals) {
		if (sig_fd >= 0)
			return sm_err(err, -EBUSY,
				      "another VM forwards this process's "
				      "signals already");
		signals_install(h->old_sigs, h->kill_pipe[1]);
		h->forwarding = true;
	}
	if (start_session_thread(h)) {
		forwarding_end(h);
		return sm_err(err, -EAGAIN, "cannot start the VM's thread");
	}
	h->started = true;
	return 0;
}

SM_API int sm_vm_wait(struct sm_vm *h, int *exit_status, struct sm_error *err)
{
	if (!h->started)
		return sm_err(err, -EINVAL, "the VM was not started");
	if (!h->joined) {
		pthread_join(h->thread, NULL);
		h->joined = true;
		forwarding_end(h);
	}
	if (h->ret) {
		if (err)
			*err = h->err;
		return h->ret;
	}
	if (exit_status)
		*exit_status = h->status;
	return 0;
}

SM_API int sm_vm_kill(struct sm_vm *h, int signo, struct sm_error *err)
{
	if (signo <= 0 || signo >= 65)
		return sm_err(err, -EINVAL, "bad signal %d", signo);
	if (write(h->kill_pipe[1], &signo, sizeof(signo)) != sizeof(signo))
		return sm_err_errno(err, "signal the VM's process");
	return 0;
}

/* ---- exec ---- */

SM_API void sm_exec_options_init(struct sm_exec_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->stdin_fd = 0;
	o->stdout_fd = 1;
	o->stderr_fd = 2;
	o->signal_fd = -1;
}

SM_API int sm_signal_number(const char *name)
{
	return run_parse_signal(name);
}

SM_API int sm_vm_stop_signal(struct sm_vm *h)
{
	return (h->have_spec || h->exec_base) && h->spec.stop_signal > 0
		   ? h->spec.stop_signal
		   : SIGTERM;
}

/* Asks the guest for an exec connection and claims it. */
static int exec_connect(struct sm_vm *h, struct sm_error *err)
{
	uint32_t id;
	int fd;

	pthread_mutex_lock(&h->exec_lock);
	id = ++h->exec_seq;
	if (write(h->exec_pipe[1], &id, sizeof(id)) != sizeof(id)) {
		pthread_mutex_unlock(&h->exec_lock);
		return sm_err_errno(err, "exec: asking the guest");
	}
	/* generous: an emulated host takes seconds to fork the exec agent */
	fd =
	    agent_exec_connection(&h->agent, id, h->w.vm->stop_efd, 60000, err);
	pthread_mutex_unlock(&h->exec_lock);
	return fd;
}

/*
 * Whether the VM's process runs, waiting (up to a minute) while a just
 * started VM is still getting there: its init has yet to connect, or
 * a restored one to reconnect.
 */
static bool process_running(struct sm_vm *h)
{
	struct timespec deadline, slice;
	bool running = false;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 60;
	pthread_mutex_lock(&h->run_lock);
	for (;;) {
		if (__atomic_load_n(&h->session_over, __ATOMIC_ACQUIRE) ||
		    vm_is_stopped(h->w.vm))
			break;
		if (__atomic_load_n(&h->io.spec_sent, __ATOMIC_ACQUIRE)) {
			running = true;
			break;
		}
		/* woken when the spec goes out or the session ends; a VM that
		 * stops without either is seen within the slice */
		clock_gettime(CLOCK_MONOTONIC, &slice);
		if (slice.tv_sec >= deadline.tv_sec)
			break;
		slice.tv_sec += 1;
		pthread_cond_timedwait(&h->run_cond, &h->run_lock, &slice);
	}
	pthread_mutex_unlock(&h->run_lock);
	return running;
}

SM_API int sm_vm_exec(struct sm_vm *h, const struct sm_exec_options *o,
		      int *exit_status, struct sm_error *err)
{
	struct run_spec spec;
	struct run_spec_options so;
	struct agent_io io;
	struct winsize ws;
	int fd, ret, status = 0;

	if (!h || !o || o->size < sizeof(*o) || !exit_status)
		return sm_err(err, -EINVAL,
			      "sm_vm_exec: a VM, options (with size) and "
			      "exit_status are required");
	if (!h->started || !h->w.vm || !process_running(h))
		return sm_err(err, -ESRCH,
			      "exec: the VM's process is not running");
	if (!h->have_spec && !h->exec_base)
		return sm_err(err, -ENOTSUP,
			      "exec: the snapshot this VM came from does not "
			      "say how its process runs");
	so = (struct run_spec_options){.cmd = o->argv,
				       .env = o->env,
				       .workdir = o->workdir,
				       .user = o->user,
				       .tty = o->tty,
				       .stdin_open = o->interactive};
	ret = run_spec_exec(&h->spec, &so, &spec, err);
	if (ret)
		return ret;
	if (o->tty && ioctl(o->stdin_fd, TIOCGWINSZ, &ws) == 0) {
		spec.rows = ws.ws_row;
		spec.cols = ws.ws_col;
	}
	fd = exec_connect(h, err);
	if (fd < 0) {
		run_spec_free(&spec);
		return fd;
	}
	io = (struct agent_io){
	    .in_fd = o->stdin_fd,
	    .out_fd = o->stdout_fd,
	    .err_fd = o->stderr_fd,
	    .interactive = o->interactive,
	    .sig_fd = o->signal_fd,
	    .stop_fd = h->w.vm->stop_efd,
	    .exec_fd = -1,
	    .deadline_ns = deadline_after(o->timeout_ms),
	};
	ret = agent_exec_session(fd, &spec, &io, &status, err);
	close(fd);
	run_spec_free(&spec);
	if (!ret)
		*exit_status = status;
	return ret;
}

/* What sm_vm_restore() needs to rebuild the machine (vm_conf.h). */
/* vm.conf into f (closed here): 0, or -errno with err naming what */
static int write_shape_to(const struct sm_vm *h, FILE *f, const char *what,
			  struct sm_error *err)
{
	struct vm_conf c = h->shape; /* image and slots; strings borrowed */

	c.cpus = h->vc.cpus;
	c.memory_mib = h->vc.memory_mib;
	c.dax = h->vc.shares[0].dax_window;
	c.net = h->vc.net != NULL;
	c.nslots = h->vc.nshares - 1;
	c.exec_base = h->have_spec || h->exec_base;
	if (c.exec_base) {
		c.env = h->spec.env;
		c.cwd = h->spec.cwd;
		c.user = h->spec.user;
		c.stop_signal = h->spec.stop_signal;
	}
	if (!f)
		return sm_err_errno(err, "write %s", what);
	vm_conf_write(f, &c);
	if (fflush(f) || fsync(fileno(f)) < 0) {
		fclose(f);
		return sm_err_errno(err, "write %s", what);
	}
	if (fclose(f))
		return sm_err_errno(err, "write %s", what);
	return 0;
}

static int fill_shape(int fd, void *h, struct sm_error *err)
{
	int own = dup(fd); /* fclose must leave fd to sm_atomic_write */
	FILE *f = own < 0 ? NULL : fdopen(own, "w");

	if (!f && own >= 0)
		close(own);
	return write_shape_to(h, f, VM_CONF_FILE, err);
}

static int write_shape(const struct sm_vm *h, const char *dir,
		       struct sm_error *err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" VM_CONF_FILE, dir);
	return sm_atomic_write(path, 0644, fill_shape, (void *)h, err);
}

/*
 * The image a snapshot names, in the restorer's store: never a host path
 * from the snapshot directory.
 */
static int restore_rootfs(struct sm_vm *h, struct sm_store *store,
			  const char *dir, int *owners_in_xattr,
			  struct sm_error *err)
{
	_cleanup_free_ char *rootfs =
	    store_path(store, "images/%s/rootfs", h->shape.image);
	_cleanup_free_ char *meta =
	    store_path(store, "images/%s/meta.json", h->shape.image);
	struct stat st;
	json_t *j;

	if (!rootfs || !meta)
		return sm_err(err, -ENOMEM, "out of memory");
	j = json_load_file(meta, 0, NULL);
	if (!j || stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		json_decref(j);
		return sm_err(
		    err, -ENOENT,
		    "snapshot %s: its image sha256:%.12s is not in the "
		    "store %s (pull or load it first)",
		    dir, h->shape.image, store->root);
	}
	*owners_in_xattr = json_is_true(json_object_get(j, "rootless"));
	json_decref(j);
	snprintf(h->rootfs, sizeof(h->rootfs), "%s", rootfs);
	return 0;
}

/*
 * The restorer's -v/--mount directories behind the snapshot's volume
 * slots (vm_conf_match_slots); a slot the snapshot leaves unused serves
 * the rootfs read-only, as in a run.
 */
static int restore_volumes(struct sm_vm *h, struct sm_store *store,
			   int owners_in_xattr, const char *dir,
			   struct sm_error *err)
{
	const char *dirs[VOL_SLOTS] = {0};
	bool ro[VOL_SLOTS] = {0};
	char cwd[PATH_MAX];
	int ret;

	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	ret = vol_plan(h->o.volumes, h->o.mounts, h->o.tmpfs, NULL, cwd,
		       &h->vols, err);
	if (!ret)
		ret = vm_conf_match_slots(&h->shape, &h->vols, err);
	if (!ret)
		ret = vol_prepare(&h->vols, store->root, h->rootfs,
				  owners_in_xattr, err);
	if (ret)
		return sm_err_wrap(err, ret, "snapshot %s", dir);
	slots_from_set(&h->vols, dirs, ro);
	if (h->shape.nslots)
		fill_slots(&h->vc, dirs, ro, h->rootfs);
	share_caps(&h->vc, &h->o);
	return 0;
}

/* vm.conf's exec base becomes the restored VM's spec (for exec). */
static void take_exec_base(struct sm_vm *h)
{
	struct vm_conf *c = &h->shape;

	h->exec_base = c->exec_base;
	h->spec.env = c->env;
	h->spec.cwd = c->cwd;
	h->spec.user = c->user;
	h->spec.stop_signal = c->stop_signal;
	c->env = NULL;
	c->nenv = 0;
	c->cwd = c->user = NULL;
}

static int read_shape(struct sm_vm *h, struct sm_store *store, const char *dir,
		      struct sm_error *err)
{
	int owners_in_xattr = 0;
	int ret = vm_conf_read(&h->shape, dir, err);

	if (ret)
		return ret;
	take_exec_base(h);
	h->vc.cpus = h->shape.cpus;
	h->vc.memory_mib = h->shape.memory_mib;
	ret = restore_rootfs(h, store, dir, &owners_in_xattr, err);
	if (ret)
		return ret;
	h->vc.console_fd = h->o.verbose >= 2 ? h->o.stderr_fd : -1;
	h->vc.cmdline = RUN_CMDLINE;
	h->vc.nshares = 1;
	h->vc.shares[0] = (struct virtio_fs_config){.tag = ROOTFS_TAG,
						    .dir = h->rootfs,
						    .read_only = 1,
						    .dax_window = h->shape.dax};
	ret = restore_volumes(h, store, owners_in_xattr, dir, err);
	if (ret)
		return ret;
	h->vc.vsock = &h->vs;
	/* the snapshot has the device: it gets a fresh backend */
	return h->shape.net ? setup_network(h, NULL, &h->o, true, err) : 0;
}

SM_API int sm_vm_snapshot(struct sm_vm *h, const char *dir,
			  struct sm_error *err)
{
	int ret;

	if (!h->started || !h->w.vm)
		return sm_err(err, -EINVAL,
			      "only a started VM can be snapshotted");
	/* Before the init's hello a restore would find an init asking for a
	 * process spec that sm_vm_restore() cannot give (docs/snapshot.md). */
	if (!__atomic_load_n(&h->io.hello_ns, __ATOMIC_ACQUIRE))
		return sm_err(err, -EAGAIN,
			      "the guest is still booting: snapshot it once "
			      "its init is ready");
	ret = snapshot_save(h->w.vm, dir, err);
	return ret ? ret : write_shape(h, dir, err);
}

static int snapshot_fd_ok(int fd, const char *name, struct sm_error *err)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return sm_err(
		    err, -EINVAL,
		    "snapshot: the %s descriptor is not a regular file", name);
	return 0;
}

SM_API int sm_vm_snapshot_fds(struct sm_vm *h,
			      const struct sm_snapshot_fds *fds,
			      struct sm_error *err)
{
	int ret, conf;
	FILE *f;

	if (!fds || fds->size < sizeof(*fds))
		return sm_err(
		    err, -EINVAL,
		    "sm_vm_snapshot_fds: descriptors (with size) are required");
	if (!h->started || !h->w.vm)
		return sm_err(err, -EINVAL,
			      "only a started VM can be snapshotted");
	if (!__atomic_load_n(&h->io.hello_ns, __ATOMIC_ACQUIRE))
		return sm_err(err, -EAGAIN,
			      "the guest is still booting: snapshot it once "
			      "its init is ready");
	if ((ret = snapshot_fd_ok(fds->memory_fd, "memory", err)) ||
	    (ret = snapshot_fd_ok(fds->state_fd, "state", err)) ||
	    (ret = snapshot_fd_ok(fds->conf_fd, "vm.conf", err)))
		return ret;
	ret = snapshot_save_fds(h->w.vm, fds->memory_fd, fds->state_fd, err);
	if (ret)
		return ret;
	conf = fcntl(fds->conf_fd, F_DUPFD_CLOEXEC, 0);
	f = conf >= 0 ? fdopen(conf, "w") : NULL;
	if (!f && conf >= 0)
		close(conf);
	return write_shape_to(h, f, VM_CONF_FILE, err);
}

static int vm_restore_dir(struct sm_store *store, const char *dir,
			  const struct sm_run_options *o, struct sm_vm **out,
			  struct sm_error *err)
{
	struct sm_vm *h;
	int ret;

	if (!store || !dir || !o || !out || o->size < sizeof(*o))
		return sm_err(err, -EINVAL,
			      "sm_vm_restore: a store, a directory, options "
			      "(with size) and a handle are required");
	h = vm_handle_new(o, err);
	if (!h)
		return err ? err->code : -ENOMEM;
	ret = read_shape(h, store, dir, err);
	if (!ret)
		ret = vm_restore(&h->vc, dir, &h->w.vm, err);
	if (ret) {
		vm_handle_free(h);
		return ret;
	}
	*out = h;
	return 0;
}

static int with_policy(const struct sm_run_options *o, struct sm_error *err)
{
	struct policy p = policy_of(o);
	int ret = p.seccomp ? sm_sandbox_available(err) : 0;

	if (!ret && p.jail)
		ret = sm_jail_setup(
		    o && o->size >= sizeof(*o) ? o->jail_user : NULL, err);
	policy_set(p);
	return ret;
}

SM_API int sm_vm_create(struct sm_store *store, const char *image,
			const struct sm_run_options *o, struct sm_vm **out,
			struct sm_error *err)
{
	struct policy saved = policy_now();
	int ret = with_policy(o, err);

	if (!ret)
		ret = vm_handle_create(store, image, o, out, err);
	policy_set(saved);
	return ret;
}

SM_API int sm_vm_restore(struct sm_store *store, const char *dir,
			 const struct sm_run_options *o, struct sm_vm **out,
			 struct sm_error *err)
{
	struct policy saved = policy_now();
	int ret = with_policy(o, err);

	if (!ret)
		ret = vm_restore_dir(store, dir, o, out, err);
	policy_set(saved);
	return ret;
}

SM_API int sm_vm_anonymous_volumes(struct sm_vm *h, char *buf, size_t size,
				   struct sm_error *err)
{
	size_t at = 0;

	if (!h || !buf || !size)
		return sm_err(
		    err, -EINVAL,
		    "sm_vm_anonymous_volumes: a VM and a buffer are required");
	buf[0] = '\0';
	for (size_t i = 0; i < h->vols.n; i++) {
		const char *d = h->vols.m[i].anon_dir;
		int n;

		if (!d)
			continue;
		n = snprintf(buf + at, size - at, "%s\n", d);
		if (n < 0 || (size_t)n >= size - at) {
			buf[at] = '\0';
			return sm_err(
			    err, -ENOSPC,
			    "anonymous volumes: %zu bytes are too few", size);
		}
		at += (size_t)n;
	}
	return 0;
}

SM_API void sm_vm_destroy(struct sm_vm *h)
{
	if (!h)
		return;
	if (h->started && !h->joined) {
		if (h->w.vm)
			vm_stop(h->w.vm, SM_EXIT_INTERNAL, 0, "destroyed");
		pthread_join(h->thread, NULL);
	}
	forwarding_end(h);
	vm_handle_free(h);
}

/* ---- the one-call API ---- */

SM_API int sm_run(struct sm_store *store, const char *image,
		  const struct sm_run_options *o, int *exit_status,
		  struct sm_error *err)
{
	struct sm_vm *h;
	int ret;

	if (!exit_status)
		return sm_err(err, -EINVAL, "sm_run: exit_status is required");
	ret = sm_vm_create(store, image, o, &h, err);
	if (ret)
		return ret;
	ret = sm_vm_start(h, err); /* forwards signals when o asks */
	if (!ret)
		ret = sm_vm_wait(h, exit_status, err);
	sm_vm_destroy(h);
	return ret;
}
