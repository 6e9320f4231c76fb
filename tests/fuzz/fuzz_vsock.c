/*
 * libFuzzer target for virtio-vsock's packet handling (src/virtio/vsock.c,
 * included so its static packet functions run without the I/O thread):
 * the input is guest memory with the TX ring and packets the guest sends
 * (headers, payloads) and the RX ring it offers for answers. One round:
 * process_tx() parses and acts on every TX packet (connection requests
 * are accepted into socketpairs whose host end has a few bytes to send),
 * then process_rx() builds the replies and data into the RX buffers, and
 * a restore record (the device's own part) from the input's first page.
 * Byte 0: queue size (bits 0-2), EVENT_IDX (bit 7).
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <signal.h>

#include "../../src/virtio/vsock.c"
#include "fuzz_ring.h"
#include "fuzz_seed.h"
#include "fuzz_vm_stubs.h"

static int host_fds[VSOCK_DEFAULT_MAX_CONNS + 1];
static unsigned nhost;

static int accept_conn(void *opaque, uint32_t port, int fd)
{
	(void)opaque;
	if (port & 1 || nhost >= sizeof(host_fds) / sizeof(host_fds[0])) {
		close(fd);
		return -1; /* odd ports refuse: the RST path */
	}
	if (write(fd, "from the host", 13) < 0) {
		/* nothing to send then */
	}
	host_fds[nhost++] = fd;
	return 0;
}

static void setup(struct virtio_dev *dev, struct vsock_dev *v)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	signal(SIGPIPE, SIG_IGN);
	fr_init();
	pthread_mutex_init(&dev->lock, NULL);
	dev->ops = &virtio_vsock_ops;
	dev->priv = v;
	v->cfg.accept = accept_conn;
	v->guest_cid = 3;
	v->next_host_port = 1u << 30;
	v->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (v->kick < 0 || v->epfd < 0 ||
	    epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->kick, &ev) < 0)
		abort();
}

/* One packet per TX descriptor: header, then payload. */
static void put_packet(uint8_t *img, unsigned i, uint16_t op, uint32_t flags,
		       const char *payload)
{
	struct vsock_hdr h = {.src_cid = 3,
			      .dst_cid = VSOCK_HOST_CID,
			      .src_port = 1000,
			      .dst_port = 2000,
			      .type = TYPE_STREAM,
			      .op = op,
			      .flags = flags,
			      .buf_alloc = 65536};
	uint64_t at = FR_BUF + 0x000 + 0x100 * (uint64_t)i;
	size_t n = payload ? strlen(payload) : 0;

	h.len = (uint32_t)n;
	memcpy(img + at, &h, sizeof(h));
	memcpy(img + at + sizeof(h), payload ? payload : "", n);
	fr_put_desc(img, Q_TX, i, at, (uint32_t)(sizeof(h) + n), 0, 0);
}

static void make_seeds(void)
{
	static uint8_t img[FR_RAM];
	const uint16_t heads[] = {0, 1, 2, 3, 4, 5};
	const uint64_t cid = 3;

	img[0] = 4; /* 16 entries */
	put_packet(img, 0, OP_REQUEST, 0, NULL);
	put_packet(img, 1, OP_RW, 0, "hello from the guest");
	put_packet(img, 2, OP_CREDIT_REQUEST, 0, NULL);
	put_packet(img, 3, OP_CREDIT_UPDATE, 0, NULL);
	put_packet(img, 4, OP_SHUTDOWN, SHUTDOWN_SEND | SHUTDOWN_RCV, NULL);
	put_packet(img, 5, OP_RST, 0, NULL);
	fr_put_avail(img, Q_TX, heads, 6);
	/* RX buffers for the replies and host data, one event buffer (past
	 * the seed's end: guest memory there is zero) */
	for (unsigned i = 0; i < 4; i++)
		fr_put_desc(img, Q_RX, i, FR_BUF + 0x1000 + 0x1000 * i, 4096,
			    VIRTQ_DESC_F_WRITE, 0);
	fr_put_avail(img, Q_RX, heads, 4);
	fr_put_desc(img, Q_EVENT, 0, FR_BUF + 0x5000, 8, VIRTQ_DESC_F_WRITE, 0);
	fr_put_avail(img, Q_EVENT, heads, 1);
	seed_write("session", img, fr_len(img));
	img[1] = 1; /* and a restore record: the guest CID */
	img[2] = 8;
	memcpy(img + 8, &cid, 8);
	seed_write("session-restore", img, fr_len(img));
}

FUZZ_SEEDS(make_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_dev dev;
	static struct vsock_dev *v;
	uint64_t drain;

	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			abort();
		setup(&dev, v);
	}
	if (size < 16)
		return 0;
	fr_load(&dev, VSOCK_NUM_QUEUES, (uint16_t)(1u << (data[0] & 7)), data,
		size);
	process_tx(&dev, v);
	for (struct conn *c = v->conns; c; c = c->next)
		flush_pending(v, c);
	process_rx(&dev, v);
	if (data[1] & 1) {
		vsock_restore(&dev, data + 8, data[2] & 15, NULL);
		send_reset_event(&dev, v);
	}
	drop_all(v);
	while (nhost)
		close(host_fds[--nhost]);
	if (read(v->kick, &drain, sizeof(drain)) < 0) {
		/* not kicked */
	}
	return 0;
}
