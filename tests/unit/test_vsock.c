/*
 * virtio-vsock against a greedy or hostile guest: the caps on
 * connections and on buffered bytes (issue 14), with the device's own
 * I/O thread running, and a racing header. The "guest" here posts
 * buffers in a fake guest memory and kicks the device; the accept
 * callback plays the host listener.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
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
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_RW 5

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

static int accept_cb(void *opaque, uint32_t port, int fd)
{
	(void)opaque;
	(void)port;
	if (n_host_fds == 64)
		return -1;
	host_fds[n_host_fds++] = fd;
	return 0;
}

static void post(unsigned q, uint16_t i, uint64_t addr, uint32_t len,
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

static uint16_t used_idx(unsigned q)
{
	return __atomic_load_n((uint16_t *)gm_ptr(&gm, USED(q), 4) + 1,
			       __ATOMIC_ACQUIRE);
}

static bool wait_used(unsigned q, uint16_t want)
{
	for (int i = 0; i < 5000; i++) {
		if ((int16_t)(used_idx(q) - want) >= 0)
			return true;
		usleep(1000);
	}
	return false;
}

/* Keeps every RX slot posted (slot = descriptor = buffer). */
static void post_rx(uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		post(RXQ, i % QSIZE, RXBUF + (i % QSIZE) * 0x1000ULL, 0x1000,
		     VIRTQ_DESC_F_WRITE);
}

static void setup(const struct virtio_vsock_config *extra)
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

/* The guest sends one packet (header + len payload bytes of `fill`). */
static void guest_send(uint16_t op, uint32_t port, uint32_t len, uint8_t fill)
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
			.buf_alloc = 1 << 20};

	/* the slot's previous packet must be done with */
	if (tx_slot >= QSIZE &&
	    !wait_used(TXQ, (uint16_t)(tx_slot - QSIZE + 1)))
		abort();
	tx_slot++;
	gm_write(&gm, at, &h, sizeof(h));
	memset(gm_ptr(&gm, at + sizeof(h), len + 1), fill, len);
	post(TXQ, slot, at, (uint32_t)sizeof(h) + len, 0);
}

/* The next packet the device put in RX (waits for it); op 0 if none. */
static struct hdr guest_recv(void)
{
	struct hdr h = {0};
	uint32_t id;

	if (!wait_used(RXQ, (uint16_t)(rx_seen + 1)))
		return h;
	gm_read(&gm, USED(RXQ) + 4 + 8 * (rx_seen % QSIZE), &id, 4);
	gm_read(&gm, RXBUF + id * 0x1000ULL, &h, sizeof(h));
	rx_seen++;
	return h;
}

static struct hdr connect_port(uint32_t port)
{
	guest_send(OP_REQUEST, port, 0, 0);
	return guest_recv();
}

TEST(conn_cap_refuses_with_rst_then_recovers)
{
	struct virtio_vsock_config caps = {.max_conns = 3};
	struct vsock_stats st;
	struct hdr h;

	setup(&caps);
	post_rx(QSIZE);
	for (uint32_t p = 100; p < 103; p++)
		CHECK_EQ(connect_port(p).op, OP_RESPONSE);
	/* over the cap: each request gets a reset, nothing is opened */
	for (uint32_t p = 103; p < 113; p++) {
		h = connect_port(p);
		CHECK_EQ(h.op, OP_RST);
		CHECK_EQ(h.dst_port, p);
	}
	vsock_get_stats(&dev, &st);
	CHECK_EQ(st.conns, 3);
	CHECK_EQ(st.conns_refused, 10);
	CHECK_EQ(n_host_fds, 3);
	/* one closes: the next request is served again */
	guest_send(OP_RST, 100, 0, 0);
	CHECK_EQ(connect_port(200).op, OP_RESPONSE);
	CHECK_EQ(n_host_fds, 4);
}

TEST(conn_cap_refusals_without_rx_buffers_are_bounded)
{
	struct virtio_vsock_config caps = {.max_conns = 1};
	struct vsock_stats st;

	setup(&caps);
	/* no RX buffer: the resets owed pile up to a bound, then drop */
	for (uint32_t p = 100; p < 300; p++)
		guest_send(OP_REQUEST, p, 0, 0);
	CHECK(wait_used(TXQ, 200));
	vsock_get_stats(&dev, &st);
	CHECK_EQ(st.conns, 1);
	CHECK_EQ(st.conns_refused, 199);
	CHECK(st.rst_dropped > 0 && st.rst_dropped < 199);
	/* buffers come: the response, then the owed resets go out */
	post_rx(QSIZE);
	CHECK(wait_used(RXQ, 199 - (uint16_t)st.rst_dropped + 1));
}

/* Reads what the guest sent to the host end, until quiet for quiet_ms;
 * (size_t)-1 if a byte is not `fill`. */
static size_t drain(int fd, uint8_t fill, int quiet_ms)
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

TEST(buffered_cap_resets_only_the_greedy_connection)
{
	struct virtio_vsock_config caps = {.max_buffered = 128 * 1024};
	struct vsock_stats st;
	struct hdr h = {0};
	unsigned sent = 0;

	setup(&caps);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(100).op, OP_RESPONSE);
	CHECK_EQ(connect_port(101).op, OP_RESPONSE);
	/*
	 * Port 100's host end never reads: its socket fills, then the
	 * device buffers, then the cap resets the connection. (The guest
	 * ignores our credit here; the cap, below the credit, comes first.)
	 */
	while (sent < 400 && h.op != OP_RST) {
		guest_send(OP_RW, 100, 32768, 0xa5);
		sent++;
		if (used_idx(RXQ) != rx_seen)
			h = guest_recv();
		vsock_get_stats(&dev, &st);
		CHECK(st.buffered <= caps.max_buffered);
	}
	while (h.op != OP_RST && (h = guest_recv()).op)
		; /* credit updates may come first */
	CHECK_EQ(h.op, OP_RST);
	CHECK_EQ(h.dst_port, 100);
	vsock_get_stats(&dev, &st);
	CHECK_EQ(st.buffered_resets, 1);
	CHECK_EQ(st.conns, 1);
	CHECK_EQ(st.buffered, 0);
	/* the other connection still carries data */
	guest_send(OP_RW, 101, 1000, 0x5a);
	CHECK_EQ(drain(host_fds[1], 0x5a, 200), 1000);
}

/*
 * Double fetch (issue 14): a second thread flips the header's len
 * between a length the packet has (16) and one it has not (60000) while
 * the device handles RW packets. Only whole 16-byte payloads may reach
 * the host, every byte the guest's.
 */
static volatile uint32_t *race_len[QSIZE];
static int race_stop;

static void *len_flipper(void *arg)
{
	unsigned i = 0;

	(void)arg;
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		*race_len[i % QSIZE] = (i / QSIZE) & 1 ? 60000 : 16;
		i++;
	}
	return NULL;
}

TEST(header_len_race_forwards_only_checked_lengths)
{
	const unsigned n = 3000;
	size_t got, total = 0;
	pthread_t th;

	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(100).op, OP_RESPONSE);
	for (unsigned i = 0; i < QSIZE; i++)
		race_len[i] = gm_ptr(&gm, TXBUF + i * TXSLOT + 24, 4);
	race_stop = 0;
	if (pthread_create(&th, NULL, len_flipper, NULL))
		SKIP_TEST("no thread");
	for (unsigned i = 0; i < n; i++) {
		guest_send(OP_RW, 100, 16, 0x77);
		if (i % 64 == 63) {
			CHECK(wait_used(TXQ, (uint16_t)(i + 2)));
			got = drain(host_fds[0], 0x77, 5);
			CHECK(got != (size_t)-1);
			total += got;
		}
	}
	CHECK(wait_used(TXQ, (uint16_t)(n + 1)));
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	got = drain(host_fds[0], 0x77, 200);
	CHECK(got != (size_t)-1);
	total += got;
	CHECK_EQ(total % 16, 0);
	CHECK(total > 0);
}

int main(void)
{
	RUN(conn_cap_refuses_with_rst_then_recovers);
	RUN(conn_cap_refusals_without_rx_buffers_are_bounded);
	RUN(buffered_cap_resets_only_the_greedy_connection);
	RUN(header_len_race_forwards_only_checked_lengths);
	virtio_vsock_ops.destroy(&dev);
	gm_destroy(&gm);
	return test_summary();
}
