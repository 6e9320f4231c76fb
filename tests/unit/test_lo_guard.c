/*
 * src/net/lo_guard.c: the guest's frames to slirp's addresses, which
 * libslirp would send to the host's loopback (10.0.2.3: to the host's
 * resolver, where the guest needs port 53 only).
 */
#include <arpa/inet.h>
#include <string.h>

#include "net/lo_guard.h"
#include "test.h"

/* An Ethernet + IPv4 frame from the guest with an L4 header. */
static size_t frame(uint8_t *f, uint32_t dst, uint8_t proto, uint16_t sport,
		    uint16_t dport, uint8_t tcp_flags, uint16_t frag)
{
	uint8_t *ip = f + 14, *l4 = ip + 20;

	memset(f, 0, 14 + 20 + 20);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[6] = (uint8_t)(frag >> 8);
	ip[7] = (uint8_t)frag;
	ip[9] = proto;
	ip[12] = 10, ip[13] = 0, ip[14] = 2, ip[15] = 15; /* the guest */
	dst = htonl(dst);
	memcpy(ip + 16, &dst, 4);
	l4[0] = (uint8_t)(sport >> 8), l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8), l4[3] = (uint8_t)dport;
	l4[13] = tcp_flags;
	return 14 + 20 + 20;
}

#define GW 0x0a000202u
#define DNS 0x0a000203u
#define OUT 0x08080808u
#define SYN 0x02
#define ACK 0x10

static bool pass(struct lo_guard *g, uint32_t dst, uint8_t proto,
		 uint16_t dport, uint8_t flags, uint16_t frag)
{
	uint8_t f[64];
	size_t n = frame(f, dst, proto, 40000, dport, flags, frag);

	return lo_guard_from_guest(g, f, n);
}

TEST(dns_forwarder_gets_port_53_only)
{
	struct lo_guard g = {0};

	CHECK(pass(&g, DNS, 17, 53, 0, 0));
	CHECK(pass(&g, DNS, 6, 53, SYN, 0));
	CHECK(pass(&g, DNS, 1, 0, 0, 0));
	/* not DNS: refused here whatever libslirp would do with them */
	CHECK(!pass(&g, DNS, 6, 22, SYN, 0));
	CHECK(!pass(&g, DNS, 6, 8080, ACK, 0));
	CHECK(!pass(&g, DNS, 17, 5353, 0, 0));
	CHECK(!pass(&g, DNS, 47, 0, 0, 0)); /* GRE */
	CHECK_EQ(g.dropped, 4);
}

TEST(gateway_new_connections_dropped)
{
	struct lo_guard g = {0};

	CHECK(!pass(&g, GW, 6, 22, SYN, 0));
	CHECK(pass(&g, GW, 6, 22, SYN | ACK, 0)); /* a published port's */
	CHECK(!pass(&g, GW, 17, 53, 0, 0));	  /* no peer remembered */
	CHECK(!pass(&g, GW, 6, 22, 0, 0x0001));	  /* a later TCP fragment */
	CHECK(pass(&g, OUT, 6, 22, SYN, 0));	  /* the internet */
	CHECK(pass(&g, OUT, 17, 9, 0, 0));
	CHECK_EQ(g.dropped, 3);
}

TEST(short_and_odd_frames)
{
	struct lo_guard g = {0};
	uint8_t f[64];
	size_t n = frame(f, DNS, 17, 1, 53, 0, 0);

	/* a first fragment too short to hold the destination port */
	CHECK(!lo_guard_from_guest(&g, f, 14 + 20 + 3));
	CHECK(lo_guard_from_guest(&g, f, n));
	f[12] = 0x86, f[13] = 0xdd; /* IPv6: not slirp's loopback mapping */
	CHECK(lo_guard_from_guest(&g, f, n));
	CHECK(lo_guard_from_guest(&g, f, 10)); /* not even Ethernet */
}

int main(void)
{
	RUN(dns_forwarder_gets_port_53_only);
	RUN(gateway_new_connections_dropped);
	RUN(short_and_odd_frames);
	return test_summary();
}
