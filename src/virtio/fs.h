/* virtio-fs device configuration (one device per share). */
#ifndef SM_VIRTIO_FS_H
#define SM_VIRTIO_FS_H

#include <stdint.h>

#define VIRTIO_FS_TAG_MAX 36

struct virtio_fs_config {
	const char *tag; /* mount tag seen by the guest */
	const char *dir; /* host directory served (NULL when empty) */
	/* no directory: an empty read-only root (fuse_empty_ops), served
	 * on the notifying thread with no worker, as it touches no host
	 * file (a VM's unused volume slot) */
	int empty;
	/* non-NULL: dir is a regular file, served alone under this name in
	 * a synthetic root (fuse_passthrough_new_file) */
	const char *file_name;
	int read_only;
	uint64_t dax_window; /* bytes of DAX window, 0: no DAX */
	/* caps on what the guest can make the server hold (0: the default;
	 * src/fuse/server.c, docs/security.md "Resource caps") */
	uint32_t max_nodes, max_handles, max_dax_mappings;
	/*
	 * Benchmarks only: serve requests on the notifying thread, with no
	 * worker and no confinement (the old path, for comparison). Nothing
	 * in the CLI or the run path sets it.
	 */
	int serve_inline;
};

struct virtio_dev;

/*
 * Runs fn(arg) on the share's worker thread (confined to the share) and
 * returns what it returned; on the calling thread if serve_inline. Not
 * reachable from the guest: restore uses it, and the confinement tests.
 */
int virtio_fs_run_on_worker(struct virtio_dev *dev, int (*fn)(void *),
			    void *arg);
/* 1: the worker is chrooted to the share; 0: rootless (no
 * CAP_SYS_CHROOT), names only; -1: serve_inline. */
int virtio_fs_confined(struct virtio_dev *dev);
/* The worker's guarded /proc handle (fuse_passthrough_guard_fd), for
 * the tests that try to misuse it; -1 with serve_inline. */
int virtio_fs_guard_fd(struct virtio_dev *dev);

#endif
