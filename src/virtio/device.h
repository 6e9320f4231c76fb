/*
 * A virtio device: its type (one ops table per device type, registered in
 * virtio/registry.c) and its transport state (virtio/mmio.c).
 *
 * Locking: the transport holds dev->lock around every register access and
 * every ops call, so devices need no lock of their own for state they
 * only touch from those calls.
 */
#ifndef SM_VIRTIO_DEVICE_H
#define SM_VIRTIO_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"
#include "util/buf.h"
#include "virtio/queue.h"

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_F_VERSION_1 (1ULL << 32)

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_INT_USED 1
#define VIRTIO_INT_CONFIG 2

struct vm;
struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	uint64_t features; /* device-specific; VERSION_1 is added */
	unsigned num_queues;
	uint16_t queue_max;
	size_t config_size;

	/* Creates the device's private state from its type-specific config. */
	int (*init)(struct virtio_dev *dev, const void *cfg,
		    struct sm_error *err);
	void (*destroy)(struct virtio_dev *dev);
	/* Driver reset (status written 0): drop in-flight work. */
	void (*reset)(struct virtio_dev *dev);
	/* The driver made buffers available on `queue`. */
	void (*notify)(struct virtio_dev *dev, unsigned queue);
	/* Device config space; off + len is within config_size. */
	void (*config_read)(struct virtio_dev *dev, uint64_t off, uint8_t *data,
			    uint32_t len);
	void (*config_write)(struct virtio_dev *dev, uint64_t off,
			     const uint8_t *data, uint32_t len);
	/*
	 * Device-specific snapshot state (the transport saves its own).
	 * restore refuses a record its device could not have saved and
	 * fills err with what was wrong in it.
	 */
	int (*save)(struct virtio_dev *dev, struct sm_buf *out);
	int (*restore)(struct virtio_dev *dev, const void *data, size_t len,
		       struct sm_error *err);
	/*
	 * A snapshot is done: resume work put off while frozen (under the
	 * lock). Devices whose own threads touch the queues need it.
	 */
	void (*thaw)(struct virtio_dev *dev);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	struct vm *vm;
	const struct guest_mem *mem;
	unsigned irq;
	uint64_t mmio_base;
	pthread_mutex_t lock;

	/* transport state, saved and restored by the transport */
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtq queues[VIRTIO_MAX_QUEUES];
	uint32_t shm_sel;
	uint64_t shm_base, shm_len; /* shared memory region 0 (DAX), if any */

	/*
	 * A snapshot is being taken (virtio_freeze): the device's own
	 * threads must leave guest memory, the queues and the interrupt
	 * alone until virtio_thaw, or the saved memory and the saved queue
	 * indices disagree. Under the lock; `thawed` is signalled with it.
	 */
	bool frozen;
	pthread_cond_t thawed;

	void *priv; /* the device type's own state */
};

/* The explicit list of device types (virtio/registry.c). */
extern const struct virtio_dev_ops *const virtio_device_types[];
const struct virtio_dev_ops *virtio_find_type(const char *name);

/* Creates a device of `ops` type on the VM's MMIO bus with the next IRQ. */
int virtio_mmio_create(struct vm *vm, const struct virtio_dev_ops *ops,
		       const void *cfg, uint64_t base, unsigned irq,
		       struct virtio_dev **devp, struct sm_error *err);
void virtio_mmio_destroy(struct virtio_dev *dev);

/* The kernel command line fragment that announces the device. */
int virtio_mmio_cmdline(const struct virtio_dev *dev, char *buf, size_t size);

/* For devices: tell the driver `q` has used buffers (call with lock held). */
void virtio_signal_used(struct virtio_dev *dev, unsigned q);

/*
 * For request/response devices: pops every available chain of queue q,
 * returns each with the byte count handle() wrote into it, interrupts the
 * driver once, and fails the device on a malformed ring.
 */
void virtio_serve_queue(struct virtio_dev *dev, unsigned q,
			size_t (*handle)(struct virtio_dev *dev,
					 const struct virtq_chain *chain));

/* For devices: the driver misbehaved; stop serving it until it resets. */
void virtio_fail(struct virtio_dev *dev);

/*
 * Around a snapshot, with the vCPUs paused: freeze waits out any device
 * thread working on the queues and keeps the next ones off; thaw lets
 * them go on and calls the device's thaw op.
 */
void virtio_freeze(struct virtio_dev *dev);
void virtio_thaw(struct virtio_dev *dev);

/*
 * Transport snapshot (registers and queues, then the device's record).
 * restore re-validates everything (the state file is input) and refuses
 * with err saying which field of which queue, or what the device's own
 * restore found, was wrong.
 */
int virtio_mmio_save(struct virtio_dev *dev, struct sm_buf *out);
int virtio_mmio_restore(struct virtio_dev *dev, const void *data, size_t len,
			struct sm_error *err);

/* The MMIO bus callbacks. */
void virtio_mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
void virtio_mmio_write(void *opaque, uint64_t off, const uint8_t *data,
		       uint32_t len);

#endif
