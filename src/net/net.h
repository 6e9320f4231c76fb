/*
 * Network backends for virtio-net: where the guest's Ethernet frames go.
 *
 * A backend takes frames from the device (net_send) and hands frames for
 * the guest to whoever is attached (net_attach's callback, called from the
 * backend's own thread). Backends: "slirp" (user-mode NAT, src/net/slirp.c)
 * and "tap:NAME" (a host tap interface, src/net/tap.c). See
 * docs/networking.md.
 */
#ifndef SM_NET_NET_H
#define SM_NET_NET_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"

/* MTU 1500 plus an Ethernet header and a VLAN tag: no offloads, no GSO. */
#define NET_MAX_FRAME 1518
#define NET_MIN_FRAME 14

/* The guest network (slirp's defaults, as QEMU's user networking). */
#define NET_GUEST_ADDR "10.0.2.15"
#define NET_PREFIX 24
#define NET_GATEWAY "10.0.2.2"
#define NET_DNS "10.0.2.3"
/* The SM_S_NET spec record (src/proto/proto.h) for this network. */
#define SM_NET_SPEC NET_GUEST_ADDR "/24 " NET_GATEWAY " " NET_DNS

#define NET_MAX_PORTS 64

/* One published port: host_addr:host_port -> guest:guest_port. */
struct net_port {
	int udp;
	struct in_addr host_addr; /* default 127.0.0.1 */
	uint16_t host_port;	  /* 0: pick a free one when opening */
	uint16_t guest_port;
};

typedef void (*net_rx_fn)(void *opaque, const void *frame, size_t len);

struct net_backend;

struct net_backend_ops {
	/* Queues one frame for the network; never blocks (drops when full). */
	int (*send)(struct net_backend *b, const void *frame, size_t len);
	void (*close)(struct net_backend *b);
};

struct net_backend {
	const struct net_backend_ops *ops;
	/* Held while delivering, so net_attach(NULL) waits out a delivery. */
	pthread_mutex_t rx_lock;
	net_rx_fn rx;
	void *rx_opaque;
	/* the published ports, host_port resolved */
	struct net_port ports[NET_MAX_PORTS];
	unsigned nports;
	/*
	 * The backend builds every frame it delivers itself (slirp), so
	 * their checksums are right: the device may tell the guest so.
	 */
	bool rx_checksummed;
	/* counters, for tests and docs */
	uint64_t tx_dropped, rx_dropped;
	/*
	 * tap:NAME,addr=A/P,gw=G,mac=M (docs/networking.md): the guest's
	 * address as the SM_S_NET record's text ("": SM_NET_SPEC) and its
	 * NIC's MAC (mac_set; else the default), for a tap that stands in
	 * for an interface of the host's (supermachine-oci's engine netns).
	 */
	char guest_net[64];
	uint8_t mac[6];
	bool mac_set;
};

/* What "slirp:OPT=VAL,..." can change (docs/networking.md). */
struct net_slirp_options {
	/* the guest's 10.0.2.2 reaches the host's 127.0.0.1; off by default:
	 * host services bound to loopback only trust whoever can reach
	 * loopback, and a guest is not that */
	bool allow_host_loopback;
};

/*
 * Opens the backend `spec` names ("slirp", "slirp:OPTIONS" or "tap:NAME")
 * with the given port forwards (slirp only). A port already bound on the
 * host fails with -EADDRINUSE and "port ADDR:PORT is already in use".
 */
int net_open(const char *spec, const struct net_port *ports, unsigned nports,
	     struct net_backend **out, struct sm_error *err);
void net_close(struct net_backend *b);

/* Sets (or with rx NULL clears) who receives the guest's frames. */
void net_attach(struct net_backend *b, net_rx_fn rx, void *opaque);

static inline int net_send(struct net_backend *b, const void *frame, size_t len)
{
	return b->ops->send(b, frame, len);
}

/* For backends: passes a frame to the attached receiver, if any. */
void net_deliver(struct net_backend *b, const void *frame, size_t len);

/* Common part of backend setup and teardown. */
void net_backend_init(struct net_backend *b, const struct net_backend_ops *ops);
void net_backend_fini(struct net_backend *b);

/* Parses the OPTIONS of "slirp:OPTIONS": comma-separated KEY=VALUE, the
 * one KEY being allow_host_loopback (true or false, as podman's
 * slirp4netns). Pure; -EINVAL and a message on anything else. */
int net_slirp_parse_options(const char *opts, struct net_slirp_options *o,
			    struct sm_error *err);
int net_slirp_open(const struct net_slirp_options *opts,
		   const struct net_port *ports, unsigned nports,
		   struct net_backend **out, struct sm_error *err);
int net_tap_open(const char *ifname, struct net_backend **out,
		 struct sm_error *err);

/* ---- published ports (src/net/ports.c, pure) ---- */

/*
 * Parses one docker -p spec: "[IP:][HOSTPORT:]GUESTPORT[/tcp|/udp]",
 * "IP::GUESTPORT"; ports may be ranges "8000-8003" (a host range must be
 * as long as the guest range; no host port with a guest range: each gets
 * a free host port). Appends to ports[*n]; fails with -EINVAL and a message on
 * bad input, -E2BIG past max.
 */
int net_parse_publish(const char *spec, struct net_port *ports, unsigned max,
		      unsigned *n, struct sm_error *err);

/* Parses an image ExposedPorts key ("80/tcp", "53/udp", "80") for -P. */
int net_parse_exposed(const char *key, struct net_port *ports, unsigned max,
		      unsigned *n, struct sm_error *err);

/* Formats ports as "127.0.0.1:8080->80/tcp, ..." into buf. */
int net_format_ports(const struct net_port *ports, unsigned n, char *buf,
		     size_t size);

#endif
