/*
 * virtio-fs (virtio 1.2 section 5.11): a FUSE server inside the VMM
 * (src/fuse/) over the passthrough backend, with an optional DAX window:
 * a shared-memory region where FUSE_SETUPMAPPING maps file ranges
 * straight from the host page cache into the guest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fuse/fuse_server.h"
#include "util/error.h"
#include "virtio/device.h"
#include "virtio/fs.h"
#include "vmm/vm.h"

#define VIRTIO_ID_FS 26
#define FS_QUEUE_SIZE 128
#define FS_NUM_QUEUES 2 /* hiprio + one request queue */
#define FS_DAX_ALIGN (2ULL << 20) /* the guest maps in 2 MiB chunks */

struct __attribute__((packed)) virtio_fs_config_space {
	char tag[VIRTIO_FS_TAG_MAX];
	uint32_t num_request_queues;
};

struct fs_dev {
	struct virtio_fs_config_space config;
	struct fuse_server *server;
	void *backend;
	uint8_t *window;  /* host mapping of the DAX window */
	uint64_t window_size;
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
	p = mmap(fs->window + off, len,
		 PROT_READ | (writable ? PROT_WRITE : 0),
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
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	return p == MAP_FAILED ? -errno : 0;
}

static const struct fuse_dax_ops fs_dax_ops = {
	.map = dax_map,
	.unmap = dax_unmap,
};

static int fs_init(struct virtio_dev *dev, const void *cfgp,
		   struct sm_error *err)
{
	const struct virtio_fs_config *cfg = cfgp;
	struct fuse_server_config sc = { 0 };
	struct fs_dev *fs;
	int ret;

	if (!cfg || !cfg->tag || !cfg->dir || !*cfg->tag ||
	    strlen(cfg->tag) > VIRTIO_FS_TAG_MAX)
		return sm_err(err, -EINVAL, "virtio-fs: a tag of 1..%d bytes and a directory are needed",
			      VIRTIO_FS_TAG_MAX);
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return sm_err(err, -ENOMEM, "out of memory");
	memcpy(fs->config.tag, cfg->tag, strlen(cfg->tag));
	fs->config.num_request_queues = FS_NUM_QUEUES - 1;
	ret = fuse_passthrough_new(cfg->dir, cfg->read_only, &fs->backend, err);
	if (ret)
		goto fail;
	sc.ops = &fuse_passthrough_ops;
	sc.backend = fs->backend;
	sc.read_only = cfg->read_only;
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
	ret = fuse_server_new(&sc, &fs->server, err);
	if (ret)
		goto fail;
	dev->priv = fs;
	return 0;
fail:
	if (fs->backend)
		fuse_passthrough_ops.destroy(fs->backend);
	free(fs);
	return sm_err_wrap(err, "virtio-fs %s", cfg->tag);
}

static void fs_destroy(struct virtio_dev *dev)
{
	struct fs_dev *fs = dev->priv;

	if (!fs)
		return;
	fuse_server_free(fs->server);
	fuse_passthrough_ops.destroy(fs->backend);
	free(fs);
}

static void fs_notify(struct virtio_dev *dev, unsigned queue)
{
	struct fs_dev *fs = dev->priv;
	struct virtq *q = &dev->queues[queue];
	struct virtq_chain chain;
	bool used = false;
	int ret;

	while ((ret = virtq_pop(q, dev->mem, &chain)) == 1) {
		size_t out_len = 0;

		if (fuse_server_handle(fs->server, chain.iov, (int)chain.n_readable,
				       chain.iov + chain.n_readable,
				       (int)chain.n_writable, &out_len) < 0)
			out_len = 0;
		if (virtq_push(q, dev->mem, chain.head, (uint32_t)out_len))
			break;
		used = true;
	}
	if (used)
		virtio_signal_used(dev, queue);
	if (ret < 0)
		virtio_fail(dev);
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

static int fs_restore(struct virtio_dev *dev, const void *data, size_t len)
{
	struct fs_dev *fs = dev->priv;

	return fuse_server_restore(fs->server, data, len, NULL);
}

const struct virtio_dev_ops virtio_fs_ops = {
	.name = "fs",
	.device_id = VIRTIO_ID_FS,
	.num_queues = FS_NUM_QUEUES,
	.queue_max = FS_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_fs_config_space),
	.init = fs_init,
	.destroy = fs_destroy,
	.notify = fs_notify,
	.config_read = fs_config_read,
	.save = fs_save,
	.restore = fs_restore,
};
