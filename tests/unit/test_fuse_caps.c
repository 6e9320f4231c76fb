/*
 * Caps on what a guest can make the FUSE server hold (docs/fuse.md,
 * "Caps"): open handles, nodes (the passthrough backend's O_PATH fds) and
 * DAX mappings. Each test drives real requests over a cap against memfs
 * and passthrough, checks the errno the guest sees, that the process's fd
 * count stays bounded, that other requests still work at the cap, and that
 * releasing something lets the next request through again.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fuse_dax_window.h"
#include "fuse_test.h"
#include "test.h"

#define WIN (16u << 20)
#define KB (1u << 10)
#define MB (1u << 20)

static struct tc t;
static int passthrough;
static char tmp[64];

/* Entries in /proc/self/fd: what the process holds right now. */
static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Lines of /proc/self/maps: the process's mappings (vm.max_map_count). */
static int map_count(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0, c;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int setup(const struct fuse_server_config *cfg)
{
	const struct fuse_backend_ops *ops;
	void *be = NULL;

	memset(&t, 0, sizeof(t));
	if (tc_backend_new(passthrough, 0, "fuse-caps", tmp, &be, &ops))
		return -1;
	return tc_open(&t, ops, be, cfg);
}

static void teardown(void)
{
	const struct fuse_backend_ops *ops = t.ops;
	void *be = t.be;

	tc_close(&t);
	tc_backend_free(ops, be, tmp);
	cb_unmap(NULL, 0, WIN);
}

/* Directories d0..d(n-1) in the root, made and forgotten: no node left. */
static int make_dirs(int n)
{
	for (int i = 0; i < n; i++) {
		char name[16];
		uint64_t id = 0;

		snprintf(name, sizeof(name), "d%d", i);
		if (fs_mkdir(&t, 1, name, 0755, &id) ||
		    fs_forget(&t, id, 1) != 1)
			return -1;
	}
	return 0;
}

/* LOOKUPs d0..d(n-1) without FORGET; returns how many worked, -1 when an
 * error other than want came back. */
static int lookup_dirs(int n, int want, uint64_t *ids)
{
	int ok = 0;

	for (int i = 0; i < n; i++) {
		char name[16];
		struct fuse_entry_out e;
		int rc;

		snprintf(name, sizeof(name), "d%d", i);
		rc = fs_lookup(&t, 1, name, &e);
		if (rc == 0 && ids)
			ids[ok] = e.nodeid;
		if (rc == 0)
			ok++;
		else if (rc != want)
			return -1;
	}
	return ok;
}

TEST(handle_cap)
{
	struct fuse_server_config cfg = {.max_handles = 16};
	uint64_t n = 0, fh[16] = {0}, dfh = 0, d = 0;
	int base, opened = 1;
	char buf[4];
	size_t got;

	CHECK_EQ(setup(&cfg), 0);
	base = fd_count();
	CHECK_EQ(fs_create(&t, 1, "f", 0644, O_RDWR, &n, &fh[0]), 0);
	CHECK_EQ(fs_write(&t, n, fh[0], 0, "abc", 3, 0), 0);
	while (opened < 16 && fs_open(&t, n, O_RDONLY, 0, &fh[opened]) == 0)
		opened++;
	CHECK_EQ(opened, 16);
	/* over the cap: OPEN, OPENDIR and CREATE get EMFILE, no fd leaks */
	for (int i = 0; i < 200; i++) {
		CHECK_EQ(fs_open(&t, n, O_RDONLY, 0, NULL), -EMFILE);
		CHECK_EQ(fs_open(&t, 1, O_RDONLY, 1, NULL), -EMFILE);
	}
	CHECK_EQ(fs_create(&t, 1, "g", 0644, O_RDWR, NULL, NULL), -EMFILE);
	CHECK_EQ(fs_lookup(&t, 1, "g", NULL), -ENOENT); /* nothing was made */
	/* passthrough: one fd per handle and one for the node, no more */
	CHECK(fd_count() - base <= 16 + 1);
	/* everything else still works at the cap */
	CHECK_EQ(fs_read(&t, n, fh[1], 0, buf, 3, &got), 0);
	CHECK(got == 3 && memcmp(buf, "abc", 3) == 0);
	CHECK_EQ(fs_getattr(&t, n, NULL), 0);
	CHECK_EQ(fs_nodeid(&t, 1, "f"), n);
	CHECK_EQ(fs_mkdir(&t, 1, "d", 0755, &d), 0);
	/* a release lets the next OPEN through, and only that one */
	CHECK_EQ(fs_release(&t, n, fh[0], 0), 0);
	CHECK_EQ(fs_open(&t, d, O_RDONLY, 1, &dfh), 0);
	CHECK_EQ(fs_open(&t, n, O_RDONLY, 0, NULL), -EMFILE);
	CHECK_EQ(fs_release(&t, d, dfh, 1), 0);
	for (int i = 1; i < 16; i++)
		CHECK_EQ(fs_release(&t, n, fh[i], 0), 0);
	CHECK_EQ(fs_create(&t, 1, "g", 0644, O_RDWR, NULL, &fh[0]), 0);
	teardown();
}

TEST(node_cap)
{
	struct fuse_server_config cfg = {.max_nodes = 16};
	uint64_t ids[40] = {0}, d0, fh = 0;
	int base, ok;

	CHECK_EQ(setup(&cfg), 0);
	CHECK_EQ(make_dirs(40), 0);
	base = fd_count();
	/* the root is a node: 15 more fit */
	ok = lookup_dirs(40, -ENFILE, ids);
	CHECK_EQ(ok, 15);
	d0 = ids[0];
	/* passthrough: one O_PATH fd per node, none left behind by the
	 * refused LOOKUPs */
	for (int i = 0; i < 5; i++)
		CHECK_EQ(lookup_dirs(40, -ENFILE, NULL), 15);
	CHECK(fd_count() - base <= 15);
	/* at the cap: known nodes, listings and handles still work */
	CHECK_EQ(fs_nodeid(&t, 1, "d0"), d0);
	CHECK_EQ(fs_getattr(&t, d0, NULL), 0);
	CHECK_EQ(fs_count_dir(&t, 1, 0), 42);
	CHECK_EQ(fs_count_dir(&t, 1, 1), 42); /* READDIRPLUS: no new nodes */
	CHECK_EQ(fs_open(&t, d0, O_RDONLY, 1, &fh), 0);
	CHECK_EQ(fs_release(&t, d0, fh, 1), 0);
	/* what would make a new object is refused before it is made */
	CHECK_EQ(fs_mkdir(&t, 1, "new", 0755, NULL), -ENFILE);
	CHECK_EQ(fs_create(&t, 1, "newf", 0644, O_RDWR, NULL, NULL), -ENFILE);
	CHECK_EQ(fs_symlink(&t, 1, "newl", "x"), -ENFILE);
	/* a FORGET frees a node and the next LOOKUP gets it */
	CHECK_EQ(fs_forget(&t, d0, 100), 1);
	CHECK_EQ(fs_lookup(&t, 1, "new", NULL), -ENOENT); /* nothing made */
	CHECK(fs_nodeid(&t, 1, "d39") != 0);
	CHECK_EQ(fs_lookup(&t, 1, "d38", NULL), -ENFILE);
	teardown();
}

static int removemapping(uint64_t moff, uint64_t len)
{
	struct fuse_removemapping_in in = {.count = 1};
	struct fuse_removemapping_one one = {.moffset = moff, .len = len};

	tc_begin(&t, FUSE_REMOVEMAPPING, 1);
	tc_add(&t, &in, sizeof(in));
	tc_add(&t, &one, sizeof(one));
	return tc_send(&t);
}

/* A 64 KiB file whose every 4 KiB page is filled with 'a' + its index. */
static uint64_t dax_file(uint64_t *fh)
{
	static uint8_t buf[64 * KB];
	uint64_t n = 0;

	for (int i = 0; i < 16; i++)
		memset(buf + i * 4 * KB, 'a' + i, 4 * KB);
	if (fs_create(&t, 1, "f", 0644, O_RDWR, &n, fh) ||
	    fs_write(&t, n, *fh, 0, buf, sizeof(buf), 0))
		return 0;
	return n;
}

TEST(dax_cap)
{
	struct fuse_server_config cfg = {
	    .dax = &dax, .dax_window_size = WIN, .max_dax_mappings = 8};
	uint64_t n, fh = 0;
	int vmas, rc;
	char buf[4];
	size_t got;

	CHECK_EQ(setup(&cfg), 0);
	n = dax_file(&fh);
	CHECK(n != 0);
	/* record 0 is 64 KiB, records 1..7 one page each */
	CHECK_EQ(
	    fs_setupmapping(&t, n, 0, 0, 64 * KB, FUSE_SETUPMAPPING_FLAG_READ),
	    0);
	for (int i = 1; i < 8; i++)
		CHECK_EQ(fs_setupmapping(&t, n, (uint64_t)i * MB, 0, 4 * KB,
					 FUSE_SETUPMAPPING_FLAG_READ),
			 0);
	vmas = map_count();
	for (int i = 0; i < 100; i++)
		CHECK_EQ(fs_setupmapping(&t, n, 8 * MB, 0, 4 * KB,
					 FUSE_SETUPMAPPING_FLAG_READ),
			 -ENOSPC);
	CHECK_EQ(fuse_server_dax_mappings(t.s, NULL, 0), 8);
	CHECK_EQ(map_count(), vmas); /* nothing more mapped in the process */
	/* at the cap: replacing a mapping in place works (the kernel does it
	 * to upgrade a read mapping to write), so do reads and GETATTR */
	CHECK_EQ(fs_setupmapping(&t, n, MB, 4 * KB, 4 * KB,
				 FUSE_SETUPMAPPING_FLAG_READ),
		 0);
	CHECK_EQ(win[MB], 'b');
	CHECK_EQ(fs_read(&t, n, fh, 0, buf, 1, &got), 0);
	CHECK_EQ(fs_getattr(&t, n, NULL), 0);
	/* a hole punched in record 0 would make a ninth record */
	rc = removemapping(8 * KB, 4 * KB);
	CHECK_EQ(rc, -ENOSPC);
	if (rc == -ENOSPC) /* else the page is gone: reading it would fault */
		CHECK_EQ(win[8 * KB], 'c');
	/* removing a whole record makes room again */
	CHECK_EQ(removemapping(7 * MB, 4 * KB), 0);
	CHECK_EQ(removemapping(8 * KB, 4 * KB), 0);
	CHECK_EQ(fuse_server_dax_mappings(t.s, NULL, 0), 8);
	CHECK_EQ(fs_setupmapping(&t, n, 8 * MB, 0, 4 * KB,
				 FUSE_SETUPMAPPING_FLAG_READ),
		 -ENOSPC);
	CHECK_EQ(removemapping(6 * MB, 4 * KB), 0);
	CHECK_EQ(fs_setupmapping(&t, n, 8 * MB, 0, 4 * KB,
				 FUSE_SETUPMAPPING_FLAG_READ),
		 0);
	CHECK_EQ(win[8 * MB], 'a');
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	teardown();
}

/* Default DAX cap: window / 2 MiB, at least 16: 16 for a 16 MiB window. */
TEST(dax_default_cap)
{
	struct fuse_server_config cfg = {.dax = &dax, .dax_window_size = WIN};
	uint64_t n, fh = 0;
	int ok = 0, rc = 0;

	CHECK_EQ(setup(&cfg), 0);
	n = dax_file(&fh);
	CHECK(n != 0);
	for (int i = 0; i < 32 && rc == 0; i++) {
		rc = fs_setupmapping(&t, n, (uint64_t)i * 512 * KB, 0, 4 * KB,
				     FUSE_SETUPMAPPING_FLAG_READ);
		ok += rc == 0;
	}
	CHECK_EQ(ok, 16);
	CHECK_EQ(rc, -ENOSPC);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	teardown();
}

/* The defaults follow RLIMIT_NOFILE: at a soft limit of 512 one server
 * holds at most 128 nodes and 64 handles, and the process keeps fds. */
TEST(defaults_follow_rlimit)
{
	struct rlimit old, low;
	uint64_t fh[65] = {0};
	int ok, opened = 0, fd;

	if (getrlimit(RLIMIT_NOFILE, &old) < 0 || old.rlim_max < 512) {
		CHECK(!"a hard RLIMIT_NOFILE of at least 512");
		return;
	}
	low = old;
	low.rlim_cur = 512;
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	CHECK_EQ(setup(NULL), 0);
	CHECK_EQ(make_dirs(300), 0);
	ok = lookup_dirs(300, -ENFILE, NULL);
	CHECK_EQ(ok, 127);
	while (opened < 65 && fs_open(&t, 1, O_RDONLY, 1, &fh[opened]) == 0)
		opened++;
	CHECK_EQ(opened, 64);
	CHECK_EQ(fs_open(&t, 1, O_RDONLY, 1, NULL), -EMFILE);
	/* the rest of the process still opens files */
	fd = dup(0);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(fd_count() < 256);
	for (int i = 0; i < opened; i++)
		fs_release(&t, 1, fh[i], 1);
	teardown();
	setrlimit(RLIMIT_NOFILE, &old);
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
		RUN(handle_cap);
		RUN(node_cap);
		RUN(defaults_follow_rlimit);
		RUN(dax_cap);
		RUN(dax_default_cap);
	}
	return test_summary();
}
