/*
 * A guest's virtio-vsock driver for the device's unit tests (test_vsock.c,
 * test_vsock_proto.c): it posts buffers in a fake guest memory and kicks
 * the device, whose own I/O thread runs; the accept callback plays the
 * host listener, keeping the host ends in host_fds. No interrupts: every
 * queue's driver asks for none.
 */
#ifndef SM_VSOCK_GUEST_H
#define SM_VSOCK_GUEST_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "virtio/device.h"
#include "virtio/vsock.h"

extern const struct virtio_dev_ops virtio_vsock_ops;

#define RAM (16ULL << 20)
#define QSIZE 128
enum { RXQ, TXQ, EVQ };
#define DESC(q) (0x10000ULL + (q)*0x4000ULL)
#define AVAIL(q) (DESC(q) + 0x800)
#define USED(q) (DESC(q) + 0x1000)
#define RXBUF 0x100000ULL /* QSIZE x 4 KiB */
#define TXBUF 0x200000ULL /* QSIZE x 64 KiB + a header */
#define TXSLOT 0x10100ULL
#define HOST_PORT 1024
#define EVBUF 0xc00000ULL /* event buffers, 0x100 apart */
#define GUEST_CID 3
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7
#define SHUTDOWN_RCV 1
#define SHUTDOWN_SEND 2
#define DEVICE_BUF_ALLOC (256 * 1024) /* the credit the device gives */

struct __attribute__((packed)) hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct guest_mem gm;
static struct virtio_dev dev;
static int host_fds[64];
static unsigned n_host_fds;
static uint16_t rx_seen; /* RX used entries already looked at */
static unsigned tx_slot;
/* what the guest's packets say of its receive buffer */
static uint32_t guest_buf_alloc, guest_fwd_cnt;

static inline int accept_cb(void *opaque, uint32_t port, int fd)
{
	(void)opaque;
	(void)port;
	if (n_host_fds == 64)
		return -1;
	host_fds[n_host_fds++] = fd;
	return 0;
}

static inline void post(unsigned q, uint16_t i, uint64_t addr, uint32_t len,
			uint16_t flags)
{
	struct desc d = {addr, len, flags, 0};
	uint16_t *avail = gm_ptr(&gm, AVAIL(q), 4 + 2 * QSIZE);

	pthread_mutex_lock(&dev.lock);
	gm_write(&gm, DESC(q) + 16 * i, &d, sizeof(d));
	avail[2 + avail[1] % QSIZE] = i;
	__atomic_store_n(&avail[1], avail[1] + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&dev.lock);
	virtio_vsock_ops.notify(&dev, q);
}

static inline uint16_t used_idx(unsigned q)
{
	return __atomic_load_n((uint16_t *)gm_ptr(&gm, USED(q), 4) + 1,
			       __ATOMIC_ACQUIRE);
}

static inline bool wait_used(unsigned q, uint16_t want)
{
	for (int i = 0; i < 5000; i++) {
		if ((int16_t)(used_idx(q) - want) >= 0)
			return true;
		usleep(1000);
	}
	return false;
}

/* Keeps every RX slot posted (slot = descriptor = buffer). */
static inline void post_rx(uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		post(RXQ, i % QSIZE, RXBUF + (i % QSIZE) * 0x1000ULL, 0x1000,
		     VIRTQ_DESC_F_WRITE);
}

static inline void setup(const struct virtio_vsock_config *extra)
{
	const uint64_t layout[1][2] = {{0, RAM}};
	struct virtio_vsock_config cfg = {.accept = accept_cb};

	if (extra) {
		cfg.max_conns = extra->max_conns;
		cfg.max_buffered = extra->max_buffered;
	}
	if (dev.priv)
		virtio_vsock_ops.destroy(&dev);
	for (unsigned i = 0; i < n_host_fds; i++)
		close(host_fds[i]);
	n_host_fds = 0;
	rx_seen = 0;
	tx_slot = 0;
	guest_buf_alloc = 1 << 20;
	guest_fwd_cnt = 0;
	gm_destroy(&gm);
	if (gm_create(&gm, layout, 1, NULL))
		abort();
	memset(&dev, 0, sizeof(dev));
	pthread_mutex_init(&dev.lock, NULL);
	pthread_cond_init(&dev.thawed, NULL);
	dev.ops = &virtio_vsock_ops;
	dev.mem = &gm;
	for (unsigned q = 0; q < 3; q++) {
		uint16_t no_irq = VIRTQ_AVAIL_F_NO_INTERRUPT;

		dev.queues[q].size = QSIZE;
		dev.queues[q].desc_gpa = DESC(q);
		dev.queues[q].avail_gpa = AVAIL(q);
		dev.queues[q].used_gpa = USED(q);
		if (virtq_activate(&dev.queues[q], &gm))
			abort();
		gm_write(&gm, AVAIL(q), &no_irq, 2);
	}
	if (virtio_vsock_ops.init(&dev, &cfg, NULL))
		abort();
	pthread_mutex_lock(&dev.lock);
	dev.status = VIRTIO_STATUS_DRIVER_OK;
	pthread_mutex_unlock(&dev.lock);
}

/*
 * The guest sends one packet (header + len payload bytes of `fill`) from
 * its port to HOST_PORT, with its credit (guest_buf_alloc, guest_fwd_cnt)
 * and flags.
 */
static inline void guest_send_flags(uint16_t op, uint32_t port, uint32_t len,
				    uint8_t fill, uint32_t flags)
{
	uint16_t slot = (uint16_t)(tx_slot % QSIZE);
	uint64_t at = TXBUF + slot * TXSLOT;
	struct hdr h = {.src_cid = 3,
			.dst_cid = 2,
			.src_port = port,
			.dst_port = HOST_PORT,
			.len = len,
			.type = 1,
			.op = op,
			.flags = flags,
			.buf_alloc = guest_buf_alloc,
			.fwd_cnt = guest_fwd_cnt};

	/* the slot's previous packet must be done with */
	if (tx_slot >= QSIZE &&
	    !wait_used(TXQ, (uint16_t)(tx_slot - QSIZE + 1)))
		abort();
	tx_slot++;
	gm_write(&gm, at, &h, sizeof(h));
	memset(gm_ptr(&gm, at + sizeof(h), len + 1), fill, len);
	post(TXQ, slot, at, (uint32_t)sizeof(h) + len, 0);
}

static inline void guest_send(uint16_t op, uint32_t port, uint32_t len,
			      uint8_t fill)
{
	guest_send_flags(op, port, len, fill, 0);
}

/*
 * The next packet the device put in RX (waits for it); op 0 if none.
 * Its payload goes to data (when not NULL: room for 4 KiB).
 */
static inline struct hdr guest_recv_data(uint8_t *data)
{
	struct hdr h = {0};
	uint32_t id;

	if (!wait_used(RXQ, (uint16_t)(rx_seen + 1)))
		return h;
	gm_read(&gm, USED(RXQ) + 4 + 8 * (rx_seen % QSIZE), &id, 4);
	gm_read(&gm, RXBUF + id * 0x1000ULL, &h, sizeof(h));
	if (data && h.len <= 0x1000 - sizeof(h))
		gm_read(&gm, RXBUF + id * 0x1000ULL + sizeof(h), data, h.len);
	rx_seen++;
	return h;
}

static inline struct hdr guest_recv(void)
{
	return guest_recv_data(NULL);
}

/* Nothing more came to RX for ms milliseconds. */
static inline bool rx_quiet(int ms)
{
	for (int i = 0; i < ms; i++) {
		if (used_idx(RXQ) != rx_seen)
			return false;
		usleep(1000);
	}
	return used_idx(RXQ) == rx_seen;
}

static inline struct hdr connect_port(uint32_t port)
{
	guest_send(OP_REQUEST, port, 0, 0);
	return guest_recv();
}

/* Reads what the guest sent to the host end, until quiet for quiet_ms;
 * (size_t)-1 if a byte is not `fill`. */
static inline size_t drain(int fd, uint8_t fill, int quiet_ms)
{
	static uint8_t b[65536];
	size_t total = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (poll(&p, 1, quiet_ms) == 1) {
		ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (b[i] != fill)
				return (size_t)-1;
		total += (size_t)n;
	}
	return total;
}

static inline void vsock_teardown(void)
{
	virtio_vsock_ops.destroy(&dev);
	for (unsigned i = 0; i < n_host_fds; i++)
		close(host_fds[i]);
	n_host_fds = 0;
	gm_destroy(&gm);
}

#endif
