/*
 * virtio-fs (virtio 1.2 section 5.11): a FUSE server inside the VMM
 * (src/fuse/) over the passthrough backend, with an optional DAX window:
 * a shared-memory region where FUSE_SETUPMAPPING maps file ranges
 * straight from the host page cache into the guest.
 *
 * Each share has its own worker thread, confined to the share (its root
 * and cwd are the share's: fuse_passthrough_confine; its descriptor
 * table is its own and holds nothing of other shares or of the VMM:
 * fuse_passthrough_own_fds), which does all of the share's file work;
 * QueueNotify only wakes it. The worker serves the queues under dev->lock, as
 * the vCPU did before, so virtio_freeze waits it out like any device thread
 * (docs/security.md, "Share confinement").
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuse/fuse_server.h"
#include "sandbox/sandbox.h"
#include "util/error.h"
#include "util/log.h"
#include "virtio/device.h"
#include "virtio/fs.h"
#include "vmm/vm.h"

#define VIRTIO_ID_FS 26
#define FS_QUEUE_SIZE 128
#define FS_NUM_QUEUES 2		  /* hiprio + one request queue */
#define FS_DAX_ALIGN (2ULL << 20) /* the guest maps in 2 MiB chunks */

struct __attribute__((packed)) virtio_fs_config_space {
	char tag[VIRTIO_FS_TAG_MAX];
	uint32_t num_request_queues;
};

/* A function run on the worker (virtio_fs_run_on_worker). */
struct fs_call {
	int (*fn)(void *arg);
	void *arg;
	int ret;
	bool finished;
};

struct fs_dev {
	struct virtio_fs_config_space config;
	struct fuse_server_config server_config;
	struct fuse_server *server; /* made and freed by the worker */
	void *backend;
	uint8_t *window; /* host mapping of the DAX window */
	uint64_t window_size;

	/* the worker; all of this under dev->lock */
	bool serve_inline; /* no worker (virtio_fs_config.serve_inline) */
	const struct fuse_backend_ops *be_ops; /* passthrough, or empty */
	pthread_t worker;
	bool worker_started, worker_ready, stop;
	int confined;	     /* fuse_passthrough_confine's result */
	bool sandbox_on;     /* its creator's seccomp policy (sandbox.h) */
	bool jail_on;	     /* and jail policy */
	bool bounding_empty; /* and its empty bounding set, inherited */
	struct sm_error worker_err;
	uint32_t pending; /* a bit per queue notified and not yet served */
	struct fs_call *call;
	pthread_cond_t wake; /* for the worker */
	pthread_cond_t done; /* for those waiting on the worker */
};

static int dax_map(void *opaque, uint64_t off, int fd, uint64_t file_off,
		   uint64_t len, int writable)
{
	struct fs_dev *fs = opaque;
	void *p;

	/* The server validated alignment and bounds; check again since a
	 * wrong mapping here would land over other VMM memory. */
	if (off > fs->window_size || len > fs->window_size - off)
		return -EINVAL;
	p = mmap(fs->window + off, len, PROT_READ | (writable ? PROT_WRITE : 0),
		 MAP_SHARED | MAP_FIXED, fd, (off_t)file_off);
	return p == MAP_FAILED ? -errno : 0;
}

static int dax_unmap(void *opaque, uint64_t off, uint64_t len)
{
	struct fs_dev *fs = opaque;
	void *p;

	if (off > fs->window_size || len > fs->window_size - off)
		return -EINVAL;
	p = mmap(fs->window + off, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		 0);
	return p == MAP_FAILED ? -errno : 0;
}

static const struct fuse_dax_ops fs_dax_ops = {
    .map = dax_map,
    .unmap = dax_unmap,
};

/* One request chain through the FUSE server; the reply's length. */
static size_t fs_handle(struct virtio_dev *dev, const struct virtq_chain *chain)
{
	struct fs_dev *fs = dev->priv;
	size_t out_len = 0;

	if (fuse_server_handle(fs->server, chain->iov, (int)chain->n_readable,
			       chain->iov + chain->n_readable,
			       (int)chain->n_writable, &out_len) < 0)
		out_len = 0;
	return out_len;
}

static void fs_serve(struct virtio_dev *dev, unsigned queue)
{
	virtio_serve_queue(dev, queue, fs_handle);
}

static bool worker_has_work(struct virtio_dev *dev, struct fs_dev *fs)
{
	return fs->stop || (fs->call && !fs->call->finished) ||
	       (fs->pending && !dev->frozen);
}

/* Serves the queues notified since last time (called with the lock). */
static void serve_pending(struct virtio_dev *dev, struct fs_dev *fs)
{
	uint32_t pending = fs->pending;

	fs->pending = 0;
	/* the driver may have reset or broken the device since it notified */
	if (!(dev->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (dev->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	for (unsigned q = 0; q < FS_NUM_QUEUES; q++)
		if (pending & (1u << q))
			fs_serve(dev, q);
}

/*
 * The worker's own descriptor table (fuse_passthrough_own_fds) keeps the
 * share, stderr (log lines, a seccomp kill's line) and what raising the
 * VM's interrupt takes; the server, and so every node's descriptor, is
 * made in that table. Then the share's chroot.
 */
static int worker_setup(struct virtio_dev *dev, struct fs_dev *fs,
			struct sm_error *err)
{
	int keep[4] = {STDERR_FILENO};
	size_t n = 1 + vm_irq_fds(dev->vm, keep + 1, 3);
	int ret = fuse_passthrough_own_fds(
	    fs->backend, keep, n, fuse_server_fd_budget(&fs->server_config),
	    err);

	if (!ret)
		ret = fuse_server_new(&fs->server_config, &fs->server, err);
	if (!ret)
		ret = fuse_passthrough_confine(fs->backend, err);
	if (ret >= 0) { /* the filter keeps the /proc handle to re-opens */
		sm_sandbox_set_guard_fd(fuse_passthrough_guard_fd(fs->backend));
		sm_landlock_set_share_file(
		    fuse_passthrough_file_fd(fs->backend));
	}
	return ret;
}

static void *fs_worker(void *arg)
{
	struct virtio_dev *dev = arg;
	struct fs_dev *fs = dev->priv;
	struct sm_error err = {0};
	int ret = worker_setup(dev, fs, &err);

	/* Its filter comes after the chroot, so the fuse role needs neither
	 * unshare nor chroot. */
	sm_sandbox_set_thread_policy(fs->sandbox_on);
	sm_jail_set_thread_policy(fs->jail_on);
	sm_jail_set_bounding_empty(fs->bounding_empty); /* inherited */
	if (ret >= 0) {
		int r = sm_sandbox_enter_role(SM_ROLE_FUSE, &err);

		if (r < 0)
			ret = r;
	}
	pthread_mutex_lock(&dev->lock);
	fs->confined = ret;
	fs->worker_err = err;
	fs->worker_ready = true;
	pthread_cond_broadcast(&fs->done);
	while (ret >= 0) {
		while (!worker_has_work(dev, fs))
			pthread_cond_wait(&fs->wake, &dev->lock);
		if (fs->stop)
			break;
		if (fs->call && !fs->call->finished) {
			fs->call->ret = fs->call->fn(fs->call->arg);
			fs->call->finished = true;
			pthread_cond_broadcast(&fs->done);
			continue;
		}
		serve_pending(dev, fs);
	}
	/* its nodes' descriptors are in this thread's table */
	fuse_server_free(fs->server);
	fs->server = NULL;
	pthread_mutex_unlock(&dev->lock);
	return NULL;
}

static void stop_worker(struct virtio_dev *dev, struct fs_dev *fs)
{
	if (!fs->worker_started)
		return;
	pthread_mutex_lock(&dev->lock);
	fs->stop = true;
	pthread_cond_signal(&fs->wake);
	pthread_mutex_unlock(&dev->lock);
	pthread_join(fs->worker, NULL);
	fs->worker_started = false;
}

static int said_rootless;

/* Starts the worker and waits until it is confined to the share. */
static int start_worker(struct virtio_dev *dev, struct fs_dev *fs,
			struct sm_error *err)
{
	int ret;

	fs->sandbox_on = sm_sandbox_thread_policy();
	fs->jail_on = sm_jail_thread_policy();
	fs->bounding_empty = sm_jail_bounding_empty();
	/* the jail's ids are looked up here: the worker, in its share's
	 * chroot, could not */
	if (fs->jail_on && (ret = sm_jail_setup_once(err)))
		return ret;
	if (pthread_create(&fs->worker, NULL, fs_worker, dev))
		return sm_err(err, -EAGAIN,
			      "virtio-fs: cannot start its worker");
	fs->worker_started = true;
	pthread_mutex_lock(&dev->lock);
	while (!fs->worker_ready)
		pthread_cond_wait(&fs->done, &dev->lock);
	ret = fs->confined;
	pthread_mutex_unlock(&dev->lock);
	if (ret == 0 &&
	    !__atomic_exchange_n(&said_rootless, 1, __ATOMIC_RELAXED))
		sm_log(SM_LOG_DEBUG,
		       "virtio-fs: no CAP_SYS_CHROOT, shares are not chrooted: "
		       "confined by single-component names and RESOLVE_BENEATH "
		       "only (docs/security.md)");
	if (ret >= 0) {
		fuse_passthrough_hand_over(fs->backend);
		return 0;
	}
	pthread_join(fs->worker, NULL); /* it ended at once */
	fs->worker_started = false;
	if (err)
		*err = fs->worker_err;
	return ret;
}

/* Runs fn on the worker and waits for it (called with dev->lock). */
static int call_on_worker(struct virtio_dev *dev, struct fs_dev *fs,
			  int (*fn)(void *), void *arg)
{
	struct fs_call call = {.fn = fn, .arg = arg};

	if (fs->serve_inline)
		return fn(arg);
	while (fs->call) /* one call at a time */
		pthread_cond_wait(&fs->done, &dev->lock);
	fs->call = &call;
	pthread_cond_signal(&fs->wake);
	while (!call.finished)
		pthread_cond_wait(&fs->done, &dev->lock);
	fs->call = NULL;
	pthread_cond_broadcast(&fs->done);
	return call.ret;
}

int virtio_fs_run_on_worker(struct virtio_dev *dev, int (*fn)(void *),
			    void *arg)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = call_on_worker(dev, dev->priv, fn, arg);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int virtio_fs_confined(struct virtio_dev *dev)
{
	struct fs_dev *fs = dev->priv;
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = fs->serve_inline ? -1 : fs->confined;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int virtio_fs_guard_fd(struct virtio_dev *dev)
{
	struct fs_dev *fs = dev->priv;
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = fs->serve_inline ? -1 : fuse_passthrough_guard_fd(fs->backend);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

static void fs_free(struct fs_dev *fs)
{
	if (fs->server)
		fuse_server_free(fs->server);
	if (fs->backend)
		fs->be_ops->destroy(fs->backend);
	pthread_cond_destroy(&fs->wake);
	pthread_cond_destroy(&fs->done);
	free(fs);
}

static void fs_destroy(struct virtio_dev *dev)
{
	struct fs_dev *fs = dev->priv;

	if (!fs)
		return;
	stop_worker(dev, fs);
	fs_free(fs);
	dev->priv = NULL;
}

static void fs_notify(struct virtio_dev *dev, unsigned queue)
{
	struct fs_dev *fs = dev->priv;

	if (fs->serve_inline) {
		fs_serve(dev, queue);
		return;
	}
	fs->pending |= 1u << queue;
	pthread_cond_signal(&fs->wake);
}

static void fs_reset(struct virtio_dev *dev)
{
	((struct fs_dev *)dev->priv)->pending = 0;
}

/* A snapshot is done: serve what was notified while frozen. */
static void fs_thaw(struct virtio_dev *dev)
{
	struct fs_dev *fs = dev->priv;

	if (fs->pending)
		pthread_cond_signal(&fs->wake);
}

static int fs_init(struct virtio_dev *dev, const void *cfgp,
		   struct sm_error *err)
{
	const struct virtio_fs_config *cfg = cfgp;
	struct fuse_server_config sc = {0};
	struct fs_dev *fs;
	int ret;

	if (!cfg || !cfg->tag || (!cfg->dir && !cfg->empty) || !*cfg->tag ||
	    strlen(cfg->tag) > VIRTIO_FS_TAG_MAX)
		return sm_err(err, -EINVAL,
			      "virtio-fs: a tag of 1..%d bytes and a directory "
			      "are needed",
			      VIRTIO_FS_TAG_MAX);
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return sm_err(err, -ENOMEM, "out of memory");
	pthread_cond_init(&fs->wake, NULL);
	pthread_cond_init(&fs->done, NULL);
	fs->serve_inline = cfg->serve_inline || cfg->empty;
	memcpy(fs->config.tag, cfg->tag, strlen(cfg->tag));
	fs->config.num_request_queues = FS_NUM_QUEUES - 1;
	fs->be_ops = cfg->empty ? &fuse_empty_ops : &fuse_passthrough_ops;
	if (cfg->empty)
		fs->backend = fuse_empty_backend();
	ret = cfg->empty ? 0
	      : cfg->file_name
		  ? fuse_passthrough_new_file(cfg->dir, cfg->file_name,
					      cfg->read_only, &fs->backend, err)
		  : fuse_passthrough_new(cfg->dir, cfg->read_only, &fs->backend,
					 err);
	if (ret)
		goto fail;
	sc.ops = fs->be_ops;
	sc.backend = fs->backend;
	sc.read_only = cfg->read_only || cfg->empty;
	sc.max_nodes = cfg->max_nodes;
	sc.max_handles = cfg->max_handles;
	sc.max_dax_mappings = cfg->max_dax_mappings;
	if (cfg->dax_window) {
		ret = vm_map_shm(dev->vm, cfg->dax_window, &dev->shm_base,
				 (void **)&fs->window, err);
		if (ret)
			goto fail;
		fs->window_size = dev->shm_len = cfg->dax_window;
		sc.dax = &fs_dax_ops;
		sc.dax_opaque = fs;
		sc.dax_window_size = cfg->dax_window;
		sc.dax_align = 4096;
	}
	fs->server_config = sc;
	dev->priv = fs;
	if (fs->serve_inline)
		ret = fuse_server_new(&sc, &fs->server, err);
	else
		ret = start_worker(dev, fs, err);
	if (ret)
		goto fail;
	return 0;
fail:
	dev->priv = NULL;
	fs_free(fs);
	return sm_err_wrap(err, ret, "virtio-fs %s", cfg->tag);
}

static void fs_config_read(struct virtio_dev *dev, uint64_t off, uint8_t *data,
			   uint32_t len)
{
	struct fs_dev *fs = dev->priv;

	memcpy(data, (const uint8_t *)&fs->config + off, len);
}

static int fs_save(struct virtio_dev *dev, struct sm_buf *out)
{
	struct fs_dev *fs = dev->priv;
	void *buf = NULL;
	size_t len = 0;
	int ret = fuse_server_save(fs->server, &buf, &len, NULL);

	if (ret)
		return ret;
	sm_buf_put(out, buf, len);
	free(buf);
	return out->oom ? -ENOMEM : 0;
}

struct restore_args {
	struct fuse_server *server;
	const void *data;
	size_t len;
	struct sm_error *err; /* the caller's: it waits for the worker */
};

static int restore_on_worker(void *arg)
{
	struct restore_args *a = arg;

	return fuse_server_restore(a->server, a->data, a->len, a->err);
}

/*
 * The node paths in the state file are resolved on the worker, inside the
 * share, like any LOOKUP. A notify not yet served when the snapshot was
 * taken is not in it: look at every queue once.
 */
static int fs_restore(struct virtio_dev *dev, const void *data, size_t len,
		      struct sm_error *err)
{
	struct fs_dev *fs = dev->priv;
	struct restore_args a = {fs->server, data, len, err};
	int ret = call_on_worker(dev, fs, restore_on_worker, &a);

	if (ret == 0 && !fs->serve_inline) {
		fs->pending = (1u << FS_NUM_QUEUES) - 1;
		pthread_cond_signal(&fs->wake);
	}
	return ret;
}

const struct virtio_dev_ops virtio_fs_ops = {
    .name = "fs",
    .device_id = VIRTIO_ID_FS,
    .num_queues = FS_NUM_QUEUES,
    .queue_max = FS_QUEUE_SIZE,
    .config_size = sizeof(struct virtio_fs_config_space),
    .init = fs_init,
    .destroy = fs_destroy,
    .reset = fs_reset,
    .notify = fs_notify,
    .config_read = fs_config_read,
    .save = fs_save,
    .restore = fs_restore,
    .thaw = fs_thaw,
};
