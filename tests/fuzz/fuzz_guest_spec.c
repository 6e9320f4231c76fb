/*
 * libFuzzer target for the guest side of the agent protocol: the guest
 * init's parser of the host's SPEC frame (guest/init/spec.c parse_spec;
 * the guest takes nothing from the host on trust either). The input is a
 * SPEC payload. The records that act on the machine at once go to the
 * harness's spec_set_time and spec_add_entropy (the init's set the clock
 * and feed the kernel RNG: not on the build host); the volume and network
 * records go to the init's own mounts_add and net_set_spec
 * (guest/init/mounts.c, net.c, included for their state, reset for every
 * input, and their static parsers): for a spec that parses, the network
 * text is parsed as net_configure does and each tmpfs's options split as
 * mount_one does, neither then touching the machine. Seeds are the host's
 * real SPEC frames (send_spec, src/run/agent.c, included for it).
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <sys/socket.h>

#include "../../guest/init/mounts.c"
#include "../../guest/init/net.c"
#include "../../guest/init/spec.h"
#include "../../src/run/agent.c"
#include "fuzz_seed.h"

/* One SPEC frame from send_spec, its payload written as a seed. */
static void seed_spec(const char *name, const struct run_spec *s,
		      const void *extra, size_t extra_len)
{
	static uint8_t buf[SM_FRAME_MAX + 8];
	struct sm_error err = {0};
	ssize_t n;
	size_t len;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    send_spec(sv[0], s, &err))
		abort();
	shutdown(sv[0], SHUT_WR);
	for (len = 0; (n = read(sv[1], buf + len, sizeof(buf) - len)) > 0;)
		len += (size_t)n;
	if (len < 8 || sm_le16(buf + 4) != SM_F_SPEC ||
	    sm_le32(buf) != len - 8 || len + extra_len > sizeof(buf))
		abort();
	if (extra_len)
		memcpy(buf + len, extra, extra_len);
	seed_write(name, buf + 8, len - 8 + extra_len);
	close(sv[0]);
	close(sv[1]);
}

static void make_seeds(void)
{
	char *argv[] = {"/bin/sh", "-c", "echo hello; exec sleep 1", NULL};
	char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		       "HOSTNAME=sm-0123456789ab", "TERM=xterm", NULL};
	char *exec_argv[] = {"ps", "aux", NULL};
	const char *vols[] = {"/srv/data:/data", "/srv/cfg:/etc/app:ro",
			      "cache:/var/cache", NULL};
	const char *tmpfs[] = {"/run:size=64m,noexec", "/tmp", NULL};
	struct vol_set set;
	struct sm_error err = {0};
	struct run_spec run = {.argv = argv, .env = env, .cwd = "/",
			       .user = "", .hostname = "sm-0123456789ab",
			       .network = true};
	struct run_spec vol = {.argv = argv, .env = env, .cwd = "/srv/app",
			       .user = "1000:1000", .hostname = "web",
			       .tty = true, .stdin_open = true, .rows = 40,
			       .cols = 120, .network = true, .volumes = &set};
	struct run_spec exec = {.argv = exec_argv, .env = env, .cwd = "/root",
				.user = "nobody", .stdin_open = true};
	/* a record of a newer host (tag 11: reserved for networking) */
	static const uint8_t future[] = {11, 0, 3, 0, 0, 0, 'n', 'e', 'w'};

	if (vol_plan(vols, NULL, tmpfs, NULL, "/", &set, &err))
		abort();
	seed_spec("run", &run, NULL, 0);
	seed_spec("tty-volumes", &vol, NULL, 0);
	seed_spec("exec", &exec, NULL, 0);
	seed_spec("future-record", &run, future, sizeof(future));
	vol_set_free(&set);
}

FUZZ_SEEDS(make_seeds)

static uint64_t clock_ns;
static uint8_t entropy_sum;

void spec_set_time(uint64_t ns)
{
	clock_ns = ns;
}

void spec_add_entropy(const uint8_t *v, uint32_t len)
{
	/* read every byte: ASan checks the record's bounds */
	for (uint32_t i = 0; i < len; i++)
		entropy_sum ^= v[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec sp;
	struct in_addr addr, gw;
	unsigned prefix;
	char dns[32], opts[256];

	if (size > SM_FRAME_MAX) /* recv_frame refuses it */
		return 0;
	nmounts = 0;
	net_spec[0] = '\0';
	if (parse_spec(data, (uint32_t)size, &sp) == 0) {
		if (!sp.argv[0] || sp.argv[sp.argc] || sp.env[sp.envc])
			abort(); /* execvp's argv and environ end in NULL */
		if (net_spec[0])
			parse(&addr, &prefix, &gw, dns, sizeof(dns));
		for (unsigned i = 0; i < nmounts; i++)
			if (mounts[i].tag == SM_S_TMPFS)
				tmpfs_flags(mounts[i].opts, opts, sizeof(opts));
	}
	spec_free(&sp);
	return 0;
}
