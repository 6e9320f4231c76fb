/*
 * Save/restore of the node, handle and DAX tables: a second server over
 * the same share, restored from the first one's state, answers the ids
 * the guest holds (node ids, file handles, window layout).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuse_dax_window.h"
#include "fuse_test.h"
#include "test.h"

#define WIN (8u << 20)
/* The state's magic ("SMFS"): writing it back in place changes nothing. */
#define STATE_MAGIC_T 0x53464d53u

static struct tc t;
static int passthrough;
static char tmp[64];

static const struct fuse_server_config cfg = {
    .dax = &dax, .dax_window_size = WIN, .trace = ""};

static void *new_backend(void)
{
	const struct fuse_backend_ops *o;
	void *be = NULL;

	tc_backend_new(passthrough, 0, "fuse-state", tmp, &be, &o);
	return be;
}

static const struct fuse_backend_ops *ops(void)
{
	return passthrough ? &fuse_passthrough_ops : &fuse_memfs_ops;
}

static void cleanup(void *be)
{
	tc_backend_free(ops(), be, tmp);
	cb_unmap(NULL, 0, WIN);
}

/* A fresh server over be, without INIT: restore brings the session. */
static struct fuse_server *bare_server(void *be)
{
	struct fuse_server_config c = cfg;
	struct fuse_server *s = NULL;

	c.ops = ops();
	c.backend = be;
	fuse_server_new(&c, &s, NULL);
	return s;
}

TEST(round_trip)
{
	struct fuse_setupmapping_in sm = {.len = 1 << 20,
					  .flags = FUSE_SETUPMAPPING_FLAG_READ,
					  .moffset = 2 << 20};
	struct fuse_dax_mapping m[2];
	uint64_t d = 0, f = 0, fh = 0, dfh = 0, g = 0, gfh = 0;
	struct fuse_server *s2;
	struct sm_error err = {0};
	void *be = new_backend(), *state = NULL;
	size_t len = 0, got;
	char buf[16];

	memset(&t, 0, sizeof(t));
	CHECK_EQ(tc_open(&t, ops(), be, &cfg), 0);
	CHECK_EQ(fs_mkdir(&t, 1, "d", 0755, &d), 0);
	CHECK_EQ(fs_create(&t, d, "f", 0644, O_RDWR, &f, &fh), 0);
	CHECK_EQ(fs_write(&t, f, fh, 0, "persisted", 9, 0), 0);
	CHECK_EQ(fs_nodeid(&t, d, "f"), f); /* nlookup 2 */
	CHECK_EQ(fs_open(&t, d, O_RDONLY, 1, &dfh), 0);
	/* a file with no lookups left, alive through its handle */
	CHECK_EQ(fs_create(&t, 1, "g", 0644, O_RDWR, &g, &gfh), 0);
	CHECK_EQ(fs_forget(&t, g, 1), 1);
	/* the path follows renames */
	CHECK_EQ(fs_rename(&t, 1, "d", 1, "d2", 0), 0);
	tc_begin(&t, FUSE_SETUPMAPPING, f);
	tc_add(&t, &sm, sizeof(sm));
	CHECK_EQ(tc_send(&t), 0);
	CHECK_EQ(win[2 << 20], 'p');
	CHECK_EQ(fuse_server_save(t.s, &state, &len, &err), 0);
	CHECK(len > 0);
	/* the VM goes away; its mappings with it */
	fuse_server_free(t.s);
	t.s = NULL;
	cb_unmap(NULL, 0, WIN);

	s2 = bare_server(be);
	CHECK(s2 != NULL);
	CHECK_EQ(fuse_server_restore(s2, state, len, &err), 0);
	CHECK_EQ(fuse_server_minor(s2), 36);
	t.s = s2;
	CHECK_EQ(win[2 << 20], 'p'); /* the window is back */
	CHECK_EQ(fuse_server_dax_mappings(s2, m, 2), 1);
	CHECK_EQ(m[0].nodeid, f);
	CHECK_EQ(fs_read(&t, f, fh, 0, buf, 9, &got), 0);
	CHECK(got == 9 && memcmp(buf, "persisted", 9) == 0);
	CHECK_EQ(fs_write(&t, g, gfh, 0, "g", 1, 0), 0);
	CHECK_EQ(fs_count_dir(&t, d, 0), 3);
	CHECK_EQ(fs_release(&t, d, dfh, 1), 0);
	/* lookup counts came back: two forgets to drop f */
	CHECK_EQ(fs_release(&t, f, fh, 0), 0);
	tc_begin(&t, FUSE_REMOVEMAPPING, 1);
	tc_add(&t, &(struct fuse_removemapping_in){.count = 1}, 4);
	tc_add(&t, &(struct fuse_removemapping_one){0, UINT64_MAX}, 16);
	CHECK_EQ(tc_send(&t), 0);
	CHECK_EQ(fs_forget(&t, f, 1), 1);
	CHECK_EQ(fs_getattr(&t, f, NULL), 0);
	CHECK_EQ(fs_forget(&t, f, 1), 1);
	CHECK_EQ(fs_getattr(&t, f, NULL), -ENOENT);
	/* new ids do not collide with restored ones */
	CHECK(fs_nodeid(&t, 1, "d2") == d);
	CHECK_EQ(fs_create(&t, 1, "h", 0644, O_RDWR, &f, &fh), 0);
	CHECK(f > g);
	CHECK(fh > gfh);
	/* restoring into a used server is refused */
	CHECK_EQ(fuse_server_restore(s2, state, len, NULL), -EBUSY);
	t.be = be;
	tc_close(&t);
	free(state);
	cleanup(be);
}

TEST(stale_after_host_change)
{
	uint64_t f = 0, fh = 0, e = 0;
	void *be = new_backend(), *state = NULL;
	struct fuse_server *s2;
	size_t len = 0;

	if (!passthrough) {
		ops()->destroy(be);
		SKIP_TEST("memfs has no host tree to change behind the server "
			  "(run on the passthrough backend)");
	}
	memset(&t, 0, sizeof(t));
	CHECK_EQ(tc_open(&t, ops(), be, &cfg), 0);
	CHECK_EQ(fs_create(&t, 1, "gone", 0644, O_RDWR, &f, &fh), 0);
	CHECK_EQ(fs_mkdir(&t, 1, "kept", 0755, &e), 0);
	CHECK_EQ(fuse_server_save(t.s, &state, &len, NULL), 0);
	fuse_server_free(t.s);
	t.s = NULL;
	snprintf((char *)t.msg, 128, "rm %s/gone", tmp);
	CHECK_EQ(system((char *)t.msg), 0);
	s2 = bare_server(be);
	CHECK_EQ(fuse_server_restore(s2, state, len, NULL), 0);
	t.s = s2;
	CHECK_EQ(fs_getattr(&t, f, NULL), -ESTALE);
	CHECK_EQ(fs_write(&t, f, fh, 0, "x", 1, 0), -EBADF);
	CHECK_EQ(fs_getattr(&t, e, NULL), 0);
	CHECK_EQ(fs_release(&t, f, fh, 0), 0);
	tc_close(&t);
	free(state);
	cleanup(be);
}

TEST(corrupt_state)
{
	uint64_t f = 0, fh = 0;
	void *be = new_backend(), *state = NULL;
	size_t len = 0;
	int bad = 0;

	memset(&t, 0, sizeof(t));
	CHECK_EQ(tc_open(&t, ops(), be, &cfg), 0);
	CHECK_EQ(fs_mkdir(&t, 1, "d", 0755, &f), 0);
	CHECK_EQ(fs_create(&t, f, "f", 0644, O_RDWR, &f, &fh), 0);
	CHECK_EQ(fuse_server_save(t.s, &state, &len, NULL), 0);
	fuse_server_free(t.s);
	t.s = NULL;
	/* every truncation, and a flipped byte at every offset */
	for (size_t cut = 0; cut < len; cut++) {
		struct fuse_server *s2 = bare_server(be);

		if (fuse_server_restore(s2, state, cut, NULL) == 0)
			bad++;
		fuse_server_free(s2);
	}
	CHECK_EQ(bad, 0);
	for (size_t i = 0; i < len; i++) {
		struct fuse_server *s2 = bare_server(be);
		uint8_t *p = state;

		p[i] ^= 0x41;
		fuse_server_restore(s2, state, len, NULL); /* must not crash */
		p[i] ^= 0x41;
		fuse_server_free(s2);
	}
	tc_close(&t);
	free(state);
	cleanup(be);
}

/* Record types and field offsets of the state format (src/fuse/state.c). */
enum { R_SERVER = 1, R_NODE, R_HANDLE, R_MAP };

/* The value of the idx-th record of type in a state, or NULL. */
static uint8_t *rec(void *state, size_t len, uint16_t type, int idx)
{
	uint8_t *p = state;

	for (size_t off = 0; len - off >= 6;) {
		uint16_t ty;
		uint32_t rl;

		memcpy(&ty, p + off, 2);
		memcpy(&rl, p + off + 2, 4);
		if (ty == type && idx-- == 0)
			return p + off + 6;
		if (ty == 0 || rl > len - off - 6)
			break;
		off += 6 + rl;
	}
	return NULL;
}

struct corrupt {
	const char *what;
	uint16_t type;
	int idx;      /* which record of that type */
	size_t field; /* byte offset in the record's value */
	size_t size;  /* 4 or 8 */
	uint64_t value;
	int want;	 /* restore's result */
	const char *msg; /* in the error message */
};

/* Restores state with one field changed into a fresh server; checks the
 * result and the message, and that a refused restore left no root clash. */
static void try_corrupt(void *be, const void *state, size_t len,
			const struct corrupt *c,
			const struct fuse_server_config *extra)
{
	struct sm_error err = {0};
	struct fuse_server_config conf = cfg;
	struct fuse_server *s2 = NULL;
	uint8_t *copy = malloc(len), *v;
	int rc;

	if (!copy)
		return;
	memcpy(copy, state, len);
	v = rec(copy, len, c->type, c->idx);
	CHECK(v != NULL);
	if (v && c->size == 8)
		memcpy(v + c->field, &c->value, 8);
	else if (v)
		memcpy(v + c->field, &(uint32_t){(uint32_t)c->value}, 4);
	if (extra)
		conf = *extra;
	conf.ops = ops();
	conf.backend = be;
	fuse_server_new(&conf, &s2, NULL);
	rc = fuse_server_restore(s2, copy, len, &err);
	if (rc != c->want ||
	    (rc && (err.code != rc || !strstr(err.msg, c->msg))))
		fprintf(stderr, "  %s: restore %d (%s), expected %d (%s)\n",
			c->what, rc, err.msg, c->want, c->msg);
	CHECK_EQ(rc, c->want);
	if (rc)
		CHECK(err.code == rc && strstr(err.msg, c->msg));
	fuse_server_free(s2);
	cb_unmap(NULL, 0, WIN);
	free(copy);
}

/* A state to corrupt: d/ and d/f (nodes 2, 3), a handle on each, two DAX
 * mappings of f. */
static int hostile_base(void *be, void **state, size_t *len, uint64_t *ids)
{
	struct fuse_setupmapping_in sm = {.len = 4096,
					  .flags = FUSE_SETUPMAPPING_FLAG_READ};
	uint64_t fh = 0;
	int rc = 0;

	memset(&t, 0, sizeof(t));
	rc |= tc_open(&t, ops(), be, &cfg);
	rc |= fs_mkdir(&t, 1, "d", 0755, &ids[0]);
	rc |= fs_create(&t, ids[0], "f", 0644, O_RDWR, &ids[1], &fh);
	rc |= fs_write(&t, ids[1], fh, 0, "x", 1, 0);
	rc |= fs_open(&t, ids[0], O_RDONLY, 1, &fh);
	for (int i = 0; i < 2; i++) {
		sm.moffset = (uint64_t)i << 20;
		tc_begin(&t, FUSE_SETUPMAPPING, ids[1]);
		tc_add(&t, &sm, sizeof(sm));
		rc |= tc_send(&t);
	}
	rc |= fuse_server_save(t.s, state, len, NULL);
	fuse_server_free(t.s);
	t.s = NULL;
	tc_close(&t);
	cb_unmap(NULL, 0, WIN);
	return rc;
}

TEST(hostile_state)
{
	const uint64_t MAX = UINT64_MAX, BIG = (1ULL << 62) + 1;
	void *be = new_backend(), *state = NULL;
	uint64_t ids[2] = {0, 0};
	size_t len = 0;

	CHECK_EQ(hostile_base(be, &state, &len, ids), 0);
	CHECK(ids[0] == 2 && ids[1] == 3);
	const struct corrupt cases[] = {
	    {"as saved", R_SERVER, 0, 0, 4, STATE_MAGIC_T, 0, ""},
	    {"next_nodeid ~0", R_SERVER, 0, 16, 8, MAX, -EINVAL, "next_nodeid"},
	    {"next_nodeid 2^62+1", R_SERVER, 0, 16, 8, BIG, -EINVAL,
	     "next_nodeid"},
	    {"next_nodeid 0", R_SERVER, 0, 16, 8, 0, -EINVAL, "next_nodeid"},
	    {"next_nodeid = a node's id", R_SERVER, 0, 16, 8, 3, -EINVAL,
	     "node 3"},
	    {"next_fh ~0", R_SERVER, 0, 24, 8, MAX, -EINVAL, "next_fh"},
	    {"next_fh 0", R_SERVER, 0, 24, 8, 0, -EINVAL, "next_fh"},
	    {"next_fh = a handle's id", R_SERVER, 0, 24, 8, 2, -EINVAL,
	     "handle 2"},
	    {"minor 99", R_SERVER, 0, 8, 4, 99, -EINVAL, "minor"},
	    {"node id ~0", R_NODE, 0, 0, 8, MAX, -EINVAL, "node"},
	    {"node id 1 (root)", R_NODE, 0, 0, 8, 1, -EINVAL, "node 1"},
	    {"node lookups ~0", R_NODE, 1, 16, 8, MAX, -EINVAL, "lookup count"},
	    {"node type 0", R_NODE, 1, 24, 4, 0, -EINVAL, "type"},
	    {"unknown parent", R_NODE, 1, 8, 8, 99, -EINVAL, "unknown parent"},
	    {"handle fh 0", R_HANDLE, 0, 0, 8, 0, -EINVAL, "handle 0"},
	    {"handle fh ~0", R_HANDLE, 0, 0, 8, MAX, -EINVAL, "handle"},
	    {"handle of node ~0", R_HANDLE, 0, 8, 8, MAX, -EINVAL,
	     "unknown node"},
	    {"handle O_ACCMODE", R_HANDLE, 0, 16, 4, O_ACCMODE, -EINVAL,
	     "flags"},
	    {"handle is_dir 2", R_HANDLE, 0, 20, 4, 2, -EINVAL, "flags"},
	    {"map foff ~0 & ~4095", R_MAP, 0, 24, 8, MAX & ~4095ULL, -EINVAL,
	     "DAX mapping"},
	    {"map len ~0", R_MAP, 0, 8, 8, MAX, -EINVAL, "DAX mapping"},
	    {"map writable 2", R_MAP, 0, 32, 4, 2, -EINVAL, "DAX mapping"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		try_corrupt(be, state, len, &cases[i], NULL);
	free(state);
	cleanup(be);
}

/* A state holding more than the new server's caps is refused, with the
 * cap's errno, like the requests that would have gone over it. */
TEST(caps_on_restore)
{
	void *be = new_backend(), *state = NULL;
	struct fuse_server_config c = cfg;
	uint64_t ids[2] = {0, 0};
	size_t len = 0;
	const struct corrupt as_saved = {
	    "nodes", R_SERVER, 0, 0, 4, STATE_MAGIC_T, -ENFILE, "node cap"};
	struct corrupt k = as_saved;

	CHECK_EQ(hostile_base(be, &state, &len, ids), 0);
	c.max_nodes = 2; /* root + d, not f */
	try_corrupt(be, state, len, &k, &c);
	c = cfg;
	c.max_handles = 1;
	k.what = "handles";
	k.want = -EMFILE;
	k.msg = "handle cap";
	try_corrupt(be, state, len, &k, &c);
	c = cfg;
	c.max_dax_mappings = 1;
	k.what = "maps";
	k.want = -ENOSPC;
	k.msg = "mapping cap";
	try_corrupt(be, state, len, &k, &c);
	c = cfg;
	c.max_nodes = 3;
	c.max_handles = 2;
	c.max_dax_mappings = 2;
	k.what = "at the caps";
	k.want = 0;
	k.msg = "";
	try_corrupt(be, state, len, &k, &c);
	free(state);
	cleanup(be);
}

int main(void)
{
	win = mmap(NULL, WIN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (win == MAP_FAILED)
		return 1;
	for (passthrough = 0; passthrough < 2; passthrough++) {
		printf("# backend: %s\n",
		       passthrough ? "passthrough" : "memfs");
		RUN(round_trip);
		RUN(stale_after_host_change);
		RUN(corrupt_state);
		RUN(hostile_state);
		RUN(caps_on_restore);
	}
	return test_summary();
}
