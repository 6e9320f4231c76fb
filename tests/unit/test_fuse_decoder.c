/* FUSE request decoder: truncated, oversized, lying and hostile requests. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "fuse_test.h"
#include "test.h"

static struct tc t;

static void setup(void)
{
	void *be;

	memset(&t, 0, sizeof(t));
	if (fuse_memfs_new(&be, NULL) == 0)
		tc_open(&t, &fuse_memfs_ops, be, NULL);
}

static void teardown(void)
{
	void *be = t.be;

	tc_close(&t);
	fuse_memfs_ops.destroy(be);
}

/* Every reply must be a well-formed header with a sane error. */
static int sane(void)
{
	struct fuse_out_header oh;

	if (t.hrc < 0)
		return t.hrc == -EINVAL || t.hrc == -ENOBUFS;
	if (t.out_len == 0)
		return 1;
	memcpy(&oh, t.out, sizeof(oh));
	return oh.len == t.out_len && oh.error <= 0 && oh.error > -1000 &&
	       (oh.error == 0 || oh.len == sizeof(oh));
}

TEST(truncated_header)
{
	struct iovec in, out;
	size_t len = 99;

	setup();
	in = (struct iovec){t.msg, 10};
	out = (struct iovec){t.out, 4096};
	tc_begin(&t, FUSE_GETATTR, 1);
	CHECK_EQ(fuse_server_handle(t.s, &in, 1, &out, 1, &len), -EINVAL);
	CHECK_EQ(len, 0);
	in.iov_len = 0;
	CHECK_EQ(fuse_server_handle(t.s, &in, 1, &out, 1, &len), -EINVAL);
	CHECK_EQ(fuse_server_handle(t.s, &in, 0, &out, 1, &len), -EINVAL);
	teardown();
}

TEST(len_field_lies)
{
	struct fuse_in_header *h;

	setup();
	/* longer than the bytes present */
	tc_begin(&t, FUSE_LOOKUP, 1);
	tc_str(&t, "x");
	h = (void *)t.msg;
	h->len = (uint32_t)t.len + 100;
	CHECK_EQ(tc_send_raw(&t, 1), -EINVAL);
	/* shorter than a header */
	h->len = 12;
	CHECK_EQ(tc_send_raw(&t, 1), -EINVAL);
	/* cuts the name before its NUL */
	tc_begin(&t, FUSE_LOOKUP, 1);
	tc_str(&t, "abcdef");
	h->len = (uint32_t)t.len - 3;
	CHECK_EQ(tc_send_raw(&t, 1), -EINVAL);
	/* cuts a fixed argument */
	tc_begin(&t, FUSE_GETATTR, 1);
	tc_add(&t, "12345", 5);
	CHECK_EQ(tc_send(&t), -EINVAL);
	/* len 0xffffffff */
	tc_begin(&t, FUSE_GETATTR, 1);
	h->len = UINT32_MAX;
	CHECK_EQ(tc_send_raw(&t, 1), -EINVAL);
	/* extensions that were never negotiated */
	tc_begin(&t, FUSE_LOOKUP, 1);
	tc_str(&t, "x");
	h->total_extlen = 1;
	CHECK_EQ(tc_send(&t), -EINVAL);
	teardown();
}

TEST(unknown_opcodes)
{
	static const uint32_t ops[] = {0,	   7,
				       19,	   FUSE_GETLK,
				       FUSE_SETLK, FUSE_INTERRUPT,
				       FUSE_IOCTL, 52,
				       4096,	   FUSE_INIT_BSWAP_RESERVED,
				       UINT32_MAX};

	setup();
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		tc_begin(&t, ops[i], 1);
		tc_add(&t, "0123456789abcdef0123456789abcdef", 32);
		CHECK_EQ(tc_send(&t), -ENOSYS);
	}
	teardown();
}

TEST(init_negotiation)
{
	const struct fuse_init_out *o;
	struct fuse_server_config cfg = {0};
	void *be;

	memset(&t, 0, sizeof(t));
	CHECK_EQ(fuse_memfs_new(&be, NULL), 0);
	cfg.trace = "";
	CHECK_EQ(tc_open(&t, &fuse_memfs_ops, be, &cfg), 0);
	o = (const void *)t.rep;
	CHECK_EQ(t.rep_len, sizeof(*o));
	CHECK_EQ(o->major, 7);
	CHECK_EQ(o->minor, 36);
	CHECK(o->flags & FUSE_HANDLE_KILLPRIV_V2);
	CHECK(o->flags & FUSE_DO_READDIRPLUS);
	CHECK(!(o->flags & FUSE_MAP_ALIGNMENT)); /* no DAX configured */
	CHECK(!(o->flags & FUSE_POSIX_LOCKS));
	CHECK_EQ(o->max_write, 1 << 20);
	CHECK_EQ(fuse_server_minor(t.s), 36);
	/* a newer major: we answer with ours and wait for a retry */
	CHECK_EQ(tc_init_proto(&t, 8, 0), 0);
	CHECK_EQ(((const struct fuse_init_out *)t.rep)->major, 7);
	CHECK_EQ(tc_init_proto(&t, 6, 99), -EPROTO);
	CHECK_EQ(tc_init_proto(&t, 7, 20), -EPROTO);
	/* a newer minor is answered with ours */
	CHECK_EQ(tc_init_proto(&t, 7, 45), 0);
	CHECK_EQ(((const struct fuse_init_out *)t.rep)->minor, 36);
	/* too short */
	tc_begin(&t, FUSE_INIT, 0);
	tc_add(&t, "\7\0\0\0\44\0\0\0", 8);
	CHECK_EQ(tc_send(&t), -EINVAL);
	teardown();
}

TEST(requests_before_init)
{
	struct fuse_server_config cfg = {.ops = &fuse_memfs_ops, .trace = ""};
	void *be;

	memset(&t, 0, sizeof(t));
	CHECK_EQ(fuse_memfs_new(&be, NULL), 0);
	cfg.backend = be;
	t.msg = calloc(1, MSG_MAX);
	t.out = calloc(1, MSG_MAX);
	CHECK_EQ(fuse_server_new(&cfg, &t.s, NULL), 0);
	t.be = be;
	CHECK_EQ(fs_getattr(&t, 1, NULL), -EIO);
	CHECK_EQ(fs_lookup(&t, 1, "x", NULL), -EIO);
	CHECK_EQ(fs_forget(&t, 1, 1), 1); /* no reply, still */
	CHECK_EQ(tc_init_proto(&t, 7, 36), 0);
	CHECK_EQ(fs_getattr(&t, 1, NULL), 0);
	/* DESTROY ends the session */
	tc_begin(&t, FUSE_DESTROY, 0);
	CHECK_EQ(tc_send(&t), 0);
	CHECK_EQ(fs_getattr(&t, 1, NULL), -EIO);
	teardown();
}

TEST(reply_does_not_fit)
{
	setup();
	t.out_cap = 8; /* not even a header */
	CHECK_EQ(fs_getattr(&t, 1, NULL), -ENOBUFS);
	CHECK_EQ(t.out_len, 0);
	t.out_cap = 40; /* a header but no attr_out */
	CHECK_EQ(fs_getattr(&t, 1, NULL), -ENOBUFS);
	CHECK_EQ(t.out_len, sizeof(struct fuse_out_header));
	/* a FORGET needs no reply buffer at all */
	t.out_cap = 1;
	CHECK_EQ(fs_forget(&t, 1, 1), 1);
	CHECK_EQ(t.hrc, 0);
	t.out_cap = 0;
	teardown();
}

TEST(oversized_bodies)
{
	char name[NAME_MAX + 2];

	setup();
	memset(name, 'a', sizeof(name));
	name[NAME_MAX + 1] = 0;
	CHECK_EQ(fs_lookup(&t, 1, name, NULL), -ENAMETOOLONG);
	name[NAME_MAX] = 0;
	CHECK_EQ(fs_lookup(&t, 1, name, NULL), -ENOENT);
	/* a huge body split into segments is refused before copying */
	tc_begin(&t, FUSE_SETXATTR, 1);
	for (int i = 0; i < 100000; i++)
		tc_add(&t, "x", 1);
	t.split = 4096;
	CHECK_EQ(tc_send(&t), -E2BIG);
	/* the same body in one segment: parsed in place, still refused */
	t.split = 0;
	CHECK(tc_send(&t) < 0);
	teardown();
}

TEST(bad_names)
{
	static const char *bad[] = {"", "a/b", "/", ".", "..", "../etc"};
	struct fuse_mkdir_in mk = {.mode = 0755};
	struct fuse_create_in cr = {.flags = O_RDWR, .mode = 0644};

	setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(fs_lookup(&t, 1, bad[i], NULL) < 0);
		tc_begin(&t, FUSE_MKDIR, 1);
		tc_add(&t, &mk, sizeof(mk));
		tc_str(&t, bad[i]);
		CHECK_EQ(tc_send(&t), -EINVAL);
		tc_begin(&t, FUSE_CREATE, 1);
		tc_add(&t, &cr, sizeof(cr));
		tc_str(&t, bad[i]);
		CHECK_EQ(tc_send(&t), -EINVAL);
		CHECK_EQ(fs_symlink(&t, 1, bad[i], "x"), -EINVAL);
		CHECK_EQ(fs_unlink(&t, 1, bad[i], 0), -EINVAL);
		CHECK_EQ(fs_rename(&t, 1, "x", 1, bad[i], 0), -EINVAL);
	}
	CHECK_EQ(fs_symlink(&t, 1, "l", ""), -EINVAL);
	teardown();
}

TEST(hostile_forget)
{
	uint64_t n = 0, fh = 0;
	struct fuse_attr a;
	char buf[8];
	size_t got;

	setup();
	CHECK_EQ(fs_create(&t, 1, "f", 0644, O_RDWR, &n, &fh), 0);
	CHECK_EQ(fs_write(&t, n, fh, 0, "data", 4, 0), 0);
	/* forget far more than was looked up: the open handle keeps it */
	CHECK_EQ(fs_forget(&t, n, 1000000), 1);
	CHECK_EQ(fs_read(&t, n, fh, 0, buf, 4, &got), 0);
	CHECK_EQ(got, 4);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	/* now it is gone: the id is not reused, requests fail cleanly */
	CHECK_EQ(fs_getattr(&t, n, NULL), -ENOENT);
	CHECK_EQ(fs_forget(&t, n, 1), 1);
	/* a fresh lookup gives a new id */
	CHECK(fs_nodeid(&t, 1, "f") != n);
	/* the root cannot be forgotten */
	CHECK_EQ(fs_forget(&t, 1, UINT64_MAX), 1);
	CHECK_EQ(fs_getattr(&t, 1, &a), 0);
	CHECK(S_ISDIR(a.mode));
	/* nonsense ids */
	CHECK_EQ(fs_getattr(&t, 0, NULL), -ENOENT);
	CHECK_EQ(fs_getattr(&t, UINT64_MAX, NULL), -ENOENT);
	CHECK_EQ(fs_forget(&t, 424242, 1), 1);
	teardown();
}

TEST(batch_forget_lies)
{
	struct fuse_batch_forget_in in = {.count = UINT32_MAX};
	struct fuse_forget_one one = {.nodeid = 0, .nlookup = 5};
	uint64_t d = 0;

	setup();
	CHECK_EQ(fs_mkdir(&t, 1, "d", 0755, &d), 0);
	one.nodeid = d;
	tc_begin(&t, FUSE_BATCH_FORGET, 0);
	tc_add(&t, &in, sizeof(in));
	tc_add(&t, &one, sizeof(one));
	tc_add(&t, &one, 7); /* a partial entry */
	CHECK_EQ(tc_send(&t), 1);
	CHECK_EQ(t.hrc, 0);
	CHECK_EQ(fs_getattr(&t, d, NULL), -ENOENT);
	/* count 0 with junk after it */
	in.count = 0;
	tc_begin(&t, FUSE_BATCH_FORGET, 0);
	tc_add(&t, &in, sizeof(in));
	tc_add(&t, &one, sizeof(one));
	CHECK_EQ(tc_send(&t), 1);
	teardown();
}

TEST(handle_abuse)
{
	uint64_t n = 0, fh = 0, dfh = 0;
	char buf[16];
	size_t got;
	struct fuse_write_in w;

	setup();
	CHECK_EQ(fs_create(&t, 1, "f", 0644, O_RDONLY, &n, &fh), 0);
	CHECK_EQ(fs_read(&t, n, 999999, 0, buf, 4, &got), -EBADF);
	CHECK_EQ(fs_write(&t, n, fh, 0, "x", 1, 0), -EBADF); /* read-only */
	CHECK_EQ(fs_open(&t, 1, O_RDONLY, 1, &dfh), 0);
	CHECK_EQ(fs_read(&t, n, dfh, 0, buf, 4, &got), -EBADF);
	CHECK_EQ(fs_release(&t, n, fh, 1), -EBADF); /* not a dir handle */
	CHECK_EQ(fs_release(&t, 1, dfh, 0), -EBADF);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	CHECK_EQ(fs_release(&t, n, fh, 0), -EBADF); /* twice */
	CHECK_EQ(fs_release(&t, 1, dfh, 1), 0);
	/* WRITE whose size claims more than it carries */
	CHECK_EQ(fs_open(&t, n, O_RDWR, 0, &fh), 0);
	memset(&w, 0, sizeof(w));
	w.fh = fh;
	w.size = 1 << 20;
	tc_begin(&t, FUSE_WRITE, n);
	tc_add(&t, &w, sizeof(w));
	tc_add(&t, "abc", 3);
	CHECK_EQ(tc_send(&t), -EINVAL);
	w.offset = (uint64_t)INT64_MAX;
	w.size = 3;
	tc_begin(&t, FUSE_WRITE, n);
	tc_add(&t, &w, sizeof(w));
	tc_add(&t, "abc", 3);
	CHECK_EQ(tc_send(&t), -EINVAL);
	/* READ bigger than the reply buffer is clamped to it */
	CHECK_EQ(fs_write(&t, n, fh, 0, "0123456789", 10, 0), 0);
	t.out_cap = sizeof(struct fuse_out_header) + 4;
	CHECK_EQ(fs_read(&t, n, fh, 0, buf, 10, &got), 0);
	CHECK_EQ(got, 4);
	t.out_cap = 0;
	CHECK_EQ(fs_read(&t, n, fh, UINT64_MAX, buf, 10, &got), -EINVAL);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	teardown();
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random bodies for every opcode, with real ids mixed in. */
static void random_round(size_t split)
{
	uint64_t d = 0, f = 0, fh = 0;

	setup();
	t.split = split;
	fs_mkdir(&t, 1, "d", 0755, &d);
	fs_create(&t, 1, "f", 0644, O_RDWR, &f, &fh);
	for (int i = 0; i < 6000; i++) {
		uint32_t op = (uint32_t)(next_rand() % 56);
		uint64_t ids[] = {1, d, f, 0, next_rand()};
		size_t len = next_rand() % 200;
		uint8_t body[200];

		for (size_t k = 0; k < len; k++) {
			uint64_t v = next_rand();

			body[k] = (v & 3) == 0 ? 0 : (uint8_t)(v >> 8);
		}
		/* plant live handles and ids where a struct expects them */
		if (len >= 8 && (next_rand() & 1))
			memcpy(body, (next_rand() & 1) ? &fh : &f, 8);
		if (op == FUSE_DESTROY || op == FUSE_INIT)
			continue; /* would end the session for the rest */
		tc_begin(&t, op, ids[next_rand() % 5]);
		tc_add(&t, body, len);
		tc_send(&t);
		if (!sane()) {
			CHECK(sane());
			break;
		}
	}
	/* the server is still serving */
	CHECK_EQ(fs_getattr(&t, 1, NULL), 0);
	teardown();
}

TEST(random_requests)
{
	random_round(0);
}

TEST(random_requests_split)
{
	random_round(3);
}

int main(void)
{
	RUN(truncated_header);
	RUN(len_field_lies);
	RUN(unknown_opcodes);
	RUN(init_negotiation);
	RUN(requests_before_init);
	RUN(reply_does_not_fit);
	RUN(oversized_bodies);
	RUN(bad_names);
	RUN(hostile_forget);
	RUN(batch_forget_lies);
	RUN(handle_abuse);
	RUN(random_requests);
	RUN(random_requests_split);
	return test_summary();
}
