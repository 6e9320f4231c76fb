/*
 * Path-escape attempts against the passthrough backend: the guest must
 * never reach a host path outside the shared directory, nor make the
 * server open a FIFO, socket or device node.
 */
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuse_test.h"
#include "test.h"

static struct tc t;
static char dir[64];

static void sh(const char *fmt, const char *arg)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg);
	if (system(cmd) != 0)
		fprintf(stderr, "setup command failed: %s\n", cmd);
}

static void setup_at(const char *root)
{
	void *be = NULL;

	memset(&t, 0, sizeof(t));
	if (fuse_passthrough_new(root, 0, &be, NULL) == 0)
		tc_open(&t, &fuse_passthrough_ops, be, NULL);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/fuse-esc.XXXXXX");
	if (!mkdtemp(dir))
		return;
	setup_at(dir);
}

static void teardown(void)
{
	void *be = t.be;

	tc_close(&t);
	fuse_passthrough_ops.destroy(be);
	if (dir[0])
		sh("rm -rf %s", dir);
	dir[0] = 0;
}

/* Reads a whole regular file through the server into buf. */
static int read_all(uint64_t node, char *buf, size_t size, size_t *got)
{
	uint64_t fh = 0;
	int rc = fs_open(&t, node, O_RDONLY, 0, &fh);

	*got = 0;
	if (rc)
		return rc;
	rc = fs_read(&t, node, fh, 0, buf, (uint32_t)size - 1, got);
	buf[*got] = 0;
	fs_release(&t, node, fh, 0);
	return rc;
}

TEST(dotdot_and_slashes)
{
	void *ino;
	struct stat st;
	void *root;

	setup();
	CHECK_EQ(fs_lookup(&t, 1, "..", NULL), -EINVAL);
	CHECK_EQ(fs_lookup(&t, 1, "../etc", NULL), -EINVAL);
	CHECK_EQ(fs_lookup(&t, 1, "/etc", NULL), -EINVAL);
	CHECK_EQ(fs_mkdir(&t, 1, "d", 0755, NULL), 0);
	CHECK_EQ(fs_lookup(&t, fs_nodeid(&t, 1, "d"), "..", NULL), -EINVAL);
	CHECK_EQ(fs_rename(&t, 1, "d", 1, "..", 0), -EINVAL);
	CHECK_EQ(fs_symlink(&t, 1, "..", "/"), -EINVAL);
	/* the backend checks names on its own too */
	root = fuse_passthrough_ops.root(t.be);
	CHECK_EQ(fuse_passthrough_ops.lookup(t.be, root, "..", &ino, &st),
		 -EINVAL);
	CHECK_EQ(fuse_passthrough_ops.lookup(t.be, root, "d/../..", &ino, &st),
		 -EINVAL);
	CHECK_EQ(fuse_passthrough_ops.unlink(t.be, root, "../x"), -EINVAL);
	fuse_passthrough_ops.forget(t.be, root);
	teardown();
}

TEST(symlinks_are_not_followed)
{
	struct fuse_entry_out e;
	uint64_t fh;
	char buf[64];
	size_t got;

	setup();
	sh("ln -s /etc %s/abs && ln -s ../../../../../../etc %s/rel && "
	   "ln -s /etc/passwd %s/pw",
	   dir);
	CHECK_EQ(fs_lookup(&t, 1, "abs", &e), 0);
	CHECK(S_ISLNK(e.attr.mode));
	CHECK_EQ(fs_lookup(&t, e.nodeid, "passwd", NULL), -ENOTDIR);
	CHECK_EQ(fs_open(&t, e.nodeid, O_RDONLY, 1, &fh), -ENOTDIR);
	CHECK_EQ(fs_lookup(&t, 1, "rel", &e), 0);
	CHECK_EQ(fs_lookup(&t, e.nodeid, "passwd", NULL), -ENOTDIR);
	CHECK_EQ(fs_lookup(&t, 1, "pw", &e), 0);
	CHECK(S_ISLNK(e.attr.mode));
	CHECK_EQ(read_all(e.nodeid, buf, sizeof(buf), &got), -ELOOP);
	/* a guest-made symlink is just as inert */
	CHECK_EQ(fs_symlink(&t, 1, "mine", "/etc/shadow"), 0);
	CHECK_EQ(fs_lookup(&t, 1, "mine", &e), 0);
	CHECK_EQ(read_all(e.nodeid, buf, sizeof(buf), &got), -ELOOP);
	teardown();
}

TEST(dir_swapped_for_symlink)
{
	uint64_t d = 0, f = 0, x = 0;
	char buf[64];
	size_t got;

	setup();
	sh("mkdir %s/d && echo inside > %s/d/f && echo mine > %s/x", dir);
	d = fs_nodeid(&t, 1, "d");
	f = fs_nodeid(&t, d, "f");
	x = fs_nodeid(&t, 1, "x");
	CHECK(d && f && x);
	/* the host (or a racing guest) swaps the names for symlinks */
	sh("mv %s/d %s/d.old && ln -s /etc %s/d", dir);
	sh("mv %s/x %s/x.old && ln -s /etc/passwd %s/x", dir);
	/* looked-up nodes keep meaning the objects they were */
	CHECK_EQ(read_all(f, buf, sizeof(buf), &got), 0);
	CHECK_STR(buf, "inside\n");
	CHECK_EQ(read_all(x, buf, sizeof(buf), &got), 0);
	CHECK_STR(buf, "mine\n");
	CHECK_EQ(fs_lookup(&t, d, "passwd", NULL), -ENOENT);
	CHECK_EQ(fs_count_dir(&t, d, 0), 3); /* ., .., f: not /etc */
	/* a new lookup sees the symlink, and stops there */
	CHECK_EQ(fs_lookup(&t, fs_nodeid(&t, 1, "d"), "passwd", NULL),
		 -ENOTDIR);
	teardown();
}

TEST(magic_links)
{
	struct fuse_entry_out e;
	uint64_t fh = 0, fdd = 0;
	char buf[64];
	size_t got;

	setup();
	sh("ln -s /proc/self/root %s/p", dir);
	CHECK_EQ(fs_lookup(&t, 1, "p", &e), 0);
	CHECK_EQ(fs_lookup(&t, e.nodeid, "etc", NULL), -ENOTDIR);
	teardown();

	/* a share that contains procfs itself */
	setup_at("/proc/self");
	CHECK_EQ(fs_lookup(&t, 1, "root", &e), 0);
	CHECK(S_ISLNK(e.attr.mode));
	CHECK_EQ(fs_lookup(&t, e.nodeid, "etc", NULL), -ENOTDIR);
	CHECK_EQ(fs_open(&t, e.nodeid, O_RDONLY, 1, &fh), -ENOTDIR);
	CHECK_EQ(fs_lookup(&t, 1, "cwd", &e), 0);
	CHECK_EQ(fs_lookup(&t, e.nodeid, "x", NULL), -ENOTDIR);
	fdd = fs_nodeid(&t, 1, "fd");
	CHECK(fdd != 0);
	CHECK_EQ(fs_lookup(&t, fdd, "0", &e), 0);
	CHECK(S_ISLNK(e.attr.mode));
	CHECK_EQ(read_all(e.nodeid, buf, sizeof(buf), &got), -ELOOP);
	CHECK_EQ(fs_lookup(&t, 1, "exe", &e), 0);
	CHECK_EQ(read_all(e.nodeid, buf, sizeof(buf), &got), -ELOOP);
	teardown();
}

TEST(special_files_never_opened)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct fuse_entry_out e;
	char buf[64];
	size_t got;
	int s;

	setup();
	sh("mkfifo %s/fifo", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(s >= 0 && bind(s, (void *)&sa, sizeof(sa)) == 0);
	if (geteuid() == 0)
		sh("mknod %s/null c 1 3", dir);
	/* would block forever if the server opened the FIFO */
	CHECK_EQ(fs_lookup(&t, 1, "fifo", &e), 0);
	CHECK_EQ(read_all(e.nodeid, buf, sizeof(buf), &got), -ENXIO);
	CHECK_EQ(fs_lookup(&t, 1, "sock", &e), 0);
	CHECK(S_ISSOCK(e.attr.mode));
	CHECK_EQ(read_all(e.nodeid, buf, sizeof(buf), &got), -ENXIO);
	if (geteuid() == 0) {
		CHECK_EQ(fs_lookup(&t, 1, "null", &e), 0);
		CHECK(S_ISCHR(e.attr.mode));
		CHECK_EQ(read_all(e.nodeid, buf, sizeof(buf), &got), -ENXIO);
	}
	close(s);
	teardown();
}

TEST(forget_keeps_live_inodes)
{
	uint64_t n = 0, fh = 0;
	char buf[16];
	size_t got;

	setup();
	CHECK_EQ(fs_create(&t, 1, "f", 0644, O_RDWR, &n, &fh), 0);
	CHECK_EQ(fs_write(&t, n, fh, 0, "abc", 3, 0), 0);
	CHECK_EQ(fs_forget(&t, n, 99), 1);
	CHECK_EQ(fs_unlink(&t, 1, "f", 0), 0);
	/* unlinked, forgotten, still open: the fd keeps it readable */
	CHECK_EQ(fs_read(&t, n, fh, 0, buf, 3, &got), 0);
	CHECK_EQ(got, 3);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	CHECK_EQ(fs_getattr(&t, n, NULL), -ENOENT);
	teardown();
}

/* ---- calls made by a checked name (struct fuse_place) ---- */

static void *root_ino, *file_ino, *sock_ino;

static void *without_dac_read_search(void *arg)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	*(int *)arg = -1;
	if (syscall(SYS_capget, &h, d))
		return NULL;
	d[0].effective &= ~(1u << CAP_DAC_READ_SEARCH);
	d[0].permitted &= ~(1u << CAP_DAC_READ_SEARCH);
	if (syscall(SYS_capset, &h, d)) /* this thread only */
		return NULL;
	{
		struct fuse_place right = {root_ino, "a"},
				  wrong = {root_ino, "b"};
		void *ino;
		struct stat st;
		int none = fuse_passthrough_ops.link(t.be, file_ino, NULL,
						     root_ino, "l0", &ino, &st);
		int bad = fuse_passthrough_ops.link(t.be, file_ino, &wrong,
						    root_ino, "l1", &ino, &st);
		int good = fuse_passthrough_ops.link(t.be, file_ino, &right,
						     root_ino, "l2", &ino, &st);

		if (good == 0)
			fuse_passthrough_ops.forget(t.be, ino);
		*(int *)arg = none == -EPERM && bad == -ESTALE && good == 0;
	}
	return NULL;
}

/* A hard link without CAP_DAC_READ_SEARCH (rootless) goes by the name
 * the server knows, once it still names the inode; none, or one naming
 * another file, is refused. */
TEST(link_by_checked_name)
{
	struct stat st;
	char p[128];
	pthread_t th;
	int ok = 0;

	setup();
	sh("echo a > %s/a; echo b > %s/b", dir);
	root_ino = fuse_passthrough_ops.root(t.be);
	CHECK_EQ(
	    fuse_passthrough_ops.lookup(t.be, root_ino, "a", &file_ino, &st),
	    0);
	pthread_create(&th, NULL, without_dac_read_search, &ok);
	pthread_join(th, NULL);
	CHECK_EQ(ok, 1);
	snprintf(p, sizeof(p), "%s/a", dir);
	CHECK(stat(p, &st) == 0 && st.st_nlink == 2);
	fuse_passthrough_ops.forget(t.be, file_ino);
	fuse_passthrough_ops.forget(t.be, root_ino);
	teardown();
}

/* A socket's chmod goes by its checked name: a socket inode cannot be
 * opened, and its /proc path is not used. */
TEST(socket_chmod_by_checked_name)
{
	struct fuse_setattr_req sa = {.valid = FATTR_MODE, .mode = 0600};
	struct fuse_place right, wrong;
	struct stat st;
	char p[128];

	setup();
	sh("echo b > %s/b", dir);
	snprintf(p, sizeof(p), "%s/s", dir);
	CHECK_EQ(mknod(p, S_IFSOCK | 0644, 0), 0);
	root_ino = fuse_passthrough_ops.root(t.be);
	right = (struct fuse_place){root_ino, "s"};
	wrong = (struct fuse_place){root_ino, "b"};
	CHECK_EQ(
	    fuse_passthrough_ops.lookup(t.be, root_ino, "s", &sock_ino, &st),
	    0);
	CHECK_EQ(fuse_passthrough_ops.setattr(t.be, sock_ino, NULL, &sa, &wrong,
					      &st),
		 -ESTALE);
	CHECK_EQ(
	    fuse_passthrough_ops.setattr(t.be, sock_ino, NULL, &sa, NULL, &st),
	    -EPERM);
	CHECK_EQ(fuse_passthrough_ops.setattr(t.be, sock_ino, NULL, &sa, &right,
					      &st),
		 0);
	CHECK(lstat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
	fuse_passthrough_ops.forget(t.be, sock_ino);
	fuse_passthrough_ops.forget(t.be, root_ino);
	teardown();
}

int main(void)
{
	RUN(dotdot_and_slashes);
	RUN(symlinks_are_not_followed);
	RUN(dir_swapped_for_symlink);
	RUN(magic_links);
	RUN(special_files_never_opened);
	RUN(forget_keeps_live_inodes);
	RUN(link_by_checked_name);
	RUN(socket_chmod_by_checked_name);
	return test_summary();
}
