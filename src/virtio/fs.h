/* virtio-fs device configuration (one device per share). */
#ifndef SM_VIRTIO_FS_H
#define SM_VIRTIO_FS_H

#include <stdint.h>

#define VIRTIO_FS_TAG_MAX 36

struct virtio_fs_config {
	const char *tag;        /* mount tag seen by the guest */
	const char *dir;        /* host directory served */
	int read_only;
	uint64_t dax_window;    /* bytes of DAX window, 0: no DAX */
};

#endif
