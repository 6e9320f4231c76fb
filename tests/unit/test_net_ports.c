/* -p/-P parsing, port formatting, and slirp's host port binding. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "net/net.h"

static struct net_port ports[NET_MAX_PORTS];
static unsigned n;
static struct sm_error err;

static int parse(const char *spec)
{
	n = 0;
	memset(&err, 0, sizeof(err));
	return net_parse_publish(spec, ports, NET_MAX_PORTS, &n, &err);
}

static const char *fmt(void)
{
	static char buf[512];

	if (net_format_ports(ports, n, buf, sizeof(buf)))
		return "(too long)";
	return buf;
}

TEST(host_and_guest_port)
{
	CHECK_EQ(parse("8080:80"), 0);
	CHECK_EQ(n, 1);
	CHECK_STR(fmt(), "127.0.0.1:8080->80/tcp");
}

TEST(guest_port_only_gets_random_host_port)
{
	CHECK_EQ(parse("80"), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(ports[0].host_port, 0);
	CHECK_EQ(ports[0].guest_port, 80);
	CHECK_EQ(ports[0].host_addr.s_addr, htonl(INADDR_LOOPBACK));
}

TEST(ip_host_guest_udp)
{
	CHECK_EQ(parse("0.0.0.0:5353:53/udp"), 0);
	CHECK_STR(fmt(), "0.0.0.0:5353->53/udp");
	CHECK_EQ(parse("10.1.2.3::80/tcp"), 0);
	CHECK_EQ(ports[0].host_port, 0);
	CHECK_STR(fmt(), "10.1.2.3:0->80/tcp");
}

TEST(ranges)
{
	CHECK_EQ(parse("9000-9002:80-82"), 0);
	CHECK_STR(fmt(), "127.0.0.1:9000->80/tcp, 127.0.0.1:9001->81/tcp, "
			 "127.0.0.1:9002->82/tcp");
	CHECK_EQ(parse("8000-8001"), 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(ports[1].guest_port, 8001);
	CHECK_EQ(ports[1].host_port, 0);
	CHECK_EQ(parse("9000-9001:80-82"), -EINVAL);
	CHECK(strstr(err.msg, "differ in length"));
}

TEST(bad_specs_are_refused)
{
	static const char *const bad[] = {
	    "",
	    "0",
	    "65536",
	    "80/sctp",
	    "80/",
	    "abc",
	    ":80",
	    "::80",
	    "1.2.3:8080:80",
	    "8080:",
	    "8080:0",
	    "9-8",
	    "80-",
	    "-80",
	    "1.2.3.4:x:80",
	    "8080:80:90:100",
	    "99999999999999999999",
	    NULL,
	};

	for (unsigned i = 0; bad[i]; i++) {
		CHECK_EQ(parse(bad[i]), -EINVAL);
		CHECK(err.msg[0] != '\0');
	}
}

TEST(too_many_ports)
{
	n = 0;
	CHECK_EQ(net_parse_publish("1000-1100", ports, NET_MAX_PORTS, &n, &err),
		 -E2BIG);
	CHECK(n <= NET_MAX_PORTS);
}

TEST(exposed_ports)
{
	n = 0;
	CHECK_EQ(net_parse_exposed("80/tcp", ports, NET_MAX_PORTS, &n, &err),
		 0);
	CHECK_EQ(net_parse_exposed("53/udp", ports, NET_MAX_PORTS, &n, &err),
		 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(ports[1].udp, 1);
	CHECK_EQ(ports[0].host_port, 0);
	CHECK_EQ(net_parse_exposed("1:2", ports, NET_MAX_PORTS, &n, &err),
		 -EINVAL);
}

TEST(format_small_buffer)
{
	char buf[8];

	CHECK_EQ(parse("8080:80"), 0);
	CHECK_EQ(net_format_ports(ports, n, buf, sizeof(buf)), -ENOSPC);
	CHECK_EQ(net_format_ports(ports, 0, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
}

/* slirp binds published ports: a random one is resolved, a taken one
 * fails with the message the CLI prints. */
TEST(slirp_port_in_use)
{
	struct net_backend *a = NULL, *b = NULL;
	char want[64];
	int ret;

	CHECK_EQ(parse("80"), 0);
	ret = net_open("slirp", ports, n, &a, &err);
	CHECK_EQ(ret, 0);
	if (ret)
		return;
	CHECK_EQ(a->nports, 1);
	CHECK(a->ports[0].host_port != 0);
	ports[0].host_port = a->ports[0].host_port;
	ret = net_open(NULL, ports, n, &b, &err);
	CHECK_EQ(ret, -EADDRINUSE);
	snprintf(want, sizeof(want), "port 127.0.0.1:%u is already in use",
		 a->ports[0].host_port);
	CHECK(strcmp(err.msg, want) == 0);
	if (!ret)
		net_close(b);
	net_close(a);
	/* freed: the same port can be published again */
	ret = net_open("slirp", ports, n, &b, &err);
	CHECK_EQ(ret, 0);
	if (!ret)
		net_close(b);
}

TEST(bad_network_mode)
{
	struct net_backend *b;

	CHECK_EQ(net_open("bridge", NULL, 0, &b, &err), -EINVAL);
	CHECK(strstr(err.msg, "slirp[:OPTIONS], none or tap:NAME"));
	CHECK_EQ(parse("80"), 0);
	CHECK_EQ(net_open("tap:x", ports, n, &b, &err), -EINVAL);
}

/* tap:NAME,addr=,gw=,mac=: refused before any tap is opened when wrong;
 * right, they reach the tap itself (none named so: -ENODEV). */
TEST(tap_guest_options)
{
	static const char *const bad[] = {
	    "tap:smx0,addr=10.0.0.2/24", /* without gw */
	    "tap:smx0,gw=10.0.0.1",	 /* without addr */
	    "tap:smx0,addr=10.0.0.2/33,gw=10.0.0.1",
	    "tap:smx0,addr=10.0.0.256/24,gw=10.0.0.1",
	    "tap:smx0,addr=10.0.0.2/24x,gw=10.0.0.1",
	    "tap:smx0,addr=10.0.0.2/24,gw=host",
	    "tap:smx0,mac=01:02:03:04:05:06", /* multicast */
	    "tap:smx0,mac=02:02:03:04:05",
	    "tap:smx0,mac=02:02:03:04:05:06:07",
	    "tap:smx0,bogus=1",
	    "tap:smx0,addr=10.0.0.2/24 1.1.1.1,gw=10.0.0.1",
	};
	struct net_backend *b = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (net_open(bad[i], NULL, 0, &b, &err) != -EINVAL) {
			fprintf(stderr, "  accepted: %s\n", bad[i]);
			CHECK(!"a bad tap option refused");
		}
	CHECK_EQ(net_open("tap:smnosuch0,addr=10.0.0.2/24,gw=10.0.0.1,mac=02:"
			  "00:00:00:00:01",
			  NULL, 0, &b, &err),
		 -ENODEV);
}

int main(void)
{
	RUN(host_and_guest_port);
	RUN(guest_port_only_gets_random_host_port);
	RUN(ip_host_guest_udp);
	RUN(ranges);
	RUN(bad_specs_are_refused);
	RUN(too_many_ports);
	RUN(exposed_ports);
	RUN(format_small_buffer);
	RUN(slirp_port_in_use);
	RUN(bad_network_mode);
	RUN(tap_guest_options);
	return test_summary();
}
