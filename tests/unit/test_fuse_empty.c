/*
 * The empty share (src/fuse/empty.c), through the FUSE server as a guest
 * reaches it: INIT, the root's attributes, an empty listing, no name
 * found, every change refused. No host file is involved.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_server.h"
#include "fuse_test.h"
#include "test.h"

static struct tc t;

static int open_empty(void)
{
	memset(&t, 0, sizeof(t));
	return tc_open(&t, &fuse_empty_ops, fuse_empty_backend(),
		       &(struct fuse_server_config){.read_only = 1});
}

TEST(root_is_an_empty_read_only_directory)
{
	struct fuse_attr a;
	struct statfs_reply {
		struct fuse_statfs_out o;
	} sf;

	CHECK_EQ(open_empty(), 0);
	CHECK_EQ(fs_getattr(&t, 1, &a), 0);
	CHECK_EQ(a.mode, S_IFDIR | 0555);
	CHECK_EQ(fs_count_dir(&t, 1, 0), 0);
	CHECK_EQ(fs_count_dir(&t, 1, 1), 0);
	CHECK_EQ(fs_lookup(&t, 1, "etc", NULL), -ENOENT);
	tc_begin(&t, FUSE_STATFS, 1);
	CHECK_EQ(tc_send(&t), 0);
	CHECK_EQ(t.rep_len, sizeof(sf.o));
	if (t.rep && t.rep_len == sizeof(sf.o)) {
		memcpy(&sf.o, t.rep, sizeof(sf.o));
		CHECK_EQ(sf.o.st.bsize, 4096);
	}
	tc_close(&t);
}

TEST(every_change_is_refused)
{
	uint64_t n = 0, fh = 0;

	CHECK_EQ(open_empty(), 0);
	CHECK_EQ(fs_create(&t, 1, "f", 0644, O_RDWR, &n, &fh), -EROFS);
	CHECK_EQ(fs_mkdir(&t, 1, "d", 0755, &n), -EROFS);
	CHECK_EQ(fs_unlink(&t, 1, "x", 0), -EROFS);
	CHECK_EQ(fs_symlink(&t, 1, "l", "/etc/passwd"), -EROFS);
	/* a node id the server never gave: refused, nothing reached */
	CHECK(fs_getattr(&t, 99, NULL) < 0);
	tc_close(&t);
}

int main(void)
{
	RUN(root_is_an_empty_read_only_directory);
	RUN(every_change_is_refused);
	return test_summary();
}
