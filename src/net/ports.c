/*
 * docker -p/-P port specs to port forwards. Pure code (no sockets), unit
 * tested in tests/unit/test_net_ports.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "util/error.h"

/* "N" or "N-M" with 1 <= N <= M <= 65535; 0 ok only when allow_zero. */
static int parse_range(const char *s, size_t len, unsigned *lo, unsigned *hi)
{
	char buf[16], *end, *dash;
	unsigned long a, b;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	a = strtoul(buf, &end, 10);
	b = a;
	dash = end;
	if (*dash == '-') {
		if (dash[1] < '0' || dash[1] > '9')
			return -1;
		b = strtoul(dash + 1, &end, 10);
	}
	if (*end || a == 0 || a > 65535 || b < a || b > 65535)
		return -1;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

static int append(struct net_port *ports, unsigned max, unsigned *n,
		  const struct net_port *p, const char *spec,
		  struct sm_error *err)
{
	if (*n >= max)
		return sm_err(err, -E2BIG,
			      "-p %s: more than %u published ports", spec, max);
	ports[(*n)++] = *p;
	return 0;
}

int net_parse_publish(const char *spec, struct net_port *ports, unsigned max,
		      unsigned *n, struct sm_error *err)
{
	const char *proto = strchr(spec, '/'), *end, *c1, *c2 = NULL;
	const char *host = NULL, *hport = NULL, *gport;
	unsigned glo, ghi, hlo = 0, hhi = 0;
	size_t hostlen = 0, hportlen = 0;
	struct net_port p = {.host_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char addr[INET_ADDRSTRLEN + 1];

	end = proto ? proto : spec + strlen(spec);
	if (proto && strcmp(proto, "/tcp") == 0)
		p.udp = 0;
	else if (proto && strcmp(proto, "/udp") == 0)
		p.udp = 1;
	else if (proto)
		goto bad;
	c1 = memchr(spec, ':', (size_t)(end - spec));
	if (c1)
		c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (c2) { /* IP:[HOSTPORT]:GUESTPORT */
		host = spec;
		hostlen = (size_t)(c1 - spec);
		hport = c1 + 1;
		hportlen = (size_t)(c2 - c1 - 1);
		gport = c2 + 1;
	} else if (c1) { /* HOSTPORT:GUESTPORT */
		hport = spec;
		hportlen = (size_t)(c1 - spec);
		gport = c1 + 1;
	} else {
		gport = spec;
	}
	if (parse_range(gport, (size_t)(end - gport), &glo, &ghi))
		goto bad;
	if (host) {
		if (hostlen == 0 || hostlen >= sizeof(addr))
			goto bad;
		memcpy(addr, host, hostlen);
		addr[hostlen] = '\0';
		if (inet_pton(AF_INET, addr, &p.host_addr) != 1)
			return sm_err(err, -EINVAL,
				      "-p %s: '%s' is not an IPv4 address",
				      spec, addr);
	}
	if (hportlen) {
		if (parse_range(hport, hportlen, &hlo, &hhi))
			goto bad;
		if (hhi - hlo != ghi - glo)
			return sm_err(err, -EINVAL,
				      "-p %s: host and guest port ranges "
				      "differ in length",
				      spec);
	} else if (hport && !host) {
		goto bad; /* ":80" */
	}
	for (unsigned g = glo; g <= ghi; g++) {
		int ret;

		p.guest_port = (uint16_t)g;
		p.host_port = hportlen ? (uint16_t)(hlo + (g - glo)) : 0;
		ret = append(ports, max, n, &p, spec, err);
		if (ret)
			return ret;
	}
	return 0;
bad:
	return sm_err(err, -EINVAL,
		      "-p %s: expected [IP:][HOSTPORT:]GUESTPORT[/tcp|/udp]",
		      spec);
}

int net_parse_exposed(const char *key, struct net_port *ports, unsigned max,
		      unsigned *n, struct sm_error *err)
{
	/* "80/tcp" is "-p 80/tcp": a free host port on 127.0.0.1 */
	if (strchr(key, ':'))
		return sm_err(err, -EINVAL,
			      "ExposedPorts key '%s' is malformed", key);
	return net_parse_publish(key, ports, max, n, err);
}

int net_format_ports(const struct net_port *ports, unsigned n, char *buf,
		     size_t size)
{
	size_t off = 0;

	if (!size)
		return n ? -ENOSPC : 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		char addr[INET_ADDRSTRLEN];
		int w;

		inet_ntop(AF_INET, &ports[i].host_addr, addr, sizeof(addr));
		w = snprintf(buf + off, size - off, "%s%s:%u->%u/%s",
			     i ? ", " : "", addr, ports[i].host_port,
			     ports[i].guest_port, ports[i].udp ? "udp" : "tcp");
		if (w < 0 || (size_t)w >= size - off)
			return -ENOSPC;
		off += (size_t)w;
	}
	return 0;
}
