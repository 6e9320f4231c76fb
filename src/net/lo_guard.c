/* The guest kept off the host's loopback: see lo_guard.h. */
#include <arpa/inet.h>
#include <string.h>

#include "net/lo_guard.h"

#define ETH_HLEN 14
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define NET_DNS_ADDR 0x0a000203u /* 10.0.2.3, host order */

/* What the guard needs of an IPv4 frame; false when it is not one. */
struct ip_view {
	uint32_t src, dst; /* network order */
	uint8_t proto;
	bool first_fragment;
	const uint8_t *l4;
	size_t l4_len;
};

static bool parse_ipv4(const uint8_t *f, size_t len, struct ip_view *v)
{
	const uint8_t *ip = f + ETH_HLEN;
	size_t ihl;

	if (len < ETH_HLEN + 20 || f[12] != 0x08 || f[13] != 0x00)
		return false;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20 || ETH_HLEN + ihl > len)
		return false;
	memcpy(&v->src, ip + 12, 4);
	memcpy(&v->dst, ip + 16, 4);
	v->proto = ip[9];
	v->first_fragment = ((ip[6] & 0x1f) | ip[7]) == 0;
	v->l4 = ip + ihl;
	v->l4_len = len - ETH_HLEN - ihl;
	return true;
}

static uint16_t port_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Where slirp sends to the host's 127.0.0.1: 10.0.2.x, its own network,
 * other than its DNS forwarder (libslirp 4.7 maps them all, not only the
 * gateway), and the broadcast address.
 */
static bool maps_to_loopback(uint32_t addr)
{
	uint32_t a = ntohl(addr);

	return ((a & 0xffffff00u) == 0x0a000200u && a != NET_DNS_ADDR) ||
	       a == 0xffffffffu;
}

void lo_guard_to_guest(struct lo_guard *g, const uint8_t *frame, size_t len)
{
	struct ip_view v;
	struct lo_flow f = {.used = true};

	if (!parse_ipv4(frame, len, &v) || v.proto != IP_PROTO_UDP ||
	    !v.first_fragment || v.l4_len < 8 || !maps_to_loopback(v.src))
		return;
	f.peer_addr = v.src;
	f.peer_port = port_at(v.l4);
	f.guest_port = port_at(v.l4 + 2);
	for (unsigned i = 0; i < LO_GUARD_FLOWS; i++)
		if (g->flows[i].used && g->flows[i].peer_addr == f.peer_addr &&
		    g->flows[i].peer_port == f.peer_port &&
		    g->flows[i].guest_port == f.guest_port)
			return;
	g->flows[g->next] = f;
	g->next = (g->next + 1) % LO_GUARD_FLOWS;
}

#define BOOTP_SERVER 67 /* slirp's DHCP server answers it itself */

static bool udp_answer(const struct lo_guard *g, const struct ip_view *v)
{
	uint16_t sport, dport;

	if (!v->first_fragment)
		return true; /* no ports; alone it never reassembles */
	if (v->l4_len < 8)
		return false;
	sport = port_at(v->l4);
	dport = port_at(v->l4 + 2);
	if (dport == BOOTP_SERVER && v->dst == 0xffffffffu)
		return true;
	for (unsigned i = 0; i < LO_GUARD_FLOWS; i++)
		if (g->flows[i].used && g->flows[i].peer_addr == v->dst &&
		    g->flows[i].peer_port == dport &&
		    g->flows[i].guest_port == sport)
			return true;
	return false;
}

#define DNS_PORT 53

/*
 * The DNS forwarder is an address libslirp maps to the host's resolver;
 * the guest needs port 53 there (UDP and TCP) and ICMP, nothing else.
 * libslirp 4.7 refuses the other ports itself (docs/networking.md); the
 * guard does not rest on that. A later fragment never reassembles
 * without its first, which carries the port.
 */
static bool to_dns_forwarder(const struct ip_view *v)
{
	switch (v->proto) {
	case IP_PROTO_ICMP:
		return true;
	case IP_PROTO_TCP:
	case IP_PROTO_UDP:
		return !v->first_fragment ||
		       (v->l4_len >= 4 && port_at(v->l4 + 2) == DNS_PORT);
	default:
		return false;
	}
}

static bool allowed(const struct lo_guard *g, const struct ip_view *v)
{
	switch (v->proto) {
	case IP_PROTO_ICMP:
		return true;
	case IP_PROTO_TCP:
		/* the flags must be in the fragment checked (TCP here is
		 * never fragmented: the guest's MTU is slirp's) */
		return v->first_fragment && v->l4_len >= 14 &&
		       (v->l4[13] & (TCP_SYN | TCP_ACK)) != TCP_SYN;
	case IP_PROTO_UDP:
		return udp_answer(g, v);
	default:
		return false;
	}
}

bool lo_guard_from_guest(struct lo_guard *g, const uint8_t *frame, size_t len)
{
	struct ip_view v;

	if (!parse_ipv4(frame, len, &v))
		return true;
	if (ntohl(v.dst) == NET_DNS_ADDR
		? to_dns_forwarder(&v)
		: !maps_to_loopback(v.dst) || allowed(g, &v))
		return true;
	g->dropped++;
	return false;
}
