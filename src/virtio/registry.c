/* The device types the VMM knows, listed explicitly (no constructors). */
#include <string.h>

#include "virtio/device.h"

extern const struct virtio_dev_ops virtio_rng_ops;
extern const struct virtio_dev_ops virtio_fs_ops;
extern const struct virtio_dev_ops virtio_vsock_ops;
extern const struct virtio_dev_ops virtio_net_ops;

const struct virtio_dev_ops *const virtio_device_types[] = {
    &virtio_rng_ops, &virtio_fs_ops, &virtio_vsock_ops, &virtio_net_ops, NULL,
};

const struct virtio_dev_ops *virtio_find_type(const char *name)
{
	for (unsigned i = 0; virtio_device_types[i]; i++)
		if (strcmp(virtio_device_types[i]->name, name) == 0)
			return virtio_device_types[i];
	return NULL;
}
