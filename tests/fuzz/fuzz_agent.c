/*
 * libFuzzer target for the agent protocol as the host reads it
 * (src/run/agent.c, included for its static session functions): the
 * input is the byte stream a guest init sends on the agent connection
 * (frame headers, HELLO, STDOUT/STDERR, EXIT, ERROR, unknown types,
 * oversized lengths), written into a socketpair whose host end the
 * session pumps until it fails or the process "exits". Then the same
 * bytes go through sm_spec_next (src/proto/proto.h), the record walker
 * the guest init uses on the host's SPEC frame. The guest init's own
 * spec handling (guest/init/agent.c parse_spec) sets the clock, mixes
 * entropy and mounts, so it is not run here.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <fcntl.h>
#include <signal.h>

#include "../../src/run/agent.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	struct agent_io io = {.in_fd = -1, .sig_fd = -1, .stop_fd = -1,
			      .exec_fd = -1};
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
