/*
 * Save/restore of the node, handle and DAX tables: a second server over
 * the same share, restored from the first one's state, answers the ids
 * the guest holds (node ids, file handles, window layout).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuse_test.h"
#include "test.h"

#define WIN (8u << 20)

static struct tc t;
static uint8_t *win;
static int passthrough;
static char tmp[64];

static int cb_map(void *o, uint64_t off, int fd, uint64_t foff, uint64_t len,
		  int wr)
{
	(void)o;
	return mmap(win + off, len, PROT_READ | (wr ? PROT_WRITE : 0),
		    MAP_SHARED | MAP_FIXED, fd, (off_t)foff) == MAP_FAILED
		   ? -errno
		   : 0;
}

static int cb_unmap(void *o, uint64_t off, uint64_t len)
{
	(void)o;
	return mmap(win + off, len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		    0) == MAP_FAILED
		   ? -errno
		   : 0;
}

static const struct fuse_dax_ops dax = {cb_map, cb_unmap};
static const struct fuse_server_config cfg = {
    .dax = &dax, .dax_window_size = WIN, .trace = ""};

static void *new_backend(void)
{
	void *be = NULL;

	if (!passthrough) {
		fuse_memfs_new(&be, NULL);
		return be;
	}
	snprintf(tmp, sizeof(tmp), "/tmp/fuse-state.XXXXXX");
	if (mkdtemp(tmp))
		fuse_passthrough_new(tmp, 0, &be, NULL);
	return be;
}

static const struct fuse_backend_ops *ops(void)
{
	return passthrough ? &fuse_passthrough_ops : &fuse_memfs_ops;
}

static void cleanup(void *be)
{
	char cmd[128];

	ops()->destroy(be);
	cb_unmap(NULL, 0, WIN);
	if (passthrough) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd))
			fprintf(stderr, "cleanup failed\n");
	}
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
	}
	return test_summary();
}
