/* virtio-mmio transport, version 2 (virtio 1.2, section 4.2). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "virtio/device.h"
#include "vmm/vm.h"

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_SHM_SEL = 0x0ac,
	REG_SHM_LEN_LOW = 0x0b0,
	REG_SHM_LEN_HIGH = 0x0b4,
	REG_SHM_BASE_LOW = 0x0b8,
	REG_SHM_BASE_HIGH = 0x0bc,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_VENDOR_ID 0x4d535553  /* "SUSM" */

static uint64_t device_features(const struct virtio_dev *dev)
{
	return dev->ops->features | VIRTIO_F_VERSION_1;
}

static struct virtq *selected_queue(struct virtio_dev *dev)
{
	if (dev->queue_sel >= dev->ops->num_queues)
		return NULL;
	return &dev->queues[dev->queue_sel];
}

static void transport_reset(struct virtio_dev *dev)
{
	if (dev->ops->reset)
		dev->ops->reset(dev);
	dev->status = 0;
	dev->dev_features_sel = dev->drv_features_sel = 0;
	dev->driver_features = 0;
	dev->queue_sel = 0;
	dev->interrupt_status = 0;
	dev->shm_sel = 0;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&dev->queues[i]);
}

void virtio_signal_used(struct virtio_dev *dev, unsigned q)
{
	if (q >= dev->ops->num_queues ||
	    !virtq_should_notify(&dev->queues[q], dev->mem))
		return;
	dev->interrupt_status |= VIRTIO_INT_USED;
	vm_irq_pulse(dev->vm, dev->irq);
}

void virtio_serve_queue(struct virtio_dev *dev, unsigned q,
			size_t (*handle)(struct virtio_dev *dev,
					 const struct virtq_chain *chain))
{
	struct virtq *vq = &dev->queues[q];
	struct virtq_chain chain;
	bool used = false;
	int ret;

	while ((ret = virtq_pop(vq, dev->mem, &chain)) == 1) {
		size_t n = handle(dev, &chain);

		if (virtq_push(vq, dev->mem, chain.head, (uint32_t)n))
			break;
		used = true;
	}
	if (used)
		virtio_signal_used(dev, q);
	if (ret < 0)
		virtio_fail(dev);
}

void virtio_fail(struct virtio_dev *dev)
{
	if (dev->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	dev->interrupt_status |= VIRTIO_INT_CONFIG;
	vm_irq_pulse(dev->vm, dev->irq);
}

static uint32_t shm_reg(const struct virtio_dev *dev, unsigned reg)
{
	/* No region: length reads as all ones (spec 4.2.2). */
	bool have = dev->shm_sel == 0 && dev->shm_len;

	switch (reg) {
	case REG_SHM_LEN_LOW:
		return have ? (uint32_t)dev->shm_len : 0xffffffffu;
	case REG_SHM_LEN_HIGH:
		return have ? (uint32_t)(dev->shm_len >> 32) : 0xffffffffu;
	case REG_SHM_BASE_LOW:
		return have ? (uint32_t)dev->shm_base : 0xffffffffu;
	default:
		return have ? (uint32_t)(dev->shm_base >> 32) : 0xffffffffu;
	}
}

static uint32_t reg_read(struct virtio_dev *dev, unsigned reg)
{
	struct virtq *q = selected_queue(dev);

	switch (reg) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return 2;
	case REG_DEVICE_ID:
		return dev->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_VENDOR_ID;
	case REG_DEVICE_FEATURES:
		if (dev->dev_features_sel > 1)
			return 0;
		return (uint32_t)(device_features(dev) >>
				  (32 * dev->dev_features_sel));
	case REG_QUEUE_NUM_MAX:
		return q ? dev->ops->queue_max : 0;
	case REG_QUEUE_READY:
		return q ? q->ready : 0;
	case REG_INTERRUPT_STATUS:
		return dev->interrupt_status;
	case REG_STATUS:
		return dev->status;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
	case REG_SHM_BASE_LOW:
	case REG_SHM_BASE_HIGH:
		return shm_reg(dev, reg);
	case REG_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		return 0;
	}
}

static void set_addr_half(uint64_t *addr, uint32_t v, bool high)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

/* Queue registers may only change while the queue is not live. */
static void queue_reg_write(struct virtio_dev *dev, unsigned reg, uint32_t v)
{
	struct virtq *q = selected_queue(dev);

	if (!q || q->ready)
		return;
	switch (reg) {
	case REG_QUEUE_NUM:
		q->size = v <= dev->ops->queue_max ? (uint16_t)v : 0;
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_addr_half(&q->desc_gpa, v, reg == REG_QUEUE_DESC_HIGH);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		set_addr_half(&q->avail_gpa, v, reg == REG_QUEUE_DRIVER_HIGH);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		set_addr_half(&q->used_gpa, v, reg == REG_QUEUE_DEVICE_HIGH);
		break;
	}
}

static void status_write(struct virtio_dev *dev, uint32_t v)
{
	if (v == 0) {
		transport_reset(dev);
		return;
	}
	/* FEATURES_OK only sticks if the driver accepted VERSION_1 and
	 * nothing we did not offer. */
	if ((v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(dev->status & VIRTIO_STATUS_FEATURES_OK) &&
	    (!(dev->driver_features & VIRTIO_F_VERSION_1) ||
	     (dev->driver_features & ~device_features(dev))))
		v &= ~VIRTIO_STATUS_FEATURES_OK;
	dev->status = v;
}

static void reg_write(struct virtio_dev *dev, unsigned reg, uint32_t v)
{
	struct virtq *q;

	switch (reg) {
	case REG_DEVICE_FEATURES_SEL:
		dev->dev_features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		if (dev->drv_features_sel < 2 &&
		    !(dev->status & VIRTIO_STATUS_FEATURES_OK))
			set_addr_half(&dev->driver_features, v,
				      dev->drv_features_sel == 1);
		break;
	case REG_DRIVER_FEATURES_SEL:
		dev->drv_features_sel = v;
		break;
	case REG_QUEUE_SEL:
		dev->queue_sel = v;
		break;
	case REG_QUEUE_READY:
		q = selected_queue(dev);
		if (!q)
			break;
		if (v == 1 && !q->ready) {
			q->event_idx =
			    dev->driver_features & VIRTIO_F_EVENT_IDX;
			if (virtq_activate(q, dev->mem))
				virtio_fail(dev);
		} else if (v == 0) {
			q->ready = false;
		}
		break;
	case REG_QUEUE_NOTIFY:
		if (v < dev->ops->num_queues &&
		    (dev->status & VIRTIO_STATUS_DRIVER_OK) &&
		    !(dev->status & VIRTIO_STATUS_NEEDS_RESET) &&
		    dev->ops->notify)
			dev->ops->notify(dev, v);
		break;
	case REG_INTERRUPT_ACK:
		dev->interrupt_status &= ~v;
		break;
	case REG_STATUS:
		status_write(dev, v);
		break;
	case REG_SHM_SEL:
		dev->shm_sel = v;
		break;
	default:
		queue_reg_write(dev, reg, v);
		break;
	}
}

void virtio_mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_dev *dev = opaque;
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&dev->lock);
	if (off >= REG_CONFIG) {
		off -= REG_CONFIG;
		if (dev->ops->config_read && off < dev->ops->config_size &&
		    len <= dev->ops->config_size - off)
			dev->ops->config_read(dev, off, data, len);
	} else if (len == 4 && !(off & 3)) {
		v = reg_read(dev, (unsigned)off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_write(void *opaque, uint64_t off, const uint8_t *data,
		       uint32_t len)
{
	struct virtio_dev *dev = opaque;
	uint32_t v;

	pthread_mutex_lock(&dev->lock);
	if (off >= REG_CONFIG) {
		off -= REG_CONFIG;
		if (dev->ops->config_write && off < dev->ops->config_size &&
		    len <= dev->ops->config_size - off)
			dev->ops->config_write(dev, off, data, len);
	} else if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		reg_write(dev, (unsigned)off, v);
	}
	pthread_mutex_unlock(&dev->lock);
}

int virtio_mmio_create(struct vm *vm, const struct virtio_dev_ops *ops,
		       const void *cfg, uint64_t base, unsigned irq,
		       struct virtio_dev **devp, struct sm_error *err)
{
	struct virtio_dev *dev;
	int ret;

	if (ops->num_queues > VIRTIO_MAX_QUEUES ||
	    ops->queue_max > VIRTQ_MAX_SIZE)
		return sm_err(err, -EINVAL, "virtio-%s: bad queue layout",
			      ops->name);
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return sm_err(err, -ENOMEM, "out of memory");
	dev->ops = ops;
	dev->vm = vm;
	dev->mem = &vm->mem;
	dev->irq = irq;
	dev->mmio_base = base;
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->thawed, NULL);
	if (ops->init) {
		ret = ops->init(dev, cfg, err);
		if (ret) {
			pthread_cond_destroy(&dev->thawed);
			pthread_mutex_destroy(&dev->lock);
			free(dev);
			return ret;
		}
	}
	*devp = dev;
	return 0;
}

void virtio_mmio_destroy(struct virtio_dev *dev)
{
	if (!dev)
		return;
	if (dev->ops->destroy)
		dev->ops->destroy(dev);
	pthread_cond_destroy(&dev->thawed);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

void virtio_freeze(struct virtio_dev *dev)
{
	/* taking the lock is the wait: device threads work under it */
	pthread_mutex_lock(&dev->lock);
	dev->frozen = true;
	pthread_mutex_unlock(&dev->lock);
}

void virtio_thaw(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	dev->frozen = false;
	pthread_cond_broadcast(&dev->thawed);
	if (dev->ops->thaw)
		dev->ops->thaw(dev);
	pthread_mutex_unlock(&dev->lock);
}

int virtio_mmio_cmdline(const struct virtio_dev *dev, char *buf, size_t size)
{
	int n = snprintf(buf, size, "virtio_mmio.device=4K@0x%llx:%u",
			 (unsigned long long)dev->mmio_base, dev->irq);

	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int virtio_mmio_save(struct virtio_dev *dev, struct sm_buf *out)
{
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	sm_buf_put_u32(out, dev->status);
	sm_buf_put_u32(out, dev->dev_features_sel);
	sm_buf_put_u32(out, dev->drv_features_sel);
	sm_buf_put_u64(out, dev->driver_features);
	sm_buf_put_u32(out, dev->queue_sel);
	sm_buf_put_u32(out, dev->interrupt_status);
	sm_buf_put_u32(out, dev->config_generation);
	sm_buf_put_u32(out, dev->shm_sel);
	for (unsigned i = 0; i < dev->ops->num_queues; i++) {
		const struct virtq *q = &dev->queues[i];

		sm_buf_put_u16(out, q->size);
		sm_buf_put_u8(out, q->ready);
		sm_buf_put_u8(out, q->broken);
		sm_buf_put_u64(out, q->desc_gpa);
		sm_buf_put_u64(out, q->avail_gpa);
		sm_buf_put_u64(out, q->used_gpa);
		sm_buf_put_u16(out, q->last_avail);
		sm_buf_put_u16(out, q->used_idx);
	}
	if (dev->ops->save) {
		struct sm_buf own = {0};

		ret = dev->ops->save(dev, &own);
		sm_buf_put_u32(out, (uint32_t)own.len);
		sm_buf_put(out, own.data, own.len);
		sm_buf_free(&own);
	} else {
		sm_buf_put_u32(out, 0);
	}
	pthread_mutex_unlock(&dev->lock);
	return ret ? ret : out->oom ? -ENOMEM : 0;
}

/* One queue's record; refused where the driver could not have left it. */
static int restore_queue(struct virtio_dev *dev, unsigned i,
			 struct sm_reader *r, struct sm_error *err)
{
	struct virtq *q = &dev->queues[i];
	uint8_t ready, broken;
	const char *why;

	q->size = sm_get_u16(r);
	ready = sm_get_u8(r);
	broken = sm_get_u8(r);
	q->desc_gpa = sm_get_u64(r);
	q->avail_gpa = sm_get_u64(r);
	q->used_gpa = sm_get_u64(r);
	q->last_avail = sm_get_u16(r);
	q->used_idx = sm_get_u16(r);
	q->ready = ready;
	q->broken = broken;
	q->event_idx = dev->driver_features & VIRTIO_F_EVENT_IDX;
	q->signalled_valid = false; /* the first interrupt goes out */
	if (r->bad)
		return sm_err(err, -EINVAL, "queue %u: record truncated", i);
	/* the save writes bools: another value is not our record */
	if (ready > 1 || broken > 1)
		return sm_err(err, -EINVAL,
			      "queue %u: ready %u, broken %u: not 0 or 1", i,
			      ready, broken);
	/* QueueNum over the maximum never sticks (queue_reg_write) */
	if (q->size > dev->ops->queue_max)
		return sm_err(err, -EINVAL,
			      "queue %u: size %u over the maximum %u", i,
			      q->size, dev->ops->queue_max);
	/* A live queue's rings are used without further checks of their
	 * place: re-validate them as QueueReady did, against the restored
	 * guest memory (the state file is input too). */
	if (q->ready && (why = virtq_layout_error(q, dev->mem))) {
		q->broken = true;
		return sm_err(err, -EINVAL,
			      "queue %u: %s (size %u, descriptors %#llx, "
			      "available %#llx, used %#llx)",
			      i, why, q->size, (unsigned long long)q->desc_gpa,
			      (unsigned long long)q->avail_gpa,
			      (unsigned long long)q->used_gpa);
	}
	return 0;
}

/* The registers and queues; the device's own record follows in r. */
static int restore_transport(struct virtio_dev *dev, struct sm_reader *r,
			     struct sm_error *err)
{
	int ret;

	dev->status = sm_get_u32(r);
	dev->dev_features_sel = sm_get_u32(r);
	dev->drv_features_sel = sm_get_u32(r);
	dev->driver_features = sm_get_u64(r);
	dev->queue_sel = sm_get_u32(r);
	dev->interrupt_status = sm_get_u32(r);
	dev->config_generation = sm_get_u32(r);
	dev->shm_sel = sm_get_u32(r);
	if (r->bad)
		return sm_err(err, -EINVAL, "transport record truncated");
	/* what a driver could have negotiated: nothing we did not offer */
	if (dev->driver_features & ~device_features(dev))
		return sm_err(err, -EINVAL,
			      "driver features %#llx not all offered (%#llx)",
			      (unsigned long long)dev->driver_features,
			      (unsigned long long)device_features(dev));
	/* status_write() lets FEATURES_OK stick only with VERSION_1 */
	if ((dev->status & VIRTIO_STATUS_FEATURES_OK) &&
	    !(dev->driver_features & VIRTIO_F_VERSION_1))
		return sm_err(err, -EINVAL,
			      "status %#x has FEATURES_OK without VERSION_1 "
			      "negotiated",
			      dev->status);
	for (unsigned i = 0; i < dev->ops->num_queues; i++) {
		ret = restore_queue(dev, i, r, err);
		if (ret)
			return ret;
	}
	return 0;
}

int virtio_mmio_restore(struct virtio_dev *dev, const void *data, size_t len,
			struct sm_error *err)
{
	struct sm_reader r;
	uint32_t own_len;
	int ret;

	sm_reader_init(&r, data, len);
	pthread_mutex_lock(&dev->lock);
	ret = restore_transport(dev, &r, err);
	if (ret)
		goto out;
	own_len = sm_get_u32(&r);
	if (r.bad) {
		ret = sm_err(err, -EINVAL, "device record length truncated");
	} else if (own_len != r.left) {
		ret = sm_err(err, -EINVAL,
			     "device record of %u bytes where %zu are left",
			     own_len, r.left);
	} else if (!dev->ops->restore) {
		if (own_len)
			ret = sm_err(err, -EINVAL,
				     "%u bytes of device state for a device "
				     "that keeps none",
				     own_len);
	} else {
		ret = dev->ops->restore(dev, r.p, own_len, err);
		if (ret)
			sm_err_wrap(err, ret, "device state");
	}
out:
	pthread_mutex_unlock(&dev->lock);
	return ret;
}
