/*
 * sm_run(): an image's process in a fresh microVM. The image rootfs is
 * served read-only over virtio-fs (DAX), the guest init puts a tmpfs
 * overlay on it, and the process spec, stdio, signals and the exit status
 * travel over the vsock agent connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "oci/oci.h"
#include "proto/proto.h"
#include "run/agent.h"
#include "run/assets.h"
#include "run/spec.h"
#include "run/template.h"
#include "util/error.h"
#include "vmm/vm_run.h"

#define ROOTFS_TAG "rootfs"
#define DEFAULT_MEMORY_MIB 512
#define DEFAULT_DAX_WINDOW (256ULL << 20)
#define RUN_CMDLINE "sm.root=" ROOTFS_TAG " sm.rootflags=dax sm.overlay=1 sm.agent=1"

SM_API void sm_run_options_init(struct sm_run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->stdin_fd = 0;
	o->stdout_fd = 1;
	o->stderr_fd = 2;
}

/* ---- signal forwarding (process-wide, only while a run asks for it) ---- */

static int sig_pipe[2] = { -1, -1 };
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH };

static void on_signal(int sig)
{
	int saved = errno;
	ssize_t r = write(sig_pipe[1], &sig, sizeof(sig));

	(void)r; /* a full pipe drops the signal: nothing better to do */
	errno = saved;
}

static int signals_install(struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, &old[i]);
	return 0;
}

static void signals_restore(const struct sigaction *old)
{
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &old[i], NULL);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
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
	struct oci_get_options go = { .no_pull = o->pull == SM_PULL_NEVER };
	int ret;

	if (o->pull == SM_PULL_ALWAYS) {
		ret = sm_image_pull(store, image, NULL, NULL, err);
		if (ret)
			return ret;
	}
	return oci_image_get(store, image, &go, img, err);
}

static int build_spec(const struct oci_image *img, const struct sm_run_options *o,
		      const char *hostname, struct run_spec *spec,
		      struct sm_error *err)
{
	struct run_spec_options so = {
		.cmd = o->cmd, .entrypoint = o->entrypoint, .env = o->env,
		.env_files = o->env_files, .workdir = o->workdir,
		.user = o->user, .hostname = hostname, .tty = o->tty,
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

static void note(const struct sm_run_options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(const struct sm_run_options *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (!o->verbose)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(o->stderr_fd, buf, (size_t)n) < 0)
		return;
}

/* on_hello of a cold boot: the guest is ready, save it for next time. */
static void save_template(void *opaque)
{
	struct warm *w = opaque;
	struct sm_error e = { 0 };
	uint64_t t0 = vm_now_ns();

	if (template_save(&w->t, w->vm, &e))
		note(w->o, "supermachine: no warm-start template: %s", e.msg);
	else
		note(w->o, "supermachine: saved warm-start template %s (%.1f ms)",
		     w->t.dir, (vm_now_ns() - t0) / 1e6);
}

static int fill_config(const struct oci_image *img,
		       const struct sm_run_options *o, struct vm_config *vc,
		       char *kernel, char *initrd, struct sm_error *err)
{
	int ret = run_asset("kernel", o->kernel, "vmlinux", kernel, PATH_MAX, err);

	if (!ret)
		ret = run_asset("initrd", o->initrd, "initramfs.cpio", initrd,
				PATH_MAX, err);
	vc->kernel = kernel;
	vc->initrd = initrd;
	vc->cpus = o->cpus ? o->cpus : 1;
	vc->memory_mib = o->memory_mib ? o->memory_mib : DEFAULT_MEMORY_MIB;
	vc->console_fd = o->verbose >= 2 ? o->stderr_fd : -1;
	vc->cmdline = RUN_CMDLINE;
	vc->nshares = 1;
	vc->shares[0] = (struct virtio_fs_config){ .tag = ROOTFS_TAG,
						   .dir = img->rootfs,
						   .read_only = 1,
						   .dax_window = DEFAULT_DAX_WINDOW };
	return ret;
}

/*
 * Restores the template if there is a good one, else boots cold (and
 * then saves a template when the guest is ready).
 */
static int start_vm(const struct vm_config *vc, struct warm *w,
		    bool use_template, struct sm_error *err)
{
	struct sm_error e = { 0 };
	int ret;

	if (use_template && w->t.usable) {
		ret = vm_restore(vc, w->t.dir, &w->vm, &e);
		if (!ret) {
			note(w->o, "supermachine: warm start: restored %s in %.1f ms",
			     w->t.dir, (vm_now_ns() - w->t0) / 1e6);
			return 0;
		}
		note(w->o, "supermachine: template unusable, dropped (%s)", e.msg);
		template_drop(&w->t);
		w->t.usable = false;
	}
	ret = vm_create(vc, &w->vm, err);
	if (!ret)
		note(w->o, "supermachine: cold boot");
	return ret;
}

/* Boots (or restores) the VM and runs the session; *status is the process's. */
static int run_vm(const struct oci_image *img, const struct sm_run_options *o,
		  const struct run_spec *spec, int *status,
		  struct sm_error *err)
{
	struct agent agent;
	struct virtio_vsock_config vs = { .accept = agent_accept,
					  .accept_opaque = &agent };
	struct vm_config vc = { .vsock = &vs };
	char kernel[PATH_MAX], initrd[PATH_MAX];
	struct warm w = { .o = o, .t0 = vm_now_ns() };
	bool use_template = !o->no_snapshot, restored;
	struct agent_io io = {
		.in_fd = o->stdin_fd, .out_fd = o->stdout_fd,
		.err_fd = o->stderr_fd, .interactive = o->interactive,
		.sig_fd = o->forward_signals ? sig_pipe[0] : -1,
		.deadline_ns = deadline_after(o->timeout_ms),
	};
	int ret = fill_config(img, o, &vc, kernel, initrd, err);

	if (!ret && use_template)
		ret = template_locate(&w.t, img->dir, img->manifest_digest, &vc, err);
	if (!ret)
		ret = agent_init(&agent, err);
	if (ret)
		return ret;
again:
	ret = start_vm(&vc, &w, use_template, err);
	if (ret) {
		agent_destroy(&agent);
		return ret;
	}
	restored = use_template && w.t.usable;
	if (use_template && !restored) {
		io.on_hello = save_template;
		io.on_hello_opaque = &w;
	}
	io.stop_fd = w.vm->stop_efd;
	ret = vm_start_vcpus(w.vm, err);
	if (!ret)
		ret = agent_session(&agent, spec, &io, status, err);
	if (ret && !vm_is_stopped(w.vm))
		vm_stop(w.vm, ret == -ETIMEDOUT ? SM_EXIT_TIMEOUT : SM_EXIT_INTERNAL,
			0, NULL);
	vm_wait(w.vm, 0);
	if (io.hello_ns)
		note(o, "supermachine: guest connected at %.1f ms, ready at %.1f ms, done at %.1f ms",
		     (io.connected_ns - w.t0) / 1e6, (io.hello_ns - w.t0) / 1e6,
		     (vm_now_ns() - w.t0) / 1e6);
	if (ret && restored && !io.spec_sent && ret != -ETIMEDOUT) {
		/* a template that does not come back to life is stale */
		note(o, "supermachine: restored VM misbehaved (%s); dropping the template, booting cold",
		     err && err->msg[0] ? err->msg : "?");
		template_drop(&w.t);
		w.t.usable = false;
		vm_destroy(w.vm);
		agent_destroy(&agent);
		if (agent_init(&agent, err))
			return -ENOMEM;
		goto again;
	}
	if (ret == -ECHILD && w.vm->reason != SM_EXIT_GUEST)
		ret = sm_err(err, -EIO, "the VM stopped: %s",
			     w.vm->detail[0] ? w.vm->detail : "unknown reason");
	vm_destroy(w.vm);
	agent_destroy(&agent);
	return ret;
}

SM_API int sm_run(struct sm_store *store, const char *image,
		  const struct sm_run_options *o, int *exit_status,
		  struct sm_error *err)
{
	struct sigaction old[sizeof(forwarded) / sizeof(forwarded[0])];
	struct oci_image *img = NULL;
	struct run_spec spec = { 0 };
	char hostname[16];
	int ret;

	if (!store || !image || !o || !exit_status || o->size < sizeof(*o))
		return sm_err(err, -EINVAL,
			      "sm_run: store, image, options (with size) and exit_status are required");
	ret = resolve_image(store, image, o, &img, err);
	if (ret)
		return ret;
	random_hostname(hostname, sizeof(hostname));
	ret = build_spec(img, o, o->hostname ? o->hostname : hostname, &spec, err);
	if (!ret && o->forward_signals && signals_install(old))
		ret = sm_err_errno(err, "signal forwarding");
	if (!ret) {
		ret = run_vm(img, o, &spec, exit_status, err);
		if (o->forward_signals)
			signals_restore(old);
	}
	run_spec_free(&spec);
	oci_image_free(img);
	return ret;
}
