/*
 * The slirp backend: libslirp (user-mode TCP/IP, as QEMU's -netdev user)
 * on its own thread. libslirp is not thread-safe, so only that thread
 * touches the Slirp instance once it runs: the device queues guest frames
 * in a bounded ring and kicks an eventfd; the thread feeds them to
 * slirp_input(), polls slirp's sockets and runs its timers. Frames for the
 * guest go out through net_deliver() from the same thread.
 *
 * The guest does not reach the host's loopback through the gateway
 * unless asked (allow_host_loopback; lo_guard.h says how). Published ports are
 * slirp host forwards, set up before the thread starts. A port given as 0 gets
 * a free one: we bind an ephemeral port to learn it, close it, and let slirp
 * bind it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libslirp.h>

#include "net/lo_guard.h"
#include "net/net.h"
#include "sandbox/sandbox.h"
#include "util/error.h"
#include "util/fs.h"

#define TX_RING 256 /* frames the guest may have in flight to slirp */
#define MAX_POLL 1024
#define MAX_TIMERS 8

struct frame {
	uint16_t len;
	uint8_t data[NET_MAX_FRAME];
};

struct slirp_timer {
	bool used, armed;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms;
};

struct slirp_be {
	struct net_backend b;
	Slirp *slirp;
	pthread_t thread;
	bool thread_started;
	int wake; /* eventfd */
	pthread_mutex_t ring_lock;
	struct frame *ring; /* TX_RING slots */
	unsigned head, count;
	bool stop;
	struct slirp_timer timers[MAX_TIMERS];
	struct pollfd pfd[MAX_POLL];
	unsigned npfd;
	struct frame scratch;
	bool guard_loopback;   /* !allow_host_loopback */
	struct lo_guard guard; /* slirp thread only */
};

static void kick(struct slirp_be *s)
{
	uint64_t one = 1;

	if (write(s->wake, &one, sizeof(one)) < 0) {
		/* saturated: the thread is awake anyway */
	}
}

/* ---- libslirp callbacks (all on the slirp thread, or before it runs) ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct slirp_be *s = opaque;

	if (s->guard_loopback)
		lo_guard_to_guest(&s->guard, buf, len);
	net_deliver(&s->b, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)msg; /* the guest's own problem: slirp dropped the packet */
	__atomic_fetch_add(&((struct slirp_be *)opaque)->b.tx_dropped, 1,
			   __ATOMIC_RELAXED);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return sm_now_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct slirp_be *s = opaque;

	for (unsigned i = 0; i < MAX_TIMERS; i++) {
		if (!s->timers[i].used) {
			s->timers[i] = (struct slirp_timer){
			    .used = true, .id = id, .cb_opaque = cb_opaque};
			return &s->timers[i];
		}
	}
	return NULL; /* slirp copes: that timer never fires */
}

static void cb_timer_free(void *timer, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct slirp_timer *)timer)->used = false;
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *t = timer;

	(void)opaque;
	if (t) {
		t->expire_ms = expire_ms;
		t->armed = true;
	}
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque; /* we poll what slirp_pollfds_fill() reports */
}

static void cb_notify(void *opaque)
{
	kick(opaque);
}

static const SlirpCb callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_register_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the thread ---- */

static int add_poll(int fd, int events, void *opaque)
{
	struct slirp_be *s = opaque;
	short ev = 0;

	if (s->npfd >= MAX_POLL)
		return -1;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	s->pfd[s->npfd] = (struct pollfd){.fd = fd, .events = ev};
	return (int)s->npfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct slirp_be *s = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || (unsigned)idx >= s->npfd)
		return 0;
	r = s->pfd[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Feeds queued guest frames to slirp, one at a time outside the lock. */
static void drain_tx(struct slirp_be *s)
{
	for (;;) {
		pthread_mutex_lock(&s->ring_lock);
		if (!s->count) {
			pthread_mutex_unlock(&s->ring_lock);
			return;
		}
		s->scratch.len = s->ring[s->head].len;
		memcpy(s->scratch.data, s->ring[s->head].data, s->scratch.len);
		s->head = (s->head + 1) % TX_RING;
		s->count--;
		pthread_mutex_unlock(&s->ring_lock);
		if (s->guard_loopback &&
		    !lo_guard_from_guest(&s->guard, s->scratch.data,
					 s->scratch.len)) {
			__atomic_fetch_add(&s->b.tx_dropped, 1,
					   __ATOMIC_RELAXED);
			continue;
		}
		slirp_input(s->slirp, s->scratch.data, s->scratch.len);
	}
}

/* Fires due timers; returns ms until the next one (or `cap`). */
static uint32_t run_timers(struct slirp_be *s, uint32_t cap)
{
	int64_t now = sm_now_ns() / 1000000;
	uint32_t next = cap;

	for (unsigned i = 0; i < MAX_TIMERS; i++) {
		struct slirp_timer *t = &s->timers[i];

		if (!t->used || !t->armed)
			continue;
		if (t->expire_ms <= now) {
			t->armed = false;
			slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
		} else if ((uint64_t)(t->expire_ms - now) < next) {
			next = (uint32_t)(t->expire_ms - now);
		}
	}
	return next;
}

static void *slirp_thread(void *arg)
{
	struct slirp_be *s = arg;
	sigset_t pipe;

	/*
	 * slirp writes to host sockets without MSG_NOSIGNAL: a peer that
	 * closed first would raise SIGPIPE and kill the whole process (a
	 * library must not ignore it process-wide). Blocked here, the write
	 * fails with EPIPE and slirp closes that connection.
	 */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	for (;;) {
		uint32_t timeout = run_timers(s, 1000);
		uint64_t cnt;
		int n;

		s->npfd = 0;
		add_poll(s->wake, SLIRP_POLL_IN, s);
		slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
		n = poll(s->pfd, s->npfd, (int)timeout);
		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
			break;
		if (s->pfd[0].revents & POLLIN &&
		    read(s->wake, &cnt, sizeof(cnt)) < 0) {
			/* nothing to clear */
		}
		slirp_pollfds_poll(s->slirp, n < 0, get_revents, s);
		drain_tx(s);
	}
	return NULL;
}

/* ---- the backend ---- */

static int slirp_send(struct net_backend *b, const void *frame, size_t len)
{
	struct slirp_be *s = (struct slirp_be *)b;
	bool was_empty;

	if (len < NET_MIN_FRAME || len > NET_MAX_FRAME) {
		__atomic_fetch_add(&b->tx_dropped, 1, __ATOMIC_RELAXED);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->ring_lock);
	if (s->count == TX_RING) {
		/* a flood: drop, TCP in the guest retransmits */
		__atomic_fetch_add(&b->tx_dropped, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&s->ring_lock);
		return -ENOBUFS;
	}
	memcpy(s->ring[(s->head + s->count) % TX_RING].data, frame, len);
	s->ring[(s->head + s->count) % TX_RING].len = (uint16_t)len;
	was_empty = s->count++ == 0;
	pthread_mutex_unlock(&s->ring_lock);
	if (was_empty)
		kick(s);
	return 0;
}

static void slirp_close(struct net_backend *b)
{
	struct slirp_be *s = (struct slirp_be *)b;

	if (s->thread_started) {
		__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
		kick(s);
		pthread_join(s->thread, NULL);
	}
	if (s->slirp)
		slirp_cleanup(s->slirp);
	if (s->wake >= 0)
		close(s->wake);
	pthread_mutex_destroy(&s->ring_lock);
	net_backend_fini(&s->b);
	free(s->ring);
	free(s);
}

static const struct net_backend_ops slirp_ops = {
    .send = slirp_send,
    .close = slirp_close,
};

/* A port the kernel says is free now (slirp binds it right after). */
static int free_port(const struct net_port *p, uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr = p->host_addr};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET,
			(p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0),
	    ret = 0;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		ret = -errno;
	else
		*port = ntohs(sa.sin_port);
	close(fd);
	return ret;
}

static int add_forward(struct slirp_be *s, const struct net_port *p,
		       struct sm_error *err)
{
	struct net_port r = *p;
	struct in_addr guest;
	char addr[INET_ADDRSTRLEN];
	int ret;

	inet_ntop(AF_INET, &p->host_addr, addr, sizeof(addr));
	inet_pton(AF_INET, NET_GUEST_ADDR, &guest);
	if (!r.host_port && (ret = free_port(p, &r.host_port)))
		return sm_err(err, ret, "no free port on %s: %s", addr,
			      strerror(-ret));
	errno = 0;
	if (slirp_add_hostfwd(s->slirp, r.udp, r.host_addr, r.host_port, guest,
			      r.guest_port) < 0) {
		if (errno == EADDRINUSE || errno == 0)
			return sm_err(err, -EADDRINUSE,
				      "port %s:%u is already in use", addr,
				      r.host_port);
		return sm_err(err, -errno, "port %s:%u: %s", addr, r.host_port,
			      strerror(errno));
	}
	s->b.ports[s->b.nports++] = r;
	return 0;
}

int net_slirp_open(const struct net_slirp_options *opts,
		   const struct net_port *ports, unsigned nports,
		   struct net_backend **out, struct sm_error *err)
{
	struct slirp_be *s = calloc(1, sizeof(*s));
	SlirpConfig cfg = {
	    .version = 4,
	    .in_enabled = true,
	    .if_mtu = 1500,
	    .if_mru = 1500,
	    /* slirp maps 10.0.2.2 (and 10.0.2.x) to the host's 127.0.0.1;
	     * the guest reaches it only when asked (net.h). Not with slirp's
	     * disable_host_loopback, which also drops the answers of a
	     * published UDP port: with lo_guard, on the guest's frames. */
	    .disable_host_loopback = false,
	};
	int ret = 0;

	if (!s)
		return sm_err(err, -ENOMEM, "out of memory");
	net_backend_init(&s->b, &slirp_ops);
	s->guard_loopback = !opts->allow_host_loopback;
	s->b.rx_checksummed = true;
	pthread_mutex_init(&s->ring_lock, NULL);
	s->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->ring = calloc(TX_RING, sizeof(*s->ring));
	if (s->wake < 0 || !s->ring) {
		slirp_close(&s->b);
		return sm_err(err, -ENOMEM, "slirp: out of memory");
	}
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, NET_GATEWAY, &cfg.vhost);
	inet_pton(AF_INET, NET_GUEST_ADDR, &cfg.vdhcp_start);
	inet_pton(AF_INET, NET_DNS, &cfg.vnameserver);
	s->slirp = slirp_new(&cfg, &callbacks, s);
	if (!s->slirp) {
		slirp_close(&s->b);
		return sm_err(err, -ENOMEM, "slirp: cannot create the network");
	}
	if (nports > NET_MAX_PORTS)
		ret = sm_err(err, -E2BIG, "more than %d published ports",
			     NET_MAX_PORTS);
	for (unsigned i = 0; !ret && i < nports; i++)
		ret = add_forward(s, &ports[i], err);
	if (!ret && sm_thread_start(&s->thread, SM_ROLE_SLIRP, slirp_thread, s))
		ret = sm_err(err, -EAGAIN, "slirp: cannot start its thread");
	if (ret) {
		slirp_close(&s->b);
		return ret;
	}
	s->thread_started = true;
	*out = &s->b;
	return 0;
}
