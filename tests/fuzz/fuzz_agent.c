/*
 * libFuzzer target for the agent protocol as the host reads it
 * (src/run/agent.c, included for its static session functions): the
 * input is the byte stream a guest init sends on the agent connection
 * (frame headers, HELLO, STDOUT/STDERR, EXIT, ERROR, unknown types,
 * oversized lengths), written into a socketpair whose host end the
 * session pumps until it fails or the process "exits". Then the same
 * bytes go through sm_spec_next (src/proto/proto.h), the record walker
 * the guest init uses on the host's SPEC frame. The guest init's own
 * spec parser (guest/init/spec.c parse_spec) has its own target,
 * fuzz_guest_spec.c.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <fcntl.h>
#include <signal.h>

#include "../../src/run/agent.c"
#include "fuzz_seed.h"

/* A frame as the guest init sends it (sm_send_frame's layout). */
static void put_frame(struct rxbuf *b, uint16_t type, const void *p,
		      uint32_t len)
{
	uint8_t *d = realloc(b->data, b->len + 8 + len);

	if (!d)
		abort();
	sm_put_le32(d + b->len, len);
	sm_put_le16(d + b->len + 4, type);
	sm_put_le16(d + b->len + 6, 0);
	memcpy(d + b->len + 8, p, len);
	b->data = d;
	b->len += 8 + len;
}

static void make_seeds(void)
{
	struct rxbuf b = {0};
	uint8_t v[4];

	sm_put_le32(v, SM_PROTO_VERSION);
	put_frame(&b, SM_F_HELLO, v, 4);
	put_frame(&b, SM_F_STDOUT, "hello\n", 6);
	put_frame(&b, SM_F_STDERR, "oops\n", 5);
	sm_put_le32(v, 3);
	put_frame(&b, SM_F_EXIT, v, 4);
	seed_write("run", b.data, b.len);
	b.len = 0;
	put_frame(&b, SM_F_RESUME, "", 0);
	put_frame(&b, SM_F_ERROR, "exec /bin/x: no such file", 25);
	seed_write("resume-error", b.data, b.len);
	free(b.data);
}

FUZZ_SEEDS(make_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	struct agent_io io = {
	    .in_fd = -1, .sig_fd = -1, .stop_fd = -1, .exec_fd = -1};
	struct session s = {.io = &io, .stdin_done = true};
	struct sm_error err = {0};
	const uint8_t *val;
	uint16_t tag;
	uint32_t len;
	size_t off = 0;
	int sv[2], r = 0;

	if (null_fd < 0) {
		signal(SIGPIPE, SIG_IGN);
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	}
	io.out_fd = io.err_fd = null_fd;
	if (size > 65536 || /* fits the socket buffer: no reader yet */
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	/* the guest's side: everything at once, then EOF */
	if (sm_write_all(sv[1], data, size) == 0) {
		shutdown(sv[1], SHUT_WR);
		s.fd = sv[0];
		while (!r && !s.exited)
			r = pump_guest(&s, &err);
	}
	free(s.tx);
	free(s.rx.data);
	close(sv[0]);
	close(sv[1]);
	while (sm_spec_next(data, size, &off, &tag, &val, &len) == 1)
		;
	return 0;
}
