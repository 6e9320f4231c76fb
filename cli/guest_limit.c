/*
 * --guest-limit KEY=N: the caps on what a guest can make the VMM hold
 * (docs/security.md, "Resource caps"). Each key is one field of
 * sm_run_options; 0 there means the device's default.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct limit_key {
	const char *key;
	size_t off;   /* of the field in sm_run_options */
	bool is_long; /* unsigned long, else unsigned */
	bool sized;   /* takes k/m/g suffixes (bytes) */
	const char *what;
};

#define FIELD(f) offsetof(struct sm_run_options, f)

static const struct limit_key keys[] = {
    {"share-nodes", FIELD(share_max_nodes), false, false,
     "inodes a share's server keeps (over: ENFILE)"},
    {"share-files", FIELD(share_max_files), false, false,
     "files a share's server keeps open (over: EMFILE)"},
    {"share-dax-maps", FIELD(share_max_dax_maps), false, false,
     "DAX mappings a share keeps (over: ENOSPC)"},
    {"vsock-conns", FIELD(vsock_max_conns), false, false,
     "vsock connections (over: refused)"},
    {"vsock-buffer", FIELD(vsock_max_buffer), true, true,
     "bytes held for slow host sockets (over: the connection resets)"},
    {"net-rx-frames", FIELD(net_max_rx_frames), false, false,
     "frames queued for the guest (over: dropped)"},
};

static int parse_value(const char *s, bool sized, unsigned long max,
		       unsigned long *out)
{
	char *end;
	unsigned long long v, mul = 1;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (sized && *end && !end[1]) {
		const char *u = strchr("kmg", *end | 0x20);

		mul = u ? 1ULL << (10 * (1 + (u - "kmg"))) : 0;
		end += mul != 0;
	}
	if (errno || *end || v == 0 || v > max / mul)
		return -EINVAL;
	*out = (unsigned long)(v * mul);
	return 0;
}

int cli_guest_limit(const char *arg, struct sm_run_options *o)
{
	const char *eq = strchr(arg, '=');

	for (size_t i = 0; eq && i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct limit_key *k = &keys[i];
		unsigned long v;

		if (strlen(k->key) != (size_t)(eq - arg) ||
		    strncmp(arg, k->key, (size_t)(eq - arg)))
			continue;
		if (parse_value(eq + 1, k->sized,
				k->is_long ? (unsigned long)-1 : 0xffffffffUL,
				&v)) {
			fprintf(stderr,
				"supermachine: --guest-limit %s: want a "
				"positive number%s\n",
				arg,
				k->sized ? " (k, m, g: KiB, MiB, GiB)" : "");
			return -1;
		}
		if (k->is_long)
			*(unsigned long *)((char *)o + k->off) = v;
		else
			*(unsigned *)((char *)o + k->off) = (unsigned)v;
		return 0;
	}
	fprintf(stderr,
		"supermachine: --guest-limit %s: want KEY=N, KEY one of:\n",
		arg);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		fprintf(stderr, "  %-15s %s\n", keys[i].key, keys[i].what);
	return -1;
}
