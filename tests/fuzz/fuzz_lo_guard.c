/*
 * libFuzzer target for the loopback guard (src/net/lo_guard.c): the
 * input is a conversation of Ethernet frames, each { u8 direction, u16
 * length (LE), frame }: bit 0 of direction set, a frame slirp sends to
 * the guest (lo_guard_to_guest, which remembers UDP peers on 10.0.2.x);
 * clear, a frame from the guest (lo_guard_from_guest, guest-controlled
 * bytes). One fresh guard per input. Besides the sanitizers, the harness
 * checks what the guard promises (docs/networking.md, "The host's
 * loopback") on every guest frame, by its own reading of the bytes:
 * a new TCP connection (SYN without ACK) to the gateway 10.0.2.2 never
 * passes, nor does a TCP fragment to it; a frame that is not IPv4 or not
 * to 10.0.2.x or broadcast always does; the drop counter counts exactly
 * the refusals.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_seed.h"
#include "net/lo_guard.h"

#define TO_GUEST 1

/* ---- seeds: frames as the guest's stack and slirp put them ---- */

struct conv {
	uint8_t d[4096];
	size_t len;
};

static const uint8_t mac_guest[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t mac_slirp[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
static const uint8_t ip_guest[4] = {10, 0, 2, 15};
static const uint8_t ip_gw[4] = {10, 0, 2, 2};
static const uint8_t ip_dns[4] = {10, 0, 2, 3};
static const uint8_t ip_any[4] = {0, 0, 0, 0};
static const uint8_t ip_bcast[4] = {255, 255, 255, 255};
static const uint8_t ip_remote[4] = {93, 184, 216, 34};

static void put_frame(struct conv *c, uint8_t dir, const uint8_t *f,
		      size_t len)
{
	if (c->len + 3 + len > sizeof(c->d))
		abort();
	c->d[c->len] = dir;
	c->d[c->len + 1] = (uint8_t)len;
	c->d[c->len + 2] = (uint8_t)(len >> 8);
	memcpy(c->d + c->len + 3, f, len);
	c->len += 3 + len;
}

static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		  uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

/* An IPv4 header (20 bytes, no options) at f + 14, its checksum set. */
static size_t ipv4(uint8_t *f, const uint8_t *src, const uint8_t *dst,
		   uint8_t proto, uint16_t frag, size_t l4_len)
{
	uint8_t *ip = f + 14;
	uint16_t total = (uint16_t)(20 + l4_len);
	uint32_t sum = 0;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(total >> 8);
	ip[3] = (uint8_t)total;
	ip[4] = 0x12, ip[5] = 0x34; /* id */
	ip[6] = (uint8_t)(frag >> 8);
	ip[7] = (uint8_t)frag;
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~((sum & 0xffff) + (sum >> 16)) & 0xffff;
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
	return 14 + 20;
}

/* A TCP segment without options or payload (checksum left 0). */
static size_t tcp(uint8_t *f, const uint8_t *src, const uint8_t *dst,
		  uint16_t sport, uint16_t dport, uint8_t flags)
{
	size_t n = ipv4(f, src, dst, 6, 0x4000 /* DF */, 20);
	uint8_t *t = f + n;

	memset(t, 0, 20);
	t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
	t[7] = 1;	 /* seq */
	t[12] = 5 << 4; /* header length: 5 words */
	t[13] = flags;
	t[14] = 0xfa, t[15] = 0xf0; /* window */
	return n + 20;
}

static size_t udp(uint8_t *f, const uint8_t *src, const uint8_t *dst,
		  uint16_t sport, uint16_t dport, const char *payload)
{
	size_t pl = strlen(payload);
	size_t n = ipv4(f, src, dst, 17, 0, 8 + pl);
	uint8_t *u = f + n;

	u[0] = (uint8_t)(sport >> 8), u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8), u[3] = (uint8_t)dport;
	u[4] = (uint8_t)((8 + pl) >> 8), u[5] = (uint8_t)(8 + pl);
	u[6] = u[7] = 0; /* no checksum */
	memcpy(u + 8, payload, pl);
	return n + 8 + pl;
}

static void make_seeds(void)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t f[1600];
	struct conv c = {.len = 0};
	size_t n;

	/* the guest connects to the gateway: refused */
	eth(f, mac_slirp, mac_guest, 0x0800);
	put_frame(&c, 0, f, tcp(f, ip_guest, ip_gw, 40000, 8080, 0x02));
	seed_write("tcp-syn-gateway", c.d, c.len);

	/* the host connects to a published port: the guest's SYN-ACK and
	 * ACK pass; a SYN to the internet passes too */
	c.len = 0;
	eth(f, mac_guest, mac_slirp, 0x0800);
	put_frame(&c, TO_GUEST, f, tcp(f, ip_gw, ip_guest, 51000, 80, 0x02));
	eth(f, mac_slirp, mac_guest, 0x0800);
	put_frame(&c, 0, f, tcp(f, ip_guest, ip_gw, 80, 51000, 0x12));
	put_frame(&c, 0, f, tcp(f, ip_guest, ip_gw, 80, 51000, 0x10));
	put_frame(&c, 0, f, tcp(f, ip_guest, ip_remote, 40001, 443, 0x02));
	seed_write("tcp-published", c.d, c.len);

	/* a published UDP port: the peer's datagram, the guest's answer
	 * (passes), a datagram to another port (dropped), DNS (passes) */
	c.len = 0;
	eth(f, mac_guest, mac_slirp, 0x0800);
	put_frame(&c, TO_GUEST, f,
		  udp(f, ip_gw, ip_guest, 5353, 9000, "ping"));
	eth(f, mac_slirp, mac_guest, 0x0800);
	put_frame(&c, 0, f, udp(f, ip_guest, ip_gw, 9000, 5353, "pong"));
	put_frame(&c, 0, f, udp(f, ip_guest, ip_gw, 9000, 6379, "INFO"));
	put_frame(&c, 0, f, udp(f, ip_guest, ip_dns, 33000, 53, "query"));
	seed_write("udp", c.d, c.len);

	/* DHCP discover (broadcast to the server port: passes), ARP for
	 * the gateway, ICMP echo to it */
	c.len = 0;
	eth(f, bcast, mac_guest, 0x0800);
	put_frame(&c, 0, f, udp(f, ip_any, ip_bcast, 68, 67, "discover"));
	n = eth(f, bcast, mac_guest, 0x0806);
	memcpy(f + n, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	memcpy(f + n + 8, mac_guest, 6);
	memcpy(f + n + 14, ip_guest, 4);
	memset(f + n + 18, 0, 6);
	memcpy(f + n + 24, ip_gw, 4);
	put_frame(&c, 0, f, n + 28);
	eth(f, mac_slirp, mac_guest, 0x0800);
	n = ipv4(f, ip_guest, ip_gw, 1, 0, 8);
	memcpy(f + n, "\x08\x00\xf7\xfe\x00\x01\x00\x00", 8);
	put_frame(&c, 0, f, n + 8);
	seed_write("dhcp-arp-icmp", c.d, c.len);

	/* IPv6 (slirp's is off): a SYN to fec0::2 */
	c.len = 0;
	n = eth(f, mac_slirp, mac_guest, 0x86dd);
	memset(f + n, 0, 40 + 20);
	f[n] = 0x60;
	f[n + 5] = 20; /* payload length */
	f[n + 6] = 6;  /* TCP */
	f[n + 7] = 64;
	f[n + 8] = 0xfe, f[n + 9] = 0xc0, f[n + 23] = 15;
	f[n + 24] = 0xfe, f[n + 25] = 0xc0, f[n + 39] = 2;
	f[n + 40 + 2] = 0x1f, f[n + 40 + 3] = 0x90;
	f[n + 40 + 12] = 5 << 4;
	f[n + 40 + 13] = 0x02;
	put_frame(&c, 0, f, n + 60);
	seed_write("ipv6", c.d, c.len);

	/* cut short and split: an IPv4 header cut at 10 bytes, a TCP
	 * header cut before its flags, a SYN with IP options, a TCP
	 * fragment and a later UDP fragment to the gateway */
	c.len = 0;
	eth(f, mac_slirp, mac_guest, 0x0800);
	n = tcp(f, ip_guest, ip_gw, 40002, 22, 0x02);
	put_frame(&c, 0, f, 14 + 10);
	put_frame(&c, 0, f, 14 + 20 + 13);
	memmove(f + 14 + 24, f + 14 + 20, 20);
	f[14] = 0x46; /* 24 header bytes (checksum left stale) */
	f[14 + 3] += 4;
	memcpy(f + 14 + 20, "\x01\x01\x01\x00", 4); /* NOP NOP NOP EOL */
	put_frame(&c, 0, f, n + 4);
	eth(f, mac_slirp, mac_guest, 0x0800);
	n = ipv4(f, ip_guest, ip_gw, 6, 0x2000 | 1 /* MF, offset 8 */, 20);
	memset(f + n, 0, 20);
	put_frame(&c, 0, f, n + 20);
	n = ipv4(f, ip_guest, ip_gw, 17, 2 /* offset 16 */, 8);
	memset(f + n, 0, 8);
	put_frame(&c, 0, f, n + 8);
	seed_write("truncated-fragments", c.d, c.len);
}

FUZZ_SEEDS(make_seeds)

/* ---- the harness ---- */

/* The IPv4 header length of an IPv4 frame to dst that holds it; 0 else. */
static size_t ipv4_to(const uint8_t *f, size_t len, const uint8_t *dst)
{
	size_t ihl;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 ||
	    f[14] >> 4 != 4)
		return 0;
	ihl = (size_t)(f[14] & 0x0f) * 4;
	return ihl >= 20 && len >= 14 + ihl && !memcmp(f + 14 + 16, dst, 4)
		   ? ihl
		   : 0;
}

static bool later_fragment(const uint8_t *f)
{
	return (f[14 + 6] & 0x1f) || f[14 + 7];
}

/*
 * By the harness's own reading: a new TCP connection to 10.0.2.2, or a
 * later fragment of a TCP datagram to it (whose flags nobody can check).
 */
static bool syn_to_gateway(const uint8_t *f, size_t len)
{
	size_t ihl = ipv4_to(f, len, ip_gw);

	if (!ihl || f[14 + 9] != 6)
		return false;
	if (later_fragment(f))
		return true;
	return len >= 14 + ihl + 20 &&
	       (f[14 + ihl + 13] & 0x12) == 0x02; /* SYN, no ACK */
}

/*
 * TCP or UDP to the DNS forwarder 10.0.2.3 on a port other than 53, in a
 * first fragment long enough to hold it (libslirp sends those to the
 * host's resolver address on that port, or to 127.0.0.1).
 */
static bool off_dns_port(const uint8_t *f, size_t len)
{
	size_t ihl = ipv4_to(f, len, ip_dns);

	if (!ihl || len < 14 + ihl + 4 || (f[14 + 9] != 6 && f[14 + 9] != 17) ||
	    later_fragment(f))
		return false;
	return (f[14 + ihl + 2] << 8 | f[14 + ihl + 3]) != 53;
}

/* Not for slirp's loopback at all: not IPv4, or not to 10.0.2.x/bcast. */
static bool elsewhere(const uint8_t *f, size_t len)
{
	const uint8_t *dst = f + 14 + 16;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return true;
	return !(dst[0] == 10 && dst[1] == 0 && dst[2] == 2) &&
	       memcmp(dst, ip_bcast, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lo_guard g;
	size_t off = 0;

	memset(&g, 0, sizeof(g));
	while (size - off >= 3) {
		uint8_t dir = data[off];
		size_t len = (size_t)(data[off + 1] | data[off + 2] << 8);
		const uint8_t *f = data + off + 3;
		uint8_t *copy;
		uint64_t dropped = g.dropped;
		bool pass;

		off += 3;
		if (len > size - off)
			len = size - off;
		off += len;
		/* an exact-size heap copy: ASan sees a read past the frame */
		copy = malloc(len ? len : 1);
		if (!copy)
			return 0;
		memcpy(copy, f, len);
		if (dir & TO_GUEST) {
			lo_guard_to_guest(&g, copy, len);
			if (g.dropped != dropped || g.next >= LO_GUARD_FLOWS)
				abort();
			free(copy);
			continue;
		}
		pass = lo_guard_from_guest(&g, copy, len);
		if (pass && syn_to_gateway(copy, len)) {
			fprintf(stderr, "a SYN or TCP fragment to 10.0.2.2 passed\n");
			abort();
		}
		if (pass && off_dns_port(copy, len)) {
			fprintf(stderr, "TCP/UDP to 10.0.2.3 off port 53 passed\n");
			abort();
		}
		if (!pass && elsewhere(copy, len)) {
			fprintf(stderr, "a frame not for 10.0.2.x was dropped\n");
			abort();
		}
		if (g.dropped != dropped + !pass)
			abort();
		free(copy);
	}
	return 0;
}
