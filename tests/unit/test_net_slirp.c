/*
 * The slirp backend without a VM: "slirp:OPTIONS" parsing, and hand-built
 * guest frames fed to a real libslirp, to see where they go on the host.
 *   - a guest SYN to the gateway 10.0.2.2:P must not reach a server on the
 *     host's 127.0.0.1:P by default, and must with allow_host_loopback=true
 *   - a published port still forwards to the guest by default (a SYN to
 *     its port 80 comes out when the host connects)
 *   - a published UDP port's answer gets back to the host's sender, while
 *     the same guest port cannot send to another port of the host's
 *     loopback
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "net/net.h"

static struct sm_error err;

TEST(options_parsed)
{
	struct net_slirp_options o;

	CHECK_EQ(net_slirp_parse_options("allow_host_loopback=true", &o, &err),
		 0);
	CHECK(o.allow_host_loopback);
	CHECK_EQ(
	    net_slirp_parse_options(
		"allow_host_loopback=true,allow_host_loopback=false", &o, &err),
	    0);
	CHECK(!o.allow_host_loopback);
	static const char *bad[] = {
	    "",
	    "allow_host_loopback",
	    "allow_host_loopback=",
	    "allow_host_loopback=yes",
	    "allow_host_loopback=truex",
	    "allow_host_loopback=true,",
	    "port_handler=slirp4netns",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		memset(&err, 0, sizeof(err));
		CHECK_EQ(net_slirp_parse_options(bad[i], &o, &err), -EINVAL);
		CHECK(strstr(err.msg, "expected allow_host_loopback=true"));
	}
	/* through net_open, as --network passes it */
	struct net_backend *b = NULL;
	CHECK_EQ(net_open("slirp:allow_host_loopback=maybe", NULL, 0, &b, &err),
		 -EINVAL);
	CHECK(strstr(err.msg, "bad option 'allow_host_loopback=maybe'"));
}

static uint16_t csum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;

	for (; n > 1; n -= 2, b += 2)
		sum += (uint32_t)b[0] << 8 | b[1];
	if (n)
		sum += (uint32_t)b[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An Ethernet frame with a TCP SYN from the guest to 10.0.2.2:port. */
static size_t syn_to_gateway(uint8_t *f, uint16_t port)
{
	static const uint8_t macs[12] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02,
					 0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	uint8_t *ip = f + 14, *tcp = ip + 20, pseudo[12 + 20];
	uint16_t c;

	memset(f, 0, 54);
	memcpy(f, macs, 12);
	f[12] = 0x08; /* IPv4 */
	ip[0] = 0x45;
	ip[3] = 40;   /* total length */
	ip[6] = 0x40; /* DF */
	ip[8] = 64;   /* TTL */
	ip[9] = 6;    /* TCP */
	inet_pton(AF_INET, NET_GUEST_ADDR, ip + 12);
	inet_pton(AF_INET, NET_GATEWAY, ip + 16);
	c = csum(ip, 20, 0);
	ip[10] = c >> 8, ip[11] = c & 0xff;
	tcp[0] = 40000 >> 8, tcp[1] = 40000 & 0xff;
	tcp[2] = port >> 8, tcp[3] = port & 0xff;
	tcp[7] = 1;		  /* seq */
	tcp[12] = 5 << 4;	  /* header length */
	tcp[13] = 0x02;		  /* SYN */
	tcp[14] = tcp[15] = 0xff; /* window */
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0, pseudo[9] = 6, pseudo[10] = 0, pseudo[11] = 20;
	memcpy(pseudo + 12, tcp, 20);
	c = csum(pseudo, sizeof(pseudo), 0);
	tcp[16] = c >> 8, tcp[17] = c & 0xff;
	return 54;
}

/* Does a guest SYN to 10.0.2.2:P reach a listener on 127.0.0.1:P? 1 yes,
 * 0 no (within wait_ms), -1 setup failed. */
static int gateway_reaches_loopback(const char *spec, int wait_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	struct net_backend *b = NULL;
	uint8_t frame[64];
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = -1;
	struct pollfd pfd = {.fd = l, .events = POLLIN};

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(l, 4) || getsockname(l, (struct sockaddr *)&sa, &sl) ||
	    net_open(spec, NULL, 0, &b, &err))
		goto out;
	net_send(b, frame, syn_to_gateway(frame, ntohs(sa.sin_port)));
	ret = poll(&pfd, 1, wait_ms) == 1;
out:
	net_close(b);
	if (l >= 0)
		close(l);
	return ret;
}

/* The control: the opt-in reaches the listener, so the frame is good and
 * the default's silence means something. */
TEST(host_loopback_opt_in)
{
	CHECK_EQ(
	    gateway_reaches_loopback("slirp:allow_host_loopback=true", 5000),
	    1);
}

TEST(host_loopback_off_by_default)
{
	CHECK_EQ(gateway_reaches_loopback(NULL, 1500), 0);
	CHECK_EQ(gateway_reaches_loopback("slirp", 500), 0);
	CHECK_EQ(
	    gateway_reaches_loopback("slirp:allow_host_loopback=false", 500),
	    0);
}

/* The guest asks who has 10.0.2.2: slirp learns the guest's MAC, so it
 * sends it IP frames at once instead of asking for it first. */
static size_t arp_for_gateway(uint8_t *f)
{
	static const uint8_t head[22] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34,
	    0x56, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6,    4,	  0x00, 0x01};

	memset(f, 0, 42);
	memcpy(f, head, sizeof(head));
	memcpy(f + 22, head + 6, 6); /* sender MAC */
	inet_pton(AF_INET, NET_GUEST_ADDR, f + 28);
	inet_pton(AF_INET, NET_GATEWAY, f + 38);
	return 42;
}

static int to_guest_port_80;

/* slirp's answer to a connection on the published port: a SYN to the
 * guest's port 80. */
static void on_frame(void *opaque, const void *frame, size_t len)
{
	const uint8_t *f = frame;
	uint8_t guest[4];

	(void)opaque;
	inet_pton(AF_INET, NET_GUEST_ADDR, guest);
	if (len >= 54 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 6 &&
	    !memcmp(f + 30, guest, 4) && f[36] == 0 && f[37] == 80 &&
	    (f[47] & 0x02))
		__atomic_store_n(&to_guest_port_80, 1, __ATOMIC_RELEASE);
}

TEST(published_port_still_forwards)
{
	struct net_port p[NET_MAX_PORTS];
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct net_backend *b = NULL;
	uint8_t frame[64];
	unsigned n = 0;
	int c = -1;

	CHECK_EQ(net_parse_publish("80", p, NET_MAX_PORTS, &n, &err), 0);
	CHECK_EQ(net_open(NULL, p, n, &b, &err), 0);
	if (!b)
		return;
	net_attach(b, on_frame, NULL);
	net_send(b, frame, arp_for_gateway(frame));
	sa.sin_port = htons(b->ports[0].host_port);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0 && connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	for (int i = 0;
	     i < 200 && !__atomic_load_n(&to_guest_port_80, __ATOMIC_ACQUIRE);
	     i++)
		usleep(10000);
	CHECK(__atomic_load_n(&to_guest_port_80, __ATOMIC_ACQUIRE));
	net_attach(b, NULL, NULL);
	net_close(b);
	if (c >= 0)
		close(c);
}

/* An Ethernet frame with a UDP datagram from guest:sport to dst:dport. */
static size_t udp_frame(uint8_t *f, uint16_t sport, const uint8_t dst[4],
			uint16_t dport, const char *payload)
{
	static const uint8_t macs[12] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02,
					 0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	size_t n = strlen(payload);
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t c;

	memset(f, 0, 42 + n);
	memcpy(f, macs, 12);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((28 + n) >> 8), ip[3] = (uint8_t)(28 + n);
	ip[8] = 64;
	ip[9] = 17; /* UDP */
	inet_pton(AF_INET, NET_GUEST_ADDR, ip + 12);
	memcpy(ip + 16, dst, 4);
	c = csum(ip, 20, 0);
	ip[10] = c >> 8, ip[11] = c & 0xff;
	udp[0] = sport >> 8, udp[1] = sport & 0xff;
	udp[2] = dport >> 8, udp[3] = dport & 0xff;
	udp[4] = (uint8_t)((8 + n) >> 8), udp[5] = (uint8_t)(8 + n);
	memcpy(udp + 8, payload, n); /* checksum 0: none, as IPv4 allows */
	return 42 + n;
}

/* The last UDP datagram slirp sent to the guest's port 5353. */
static struct {
	int seen;
	uint8_t src[4];
	uint16_t sport;
} udp_in;

static void on_udp_frame(void *opaque, const void *frame, size_t len)
{
	const uint8_t *f = frame;

	(void)opaque;
	if (len >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 &&
	    f[36] == 5353 >> 8 && f[37] == (5353 & 0xff) &&
	    !__atomic_load_n(&udp_in.seen, __ATOMIC_ACQUIRE)) {
		memcpy(udp_in.src, f + 26, 4);
		udp_in.sport = (uint16_t)(f[34] << 8 | f[35]);
		__atomic_store_n(&udp_in.seen, 1, __ATOMIC_RELEASE);
	}
}

static int udp_socket(struct sockaddr_in *sa)
{
	socklen_t sl = sizeof(*sa);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->sin_port = 0;
	if (s >= 0 && (bind(s, (struct sockaddr *)sa, sizeof(*sa)) ||
		       getsockname(s, (struct sockaddr *)sa, &sl))) {
		close(s);
		s = -1;
	}
	return s;
}

static bool got_within(int s, const char *want, int ms)
{
	struct pollfd pfd = {.fd = s, .events = POLLIN};
	char buf[64];
	ssize_t n;

	if (poll(&pfd, 1, ms) != 1)
		return false;
	n = recv(s, buf, sizeof(buf) - 1, 0);
	return n == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)n);
}

/*
 * -p 5353/udp: the host's datagram reaches the guest from 10.0.2.2:X, and
 * the guest's answer to 10.0.2.2:X reaches the sender (slirp's own
 * disable_host_loopback drops it). The same guest port sending to another
 * host loopback port does not get through unless allow_host_loopback.
 */
static void udp_round_trip(const char *spec, bool answer_expected,
			   bool other_expected)
{
	struct net_port p[NET_MAX_PORTS];
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in me, other;
	struct net_backend *b = NULL;
	uint8_t frame[128];
	unsigned n = 0;
	int c = udp_socket(&me), o = udp_socket(&other);

	memset(&udp_in, 0, sizeof(udp_in));
	CHECK(c >= 0 && o >= 0);
	CHECK_EQ(net_parse_publish("5353/udp", p, NET_MAX_PORTS, &n, &err), 0);
	CHECK_EQ(net_open(spec, p, n, &b, &err), 0);
	if (!b || c < 0 || o < 0)
		goto out;
	net_attach(b, on_udp_frame, NULL);
	net_send(b, frame, arp_for_gateway(frame));
	to.sin_port = htons(b->ports[0].host_port);
	for (int i = 0;
	     i < 50 && !__atomic_load_n(&udp_in.seen, __ATOMIC_ACQUIRE); i++) {
		sendto(c, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to));
		usleep(100000);
	}
	CHECK(__atomic_load_n(&udp_in.seen, __ATOMIC_ACQUIRE));
	if (!udp_in.seen)
		goto out;
	net_send(b, frame,
		 udp_frame(frame, 5353, udp_in.src, udp_in.sport, "pong"));
	CHECK_EQ(got_within(c, "pong", 3000), answer_expected);
	net_send(
	    b, frame,
	    udp_frame(frame, 5353, udp_in.src, ntohs(other.sin_port), "sneak"));
	CHECK_EQ(got_within(o, "sneak", 1000), other_expected);
out:
	if (b)
		net_attach(b, NULL, NULL);
	net_close(b);
	if (c >= 0)
		close(c);
	if (o >= 0)
		close(o);
}

TEST(published_udp_port_answers)
{
	udp_round_trip(NULL, true, false);
}

/* The control: with the opt-in the other port is reached, so the default's
 * silence is the guard's. */
TEST(published_udp_port_opt_in_reaches_other_ports)
{
	udp_round_trip("slirp:allow_host_loopback=true", true, true);
}

int main(void)
{
	RUN(options_parsed);
	RUN(host_loopback_opt_in);
	RUN(host_loopback_off_by_default);
	RUN(published_port_still_forwards);
	RUN(published_udp_port_answers);
	RUN(published_udp_port_opt_in_reaches_other_ports);
	return test_summary();
}
