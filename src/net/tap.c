/*
 * The tap backend (--network tap:NAME): frames go to and come from a host
 * tap interface the caller set up (and may use: root or the tap's owner).
 * Writes are non-blocking (a full tap drops the frame); a reader thread
 * delivers the host's frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h> /* before linux/if.h, which then defers to it */
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "net/net.h"
#include "sandbox/sandbox.h"
#include "util/error.h"

struct tap_be {
	struct net_backend b;
	int fd, stop;
	pthread_t thread;
	bool thread_started;
	uint8_t buf[65536]; /* a tap may hand us more than we pass on */
};

static void *tap_thread(void *arg)
{
	struct tap_be *t = arg;

	for (;;) {
		struct pollfd pf[2] = {{.fd = t->fd, .events = POLLIN},
				       {.fd = t->stop, .events = POLLIN}};
		ssize_t n;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		if (!(pf[0].revents & POLLIN))
			continue;
		n = read(t->fd, t->buf, sizeof(t->buf));
		if (n > 0)
			net_deliver(&t->b, t->buf, (size_t)n);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
	}
	return NULL;
}

static int tap_send(struct net_backend *b, const void *frame, size_t len)
{
	struct tap_be *t = (struct tap_be *)b;

	if (len < NET_MIN_FRAME || len > NET_MAX_FRAME ||
	    write(t->fd, frame, len) != (ssize_t)len) {
		__atomic_fetch_add(&b->tx_dropped, 1, __ATOMIC_RELAXED);
		return -ENOBUFS;
	}
	return 0;
}

static void tap_close(struct net_backend *b)
{
	struct tap_be *t = (struct tap_be *)b;
	uint64_t one = 1;

	if (t->thread_started) {
		if (write(t->stop, &one, sizeof(one)) < 0) {
			/* cannot fail on a fresh eventfd */
		}
		pthread_join(t->thread, NULL);
	}
	if (t->fd >= 0)
		close(t->fd);
	if (t->stop >= 0)
		close(t->stop);
	net_backend_fini(&t->b);
	free(t);
}

static const struct net_backend_ops tap_ops = {
    .send = tap_send,
    .close = tap_close,
};

int net_tap_open(const char *ifname, struct net_backend **out,
		 struct sm_error *err)
{
	struct tap_be *t;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	int ret;

	if (!*ifname || strlen(ifname) >= IFNAMSIZ)
		return sm_err(err, -EINVAL,
			      "--network tap:%s: bad interface name", ifname);
	/*
	 * TUNSETIFF on a name that does not exist creates a fresh tap (for
	 * root): a typo would then give a VM with no network and no error.
	 * The tap must be there already, set up by the caller.
	 */
	if (!if_nametoindex(ifname))
		return sm_err(
		    err, -ENODEV,
		    "--network tap:%s: no such network interface "
		    "(create it first: ip tuntap add dev %s mode tap)",
		    ifname, ifname);
	t = calloc(1, sizeof(*t));
	if (!t)
		return sm_err(err, -ENOMEM, "out of memory");
	net_backend_init(&t->b, &tap_ops);
	t->stop = eventfd(0, EFD_CLOEXEC);
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0 || t->stop < 0) {
		ret =
		    sm_err_errno(err, "--network tap:%s: /dev/net/tun", ifname);
		goto fail;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		ret = sm_err_errno(err,
				   "--network tap:%s: attach to the tap (needs "
				   "root or its owner)",
				   ifname);
		goto fail;
	}
	if (sm_thread_start(&t->thread, SM_ROLE_TAP, tap_thread, t)) {
		ret = sm_err(err, -EAGAIN, "tap: cannot start its thread");
		goto fail;
	}
	t->thread_started = true;
	*out = &t->b;
	return 0;
fail:
	tap_close(&t->b);
	return ret;
}
