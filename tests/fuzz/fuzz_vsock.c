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
#include "fuzz_vm_stubs.h"

static int host_fds[VSOCK_MAX_CONNS + 1];
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
		flush_pending(c);
	process_rx(&dev, v);
	if (data[1] & 1) {
		vsock_restore(&dev, data + 8, data[2] & 15);
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
