/*
 * supermachine port CONTAINER [PRIVATE_PORT[/PROTO]]: the container's
 * published ports, as docker prints them ("80/tcp -> 127.0.0.1:34567").
 * Reads the container's ports (sm_container_ports(), as sm_vm_ports():
 * "127.0.0.1:34567->80/tcp, ...").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct published {
	char addr[64];
	unsigned host_port, guest_port;
	char proto[4];
};

/* One "ADDR:HOST->GUEST/PROTO" entry; 0 when it parses. */
static int parse_entry(const char *s, size_t len, struct published *p)
{
	char entry[128];
	int used = 0;

	if (len >= sizeof(entry))
		return -1;
	memcpy(entry, s, len);
	entry[len] = '\0';
	if (sscanf(entry, "%63[^:]:%u->%u/%3[a-z]%n", p->addr, &p->host_port,
		   &p->guest_port, p->proto, &used) != 4 ||
	    (size_t)used != len)
		return -1;
	return 0;
}

/* "80", "80/udp": the port and protocol a filter asks for. */
static int parse_filter(const char *s, unsigned *port, char proto[4])
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || v == 0 || v > 65535)
		return -1;
	if (*end == '\0')
		strcpy(proto, "tcp");
	else if (!strcmp(end, "/tcp") || !strcmp(end, "/udp"))
		strcpy(proto, end + 1);
	else
		return -1;
	*port = (unsigned)v;
	return 0;
}

static const char usage[] =
    "usage: supermachine port CONTAINER [PRIVATE_PORT[/tcp|/udp]]\n";

/* Prints the matches; how many there were. */
static int print_ports(const char *line, const char *filter_arg,
		       unsigned want_port, const char *want_proto)
{
	int shown = 0;

	while (*line) {
		size_t len = strcspn(line, ",");
		struct published p;

		if (parse_entry(line, len, &p) == 0 &&
		    (!filter_arg || (p.guest_port == want_port &&
				     !strcmp(p.proto, want_proto)))) {
			if (filter_arg)
				printf("%s:%u\n", p.addr, p.host_port);
			else
				printf("%u/%s -> %s:%u\n", p.guest_port,
				       p.proto, p.addr, p.host_port);
			shown++;
		}
		line += len;
		line += strspn(line, ", ");
	}
	return shown;
}

int cmd_port(int argc, char **argv)
{
	struct sm_error err = {0};
	struct sm_container *ct;
	char ports[4096];
	const char *filter = NULL, *name;
	unsigned want_port = 0;
	char want_proto[4] = "";
	int c, status = 0;

	if ((c = cli_help_only(argc, argv, usage)) >= 0)
		return c;
	if (argc - optind < 1 || argc - optind > 2)
		return cli_args_error(
		    argv, "requires at least 1 and at most 2 arguments", usage);
	name = argv[optind];
	if (argc - optind == 2) {
		filter = argv[optind + 1];
		if (parse_filter(filter, &want_port, want_proto)) {
			fprintf(stderr,
				"supermachine: invalid port '%s': expected "
				"PORT[/tcp|/udp]\n",
				filter);
			return CLI_EXIT_FAILURE;
		}
	}
	if (!(ct = cli_open_container(name, &status)))
		return status;
	if (sm_container_ports(ct, ports, sizeof(ports), &err)) {
		cli_print_error(&err);
		status = cli_container_status(&err);
	} else if (!print_ports(ports, filter, want_port, want_proto) &&
		   filter) {
		fprintf(
		    stderr,
		    "supermachine: no public port '%u/%s' published for %s\n",
		    want_port, want_proto, name);
		status = 1; /* docker's */
	}
	sm_container_close(ct);
	return status;
}
