/*
 * DAX: SETUPMAPPING/REMOVEMAPPING validation and the transport callbacks,
 * with a real window: a reserved PROT_NONE region that the callbacks map
 * file ranges into, as the virtio-fs device does with guest memory.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuse_test.h"
#include "test.h"

#define WIN (16u << 20)
#define MB (1u << 20)

static struct tc t;
static uint8_t *win;
static int maps, unmaps, passthrough;
static char tmp[64];

static int cb_map(void *opaque, uint64_t off, int fd, uint64_t foff,
		  uint64_t len, int wr)
{
	void *p;

	(void)opaque;
	p = mmap(win + off, len, PROT_READ | (wr ? PROT_WRITE : 0),
		 MAP_SHARED | MAP_FIXED, fd, (off_t)foff);
	maps++;
	return p == MAP_FAILED ? -errno : 0;
}

static int cb_unmap(void *opaque, uint64_t off, uint64_t len)
{
	void *p;

	(void)opaque;
	p = mmap(win + off, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
		 0);
	unmaps++;
	return p == MAP_FAILED ? -errno : 0;
}

static const struct fuse_dax_ops dax = {cb_map, cb_unmap};

static void setup(int with_dax, int ro)
{
	struct fuse_server_config cfg = {.read_only = ro};
	const struct fuse_backend_ops *ops;
	void *be = NULL;

	memset(&t, 0, sizeof(t));
	if (with_dax) {
		cfg.dax = &dax;
		cfg.dax_window_size = WIN;
	}
	tc_backend_new(passthrough, 0, "fuse-dax", tmp, &be, &ops);
	tc_open(&t, ops, be, &cfg);
}

static void teardown(void)
{
	const struct fuse_backend_ops *ops = t.ops;
	void *be = t.be;

	tc_close(&t);
	tc_backend_free(ops, be, tmp);
	cb_unmap(NULL, 0, WIN);
}

static int removemapping(uint32_t count, const uint64_t *pairs, size_t n)
{
	struct fuse_removemapping_in in = {.count = count};

	tc_begin(&t, FUSE_REMOVEMAPPING, 1);
	tc_add(&t, &in, sizeof(in));
	tc_add(&t, pairs, n * 16);
	return tc_send(&t);
}

/* A 4 MiB file whose every MiB is filled with its index. */
static uint64_t make_file(void)
{
	uint64_t n = 0, fh = 0;
	static uint8_t buf[MB];

	if (fs_create(&t, 1, "f", 0644, O_RDWR, &n, &fh))
		return 0;
	for (int i = 0; i < 4; i++) {
		memset(buf, 'a' + i, MB);
		fs_write(&t, n, fh, (uint64_t)i * MB, buf, MB, 0);
	}
	fs_release(&t, n, fh, 0);
	return n;
}

TEST(no_dax_is_enosys)
{
	uint64_t pair[2] = {0, MB};
	uint64_t n;

	setup(0, 0);
	CHECK(!(((const struct fuse_init_out *)t.rep)->flags &
		FUSE_MAP_ALIGNMENT));
	n = make_file();
	CHECK_EQ(fs_setupmapping(&t, n, 0, 0, MB, FUSE_SETUPMAPPING_FLAG_READ),
		 -ENOSYS);
	CHECK_EQ(removemapping(1, pair, 1), -ENOSYS);
	teardown();
}

TEST(map_read_write)
{
	const struct fuse_init_out *o;
	struct fuse_dax_mapping m[4];
	uint64_t n, fh = 0;
	char buf[8];
	size_t got;

	setup(1, 0);
	o = (const void *)t.rep;
	CHECK(o->flags & FUSE_MAP_ALIGNMENT);
	CHECK_EQ(o->map_alignment, 12);
	n = make_file();
	CHECK(n != 0);
	/* file MiB 1..3 at window 2 MiB, read-only */
	CHECK_EQ(fs_setupmapping(&t, n, 2 * MB, MB, 2 * MB,
				 FUSE_SETUPMAPPING_FLAG_READ),
		 0);
	CHECK_EQ(win[2 * MB], 'b');
	CHECK_EQ(win[4 * MB - 1], 'c');
	CHECK_EQ(fuse_server_dax_mappings(t.s, m, 4), 1);
	CHECK_EQ(m[0].window_off, 2 * MB);
	CHECK_EQ(m[0].file_off, MB);
	CHECK_EQ(m[0].nodeid, n);
	CHECK_EQ(m[0].writable, 0);
	/* writable mapping: stores land in the file */
	CHECK_EQ(
	    fs_setupmapping(&t, n, 8 * MB, 0, MB, FUSE_SETUPMAPPING_FLAG_WRITE),
	    0);
	memcpy(win + 8 * MB, "DAX!", 4);
	CHECK_EQ(fs_open(&t, n, O_RDONLY, 0, &fh), 0);
	CHECK_EQ(fs_read(&t, n, fh, 0, buf, 4, &got), 0);
	CHECK(got == 4 && memcmp(buf, "DAX!", 4) == 0);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	CHECK_EQ(fuse_server_dax_mappings(t.s, m, 4), 2);
	teardown();
}

TEST(bad_mappings)
{
	uint64_t n, d = 0;
	const uint64_t R = FUSE_SETUPMAPPING_FLAG_READ;

	setup(1, 0);
	n = make_file();
	CHECK_EQ(fs_mkdir(&t, 1, "d", 0755, &d), 0);
	maps = 0;
	CHECK_EQ(fs_setupmapping(&t, n, 100, 0, MB, R), -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, n, 0, 100, MB, R), -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, n, 0, 0, 100, R), -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, n, 0, 0, 0, R), -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, n, WIN, 0, 4096, R), -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, n, WIN - 4096, 0, 8192, R), -EINVAL);
	CHECK_EQ(
	    fs_setupmapping(&t, n, WIN - 4096, 0, UINT64_MAX & ~4095ULL, R),
	    -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, n, 0, UINT64_MAX & ~4095ULL, 4096, R),
		 -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, n, 0, 0, 4096, 0x80), -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, d, 0, 0, 4096, R), -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, 1, 0, 0, 4096, R), -EINVAL);
	CHECK_EQ(fs_setupmapping(&t, 987654, 0, 0, 4096, R), -ENOENT);
	CHECK_EQ(maps, 0); /* none reached the transport */
	CHECK_EQ(fuse_server_dax_mappings(t.s, NULL, 0), 0);
	teardown();
	setup(1, 1);
	n = fs_nodeid(&t, 1, "nothing");
	CHECK_EQ(
	    fs_setupmapping(&t, 1, 0, 0, 4096, FUSE_SETUPMAPPING_FLAG_WRITE),
	    -EINVAL);
	teardown();
}

TEST(read_only_refuses_writable_maps)
{
	uint64_t n;

	setup(1, 0);
	n = make_file();
	/* same server state is not reusable read-only; just flip the flag
	 * by serving a second server over the same backend */
	tc_close(&t);
	tc_open(&t, t.ops, t.be,
		&(struct fuse_server_config){
		    .read_only = 1, .dax = &dax, .dax_window_size = WIN});
	n = fs_nodeid(&t, 1, "f");
	CHECK(n != 0);
	CHECK_EQ(fs_setupmapping(&t, n, 0, 0, MB, FUSE_SETUPMAPPING_FLAG_WRITE),
		 -EROFS);
	CHECK_EQ(fs_setupmapping(&t, n, 0, 0, MB, FUSE_SETUPMAPPING_FLAG_READ),
		 0);
	teardown();
}

TEST(remove_and_split)
{
	struct fuse_dax_mapping m[8];
	uint64_t pair[4], n;
	const uint64_t R = FUSE_SETUPMAPPING_FLAG_READ;

	setup(1, 0);
	n = make_file();
	CHECK_EQ(fs_setupmapping(&t, n, 0, 0, 4 * MB, R), 0);
	/* punch the middle: two records remain */
	pair[0] = MB;
	pair[1] = 2 * MB;
	CHECK_EQ(removemapping(1, pair, 1), 0);
	CHECK_EQ(fuse_server_dax_mappings(t.s, m, 8), 2);
	CHECK_EQ(win[0], 'a');
	CHECK_EQ(win[3 * MB], 'd');
	for (int i = 0; i < 2; i++)
		if (m[i].window_off == 3 * MB)
			CHECK_EQ(m[i].file_off, 3 * MB);
	/* a new map over part of a record replaces that part */
	CHECK_EQ(fs_setupmapping(&t, n, 0, 2 * MB, MB, R), 0);
	CHECK_EQ(win[0], 'c');
	CHECK_EQ(fuse_server_dax_mappings(t.s, m, 8), 2);
	/* lies in the count, unaligned and out-of-window ranges */
	CHECK_EQ(removemapping(0, pair, 1), -EINVAL);
	CHECK_EQ(removemapping(5, pair, 2), -EINVAL);
	pair[0] = 1;
	CHECK_EQ(removemapping(1, pair, 1), -EINVAL);
	pair[0] = WIN;
	pair[1] = MB;
	CHECK_EQ(removemapping(1, pair, 1), -EINVAL);
	/* the mapping keeps its node alive past a hostile FORGET */
	CHECK_EQ(fs_forget(&t, n, 1000), 1);
	CHECK_EQ(fs_getattr(&t, n, NULL), 0);
	/* everything: offset 0, length ~0 */
	pair[0] = 0;
	pair[1] = UINT64_MAX;
	CHECK_EQ(removemapping(1, pair, 1), 0);
	CHECK_EQ(fuse_server_dax_mappings(t.s, m, 8), 0);
	CHECK_EQ(fs_getattr(&t, n, NULL), -ENOENT);
	teardown();
}

static void run_all(void)
{
	RUN(no_dax_is_enosys);
	RUN(map_read_write);
	RUN(bad_mappings);
	RUN(read_only_refuses_writable_maps);
	RUN(remove_and_split);
}

int main(void)
{
	win = mmap(NULL, WIN, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (win == MAP_FAILED)
		return 1;
	for (passthrough = 0; passthrough < 2; passthrough++) {
		printf("# backend: %s\n",
		       passthrough ? "passthrough" : "memfs");
		run_all();
	}
	return test_summary();
}
