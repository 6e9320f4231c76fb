/* What every network backend shares: choosing one, the receiver hook. */
#include <errno.h>
#include <string.h>

#include "net/net.h"
#include "util/error.h"

/* One "KEY=VALUE" of slirp's options, n bytes long. */
static int slirp_option(const char *kv, size_t n, struct net_slirp_options *o,
			struct sm_error *err)
{
	static const char key[] = "allow_host_loopback=";
	size_t k = sizeof(key) - 1;

	if (n > k && !strncmp(kv, key, k)) {
		if (n - k == 4 && !strncmp(kv + k, "true", 4)) {
			o->allow_host_loopback = true;
			return 0;
		}
		if (n - k == 5 && !strncmp(kv + k, "false", 5)) {
			o->allow_host_loopback = false;
			return 0;
		}
	}
	return sm_err(err, -EINVAL,
		      "--network slirp: bad option '%.*s' (expected "
		      "allow_host_loopback=true or false)",
		      (int)(n > 64 ? 64 : n), kv);
}

int net_slirp_parse_options(const char *opts, struct net_slirp_options *o,
			    struct sm_error *err)
{
	*o = (struct net_slirp_options){0};
	for (const char *p = opts;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int ret = slirp_option(p, n, o, err);

		if (ret)
			return ret;
		if (!end)
			return 0;
		p = end + 1;
	}
}

int net_open(const char *spec, const struct net_port *ports, unsigned nports,
	     struct net_backend **out, struct sm_error *err)
{
	struct net_slirp_options so = {0};
	int ret;

	if (!spec || strcmp(spec, "slirp") == 0)
		return net_slirp_open(&so, ports, nports, out, err);
	if (strncmp(spec, "slirp:", 6) == 0) {
		ret = net_slirp_parse_options(spec + 6, &so, err);
		return ret ? ret : net_slirp_open(&so, ports, nports, out, err);
	}
	if (strncmp(spec, "tap:", 4) == 0) {
		if (nports)
			return sm_err(
			    err, -EINVAL,
			    "--network %s: published ports need the slirp "
			    "network (a tap is bridged by the host)",
			    spec);
		return net_tap_open(spec + 4, out, err);
	}
	return sm_err(
	    err, -EINVAL,
	    "--network %s: expected slirp[:OPTIONS], none or tap:NAME", spec);
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
