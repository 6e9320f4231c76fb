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

/* Boots the VM and runs the session; *status is the process's. */
static int run_vm(const struct oci_image *img, const struct sm_run_options *o,
		  const struct run_spec *spec, int *status,
		  struct sm_error *err)
{
	struct agent agent;
	struct virtio_vsock_config vs = { .accept = agent_accept,
					  .accept_opaque = &agent };
	struct vm_config vc = {
		.cpus = o->cpus, .console_fd = o->verbose ? o->stderr_fd : -1,
		.memory_mib = o->memory_mib ? o->memory_mib : DEFAULT_MEMORY_MIB,
		.cmdline = RUN_CMDLINE, .vsock = &vs, .nshares = 1,
	};
	char kernel[PATH_MAX], initrd[PATH_MAX];
	struct agent_io io = {
		.in_fd = o->stdin_fd, .out_fd = o->stdout_fd,
		.err_fd = o->stderr_fd, .interactive = o->interactive,
		.sig_fd = o->forward_signals ? sig_pipe[0] : -1,
		.deadline_ns = deadline_after(o->timeout_ms),
	};
	struct vm *vm;
	int ret;

	ret = run_asset("kernel", o->kernel, "vmlinux", kernel, sizeof(kernel), err);
	if (!ret)
		ret = run_asset("initrd", o->initrd, "initramfs.cpio", initrd,
				sizeof(initrd), err);
	if (ret)
		return ret;
	vc.kernel = kernel;
	vc.initrd = initrd;
	vc.shares[0] = (struct virtio_fs_config){ .tag = ROOTFS_TAG,
						  .dir = img->rootfs,
						  .read_only = 1,
						  .dax_window = DEFAULT_DAX_WINDOW };
	ret = agent_init(&agent, err);
	if (ret)
		return ret;
	ret = vm_create(&vc, &vm, err);
	if (ret) {
		agent_destroy(&agent);
		return ret;
	}
	io.stop_fd = vm->stop_efd;
	ret = vm_start_vcpus(vm, err);
	if (!ret)
		ret = agent_session(&agent, spec, &io, status, err);
	if (ret && !vm_is_stopped(vm))
		vm_stop(vm, ret == -ETIMEDOUT ? SM_EXIT_TIMEOUT : SM_EXIT_INTERNAL,
			0, NULL);
	vm_wait(vm, 0);
	if (ret == -ECHILD && vm->reason != SM_EXIT_GUEST)
		ret = sm_err(err, -EIO, "the VM stopped: %s",
			     vm->detail[0] ? vm->detail : "unknown reason");
	vm_destroy(vm);
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
