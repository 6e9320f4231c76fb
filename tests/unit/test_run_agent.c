/*
 * The host side of the agent protocol (src/run/agent.c) against a hostile
 * guest played by the test over a socketpair: what it can make the host
 * print, and which exit statuses and frame orders the host accepts.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"
#include "run/agent.h"
#include "test.h"

/* One guest frame appended to buf at *len. */
static void frame(uint8_t *buf, size_t *len, uint16_t type, const void *data,
		  uint32_t dlen)
{
	sm_put_le32(buf + *len, dlen);
	sm_put_le16(buf + *len + 4, type);
	sm_put_le16(buf + *len + 6, 0);
	memcpy(buf + *len + 8, data, dlen);
	*len += 8 + dlen;
}

static void exit_frame(uint8_t *buf, size_t *len, uint32_t status)
{
	uint8_t v[4];

	sm_put_le32(v, status);
	frame(buf, len, SM_F_EXIT, v, 4);
}

static uint64_t deadline_in_5s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec + 5) * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct run {
	int ret, status;
	struct sm_error err;
	char out[256], errout[256]; /* what reached stdout and stderr */
};

static void read_pipe(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
}

/* The guest's side after the spec: what it sends once the spec arrived. */
struct guest_play {
	int fd;
	const uint8_t *after;
	size_t after_len;
};

static bool read_full(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static void *guest_after_spec(void *arg)
{
	struct guest_play *g = arg;
	static uint8_t spec[SM_FRAME_MAX];
	uint8_t hdr[8];

	if (read_full(g->fd, hdr, 8) && sm_le16(hdr + 4) == SM_F_SPEC &&
	    sm_le32(hdr) <= sizeof(spec) &&
	    read_full(g->fd, spec, sm_le32(hdr)))
		sm_write_all(g->fd, g->after, g->after_len);
	return NULL;
}

/*
 * Runs one session (an exec session, or the main one when main_session)
 * with the guest's frames already waiting on the connection, and after
 * (when not NULL) sent once the spec reached the guest.
 */
static void run_session(const uint8_t *frames, size_t len, bool main_session,
			const uint8_t *after, size_t after_len, struct run *r)
{
	char *argv[] = {"nope", NULL};
	struct run_spec spec = {.argv = argv};
	int sv[2], out[2], errp[2];
	struct agent_io io = {
	    .in_fd = -1, .sig_fd = -1, .stop_fd = -1, .exec_fd = -1};
	struct guest_play g = {.after = after, .after_len = after_len};
	pthread_t guest;
	struct agent a;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    pipe(out) || pipe(errp) ||
	    write(sv[1], frames, len) != (ssize_t)len) {
		r->ret = -9999;
		return;
	}
	g.fd = sv[1];
	if (after && pthread_create(&guest, NULL, guest_after_spec, &g))
		after = NULL;
	io.out_fd = out[1];
	io.err_fd = errp[1];
	io.deadline_ns = deadline_in_5s();
	if (main_session) {
		agent_init(&a, NULL);
		agent_accept(&a, SM_AGENT_PORT, sv[0]);
		r->ret = agent_session(&a, &spec, &io, &r->status, &r->err);
		agent_destroy(&a);
	} else {
		r->ret =
		    agent_exec_session(sv[0], &spec, &io, &r->status, &r->err);
		close(sv[0]);
	}
	if (after)
		pthread_join(guest, NULL);
	close(sv[1]);
	close(out[1]);
	close(errp[1]);
	read_pipe(out[0], r->out, sizeof(r->out));
	read_pipe(errp[0], r->errout, sizeof(r->errout));
	close(out[0]);
	close(errp[0]);
}

/* An error message that tries to clear the screen and fake our own line. */
TEST(hostile_error_is_one_quoted_guest_line)
{
	static const char msg[] = "exec: \"\x1b[2Jx\": not found\r\n"
				  "supermachine: fake\xc2\x9b"
				  "0m";
	uint8_t buf[512];
	size_t len = 0;
	struct run r;

	frame(buf, &len, SM_F_ERROR, msg, sizeof(msg) - 1);
	exit_frame(buf, &len, 127);
	run_session(buf, len, false, NULL, 0, &r);
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.status, 127);
	CHECK_STR(r.errout, "supermachine: guest: \"exec: \\\"\\x1b[2Jx\\\": "
			    "not found\\r\\nsupermachine: fake\\u009b0m\"\n");
	CHECK(!strchr(r.errout, '\x1b'));
}

TEST(exit_status_out_of_range_is_refused)
{
	static const uint32_t bad[] = {256, 0xffffffffu, 0x80000000u};
	uint8_t buf[64];
	struct run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = 0;

		exit_frame(buf, &len, bad[i]);
		run_session(buf, len, false, NULL, 0, &r);
		CHECK_EQ(r.ret, -EPROTO);
		CHECK_EQ(r.status, -1);
	}
	CHECK(strstr(r.err.msg, "exit status -2147483648, outside 0..255"));
}

TEST(exit_status_in_range_is_the_status)
{
	uint8_t buf[64];
	size_t len = 0;
	struct run r;

	frame(buf, &len, SM_F_STDOUT, "hi\n", 3);
	exit_frame(buf, &len, 255);
	run_session(buf, len, false, NULL, 0, &r);
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.status, 255);
	CHECK_STR(r.out, "hi\n");
}

/* Main session: HELLO, then an exit status before the spec went out. */
TEST(exit_before_the_spec_is_refused)
{
	uint8_t buf[64], version[4];
	size_t len = 0;
	struct run r;

	sm_put_le32(version, SM_PROTO_VERSION);
	frame(buf, &len, SM_F_HELLO, version, 4);
	exit_frame(buf, &len, 0);
	run_session(buf, len, true, NULL, 0, &r);
	CHECK_EQ(r.ret, -EPROTO);
	CHECK_EQ(r.status, -1);
	CHECK(strstr(r.err.msg, "before the process spec"));
}

TEST(output_before_hello_is_refused)
{
	uint8_t buf[64];
	size_t len = 0;
	struct run r;

	frame(buf, &len, SM_F_STDERR, "early", 5);
	run_session(buf, len, true, NULL, 0, &r);
	CHECK_EQ(r.ret, -EPROTO);
	CHECK(strstr(r.err.msg, "before the guest's hello"));
	CHECK_STR(r.errout, "");
}

TEST(hello_then_exit_after_the_spec_is_the_status)
{
	uint8_t buf[64], after[64], version[4];
	size_t len = 0, after_len = 0;
	struct run r;

	sm_put_le32(version, SM_PROTO_VERSION);
	frame(buf, &len, SM_F_HELLO, version, 4);
	frame(after, &after_len, SM_F_STDOUT, "x", 1);
	exit_frame(after, &after_len, 3);
	run_session(buf, len, true, after, after_len, &r);
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.status, 3);
	CHECK_STR(r.out, "x");
}

int main(void)
{
	RUN(hostile_error_is_one_quoted_guest_line);
	RUN(exit_status_out_of_range_is_refused);
	RUN(exit_status_in_range_is_the_status);
	RUN(exit_before_the_spec_is_refused);
	RUN(output_before_hello_is_refused);
	RUN(hello_then_exit_after_the_spec_is_the_status);
	return test_summary();
}
