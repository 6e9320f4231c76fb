/*
 * The engine's network namespace handed to the VM (docs/oci-runtime.md,
 * "Networking"). The engine configured an interface there (a veth on its
 * bridge: address, default route); the VM takes its place: a tap made in
 * the namespace, tc redirects that pass every frame from the interface
 * to the tap and back (Kata's "tcfilter" way), and the guest's NIC with
 * the interface's MAC, address and gateway. The namespace's own stack no
 * longer sees the interface's traffic; the guest does, so the engine's
 * port forwards and other containers reach it at the address the engine
 * gave. Anything missing (no such interface, no tc, no tap): NULL, and
 * the VM's NAT (slirp) runs in the namespace instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"

#define TAP_NAME "smtap0"

struct host_if {
	char name[IFNAMSIZ];
	char addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	unsigned prefix;
	unsigned char mac[6];
};

static unsigned prefix_of(const struct sockaddr *mask)
{
	uint32_t m = ntohl(((const struct sockaddr_in *)mask)->sin_addr.s_addr);
	unsigned n = 0;

	while (m & 0x80000000u)
		n++, m <<= 1;
	return n;
}

/* The first interface that is up, not loopback, with an IPv4 address. */
static int find_interface(struct host_if *h)
{
	struct ifaddrs *all, *i;
	int found = -1;

	if (getifaddrs(&all) < 0)
		return -1;
	for (i = all; i && found < 0; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    !i->ifa_netmask || (i->ifa_flags & IFF_LOOPBACK) ||
		    !(i->ifa_flags & IFF_UP) || strlen(i->ifa_name) >= IFNAMSIZ)
			continue;
		snprintf(h->name, sizeof(h->name), "%s", i->ifa_name);
		inet_ntop(AF_INET,
			  &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
			  h->addr, sizeof(h->addr));
		h->prefix = prefix_of(i->ifa_netmask);
		found = 0;
	}
	freeifaddrs(all);
	return found;
}

/* The default route's gateway through h (/proc/net/route). */
static int find_gateway(struct host_if *h)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256], ifn[IFNAMSIZ + 1];
	unsigned dest, gw, flags;
	int found = -1;

	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%16s %x %x %x", ifn, &dest, &gw, &flags) ==
			4 &&
		    !strcmp(ifn, h->name) && dest == 0 && gw != 0) {
			struct in_addr a = {.s_addr = gw}; /* as stored */

			inet_ntop(AF_INET, &a, h->gw, sizeof(h->gw));
			found = 0;
		}
	fclose(f);
	return found;
}

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return -1;
	r = ioctl(s, req, ifr);
	close(s);
	return r;
}

static int read_mac(struct host_if *h)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", h->name);
	if (if_ioctl(SIOCGIFHWADDR, &ifr) < 0)
		return -1;
	memcpy(h->mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* A persistent tap, up (the VMM attaches to it by name). */
static int make_tap(void)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TAP_NAME);
	r = ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0
		? -1
		: 0;
	close(fd);
	if (r)
		return r;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TAP_NAME);
	if (if_ioctl(SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return if_ioctl(SIOCSIFFLAGS, &ifr);
}

/* tc ARGS...: 0 when it ran and succeeded (its output to our stderr). */
static int tc(const char *const *args)
{
	static const char *const paths[] = {"/usr/sbin/tc", "/sbin/tc",
					    "/usr/bin/tc"};
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			execv(paths[i], (char *const *)args);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Every frame arriving on from leaves through to. */
static int redirect(const char *from, const char *to)
{
	const char *qdisc[] = {"tc", "qdisc",	"add", "dev",
			       from, "ingress", NULL};
	const char *filter[] = {
	    "tc",     "filter",	  "add", "dev",	     from,     "parent",
	    "ffff:",  "protocol", "all", "matchall", "action", "mirred",
	    "egress", "redirect", "dev", to,	     NULL};

	return tc(qdisc) || tc(filter) ? -1 : 0;
}

int oci_netns_bridge(char *spec, size_t size)
{
	struct host_if h = {0};
	const char *why = NULL;

	if (find_interface(&h))
		return -1; /* an empty namespace: slirp, quietly */
	if (find_gateway(&h))
		why = "no default route";
	else if (read_mac(&h))
		why = "no MAC";
	else if (make_tap())
		why = "cannot make a tap";
	else if (redirect(h.name, TAP_NAME) || redirect(TAP_NAME, h.name)) {
		const char *undo[] = {"tc",   "qdisc",	 "del", "dev",
				      h.name, "ingress", NULL};

		tc(undo); /* the interface's frames to its stack again */
		why = "tc's redirects failed (tc, sch_ingress, cls_matchall, "
		      "act_mirred)";
	}
	if (why) {
		oci_log("warning",
			"network namespace: %s handed to the VM: %s; the VM's "
			"NAT runs in the namespace instead",
			h.name, why);
		return -1;
	}
	snprintf(spec, size,
		 "tap:" TAP_NAME ",addr=%s/%u,gw=%s,mac=%02x:%02x:%02x:%02x:"
		 "%02x:%02x",
		 h.addr, h.prefix, h.gw, h.mac[0], h.mac[1], h.mac[2], h.mac[3],
		 h.mac[4], h.mac[5]);
	oci_log("info", "network namespace: %s (%s/%u via %s) handed to the VM",
		h.name, h.addr, h.prefix, h.gw);
	return 0;
}
