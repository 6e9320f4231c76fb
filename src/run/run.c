/*
 * sm_run() and the VM handle: an image's process in a fresh microVM. The
 * image rootfs is served read-only over virtio-fs (DAX), the guest init
 * puts a tmpfs overlay on it, and the process spec, stdio, signals and
 * the exit status travel over the vsock agent connection. This file: the
 * options, the handle's making and freeing, sm_vm_create/restore/destroy
 * and sm_run. The session thread is in session.c, the machine's
 * configuration in machine.c, exec in exec.c, snapshots in vm_snapshot.c.
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
#include "oci/ref.h"
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
#include "util/opts.h"
#include "util/log.h"
#include "vmm/vm_run.h"
#include "run/handle.h"

SM_API void sm_run_options_init(struct sm_run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->stdin_fd = 0;
	o->stdout_fd = 1;
	o->stderr_fd = 2;
	o->signal_fd = -1;
}

/* ---- the run ---- */

void run_random_hostname(char *buf, size_t size)
{
	unsigned char r[6];

	if (getentropy(r, sizeof(r)))
		memset(r, 0x5a, sizeof(r));
	snprintf(buf, size, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
		 r[4], r[5]);
}

/* docker's words first when the image was neither here nor pulled:
 * "Unable to find image 'alpine:latest' locally; pulling it from
 * registry-1.docker.io failed: ...". */
static void unable_to_find(const char *image, struct sm_error *err)
{
	struct oci_ref r;
	char *full = NULL;

	if (!err || oci_ref_parse(image, &r, NULL))
		return;
	full = oci_ref_string(&r);
	sm_err_wrap(err, err->code,
		    "Unable to find image '%s' locally; pulling it from %s "
		    "failed",
		    full ? oci_ref_familiar(full) : image,
		    oci_ref_api_host(&r));
	free(full);
	oci_ref_free(&r);
}

static int resolve_image(struct sm_store *store, const char *image,
			 const struct sm_run_options *o, struct oci_image **img,
			 struct sm_error *err)
{
	/* held while the VM lives: no removal deletes it under the guest */
	struct oci_get_options go = {.no_pull = o->pull == SM_PULL_NEVER,
				     .pin = 1};
	int ret;

	if (o->pull == SM_PULL_ALWAYS) {
		ret = sm_image_pull(store, image, NULL, NULL, err);
		if (ret)
			return ret;
	}
	if (go.no_pull || o->pull == SM_PULL_ALWAYS)
		return oci_image_get(store, image, &go, img, err);
	go.no_pull = 1; /* here already: the common case */
	ret = oci_image_get(store, image, &go, img, err);
	if (ret != -ENOENT)
		return ret;
	if (err)
		*err = (struct sm_error){0};
	go.no_pull = 0;
	ret = oci_image_get(store, image, &go, img, err);
	if (ret)
		unable_to_find(image, err);
	return ret;
}

/*
 * o->rootfs: an image of no store whose root is that directory and whose
 * config is empty (an OCI bundle's process comes whole from its caller).
 */
static int bundle_root(const char *dir, struct oci_image **out,
		       struct sm_error *err)
{
	char real[PATH_MAX];
	struct oci_image *img;
	struct stat st;

	if (!realpath(dir, real) || stat(real, &st) < 0)
		return sm_err_errno(err, "root file system %s", dir);
	if (!S_ISDIR(st.st_mode))
		return sm_err(err, -ENOTDIR,
			      "root file system %s: not a directory", dir);
	img = calloc(1, sizeof(*img));
	if (!img || !(img->name = strdup("")) ||
	    !(img->rootfs = strdup(real))) {
		oci_image_free(img);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	img->pin_fd = -1;
	*out = img;
	return 0;
}

static int build_spec(const struct oci_image *img,
		      const struct sm_run_options *o, const char *hostname,
		      bool idle, struct run_spec *spec, struct sm_error *err)
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
	    .idle = idle,
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

uint64_t run_deadline_after(unsigned ms)
{
	return ms ? sm_now_ns() + (uint64_t)ms * 1000000ULL : 0;
}

void run_note_at(const struct sm_run_options *o, enum sm_log_level level,
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

void run_handle_free(struct sm_vm *h)
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
	run_spec_free(&h->spec); /* a restore's hostname even without a base */
	oci_image_free(h->img);
	if (h->image_pin >= 0)
		close(h->image_pin);
	vm_conf_free(&h->shape);
	free(h);
}

struct sm_vm *run_handle_new(const struct sm_run_options *o,
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
	h->image_pin = -1;
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
	/* counted only for someone to see: each count costs syscalls */
	h->counting = h->o.verbose || sm_log_wanted();
	if (h->counting)
		vm_counts_now(NULL, &h->at_start);
	if (pipe2(h->kill_pipe, O_CLOEXEC | O_NONBLOCK) ||
	    pipe2(h->exec_pipe, O_CLOEXEC | O_NONBLOCK) ||
	    agent_init(&h->agent, err)) {
		if (h->exec_pipe[0] < 0)
			sm_err_errno(err, "pipe");
		run_handle_free(h);
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
	    .caller_sig_fd = o->signal_fd,
	    .exec_fd = h->exec_pipe[0],
	    .deadline_ns = run_deadline_after(o->timeout_ms),
	    .shares = h->vc.shares,
	    .nshares = &h->vc.nshares,
	};
	return h;
}

static int vm_handle_create(struct sm_store *store, const char *image,
			    const struct sm_run_options *o, bool idle,
			    struct sm_vm **out, struct sm_error *err)
{
	struct sm_vm *h;
	char hostname[16];
	int ret;

	if (!store || !image == !o->rootfs || !out)
		return sm_err(err, -EINVAL,
			      "sm_vm_create: a store, a handle and either an "
			      "image or a rootfs directory are required");
	h = run_handle_new(o, err);
	if (!h)
		return err ? err->code : -ENOMEM;
	ret = o->rootfs ? bundle_root(o->rootfs, &h->img, err)
			: resolve_image(store, image, o, &h->img, err);
	run_random_hostname(hostname, sizeof(hostname));
	if (!ret)
		ret =
		    build_spec(h->img, o, o->hostname ? o->hostname : hostname,
			       idle, &h->spec, err);
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
		ret = run_volumes_setup(store, h->img, o, &h->vols, err);
	h->spec.volumes = &h->vols;
	h->vc.vsock = &h->vs;
	if (!ret)
		ret = run_fill_config(h->img, o, &h->vols, &h->vc, h->kernel,
				      h->initrd, err);
	if (!ret)
		run_shape_from_run(h);
	if (!ret)
		ret = run_setup_network(h, h->img, o, false, err);
	h->use_template = !o->no_snapshot && !o->rootfs;
	if (!ret && h->use_template)
		ret = template_locate(&h->w.t, h->img->dir,
				      h->img->manifest_digest, &h->vc, err);
	if (!ret)
		ret = run_start_vm(&h->vc, &h->w, h->use_template, err);
	if (ret) {
		h->o.remove_anonymous = 1; /* nothing can refer to them */
		run_handle_free(h);
		return ret;
	}
	*out = h;
	return 0;
}

struct run_policy run_policy_now(void)
{
	return (struct run_policy){sm_sandbox_thread_policy(),
				   sm_jail_thread_policy()};
}

void run_policy_set(struct run_policy p)
{
	sm_sandbox_set_thread_policy(p.seccomp);
	sm_jail_set_thread_policy(p.jail);
}

struct run_policy run_policy_of(const struct sm_run_options *o)
{
	return (struct run_policy){!o->seccomp_unconfined, !o->jail_off};
}

static int with_policy(const struct sm_run_options *o, struct sm_error *err)
{
	struct run_policy p = run_policy_of(o);
	int ret = p.seccomp ? sm_sandbox_available(err) : 0;

	if (!ret && p.jail)
		ret = sm_jail_setup(o->jail_user, err);
	run_policy_set(p);
	return ret;
}

/* The caller's options as this library's struct (util/opts.h). */
static int take_run_options(struct sm_run_options *o,
			    const struct sm_run_options *in,
			    struct sm_error *err)
{
	sm_run_options_init(o);
	int ret = sm_opts_take(o, sizeof(*o), in, "sm_run_options", err);

	if (!ret && o->forward_signals)
		ret = sm_err(err, -ENOTSUP,
			     "sm_run_options.forward_signals was removed: the "
			     "library takes no signal handlers; write signals "
			     "to a pipe and pass it as signal_fd");
	if (!ret && o->memory_mib && o->memory_mib < SM_MIN_MEMORY_MIB)
		ret = sm_err(err, -EINVAL,
			     "memory: %llu MiB is below the minimum of %u MiB "
			     "(the guest's kernel and init need it)",
			     (unsigned long long)o->memory_mib,
			     SM_MIN_MEMORY_MIB);
	return ret;
}

int run_vm_create(struct sm_store *store, const char *image,
		  const struct sm_run_options *in, bool idle,
		  struct sm_vm **out, struct sm_error *err)
{
	struct run_policy saved = run_policy_now();
	struct sm_run_options o;
	int ret = take_run_options(&o, in, err);

	if (!ret)
		ret = with_policy(&o, err);
	if (!ret)
		ret = vm_handle_create(store, image, &o, idle, out, err);
	run_policy_set(saved);
	return ret;
}

SM_API int sm_vm_create(struct sm_store *store, const char *image,
			const struct sm_run_options *in, struct sm_vm **out,
			struct sm_error *err)
{
	return run_vm_create(store, image, in, false, out, err);
}

SM_API int sm_vm_restore(struct sm_store *store, const char *dir,
			 const struct sm_run_options *in, struct sm_vm **out,
			 struct sm_error *err)
{
	struct run_policy saved = run_policy_now();
	struct sm_run_options o;
	int ret = take_run_options(&o, in, err);

	if (!ret)
		ret = with_policy(&o, err);
	if (!ret)
		ret = run_restore_dir(store, dir, &o, out, err);
	run_policy_set(saved);
	return ret;
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
	/* exec -d sessions end with the stopped VM: wait for their threads */
	pthread_mutex_lock(&h->run_lock);
	while (h->detached_execs)
		pthread_cond_wait(&h->run_cond, &h->run_lock);
	pthread_mutex_unlock(&h->run_lock);
	run_handle_free(h);
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
	ret = sm_vm_start(h, err); /* o->signal_fd: the caller's signals */
	if (!ret)
		ret = sm_vm_wait(h, exit_status, err);
	sm_vm_destroy(h);
	return ret;
}
