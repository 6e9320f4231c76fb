/*
 * Guest network setup with plain ioctls (the init is a static musl binary
 * with no ip/ifconfig to call). Runs after the spec arrived, never at
 * boot: a warm-start template is taken before any spec, so every clone
 * configures its interface itself (docs/networking.md).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "net.h"
#include "proto/proto.h"

/* agent.h; here, where every user of it is linked (the tests include
 * this file without agent.c) */
int agent_root_overlay;

#define NET_IF "eth0"

static char net_spec[128]; /* "" when the VM has no network */

void net_set_spec(const uint8_t *v, uint32_t len)
{
	if (len >= sizeof(net_spec))
		return; /* not ours to guess: stay offline */
	memcpy(net_spec, v, len);
	net_spec[len] = '\0';
}

static void set_sin(struct sockaddr *sa, struct in_addr a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = a};

	memcpy(sa, &sin, sizeof(sin));
}

static int if_up(int fd, const char *name)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

static int if_addr(int fd, struct in_addr addr, unsigned prefix)
{
	struct ifreq ifr = {0};
	struct in_addr mask = {.s_addr =
				   htonl(prefix ? ~0u << (32 - prefix) : 0)};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), NET_IF);
	set_sin(&ifr.ifr_addr, addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		return -1;
	set_sin(&ifr.ifr_netmask, mask);
	return ioctl(fd, SIOCSIFNETMASK, &ifr);
}

static int default_route(int fd, struct in_addr gw)
{
	struct rtentry rt;
	struct in_addr any = {0};

	memset(&rt, 0, sizeof(rt));
	set_sin(&rt.rt_dst, any);
	set_sin(&rt.rt_genmask, any);
	set_sin(&rt.rt_gateway, gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = (char *)NET_IF;
	return ioctl(fd, SIOCADDRT, &rt);
}

static void write_resolv(const char *dns)
{
	char buf[64];
	int fd, n = snprintf(buf, sizeof(buf), "nameserver %s\n", dns);

	/* a symlink (systemd-resolved images) would point nowhere here */
	unlink("/etc/resolv.conf");
	fd = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0644);
	if (fd < 0)
		return;
	if (sm_write_all(fd, buf, (size_t)n)) {
		/* a read-only /etc: the image keeps its own */
	}
	close(fd);
}

/* "ADDR/PREFIX GATEWAY DNS" */
static int parse(struct in_addr *addr, unsigned *prefix, struct in_addr *gw,
		 char *dns, size_t dns_size)
{
	char a[32], g[32], d[32];
	struct in_addr tmp;

	if (sscanf(net_spec, "%31[0-9.]/%u %31s %31s", a, prefix, g, d) != 4 ||
	    *prefix > 32 || inet_pton(AF_INET, a, addr) != 1 ||
	    inet_pton(AF_INET, g, gw) != 1 || inet_pton(AF_INET, d, &tmp) != 1)
		return -1;
	snprintf(dns, dns_size, "%s", d);
	return 0;
}

void net_configure(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct in_addr addr, gw;
	unsigned prefix;
	char dns[32];

	if (fd < 0)
		return;
	if (if_up(fd, "lo") < 0)
		perror("init: network: lo");
	if (net_spec[0]) {
		if (parse(&addr, &prefix, &gw, dns, sizeof(dns)) < 0)
			fprintf(stderr, "init: network: bad spec '%s'\n",
				net_spec);
		else if (if_addr(fd, addr, prefix) < 0 ||
			 if_up(fd, NET_IF) < 0 || default_route(fd, gw) < 0)
			perror("init: network: " NET_IF);
		else if (agent_root_overlay) /* else the engine's, as is */
			write_resolv(dns);
	}
	close(fd);
}
