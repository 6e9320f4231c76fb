/*
 * virtio-vsock (virtio 1.2 section 5.10), stream sockets only.
 *
 * Each connection pairs a guest (cid, port) with a host fd. An I/O thread
 * moves bytes: tx queue -> host fd (bounded by the credit we advertise),
 * host fd -> rx queue (bounded by the guest's credit). Everything in a
 * guest packet is validated; a protocol violation resets that connection,
 * a malformed ring breaks the device, neither touches the VMM.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util/error.h"
#include "virtio/device.h"
#include "virtio/vsock.h"

#define VIRTIO_ID_VSOCK 19
#define VSOCK_QUEUE_SIZE 128
enum { Q_RX, Q_TX, Q_EVENT, VSOCK_NUM_QUEUES };

enum {
	OP_REQUEST = 1,
	OP_RESPONSE,
	OP_RST,
	OP_SHUTDOWN,
	OP_RW,
	OP_CREDIT_UPDATE,
	OP_CREDIT_REQUEST
};
#define TYPE_STREAM 1
#define SHUTDOWN_RCV 1
#define SHUTDOWN_SEND 2

/* the credit we give: what one connection may have us hold */
#define VSOCK_BUF_ALLOC (256 * 1024)
#define VSOCK_MAX_PAYLOAD (64 * 1024)
/* a drained buffer up to this size is kept for the next packet */
#define VSOCK_PENDING_KEEP (16 * 1024)
/* resets owed for requests refused without a connection slot */
#define VSOCK_RST_BACKLOG 64

struct __attribute__((packed)) vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

enum conn_state { CONN_CONNECTING, CONN_OPEN, CONN_CLOSING };

struct conn {
	struct conn *next;
	uint32_t guest_port, host_port;
	int fd;
	enum conn_state state;
	/* the guest's receive credit */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* our receive side */
	uint32_t fwd_cnt, reported_fwd_cnt;
	uint8_t *pending; /* guest bytes the host fd did not take yet */
	size_t pending_len, pending_cap;
	bool host_eof, guest_shut_send, guest_shut_rcv;
	bool watched; /* in the I/O thread's epoll set (update_interest) */
	/* control packets owed to the guest */
	bool send_request, send_response, send_rst, send_shutdown, send_credit;
};

struct owed_rst {
	uint32_t guest_port, host_port;
};

struct vsock_dev {
	struct virtio_vsock_config cfg;
	uint64_t guest_cid;
	struct conn *conns;
	unsigned nconns, max_conns;
	size_t buffered, max_buffered; /* sum of pending_len, its cap */
	struct owed_rst rst[VSOCK_RST_BACKLOG];
	unsigned rst_head, rst_count;
	uint64_t conns_refused, rst_dropped, buffered_resets;
	uint32_t next_host_port;
	int epfd, kick;
	pthread_t thread;
	bool thread_started, stop;
	bool reset_event; /* owe the guest a transport reset (after restore) */
	uint8_t buf[VSOCK_MAX_PAYLOAD];
};

static struct conn *conn_find(struct vsock_dev *v, uint32_t gport,
			      uint32_t hport)
{
	for (struct conn *c = v->conns; c; c = c->next)
		if (c->guest_port == gport && c->host_port == hport)
			return c;
	return NULL;
}

static struct conn *conn_new(struct vsock_dev *v, uint32_t gport,
			     uint32_t hport, int fd)
{
	struct conn *c;

	if (v->nconns >= v->max_conns)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->guest_port = gport;
	c->host_port = hport;
	c->fd = fd;
	c->next = v->conns;
	v->conns = c;
	v->nconns++;
	return c;
}

static void conn_free(struct vsock_dev *v, struct conn *c)
{
	for (struct conn **pp = &v->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->watched)
		epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	v->buffered -= c->pending_len;
	free(c->pending);
	free(c);
	v->nconns--;
}

/* A reset for a request that got no connection slot (bounded backlog). */
static void owe_rst(struct vsock_dev *v, uint32_t gport, uint32_t hport)
{
	v->conns_refused++;
	if (v->rst_count == VSOCK_RST_BACKLOG) {
		v->rst_dropped++; /* the guest's connect times out instead */
		return;
	}
	v->rst[(v->rst_head + v->rst_count) % VSOCK_RST_BACKLOG] =
	    (struct owed_rst){gport, hport};
	v->rst_count++;
}

static void kick(struct vsock_dev *v)
{
	uint64_t one = 1;

	if (write(v->kick, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the thread is awake anyway */
	}
}

/* ---- guest -> host ---- */

static void flush_pending(struct vsock_dev *v, struct conn *c)
{
	while (c->pending_len) {
		ssize_t n = send(c->fd, c->pending, c->pending_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* the host side is gone: drop the bytes, reset */
			v->buffered -= c->pending_len;
			c->pending_len = 0;
			c->send_rst = true;
			return;
		}
		memmove(c->pending, c->pending + n, c->pending_len - (size_t)n);
		c->pending_len -= (size_t)n;
		v->buffered -= (size_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (c->pending_cap > VSOCK_PENDING_KEEP) {
		free(c->pending); /* drained: give a burst's memory back */
		c->pending = NULL;
		c->pending_cap = 0;
	}
	if (c->fwd_cnt - c->reported_fwd_cnt >= VSOCK_BUF_ALLOC / 2)
		c->send_credit = true;
}

/* Room for len more pending bytes (len <= VSOCK_BUF_ALLOC - pending_len). */
static bool pending_grow(struct conn *c, size_t len)
{
	size_t cap = c->pending_cap ? c->pending_cap : 4096;
	uint8_t *p;

	if (c->pending_len + len <= c->pending_cap)
		return true;
	while (cap < c->pending_len + len)
		cap *= 2;
	if (cap > VSOCK_BUF_ALLOC)
		cap = VSOCK_BUF_ALLOC;
	p = realloc(c->pending, cap);
	if (!p)
		return false;
	c->pending = p;
	c->pending_cap = cap;
	return true;
}

static void reset_conn(struct conn *c)
{
	c->state = CONN_CLOSING; /* nothing more in either direction */
	c->send_rst = true;
}

static void handle_rw(struct vsock_dev *v, struct conn *c,
		      const struct virtq_chain *ch, uint32_t len)
{
	if (c->state != CONN_OPEN || c->guest_shut_send)
		return;
	/* The guest must stay within the credit we gave it. */
	if (len > VSOCK_BUF_ALLOC - c->pending_len) {
		reset_conn(c);
		return;
	}
	/* ... and all its connections within the device's cap */
	if (len > v->max_buffered - v->buffered || !pending_grow(c, len)) {
		v->buffered_resets++;
		reset_conn(c);
		return;
	}
	virtq_chain_read(ch, sizeof(struct vsock_hdr),
			 c->pending + c->pending_len, len);
	c->pending_len += len;
	v->buffered += len;
	flush_pending(v, c);
}

static void handle_request(struct vsock_dev *v, const struct vsock_hdr *h)
{
	int sv[2];
	struct conn *c;

	if (conn_find(v, h->src_port, h->dst_port))
		return; /* duplicate request: ignore */
	if (!v->cfg.accept ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) < 0)
		goto refuse;
	c = conn_new(v, h->src_port, h->dst_port, sv[0]);
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		goto refuse; /* over max_conns (or out of memory) */
	}
	if (v->cfg.accept(v->cfg.accept_opaque, h->dst_port, sv[1]) < 0) {
		c->send_rst = true;
		return;
	}
	c->state = CONN_OPEN;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->send_response = true;
	return;
refuse:
	/* a reset for a connection we never made: no slot, no fd */
	owe_rst(v, h->src_port, h->dst_port);
}

static void handle_packet(struct vsock_dev *v, const struct vsock_hdr *h,
			  const struct virtq_chain *ch)
{
	struct conn *c;

	if (h->op == OP_REQUEST) {
		handle_request(v, h);
		return;
	}
	c = conn_find(v, h->src_port, h->dst_port);
	if (!c)
		return; /* unknown connection: nothing to do (no RST storms) */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case OP_RESPONSE:
		if (c->state == CONN_CONNECTING)
			c->state = CONN_OPEN;
		break;
	case OP_RST:
		conn_free(v, c);
		break;
	case OP_SHUTDOWN:
		c->guest_shut_send |= !!(h->flags & SHUTDOWN_SEND);
		c->guest_shut_rcv |= !!(h->flags & SHUTDOWN_RCV);
		if (c->guest_shut_send)
			shutdown(c->fd, SHUT_WR);
		if (c->guest_shut_send && c->guest_shut_rcv)
			c->send_rst = true;
		break;
	case OP_RW:
		handle_rw(v, c, ch, h->len);
		break;
	case OP_CREDIT_REQUEST:
		c->send_credit = true;
		break;
	default:
		break; /* CREDIT_UPDATE: credit already taken above */
	}
}

static void process_tx(struct virtio_dev *dev, struct vsock_dev *v)
{
	struct virtq *q = &dev->queues[Q_TX];
	struct virtq_chain ch;
	struct vsock_hdr h;
	bool used = false;
	int ret;

	while ((ret = virtq_pop(q, dev->mem, &ch)) == 1) {
		if (virtq_chain_read(&ch, 0, &h, sizeof(h)) == sizeof(h) &&
		    h.type == TYPE_STREAM && h.src_cid == v->guest_cid &&
		    h.dst_cid == VSOCK_HOST_CID && h.len <= VSOCK_MAX_PAYLOAD &&
		    h.len <= ch.readable_len - sizeof(h))
			handle_packet(v, &h, &ch);
		if (virtq_push(q, dev->mem, ch.head, 0))
			break;
		used = true;
	}
	if (used)
		virtio_signal_used(dev, Q_TX);
	if (ret < 0)
		virtio_fail(dev);
}

/* ---- host -> guest ---- */

static void fill_bare_hdr(struct vsock_dev *v, uint32_t gport, uint32_t hport,
			  struct vsock_hdr *h, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = v->guest_cid;
	h->src_port = hport;
	h->dst_port = gport;
	h->type = TYPE_STREAM;
	h->op = op;
	h->buf_alloc = VSOCK_BUF_ALLOC;
}

static void fill_hdr(struct vsock_dev *v, struct conn *c, struct vsock_hdr *h,
		     uint16_t op)
{
	fill_bare_hdr(v, c->guest_port, c->host_port, h, op);
	h->fwd_cnt = c->fwd_cnt;
	c->reported_fwd_cnt = c->fwd_cnt;
}

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0
					      : c->peer_buf_alloc - in_flight;
}

/* Builds the next packet owed on c into the chain; 0 if nothing is owed. */
static size_t next_packet(struct vsock_dev *v, struct conn *c,
			  const struct virtq_chain *ch, bool *free_conn)
{
	struct vsock_hdr h;
	size_t room = ch->writable_len - sizeof(h), want;
	ssize_t n;

	if (c->send_rst) {
		fill_hdr(v, c, &h, OP_RST);
		*free_conn = true;
	} else if (c->send_request) {
		fill_hdr(v, c, &h, OP_REQUEST);
		c->send_request = false;
	} else if (c->send_response) {
		fill_hdr(v, c, &h, OP_RESPONSE);
		c->send_response = false;
	} else if (c->state == CONN_OPEN && !c->host_eof &&
		   !c->guest_shut_rcv && (want = peer_credit(c)) > 0) {
		if (want > room)
			want = room;
		if (want > sizeof(v->buf))
			want = sizeof(v->buf);
		n = recv(c->fd, v->buf, want, MSG_DONTWAIT);
		if (n > 0) {
			fill_hdr(v, c, &h, OP_RW);
			h.len = (uint32_t)n;
			c->tx_cnt += (uint32_t)n;
			virtq_chain_write(ch, sizeof(h), v->buf, (size_t)n);
			virtq_chain_write(ch, 0, &h, sizeof(h));
			return sizeof(h) + (size_t)n;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
			       errno != EINTR)) {
			c->host_eof = true;
			c->send_shutdown = true;
		}
		/*
		 * Nothing to pass on now: a credit update may still be owed.
		 * Without it a guest that only sends (its stdin is done)
		 * runs out of credit and stalls. The end of the host's
		 * stream goes out now too: nothing else would wake us for it
		 * once the hung-up socket left the epoll set.
		 */
		if (c->send_credit) {
			fill_hdr(v, c, &h, OP_CREDIT_UPDATE);
			c->send_credit = false;
		} else if (c->send_shutdown) {
			fill_hdr(v, c, &h, OP_SHUTDOWN);
			h.flags = SHUTDOWN_RCV | SHUTDOWN_SEND;
			c->send_shutdown = false;
		} else {
			return 0;
		}
	} else if (c->send_shutdown) {
		fill_hdr(v, c, &h, OP_SHUTDOWN);
		h.flags = SHUTDOWN_RCV | SHUTDOWN_SEND;
		c->send_shutdown = false;
	} else if (c->send_credit) {
		fill_hdr(v, c, &h, OP_CREDIT_UPDATE);
		c->send_credit = false;
	} else {
		return 0;
	}
	virtq_chain_write(ch, 0, &h, sizeof(h));
	return sizeof(h);
}

/* Sends the resets owed for refused requests; false when out of buffers. */
static bool send_owed_rsts(struct virtio_dev *dev, struct vsock_dev *v,
			   bool *used)
{
	struct virtq *q = &dev->queues[Q_RX];

	while (v->rst_count) {
		const struct owed_rst *r = &v->rst[v->rst_head];
		struct virtq_chain ch;
		struct vsock_hdr h;
		int ret = virtq_pop(q, dev->mem, &ch);
		uint32_t len = 0;

		if (ret < 0)
			virtio_fail(dev);
		if (ret != 1)
			return false;
		if (ch.writable_len >= sizeof(h)) {
			fill_bare_hdr(v, r->guest_port, r->host_port, &h,
				      OP_RST);
			len =
			    (uint32_t)virtq_chain_write(&ch, 0, &h, sizeof(h));
			v->rst_head = (v->rst_head + 1) % VSOCK_RST_BACKLOG;
			v->rst_count--;
		}
		virtq_push(q, dev->mem, ch.head, len);
		*used = true;
	}
	return true;
}

static void process_rx(struct virtio_dev *dev, struct vsock_dev *v)
{
	struct virtq *q = &dev->queues[Q_RX];
	bool used = false, progress = true;

	if (!send_owed_rsts(dev, v, &used))
		goto out;
	while (progress) {
		progress = false;
		for (struct conn *c = v->conns, *next; c; c = next) {
			struct virtq_chain ch;
			bool free_conn = false;
			size_t len;
			int ret;

			next = c->next;
			ret = virtq_pop(q, dev->mem, &ch);
			if (ret < 0)
				virtio_fail(dev);
			if (ret != 1)
				goto out;
			if (ch.writable_len < sizeof(struct vsock_hdr)) {
				virtq_push(q, dev->mem, ch.head, 0);
				used = true;
				continue;
			}
			len = next_packet(v, c, &ch, &free_conn);
			if (len == 0) {
				virtq_unpop(q);
			} else {
				virtq_push(q, dev->mem, ch.head, (uint32_t)len);
				used = progress = true;
			}
			if (free_conn)
				conn_free(v, c);
		}
	}
out:
	if (used)
		virtio_signal_used(dev, Q_RX);
}

/* Interest: readable when we could pass data on, writable when stuck. */
static void update_interest(struct vsock_dev *v)
{
	for (struct conn *c = v->conns; c; c = c->next) {
		struct epoll_event ev = {.data.ptr = c};

		if (c->state == CONN_OPEN && !c->host_eof && peer_credit(c))
			ev.events |= EPOLLIN;
		if (c->pending_len)
			ev.events |= EPOLLOUT;
		/* nothing wanted: out of the set, where a hung-up host end
		 * (EPOLLHUP cannot be masked) would wake this thread in a
		 * loop until the guest resets the connection, or forever */
		if (!ev.events) {
			if (c->watched &&
			    epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL) == 0)
				c->watched = false;
			continue;
		}
		if (epoll_ctl(v->epfd,
			      c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
			      &ev) == 0)
			c->watched = true;
	}
}

/* Tells the guest every connection is gone (its sockets get ECONNRESET). */
static void send_reset_event(struct virtio_dev *dev, struct vsock_dev *v)
{
	struct virtq *q = &dev->queues[Q_EVENT];
	struct virtq_chain ch;
	uint32_t id = 0; /* VIRTIO_VSOCK_EVENT_TRANSPORT_RESET */

	if (virtq_pop(q, dev->mem, &ch) != 1)
		return; /* no buffer yet: try again on the next wake-up */
	/* the length written, not the length meant: a short buffer is
	 * the driver's bug, not a reason to claim bytes it does not hold */
	virtq_push(q, dev->mem, ch.head,
		   (uint32_t)virtq_chain_write(&ch, 0, &id, sizeof(id)));
	virtio_signal_used(dev, Q_EVENT);
	v->reset_event = false;
}

static void *io_thread(void *arg)
{
	struct virtio_dev *dev = arg;
	struct vsock_dev *v = dev->priv;
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(v->epfd, evs, 32, -1);
		uint64_t cnt;

		if (n < 0 && errno != EINTR)
			break;
		if (read(v->kick, &cnt, sizeof(cnt)) < 0) {
			/* nothing pending on the kick counter */
		}
		pthread_mutex_lock(&dev->lock);
		/* a snapshot is being taken: sockets wait, level-triggered */
		while (dev->frozen && !v->stop)
			pthread_cond_wait(&dev->thawed, &dev->lock);
		if (v->stop) {
			pthread_mutex_unlock(&dev->lock);
			break;
		}
		if ((dev->status & VIRTIO_STATUS_DRIVER_OK) &&
		    !(dev->status & VIRTIO_STATUS_NEEDS_RESET)) {
			if (v->reset_event)
				send_reset_event(dev, v);
			process_tx(dev, v);
			for (struct conn *c = v->conns; c; c = c->next)
				flush_pending(v, c);
			process_rx(dev, v);
		}
		update_interest(v);
		pthread_mutex_unlock(&dev->lock);
	}
	return NULL;
}

/* ---- device ops ---- */

static void drop_all(struct vsock_dev *v)
{
	while (v->conns)
		conn_free(v, v->conns);
	v->rst_count = 0;
}

static void vsock_destroy(struct virtio_dev *dev)
{
	struct vsock_dev *v = dev->priv;

	if (!v)
		return;
	if (v->thread_started) {
		pthread_mutex_lock(&dev->lock);
		v->stop = true;
		pthread_cond_broadcast(&dev->thawed);
		pthread_mutex_unlock(&dev->lock);
		kick(v);
		pthread_join(v->thread, NULL);
	}
	drop_all(v);
	if (v->epfd >= 0)
		close(v->epfd);
	if (v->kick >= 0)
		close(v->kick);
	free(v);
	dev->priv = NULL;
}

static int vsock_init(struct virtio_dev *dev, const void *cfgp,
		      struct sm_error *err)
{
	const struct virtio_vsock_config *cfg = cfgp;
	struct vsock_dev *v = calloc(1, sizeof(*v));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	if (!v)
		return sm_err(err, -ENOMEM, "out of memory");
	if (cfg)
		v->cfg = *cfg;
	v->guest_cid = v->cfg.guest_cid ? v->cfg.guest_cid : 3;
	v->max_conns =
	    v->cfg.max_conns ? v->cfg.max_conns : VSOCK_DEFAULT_MAX_CONNS;
	v->max_buffered = v->cfg.max_buffered ? v->cfg.max_buffered
					      : VSOCK_DEFAULT_MAX_BUFFERED;
	v->next_host_port = 1u << 30;
	v->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	dev->priv = v;
	if (v->kick < 0 || v->epfd < 0 ||
	    epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->kick, &ev) < 0) {
		vsock_destroy(dev);
		return sm_err_errno(err, "virtio-vsock: epoll");
	}
	if (sm_thread_start(&v->thread, SM_ROLE_VSOCK, io_thread, dev)) {
		vsock_destroy(dev);
		return sm_err(err, -EAGAIN,
			      "virtio-vsock: cannot start its thread");
	}
	v->thread_started = true;
	return 0;
}

static void vsock_reset(struct virtio_dev *dev)
{
	drop_all(dev->priv);
}

static void vsock_notify(struct virtio_dev *dev, unsigned queue)
{
	(void)queue;
	kick(dev->priv);
}

static void vsock_config_read(struct virtio_dev *dev, uint64_t off,
			      uint8_t *data, uint32_t len)
{
	struct vsock_dev *v = dev->priv;
	uint64_t cid = v->guest_cid;

	if (off < sizeof(cid))
		memcpy(data, (uint8_t *)&cid + off,
		       len < sizeof(cid) - off ? len : sizeof(cid) - off);
}

int vsock_connect(struct virtio_dev *dev, uint32_t port, struct sm_error *err)
{
	struct vsock_dev *v = dev->priv;
	struct conn *c;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) < 0)
		return sm_err_errno(err, "vsock connect: socketpair");
	pthread_mutex_lock(&dev->lock);
	c = conn_new(v, port, v->next_host_port++, sv[0]);
	if (c) {
		c->state = CONN_CONNECTING;
		c->send_request = true;
	}
	pthread_mutex_unlock(&dev->lock);
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		return sm_err(err, -ENOMEM,
			      "vsock connect: too many connections");
	}
	kick(v);
	return sv[1];
}

void vsock_get_stats(struct virtio_dev *dev, struct vsock_stats *st)
{
	struct vsock_dev *v = dev->priv;

	pthread_mutex_lock(&dev->lock);
	*st = (struct vsock_stats){
	    .conns = v->nconns,
	    .buffered = v->buffered,
	    .conns_refused = v->conns_refused,
	    .rst_dropped = v->rst_dropped,
	    .buffered_resets = v->buffered_resets,
	};
	pthread_mutex_unlock(&dev->lock);
}

static int vsock_save(struct virtio_dev *dev, struct sm_buf *out)
{
	struct vsock_dev *v = dev->priv;

	/* Connections are not saved: a restored guest sees them reset. */
	sm_buf_put_u64(out, v->guest_cid);
	return out->oom ? -ENOMEM : 0;
}

static int vsock_restore(struct virtio_dev *dev, const void *data, size_t len,
			 struct sm_error *err)
{
	struct vsock_dev *v = dev->priv;
	struct sm_reader r;
	uint64_t cid;

	sm_reader_init(&r, data, len);
	cid = sm_get_u64(&r);
	if (r.bad || r.left)
		return sm_err(err, -EINVAL, "record of %zu bytes, not 8", len);
	if (cid != v->guest_cid)
		return sm_err(err, -EINVAL, "guest CID %llu, this VM's is %llu",
			      (unsigned long long)cid,
			      (unsigned long long)v->guest_cid);
	drop_all(v);
	v->reset_event = true;
	kick(v);
	return 0;
}

const struct virtio_dev_ops virtio_vsock_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .num_queues = VSOCK_NUM_QUEUES,
    .queue_max = VSOCK_QUEUE_SIZE,
    .config_size = 8,
    .init = vsock_init,
    .destroy = vsock_destroy,
    .reset = vsock_reset,
    .notify = vsock_notify,
    .config_read = vsock_config_read,
    .save = vsock_save,
    .restore = vsock_restore,
};
