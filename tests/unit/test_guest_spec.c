/*
 * The guest init's parser of the host's SPEC frame (guest/init/spec.c),
 * built for the host with the init's own mounts.c and net.c (included:
 * their state is static). The clock and RNG records come to this file's
 * spec_set_time and spec_add_entropy, so nothing here touches the
 * machine; net_configure and mounts_apply are never called.
 */
#include "../../guest/init/mounts.c"
#include "../../guest/init/net.c"
#include "../../guest/init/spec.c"
#include "heap_count.h"
#include "test.h"

static uint64_t time_ns;
static uint32_t entropy_len;

void spec_set_time(uint64_t ns)
{
	time_ns = ns;
}

void spec_add_entropy(const uint8_t *v, uint32_t len)
{
	(void)v;
	entropy_len = len;
}

static uint8_t buf[8192];
static size_t blen;

/* One record as the host's send_spec puts it: u16 tag, u32 len, bytes. */
static void rec(uint16_t tag, const void *v, size_t len)
{
	sm_put_le16(buf + blen, tag);
	sm_put_le32(buf + blen + 2, (uint32_t)len);
	memcpy(buf + blen + 6, v, len);
	blen += 6 + len;
}

static void text(uint16_t tag, const char *s)
{
	rec(tag, s, strlen(s));
}

/* Parses buf as the init does, with its module state fresh. */
static int parse_fresh(struct spec *sp)
{
	nmounts = 0;
	net_spec[0] = '\0';
	return parse_spec(buf, (uint32_t)blen, sp);
}

TEST(host_records_parsed)
{
	static const uint8_t tty[4] = {40, 0, 120, 0};
	static const uint8_t t[8] = {0, 0x10, 0xa5, 0xd4, 0xe8, 0, 0, 0};
	uint8_t rnd[64] = {1};
	struct spec sp;

	blen = 0;
	text(SM_S_ARG, "/bin/sh");
	text(SM_S_ARG, "-c");
	text(SM_S_ARG, "");
	text(SM_S_ENV, "PATH=/bin");
	text(SM_S_CWD, "/srv");
	text(SM_S_USER, "1000:1000");
	text(SM_S_HOSTNAME, "web");
	rec(SM_S_TTY, tty, sizeof(tty));
	rec(SM_S_STDIN, "", 0);
	text(SM_S_NET, "10.0.2.15/24 10.0.2.2 10.0.2.3");
	rec(SM_S_TIME, t, sizeof(t));
	rec(SM_S_ENTROPY, rnd, sizeof(rnd));
	text(SM_S_MOUNT, "0:ro:/data");
	text(SM_S_TMPFS, "size=64m:/run");
	text(SM_S_MOUNT, "3:rw,file:/etc/app.conf");
	text(11, "a record of a newer host");
	CHECK_EQ(parse_fresh(&sp), 0);
	CHECK_EQ(sp.argc, 3);
	CHECK_STR(sp.argv[0], "/bin/sh");
	CHECK_STR(sp.argv[2], "");
	CHECK(sp.argv[3] == NULL);
	CHECK(sp.envc == 1 && sp.env[1] == NULL);
	CHECK_STR(sp.env[0], "PATH=/bin");
	CHECK_STR(sp.cwd, "/srv");
	CHECK_STR(sp.user, "1000:1000");
	CHECK_STR(sp.hostname, "web");
	CHECK(sp.tty && sp.rows == 40 && sp.cols == 120 && sp.stdin_open);
	CHECK(!sp.idle);
	CHECK(!strcmp(net_spec, "10.0.2.15/24 10.0.2.2 10.0.2.3"));
	CHECK_EQ(time_ns, 1000000000000ULL);
	CHECK_EQ(entropy_len, 64);
	CHECK_EQ(nmounts, 3);
	CHECK(mounts[0].slot == 0 && mounts[0].read_only && !mounts[0].file);
	CHECK(!strcmp(mounts[0].target, "/data"));
	CHECK(!strcmp(mounts[1].opts, "size=64m"));
	CHECK(mounts[2].slot == 3 && !mounts[2].read_only && mounts[2].file);
	CHECK(!strcmp(mounts[2].target, "/etc/app.conf"));
	spec_free(&sp);
}

/* A pool's VM: the idle record, its argv only a name. */
TEST(idle_record_parsed)
{
	struct spec sp;

	blen = 0;
	text(SM_S_ARG, "sm-idle");
	rec(SM_S_IDLE, "", 0);
	CHECK_EQ(parse_fresh(&sp), 0);
	CHECK(sp.idle && sp.argc == 1);
	spec_free(&sp);
	/* still an argv: a spec without one is malformed, idle or not */
	blen = 0;
	rec(SM_S_IDLE, "", 0);
	CHECK_EQ(parse_fresh(&sp), -1);
	spec_free(&sp);
}

TEST(malformed_refused)
{
	struct spec sp;

	blen = 0; /* no argv */
	text(SM_S_CWD, "/");
	CHECK_EQ(parse_fresh(&sp), -1);
	spec_free(&sp);
	blen = 0; /* a NUL in a text record */
	text(SM_S_ARG, "sh");
	rec(SM_S_ENV, "A=b\0c", 5);
	CHECK_EQ(parse_fresh(&sp), -1);
	spec_free(&sp);
	blen = 0; /* a record longer than the frame */
	text(SM_S_ARG, "sh");
	text(SM_S_CWD, "/tmp");
	blen--;
	CHECK_EQ(parse_fresh(&sp), -1);
	spec_free(&sp);
	blen = 0; /* a mount with a relative target */
	text(SM_S_ARG, "sh");
	text(SM_S_MOUNT, "0:rw:data");
	CHECK_EQ(parse_fresh(&sp), -1);
	spec_free(&sp);
	/* a mount mode other than ro|rw[,file] */
	for (const char *const *m =
		 (const char *const[]){"0:ro,files:/x", "0:ro,file/x",
				       "0:rwx:/x", "0:ro;file:/x", NULL};
	     *m; m++) {
		blen = 0;
		text(SM_S_ARG, "sh");
		text(SM_S_MOUNT, *m);
		CHECK_EQ(parse_fresh(&sp), -1);
		spec_free(&sp);
	}
}

/*
 * cwd, user and hostname given twice: the last one counts, as it always
 * did, and the first copy is freed (tests/fuzz/fuzz_guest_spec.c found
 * it leaked).
 */
TEST(repeated_records_leak_nothing)
{
	struct spec sp;
	long before;

	blen = 0;
	text(SM_S_ARG, "sh");
	for (int i = 0; i < 3; i++) {
		text(SM_S_CWD, i < 2 ? "/first" : "/last");
		text(SM_S_USER, i < 2 ? "root" : "nobody");
		text(SM_S_HOSTNAME, i < 2 ? "a" : "b");
	}
	CHECK_EQ(parse_fresh(&sp), 0);
	CHECK_STR(sp.cwd, "/last");
	CHECK_STR(sp.user, "nobody");
	CHECK_STR(sp.hostname, "b");
	spec_free(&sp);
	before = heap_live();
	for (int i = 0; i < 20; i++) {
		parse_fresh(&sp);
		spec_free(&sp);
	}
	CHECK_EQ(heap_live() - before, 0);
}

int main(int argc, char **argv)
{
	(void)argc;
	heap_exact(argv);
	RUN(host_records_parsed);
	RUN(idle_record_parsed);
	RUN(malformed_refused);
	RUN(repeated_records_leak_nothing);
	return test_summary();
}
