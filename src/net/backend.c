/* What every network backend shares: choosing one, the receiver hook. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

/* The options after tap:NAME (addr=A/P, gw=G, mac=M) for b. */
struct tap_guest {
	char addr[20], gw[16];
	uint8_t mac[6];
	bool mac_set;
};

static bool ipv4_text(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static int tap_option(const char *opt, struct tap_guest *g)
{
	unsigned prefix;
	char ip[16], tail;

	if (!strncmp(opt, "addr=", 5))
		return sscanf(opt + 5, "%15[0-9.]/%u%c", ip, &prefix, &tail) ==
				   2 &&
			       prefix <= 32 && ipv4_text(ip) &&
			       snprintf(g->addr, sizeof(g->addr), "%s/%u", ip,
					prefix) > 0
			   ? 0
			   : -1;
	if (!strncmp(opt, "gw=", 3))
		return strlen(opt + 3) < sizeof(g->gw) && ipv4_text(opt + 3) &&
			       snprintf(g->gw, sizeof(g->gw), "%s", opt + 3) > 0
			   ? 0
			   : -1;
	if (!strncmp(opt, "mac=", 4)) {
		unsigned m[6];

		if (strlen(opt + 4) != 17 ||
		    sscanf(opt + 4, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1],
			   &m[2], &m[3], &m[4], &m[5], &tail) != 6 ||
		    (m[0] & 1)) /* a multicast address is no NIC's */
			return -1;
		for (int i = 0; i < 6; i++)
			g->mac[i] = (uint8_t)m[i];
		g->mac_set = true;
		return 0;
	}
	return -1;
}

/* tap:NAME[,addr=A/P,gw=G][,mac=M]: the tap, then the guest's side. */
static int open_tap(const char *spec, struct net_backend **out,
		    struct sm_error *err)
{
	char name[64], opts[256], *save = NULL;
	struct tap_guest g = {0};
	const char *comma = strchr(spec, ',');
	int ret;

	if (strlen(spec) >= sizeof(opts) ||
	    (size_t)(comma ? comma - spec : (long)strlen(spec)) >= sizeof(name))
		return sm_err(err, -EINVAL, "--network tap:%.64s: too long",
			      spec);
	snprintf(name, sizeof(name), "%.*s",
		 (int)(comma ? comma - spec : (long)strlen(spec)), spec);
	snprintf(opts, sizeof(opts), "%s", comma ? comma + 1 : "");
	for (char *o = strtok_r(opts, ",", &save); o;
	     o = strtok_r(NULL, ",", &save))
		if (tap_option(o, &g))
			return sm_err(err, -EINVAL,
				      "--network tap:%s: bad option \"%.64s\" "
				      "(addr=A.B.C.D/N, gw=A.B.C.D, "
				      "mac=XX:XX:XX:XX:XX:XX)",
				      name, o);
	if (!g.addr[0] != !g.gw[0])
		return sm_err(err, -EINVAL,
			      "--network tap:%s: addr= and gw= go together",
			      name);
	ret = net_tap_open(name, out, err);
	if (ret)
		return ret;
	if (g.addr[0])
		snprintf((*out)->guest_net, sizeof((*out)->guest_net),
			 "%s %s %s", g.addr, g.gw, g.gw);
	memcpy((*out)->mac, g.mac, sizeof(g.mac));
	(*out)->mac_set = g.mac_set;
	return 0;
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
		return open_tap(spec + 4, out, err);
	}
	return sm_err(err, -EINVAL,
		      "--network %s: expected slirp[:OPTIONS], none or "
		      "tap:NAME[,addr=A/P,gw=G][,mac=M]",
		      spec);
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
