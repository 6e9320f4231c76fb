/*
 * libFuzzer target for the virtio devices' restore records: the
 * transport's (virtio_mmio_restore: status, features, queue addresses,
 * each re-validated against guest memory) and, inside it, each device
 * type's own part (net, vsock, rng, fs over a FUSE server on a scratch
 * directory). Byte 0 picks the device; the rest is the record as
 * snapshot.c stores it under SNAP_REC_VIRTIO.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_ring.h"
#include "fuzz_seed.h"
#include "fuzz_vm_stubs.h"
#include "net/net.h"
#include "virtio/fs.h"
#include "virtio/net.h"
#include "virtio/vsock.h"

extern const struct virtio_dev_ops virtio_net_ops, virtio_vsock_ops,
    virtio_rng_ops, virtio_fs_ops;

#define NDEV 4
static struct virtio_dev *devs[NDEV];
static struct net_backend be;
static char share[] = "/tmp/fuzz-virtio-restore.XXXXXX";

static int fake_send(struct net_backend *b, const void *f, size_t len)
{
	(void)b, (void)f, (void)len;
	return 0;
}

static void fake_close(struct net_backend *b)
{
	(void)b;
}

static const struct net_backend_ops fake_ops = {fake_send, fake_close};

static struct virtio_dev *make(const struct virtio_dev_ops *ops,
			       const void *cfg)
{
	struct virtio_dev *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->thawed, NULL);
	d->ops = ops;
	d->mem = &fr_gm;
	if (ops->init && ops->init(d, cfg, NULL))
		abort();
	return d;
}

static void rm_share(void)
{
	rmdir(share);
}

static void setup(void)
{
	struct virtio_net_config net = {.mac = {2, 0, 0, 0, 0, 1},
					.backend = &be};
	struct virtio_vsock_config vsock = {.guest_cid = 3};
	struct virtio_fs_config fs = {.tag = "fuzz", .dir = share};

	fr_init();
	if (!mkdtemp(share))
		abort();
	atexit(rm_share);
	net_backend_init(&be, &fake_ops);
	devs[0] = make(&virtio_net_ops, &net);
	devs[1] = make(&virtio_vsock_ops, &vsock);
	devs[2] = make(&virtio_rng_ops, NULL);
	devs[3] = make(&virtio_fs_ops, &fs);
}

/* Each device's record from virtio_mmio_save, one queue live. */
static void make_seeds(void)
{
	setup();
	for (unsigned i = 0; i < NDEV; i++) {
		struct sm_buf b = {0};
		char name[32];

		fr_load(devs[i], devs[i]->ops->num_queues, 16,
			(const uint8_t[1]){0}, 1);
		devs[i]->driver_features = VIRTIO_F_VERSION_1;
		if (virtio_mmio_save(devs[i], &b) || !b.data)
			abort();
		snprintf(name, sizeof(name), "%s", devs[i]->ops->name);
		sm_buf_put_u8(&b, 0); /* placeholder, replaced below */
		memmove(b.data + 1, b.data, b.len - 1);
		b.data[0] = (uint8_t)i;
		seed_write(name, b.data, b.len);
		sm_buf_free(&b);
	}
}

FUZZ_SEEDS(make_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_dev *d;

	if (!devs[0])
		setup();
	if (size < 1)
		return 0;
	d = devs[data[0] % NDEV];
	virtio_mmio_restore(d, data + 1, size - 1, NULL);
	/* the next input starts from a reset device, as a fresh VM would */
	virtio_mmio_write(d, 0x70, (const uint8_t[4]){0}, 4);
	return 0;
}
