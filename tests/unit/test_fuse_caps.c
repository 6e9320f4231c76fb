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
#include <sys/resource.h>
#include <unistd.h>

#include "fuse_test.h"
#include "test.h"

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

static int setup(const struct fuse_server_config *cfg)
{
	void *be = NULL;

	memset(&t, 0, sizeof(t));
	if (!passthrough) {
		fuse_memfs_new(&be, NULL);
		return tc_open(&t, &fuse_memfs_ops, be, cfg);
	}
	snprintf(tmp, sizeof(tmp), "/tmp/fuse-caps.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	fuse_passthrough_new(tmp, 0, &be, NULL);
	return tc_open(&t, &fuse_passthrough_ops, be, cfg);
}

static void teardown(void)
{
	const struct fuse_backend_ops *ops = t.ops;
	void *be = t.be;
	char cmd[128];

	tc_close(&t);
	ops->destroy(be);
	if (passthrough) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd))
			fprintf(stderr, "cleanup of %s failed\n", tmp);
	}
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
	for (passthrough = 0; passthrough < 2; passthrough++) {
		printf("# backend: %s\n",
		       passthrough ? "passthrough" : "memfs");
		RUN(handle_cap);
		RUN(node_cap);
		RUN(defaults_follow_rlimit);
	}
	return test_summary();
}
