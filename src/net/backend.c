/* What every network backend shares: choosing one, the receiver hook. */
#include <errno.h>
#include <string.h>

#include "net/net.h"
#include "util/error.h"

int net_open(const char *spec, const struct net_port *ports, unsigned nports,
	     struct net_backend **out, struct sm_error *err)
{
	if (!spec || strcmp(spec, "slirp") == 0)
		return net_slirp_open(ports, nports, out, err);
	if (strncmp(spec, "tap:", 4) == 0) {
		if (nports)
			return sm_err(
			    err, -EINVAL,
			    "--network %s: published ports need the slirp "
			    "network (a tap is bridged by the host)",
			    spec);
		return net_tap_open(spec + 4, out, err);
	}
	return sm_err(err, -EINVAL,
		      "--network %s: expected slirp, none or tap:NAME", spec);
}

void net_close(struct net_backend *b)
{
	if (b)
		b->ops->close(b);
}

void net_backend_init(struct net_backend *b, const struct net_backend_ops *ops)
{
	b->ops = ops;
	pthread_mutex_init(&b->rx_lock, NULL);
}

void net_backend_fini(struct net_backend *b)
{
	pthread_mutex_destroy(&b->rx_lock);
}

void net_attach(struct net_backend *b, net_rx_fn rx, void *opaque)
{
	pthread_mutex_lock(&b->rx_lock);
	b->rx = rx;
	b->rx_opaque = opaque;
	pthread_mutex_unlock(&b->rx_lock);
}

void net_deliver(struct net_backend *b, const void *frame, size_t len)
{
	pthread_mutex_lock(&b->rx_lock);
	if (b->rx && len >= NET_MIN_FRAME && len <= NET_MAX_FRAME)
		b->rx(b->rx_opaque, frame, len);
	else
		__atomic_fetch_add(&b->rx_dropped, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&b->rx_lock);
}
