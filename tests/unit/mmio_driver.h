/*
 * A guest driver's side of virtio-mmio (src/virtio/mmio.c) for the
 * transport's unit tests (test_mmio.c, test_mmio_state.c), and the device
 * it drives: a test type of our own, so every op the transport calls is
 * seen. Its VM has guest memory and a stand-in hypervisor whose interrupt
 * line goes nowhere (vm_fd -1: the KVM_IRQ_LINE ioctl fails), so paths
 * that raise an interrupt run; what the driver sees of them is
 * InterruptStatus.
 */
#ifndef SM_MMIO_DRIVER_H
#define SM_MMIO_DRIVER_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/kvm_internal.h"
#include "util/error.h"
#include "virtio/device.h"
#include "vmm/vm.h"

/* virtio-mmio registers (virtio 1.2, 4.2.2) */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_VENDOR_ID 0x00c
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LOW 0x080
#define R_QUEUE_DESC_HIGH 0x084
#define R_QUEUE_DRIVER_LOW 0x090
#define R_QUEUE_DRIVER_HIGH 0x094
#define R_QUEUE_DEVICE_LOW 0x0a0
#define R_QUEUE_DEVICE_HIGH 0x0a4
#define R_SHM_SEL 0x0ac
#define R_SHM_LEN_LOW 0x0b0
#define R_SHM_LEN_HIGH 0x0b4
#define R_SHM_BASE_LOW 0x0b8
#define R_SHM_BASE_HIGH 0x0bc
#define R_CONFIG_GENERATION 0x0fc
#define R_CONFIG 0x100

#define ACK VIRTIO_STATUS_ACKNOWLEDGE
#define DRV VIRTIO_STATUS_DRIVER
#define FOK VIRTIO_STATUS_FEATURES_OK
#define DOK VIRTIO_STATUS_DRIVER_OK

#define RAM (1ULL << 20)
#define QSIZE 16
#define QMAX 64
#define DESC(q) (0x1000ULL + 0x3000ULL * (q))
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q) (DESC(q) + 0x2000)
#define BUF 0x10000ULL
#define CONFIG_SIZE 12
/* offered: bits 0, 5, EVENT_IDX (29), 35; VERSION_1 (32) is added */
#define OFFERED ((1ULL << 0) | (1ULL << 5) | VIRTIO_F_EVENT_IDX | (1ULL << 35))

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* what the transport did to the test device */
static struct {
	unsigned resets, notifies, last_notify, config_reads, config_writes;
	uint64_t last_off;
	uint32_t last_len;
	uint8_t config[CONFIG_SIZE];
	uint32_t saved_word; /* the device's own record */
} tdev;

static size_t fill_abcd(struct virtio_dev *dev, const struct virtq_chain *c)
{
	(void)dev;
	return virtq_chain_write(c, 0, "abcd", 4);
}

static void t_reset(struct virtio_dev *dev)
{
	(void)dev;
	tdev.resets++;
}

static void t_notify(struct virtio_dev *dev, unsigned q)
{
	tdev.notifies++;
	tdev.last_notify = q;
	virtio_serve_queue(dev, q, fill_abcd);
}

static void t_config_read(struct virtio_dev *dev, uint64_t off, uint8_t *data,
			  uint32_t len)
{
	(void)dev;
	tdev.config_reads++;
	tdev.last_off = off;
	tdev.last_len = len;
	memcpy(data, tdev.config + off, len);
}

static void t_config_write(struct virtio_dev *dev, uint64_t off,
			   const uint8_t *data, uint32_t len)
{
	(void)dev;
	tdev.config_writes++;
	tdev.last_off = off;
	tdev.last_len = len;
	memcpy(tdev.config + off, data, len);
}

static int t_save(struct virtio_dev *dev, struct sm_buf *out)
{
	(void)dev;
	sm_buf_put_u32(out, tdev.saved_word);
	return 0;
}

static int t_restore(struct virtio_dev *dev, const void *data, size_t len,
		     struct sm_error *err)
{
	(void)dev;
	if (len != 4)
		return sm_err(err, -EINVAL, "record of %zu bytes", len);
	memcpy(&tdev.saved_word, data, 4);
	return 0;
}

static const struct virtio_dev_ops test_ops = {
    .name = "test",
    .device_id = 42,
    .features = OFFERED,
    .num_queues = 2,
    .queue_max = QMAX,
    .config_size = CONFIG_SIZE,
    .reset = t_reset,
    .notify = t_notify,
    .config_read = t_config_read,
    .config_write = t_config_write,
    .save = t_save,
    .restore = t_restore,
};

static struct hv_vm no_irq_hv = {.kvm_fd = -1, .vm_fd = -1};
static struct vm vm;
static struct virtio_dev *dev;
static struct sm_error err;

static inline void reg(struct virtio_dev *d, unsigned off, uint32_t v)
{
	virtio_mmio_write(d, off, (const uint8_t *)&v, 4);
}

static inline uint32_t get(struct virtio_dev *d, unsigned off)
{
	uint32_t v;

	virtio_mmio_read(d, off, (uint8_t *)&v, 4);
	return v;
}

/* A new test device on zeroed memory (the previous one destroyed). */
static inline struct virtio_dev *new_dev(void)
{
	struct virtio_dev *d;

	memset(gm_ptr(&vm.mem, 0, RAM), 0, RAM);
	memset(&tdev, 0, sizeof(tdev));
	if (virtio_mmio_create(&vm, &test_ops, NULL, 0xd0000000, 5, &d, &err))
		abort();
	return d;
}

static inline void fresh(void)
{
	virtio_mmio_destroy(dev);
	dev = new_dev();
}

/* The driver's feature negotiation: writes both words of features, then
 * sets FEATURES_OK; returns the status it reads back. */
static inline uint32_t negotiate(struct virtio_dev *d, uint64_t features)
{
	reg(d, R_STATUS, ACK | DRV);
	reg(d, R_DRIVER_FEATURES_SEL, 0);
	reg(d, R_DRIVER_FEATURES, (uint32_t)features);
	reg(d, R_DRIVER_FEATURES_SEL, 1);
	reg(d, R_DRIVER_FEATURES, (uint32_t)(features >> 32));
	reg(d, R_STATUS, ACK | DRV | FOK);
	return get(d, R_STATUS);
}

/* Programs queue q (size QSIZE, its rings at DESC/AVAIL/USED(q)). */
static inline void program_queue(struct virtio_dev *d, unsigned q)
{
	reg(d, R_QUEUE_SEL, q);
	reg(d, R_QUEUE_NUM, QSIZE);
	reg(d, R_QUEUE_DESC_LOW, (uint32_t)DESC(q));
	reg(d, R_QUEUE_DESC_HIGH, 0);
	reg(d, R_QUEUE_DRIVER_LOW, (uint32_t)AVAIL(q));
	reg(d, R_QUEUE_DRIVER_HIGH, 0);
	reg(d, R_QUEUE_DEVICE_LOW, (uint32_t)USED(q));
	reg(d, R_QUEUE_DEVICE_HIGH, 0);
}

/* Negotiated VERSION_1, both queues live, DRIVER_OK. */
static inline void bring_up(struct virtio_dev *d)
{
	negotiate(d, VIRTIO_F_VERSION_1);
	for (unsigned q = 0; q < 2; q++) {
		program_queue(d, q);
		reg(d, R_QUEUE_READY, 1);
	}
	reg(d, R_STATUS, ACK | DRV | FOK | DOK);
}

/* The driver offers one 64-byte writable buffer (descriptor i) on q. */
static inline void offer(unsigned q, uint16_t i)
{
	struct desc de = {BUF + 0x100 * i, 64, VIRTQ_DESC_F_WRITE, 0};
	uint16_t idx;

	gm_write(&vm.mem, DESC(q) + 16 * i, &de, sizeof(de));
	gm_read(&vm.mem, AVAIL(q) + 2, &idx, 2);
	gm_write(&vm.mem, AVAIL(q) + 4 + 2 * (idx % QSIZE), &i, 2);
	idx++;
	gm_write(&vm.mem, AVAIL(q) + 2, &idx, 2);
}

static inline uint16_t used_idx(unsigned q)
{
	uint16_t idx = 0;

	gm_read(&vm.mem, USED(q) + 2, &idx, 2);
	return idx;
}

/* The VM's memory and interrupt line; once, before the first device. */
static inline int mmio_vm_setup(void)
{
	const uint64_t layout[1][2] = {{0, RAM}};

	vm.hv = &no_irq_hv;
	if (gm_create(&vm.mem, layout, 1, &err)) {
		fprintf(stderr, "# %s\n", err.msg);
		return -1;
	}
	return 0;
}

static inline void mmio_vm_teardown(void)
{
	virtio_mmio_destroy(dev);
	dev = NULL;
	gm_destroy(&vm.mem);
}

#endif
