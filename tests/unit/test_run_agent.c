/*
 * The host side of the agent protocol (src/run/agent.c) against a hostile
 * guest played by the test over a socketpair: what it can make the host
 * print, which exit statuses and frame orders the host accepts, and how
 * its frame parser takes frames cut anywhere, cut short, over the size
 * cap, of no length or of a type it does not know.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
	int started, start_status;  /* the session's agent_io after it */
	char start_error[512];
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
/* The VM's shares the session knows (volume tags to host directories). */
static const struct virtio_fs_config *test_shares;
static unsigned test_nshares;

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
	io.shares = test_shares;
	io.nshares = &test_nshares;
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
	r->started = io.started;
	r->start_status = io.start_status;
	memcpy(r->start_error, io.start_error, sizeof(r->start_error));
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

/* A volume's mount failure names the host directory, not the tag; tags
 * of no share, and the rootfs, stay as they are. */
TEST(volume_tag_named_by_its_directory)
{
	static const struct virtio_fs_config shares[] = {
	    {.tag = "rootfs", .dir = "/store/img"},
	    {.tag = "smvol0", .dir = "/host/app.d"},
	    {.tag = "smvol1", .dir = "/host/other"},
	};
	static const char msg[] =
	    "mount smvol0 on /etc/passwd: Not a directory (smvol12, smvol)";
	uint8_t buf[512];
	size_t len = 0;
	struct run r;

	test_shares = shares;
	test_nshares = 3;
	frame(buf, &len, SM_F_ERROR, msg, sizeof(msg) - 1);
	exit_frame(buf, &len, 125);
	run_session(buf, len, false, NULL, 0, &r);
	test_shares = NULL;
	test_nshares = 0;
	CHECK_EQ(r.ret, 0);
	CHECK_STR(r.errout,
		  "supermachine: guest: \"mount /host/app.d on "
		  "/etc/passwd: Not a directory (smvol12, smvol)\"\n");
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

/* Protocol 2: the init says when the process runs; one that could not
 * start says why, and its status; a protocol 1 init runs it once the spec
 * went out (as before). */
static void start_session(uint32_t version, const uint8_t *after,
			  size_t after_len, struct run *r)
{
	uint8_t buf[64], v[4];
	size_t len = 0;

	sm_put_le32(v, version);
	frame(buf, &len, SM_F_HELLO, v, 4);
	run_session(buf, len, true, after, after_len, r);
}

TEST(started_said_by_the_init)
{
	uint8_t after[64];
	size_t after_len = 0;
	struct run r;

	frame(after, &after_len, SM_F_STARTED, "", 0);
	exit_frame(after, &after_len, 0);
	start_session(2, after, after_len, &r);
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.started, 1);
	CHECK_EQ(r.status, 0);
}

TEST(start_failure_has_status_and_words)
{
	static const char why[] =
	    "exec: \"nosuchbin\": executable file not found in $PATH";
	uint8_t after[256];
	size_t after_len = 0;
	struct run r;

	frame(after, &after_len, SM_F_ERROR, why, sizeof(why) - 1);
	exit_frame(after, &after_len, 127);
	start_session(2, after, after_len, &r);
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.status, 127);
	CHECK_EQ(r.started, -1);
	CHECK_EQ(r.start_status, 127);
	CHECK(strstr(r.start_error, "nosuchbin") != NULL);
	/* a process that ran and exited is not a failed start */
	after_len = 0;
	frame(after, &after_len, SM_F_STARTED, "", 0);
	exit_frame(after, &after_len, 127);
	start_session(2, after, after_len, &r);
	CHECK_EQ(r.started, 1);
}

TEST(protocol_1_init_started_with_the_spec)
{
	uint8_t after[64];
	size_t after_len = 0;
	struct run r;

	exit_frame(after, &after_len, 5);
	start_session(1, after, after_len, &r);
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.started, 1);
	start_session(3, NULL, 0, &r); /* newer than this host: refused */
	CHECK_EQ(r.ret, -EPROTO);
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

/*
 * The guest of a streamed session: writes its frames `chunk` bytes at a
 * time with a pause between (so the host's reads end anywhere in a
 * frame), shuts its sending side when `eof`, then reads all the host
 * sent until the host closes.
 */
struct streamer {
	int fd;
	const uint8_t *frames;
	size_t len, chunk;
	bool eof;
	uint8_t got[4096]; /* what the host sent (the spec, the ack) */
	size_t got_len;
};

static void *guest_stream(void *arg)
{
	struct streamer *g = arg;
	uint8_t sink[4096];
	ssize_t n;

	for (size_t off = 0; off < g->len; off += g->chunk) {
		size_t piece =
		    g->len - off < g->chunk ? g->len - off : g->chunk;

		if (sm_write_all(g->fd, g->frames + off, piece))
			break;
		if (g->chunk < 64)
			usleep(200);
	}
	if (g->eof)
		shutdown(g->fd, SHUT_WR);
	while ((n = read(g->fd, sink, sizeof(sink))) > 0) {
		size_t take = sizeof(g->got) - g->got_len;

		take = (size_t)n < take ? (size_t)n : take;
		memcpy(g->got + g->got_len, sink, take);
		g->got_len += take;
	}
	return NULL;
}

struct srun {
	int ret, status;
	struct sm_error err;
	uint8_t *out; /* all of stdout (malloc'd), out_len bytes */
	size_t out_len;
	uint16_t host_types[4]; /* the first frames the host sent */
	uint32_t host_lens[4];
	unsigned host_frames;
	double secs;
};

/* What a file descriptor's file holds, malloc'd (one spare byte). */
static uint8_t *slurp(int fd, size_t *len)
{
	off_t size = lseek(fd, 0, SEEK_END);
	uint8_t *p = malloc(size > 0 ? (size_t)size + 1 : 1);

	*len = 0;
	if (p && size > 0 && pread(fd, p, (size_t)size, 0) == size)
		*len = (size_t)size;
	return p;
}

/* An exec session fed by guest_stream; stdout goes to a memfd. */
static void run_streamed(const uint8_t *frames, size_t len, size_t chunk,
			 bool eof, struct srun *r)
{
	char *argv[] = {"nope", NULL};
	struct run_spec spec = {.argv = argv};
	struct agent_io io = {
	    .in_fd = -1, .sig_fd = -1, .stop_fd = -1, .exec_fd = -1};
	struct streamer g = {
	    .frames = frames, .len = len, .chunk = chunk, .eof = eof};
	struct timespec t0, t1;
	int sv[2], out;
	pthread_t guest;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	out = memfd_create("stdout", MFD_CLOEXEC);
	if (out < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		r->ret = -9999;
		return;
	}
	g.fd = sv[1];
	io.out_fd = io.err_fd = out;
	io.deadline_ns = deadline_in_5s();
	if (pthread_create(&guest, NULL, guest_stream, &g)) {
		r->ret = -9999;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r->ret = agent_exec_session(sv[0], &spec, &io, &r->status, &r->err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->secs = (double)(t1.tv_sec - t0.tv_sec) +
		  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	close(sv[0]);
	pthread_join(guest, NULL);
	close(sv[1]);
	r->out = slurp(out, &r->out_len);
	close(out);
	for (size_t off = 0; off + 8 <= g.got_len && r->host_frames < 4;) {
		r->host_lens[r->host_frames] = sm_le32(g.got + off);
		r->host_types[r->host_frames++] = sm_le16(g.got + off + 4);
		off += 8 + (size_t)sm_le32(g.got + off);
	}
}

static void free_srun(struct srun *r)
{
	free(r->out);
}

/* The same frames cut in pieces of 1, 3, 5, 8 and 13 bytes. */
TEST(frames_split_across_reads_are_reassembled)
{
	static const size_t chunks[] = {1, 3, 5, 8, 13};
	uint8_t buf[128];
	size_t len = 0;
	struct srun r;

	frame(buf, &len, SM_F_STDOUT, "hello, ", 7);
	frame(buf, &len, SM_F_STDERR, "", 0);
	frame(buf, &len, SM_F_STDOUT, "world", 5);
	exit_frame(buf, &len, 42);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		run_streamed(buf, len, chunks[i], false, &r);
		CHECK_EQ(r.ret, 0);
		CHECK_EQ(r.status, 42);
		CHECK(r.out_len == 12 && !memcmp(r.out, "hello, world", 12));
		/* the spec went out, then the exit's acknowledgement: a
		 * frame of no payload */
		CHECK_EQ(r.host_frames, 2);
		CHECK_EQ(r.host_types[0], SM_F_SPEC);
		CHECK_EQ(r.host_types[1], SM_F_EXIT_ACK);
		CHECK_EQ(r.host_lens[1], 0);
		free_srun(&r);
	}
}

/* A guest that goes away mid-frame: nothing of the frame is relayed. */
TEST(frame_cut_short_by_the_guest_closing)
{
	uint8_t buf[256];
	size_t len = 0;
	struct srun r;

	frame(buf, &len, SM_F_STDOUT, "whole", 5);
	frame(buf, &len, SM_F_STDOUT, "0123456789", 10);
	/* in the second frame's header */
	run_streamed(buf, 13 + 5, 1, true, &r);
	CHECK_EQ(r.ret, -EPIPE);
	CHECK(strstr(r.err.msg, "the guest closed the agent connection before "
				"the process exited"));
	CHECK(r.out_len == 5 && !memcmp(r.out, "whole", 5));
	CHECK_EQ(r.status, -1);
	free_srun(&r);
	/* in its payload */
	run_streamed(buf, len - 3, 4, true, &r);
	CHECK_EQ(r.ret, -EPIPE);
	CHECK(r.out_len == 5 && !memcmp(r.out, "whole", 5));
	free_srun(&r);
	/* a header cut short and nothing before it */
	run_streamed(buf, 7, 1, true, &r);
	CHECK_EQ(r.ret, -EPIPE);
	CHECK_EQ(r.out_len, 0);
	free_srun(&r);
}

/* Over the cap: refused from the header, without waiting for a payload
 * that may never come (the guest keeps the connection open). */
TEST(length_over_the_cap_refused_from_the_header)
{
	static const uint32_t lens[] = {SM_FRAME_MAX + 1, 0x80000000u,
					0xffffffffu};
	uint8_t hdr[8];
	struct srun r;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		sm_put_le32(hdr, lens[i]);
		sm_put_le16(hdr + 4, SM_F_STDOUT);
		sm_put_le16(hdr + 6, 0);
		run_streamed(hdr, 8, 8, false, &r);
		CHECK_EQ(r.ret, -EPROTO);
		CHECK(strstr(r.err.msg, "oversized frame from the guest"));
		CHECK(r.secs < 2.5); /* not the 5 s deadline */
		CHECK_EQ(r.out_len, 0);
		free_srun(&r);
	}
}

/* A frame of exactly the cap, then a long stream of frames: the receive
 * buffer's bound is per frame, not per session. */
TEST(frames_up_to_the_cap_and_a_long_stream_pass)
{
	const size_t n_chunks = 160; /* 5 MiB of SM_DATA_CHUNK frames */
	size_t len = 0, want = SM_FRAME_MAX + n_chunks * SM_DATA_CHUNK;
	uint8_t *buf = malloc(want + 8 * (n_chunks + 3) + 4), *data;
	struct srun r;
	bool same = true;

	data = malloc(SM_FRAME_MAX);
	CHECK(buf && data);
	if (!buf || !data) {
		free(buf);
		free(data);
		return;
	}
	for (size_t i = 0; i < SM_FRAME_MAX; i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	frame(buf, &len, SM_F_STDOUT, data, SM_FRAME_MAX);
	for (size_t i = 0; i < n_chunks; i++)
		frame(buf, &len, SM_F_STDOUT, data + i, SM_DATA_CHUNK);
	exit_frame(buf, &len, 0);
	run_streamed(buf, len, 65536, false, &r);
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.status, 0);
	CHECK_EQ(r.out_len, want);
	if (r.out_len == want) {
		same = !memcmp(r.out, data, SM_FRAME_MAX);
		for (size_t i = 0; i < n_chunks && same; i++)
			same = !memcmp(r.out + SM_FRAME_MAX + i * SM_DATA_CHUNK,
				       data + i, SM_DATA_CHUNK);
	}
	CHECK(same);
	free_srun(&r);
	free(buf);
	free(data);
}

/* Types the guest never sends: unknown ones and the host's own. */
TEST(unknown_frame_type_refused)
{
	static const uint16_t types[] = {
	    0, 9, 99, 0xffff, SM_F_SPEC, SM_F_EXIT_ACK, SM_F_EXEC_HELLO};
	char want[64];
	struct srun r;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint8_t buf[64];
		size_t len = 0;

		frame(buf, &len, SM_F_STDOUT, "a", 1);
		frame(buf, &len, types[i], "xyzw", 4);
		frame(buf, &len, SM_F_STDOUT, "b", 1);
		exit_frame(buf, &len, 0);
		run_streamed(buf, len, len, false, &r);
		CHECK_EQ(r.ret, -EPROTO);
		snprintf(want, sizeof(want), "agent: unexpected frame type %u",
			 types[i]);
		CHECK(strcmp(r.err.msg, want) == 0);
		/* what came before is relayed, nothing after */
		CHECK(r.out_len == 1 && r.out[0] == 'a');
		free_srun(&r);
	}
}

/* No payload: fine for data, not for frames that must carry one. */
TEST(zero_length_payloads)
{
	uint8_t buf[64], v[5] = {0};
	char want[64];
	size_t len = 0;
	struct srun r;
	struct run rr;

	frame(buf, &len, SM_F_STDOUT, "", 0);
	frame(buf, &len, SM_F_ERROR, "", 0);
	exit_frame(buf, &len, 9);
	run_streamed(buf, len, len, false, &r);
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.status, 9);
	/* an empty error is still the guest's line, quoted */
	CHECK(r.out_len == 24 &&
	      !memcmp(r.out, "supermachine: guest: \"\"\n", 24));
	free_srun(&r);
	/* an exit frame of 0 or 5 bytes */
	for (uint32_t n = 0; n <= 5; n += 5) {
		len = 0;
		frame(buf, &len, SM_F_EXIT, v, n);
		run_streamed(buf, len, len, false, &r);
		CHECK_EQ(r.ret, -EPROTO);
		snprintf(want, sizeof(want),
			 "malformed exit frame (%u bytes, expected 4)", n);
		CHECK(strstr(r.err.msg, want));
		free_srun(&r);
	}
	/* a hello without its version (main session) */
	len = 0;
	frame(buf, &len, SM_F_HELLO, "", 0);
	run_session(buf, len, true, NULL, 0, &rr);
	CHECK_EQ(rr.ret, -EPROTO);
	CHECK(strstr(rr.err.msg, "guest init speaks protocol 0, we speak 1"));
}

/* The exit ends the session: frames after it are not read. */
TEST(frames_after_the_exit_are_not_relayed)
{
	uint8_t buf[64];
	size_t len = 0;
	struct srun r;

	frame(buf, &len, SM_F_STDOUT, "in", 2);
	exit_frame(buf, &len, 1);
	frame(buf, &len, SM_F_STDOUT, "late", 4);
	frame(buf, &len, 99, "", 0);
	run_streamed(buf, len, len, false, &r);
	CHECK_EQ(r.ret, 0);
	CHECK_EQ(r.status, 1);
	CHECK(r.out_len == 2 && !memcmp(r.out, "in", 2));
	free_srun(&r);
}

int main(void)
{
	RUN(hostile_error_is_one_quoted_guest_line);
	RUN(volume_tag_named_by_its_directory);
	RUN(started_said_by_the_init);
	RUN(start_failure_has_status_and_words);
	RUN(protocol_1_init_started_with_the_spec);
	RUN(exit_status_out_of_range_is_refused);
	RUN(exit_status_in_range_is_the_status);
	RUN(exit_before_the_spec_is_refused);
	RUN(output_before_hello_is_refused);
	RUN(hello_then_exit_after_the_spec_is_the_status);
	RUN(frames_split_across_reads_are_reassembled);
	RUN(frame_cut_short_by_the_guest_closing);
	RUN(length_over_the_cap_refused_from_the_header);
	RUN(frames_up_to_the_cap_and_a_long_stream_pass);
	RUN(unknown_frame_type_refused);
	RUN(zero_length_payloads);
	RUN(frames_after_the_exit_are_not_relayed);
	return test_summary();
}
