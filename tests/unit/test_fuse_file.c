/*
 * Single-file shares (fuse_passthrough_new_file, docs/volumes.md "Single
 * files"): the root is a synthetic directory holding exactly the one
 * file; nothing beside the file (its siblings, its parent, whatever its
 * path leads to later) can be reached, and the root cannot be changed.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse_test.h"
#include "sandbox/sandbox.h"
#include "test.h"

#define NAME "file"

static struct tc t;
static char dir[64], path[128], secret[128];

static void sh(const char *fmt, const char *arg)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg);
	if (system(cmd) != 0)
		fprintf(stderr, "setup command failed: %s\n", cmd);
}

/* dir/app.conf ("hello\n") beside dir/secret, the share over app.conf. */
static int setup(int ro)
{
	void *be = NULL;

	memset(&t, 0, sizeof(t));
	snprintf(dir, sizeof(dir), "/tmp/fuse-file.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/app.conf", dir);
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	sh("printf 'hello\\n' > %s/app.conf && printf TOPSECRET > %s/secret",
	   dir);
	if (fuse_passthrough_new_file(path, NAME, ro, &be, NULL))
		return -1;
	return tc_open(&t, &fuse_passthrough_ops, be, NULL);
}

static void teardown(void)
{
	void *be = t.be;

	tc_close(&t);
	if (be)
		fuse_passthrough_ops.destroy(be);
	if (dir[0])
		sh("rm -rf %s", dir);
	dir[0] = 0;
}

static int host_read(const char *p, char *buf, size_t size)
{
	FILE *f = fopen(p, "r");
	size_t n;

	buf[0] = 0;
	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	buf[n] = 0;
	fclose(f);
	return (int)n;
}

/* The names of a READDIR of node, joined with '/'. */
static int dir_names(uint64_t node, char *out, size_t size)
{
	struct fuse_read_in in = {.size = 4096};
	uint64_t fh = 0;
	size_t pos = 0, o = 0;

	out[0] = 0;
	if (fs_open(&t, node, O_RDONLY, 1, &fh))
		return -1;
	in.fh = fh;
	tc_begin(&t, FUSE_READDIR, node);
	tc_add(&t, &in, sizeof(in));
	if (tc_send(&t))
		return -1;
	while (pos + sizeof(struct fuse_dirent) <= t.rep_len) {
		const struct fuse_dirent *d = (const void *)(t.rep + pos);

		o += (size_t)snprintf(out + o, size - o, "%s%.*s", o ? "/" : "",
				      (int)d->namelen, d->name);
		pos += FUSE_DIRENT_SIZE(d);
		if (o >= size)
			break;
	}
	fs_release(&t, node, fh, 1);
	return 0;
}

TEST(root_holds_one_entry)
{
	struct fuse_attr a = {0};
	char names[256];

	CHECK_EQ(setup(0), 0);
	CHECK_EQ(fs_getattr(&t, 1, &a), 0);
	CHECK(S_ISDIR(a.mode));
	CHECK_EQ(a.mode & 07777, 0555);
	CHECK_EQ(dir_names(1, names, sizeof(names)), 0);
	CHECK_STR(names, "./../" NAME);
	CHECK_EQ(fs_count_dir(&t, 1, 1), 3); /* READDIRPLUS too */
	teardown();
}

TEST(only_the_file_resolves)
{
	struct fuse_entry_out e;
	struct stat st;
	void *root, *ino;

	CHECK_EQ(setup(0), 0);
	CHECK_EQ(fs_lookup(&t, 1, NAME, &e), 0);
	CHECK(S_ISREG(e.attr.mode));
	CHECK_EQ(e.attr.size, 6);
	CHECK(stat(path, &st) == 0 && e.attr.ino == st.st_ino);
	/* the file's host name and its siblings are not in the share */
	CHECK_EQ(fs_lookup(&t, 1, "app.conf", NULL), -ENOENT);
	CHECK_EQ(fs_lookup(&t, 1, "secret", NULL), -ENOENT);
	CHECK_EQ(fs_lookup(&t, 1, "..", NULL), -EINVAL);
	CHECK_EQ(fs_lookup(&t, 1, "../secret", NULL), -EINVAL);
	CHECK_EQ(fs_lookup(&t, e.nodeid, "secret", NULL), -ENOTDIR);
	CHECK_EQ(fs_lookup(&t, e.nodeid, "..", NULL), -ENOTDIR);
	/* and the backend alone refuses them too */
	root = fuse_passthrough_ops.root(t.be);
	CHECK(root != NULL);
	CHECK_EQ(fuse_passthrough_ops.lookup(t.be, root, "..", &ino, &st),
		 -EINVAL);
	CHECK_EQ(fuse_passthrough_ops.lookup(t.be, root, "secret", &ino, &st),
		 -ENOENT);
	CHECK_EQ(fuse_passthrough_ops.lookup(t.be, root, NAME "/..", &ino, &st),
		 -EINVAL);
	fuse_passthrough_ops.forget(t.be, root);
	teardown();
}

TEST(root_cannot_change)
{
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 0777};
	struct fuse_link_in li;
	uint64_t f;
	int n = 0;

	CHECK_EQ(setup(0), 0);
	f = fs_nodeid(&t, 1, NAME);
	CHECK(f != 0);
	CHECK_EQ(fs_create(&t, 1, "new", 0644, O_RDWR, NULL, NULL), -EPERM);
	CHECK_EQ(fs_mkdir(&t, 1, "d", 0755, NULL), -EPERM);
	CHECK_EQ(fs_symlink(&t, 1, "l", "/etc/passwd"), -EPERM);
	CHECK_EQ(fs_unlink(&t, 1, NAME, 0), -EPERM);
	CHECK_EQ(fs_unlink(&t, 1, NAME, 1), -EPERM);
	CHECK_EQ(fs_rename(&t, 1, NAME, 1, "other", 0), -EPERM);
	CHECK_EQ(fs_setattr(&t, 1, &sa, NULL), -EPERM);
	li.oldnodeid = f;
	tc_begin(&t, FUSE_LINK, 1);
	tc_add(&t, &li, sizeof(li));
	tc_str(&t, "hard");
	CHECK_EQ(tc_send(&t), -EPERM);
	/* the host directory is as it was: app.conf and secret only */
	{
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d && (de = readdir(d)))
			n +=
			    strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
		if (d)
			closedir(d);
	}
	CHECK(access(path, F_OK) == 0);
	CHECK_EQ(n, 2);
	teardown();
}

TEST(read_and_write_reach_the_file)
{
	struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 3};
	uint64_t f, fh = 0;
	char buf[64];
	size_t got;

	CHECK_EQ(setup(0), 0);
	f = fs_nodeid(&t, 1, NAME);
	CHECK_EQ(fs_open(&t, f, O_RDWR, 0, &fh), 0);
	CHECK_EQ(fs_read(&t, f, fh, 0, buf, sizeof(buf), &got), 0);
	CHECK(got == 6 && memcmp(buf, "hello\n", 6) == 0);
	CHECK_EQ(fs_write(&t, f, fh, 0, "HEY", 3, 0), 0);
	CHECK_EQ(host_read(path, buf, sizeof(buf)), 6);
	CHECK_STR(buf, "HEYlo\n");
	CHECK_EQ(fs_setattr(&t, f, &sa, NULL), 0);
	CHECK_EQ(host_read(path, buf, sizeof(buf)), 3);
	CHECK_EQ(fs_release(&t, f, fh, 0), 0);
	CHECK_EQ(host_read(secret, buf, sizeof(buf)), 9);
	CHECK_STR(buf, "TOPSECRET");
	teardown();
}

TEST(read_only_share)
{
	uint64_t f, fh = 0;
	char buf[16];
	size_t got;

	CHECK_EQ(setup(1), 0);
	f = fs_nodeid(&t, 1, NAME);
	CHECK(f != 0);
	CHECK_EQ(fs_open(&t, f, O_RDWR, 0, &fh), -EROFS);
	CHECK_EQ(fs_open(&t, f, O_RDONLY, 0, &fh), 0);
	CHECK_EQ(fs_read(&t, f, fh, 0, buf, sizeof(buf), &got), 0);
	CHECK_EQ(got, 6);
	CHECK(fs_write(&t, f, fh, 0, "x", 1, 0) < 0);
	CHECK_EQ(fs_create(&t, 1, "new", 0644, O_RDWR, NULL, NULL), -EROFS);
	fs_release(&t, f, fh, 0);
	teardown();
}

/* The share is the inode opened when it was made: a host process that
 * swaps the path for a symlink afterwards leads the guest nowhere new. */
TEST(path_swapped_for_symlink)
{
	uint64_t f, fh = 0;
	char buf[64];
	size_t got;

	CHECK_EQ(setup(0), 0);
	sh("mv %s/app.conf %s/old && ln -s secret %s/app.conf", dir);
	f = fs_nodeid(&t, 1, NAME);
	CHECK(f != 0);
	CHECK_EQ(fs_open(&t, f, O_RDWR, 0, &fh), 0);
	CHECK_EQ(fs_read(&t, f, fh, 0, buf, sizeof(buf), &got), 0);
	CHECK(got == 6 && memcmp(buf, "hello\n", 6) == 0);
	CHECK_EQ(fs_write(&t, f, fh, 0, "owned", 5, 0), 0);
	fs_release(&t, f, fh, 0);
	CHECK_EQ(host_read(secret, buf, sizeof(buf)), 9);
	CHECK_STR(buf, "TOPSECRET");
	teardown();
}

/* Only a regular file, never what a symlink at the path leads to. */
TEST(only_regular_files)
{
	char p[160];
	void *be = NULL;
	struct sm_error err = {0};

	CHECK_EQ(setup(0), 0);
	snprintf(p, sizeof(p), "%s/link", dir);
	sh("ln -s secret %s/link && mkfifo %s/fifo && mkdir %s/sub", dir);
	CHECK(fuse_passthrough_new_file(p, NAME, 0, &be, &err) < 0);
	CHECK(strstr(err.msg, "not a regular file") != NULL);
	snprintf(p, sizeof(p), "%s/fifo", dir);
	CHECK(fuse_passthrough_new_file(p, NAME, 0, &be, NULL) < 0);
	snprintf(p, sizeof(p), "%s/sub", dir);
	CHECK(fuse_passthrough_new_file(p, NAME, 0, &be, NULL) < 0);
	CHECK(fuse_passthrough_new_file(path, "..", 0, &be, NULL) < 0);
	CHECK(fuse_passthrough_new_file(path, "a/b", 0, &be, NULL) < 0);
	CHECK_EQ(fuse_passthrough_file_fd(t.be) >= 0, 1);
	teardown();
}

/* A snapshot's node table names the file by its fixed entry: restored
 * over another file's share, the guest's node is that file. */
TEST(restore_over_another_file)
{
	struct fuse_server_config cfg = {.ops = &fuse_passthrough_ops,
					 .trace = ""};
	struct fuse_server *s2 = NULL;
	void *state = NULL, *be2 = NULL;
	uint64_t f, fh = 0;
	size_t len = 0, got;
	char buf[16];

	CHECK_EQ(setup(0), 0);
	f = fs_nodeid(&t, 1, NAME);
	CHECK_EQ(fs_open(&t, f, O_RDONLY, 0, &fh), 0);
	CHECK_EQ(fuse_server_save(t.s, &state, &len, NULL), 0);
	CHECK_EQ(fuse_passthrough_new_file(secret, NAME, 0, &be2, NULL), 0);
	cfg.backend = be2;
	CHECK_EQ(fuse_server_new(&cfg, &s2, NULL), 0);
	CHECK_EQ(fuse_server_restore(s2, state, len, NULL), 0);
	fuse_server_free(t.s);
	t.s = s2;
	CHECK_EQ(fs_read(&t, f, fh, 0, buf, sizeof(buf), &got), 0);
	CHECK(got == 9 && memcmp(buf, "TOPSECRET", 9) == 0);
	free(state);
	teardown(); /* s2, and the first backend (t.be) */
	if (be2)
		fuse_passthrough_ops.destroy(be2);
}

struct ll {
	int file_fd, dir_fd;
	int rule, file, sibling;
};

/* A FUSE worker's Landlock as a single-file share's worker has it. */
static void *landlocked(void *arg)
{
	struct ll *l = arg;
	char name[32];
	int fd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		l->rule = -errno;
		return NULL;
	}
	sm_landlock_set_share_file(l->file_fd);
	l->rule = sm_landlock_thread(SM_ROLE_FUSE);
	/* the server's re-open of its file */
	snprintf(name, sizeof(name), "/proc/self/fd/%d", l->file_fd);
	fd = open(name, O_RDWR | O_CLOEXEC);
	l->file = fd < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	/* a walk from a directory descriptor the process holds */
	fd = openat(l->dir_fd, "secret", O_RDONLY | O_CLOEXEC);
	l->sibling = fd < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Its worker may open its file and nothing else, even through a
 * descriptor of the file's own directory. */
TEST(worker_landlocked_to_the_file)
{
	struct ll l = {.file_fd = -1, .dir_fd = -1};
	pthread_t th;

	if (sm_landlock_abi() < 2)
		SKIP_TEST("no Landlock ABI 2 here");
	CHECK_EQ(setup(0), 0);
	l.file_fd = fuse_passthrough_file_fd(t.be);
	l.dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(l.file_fd >= 0 && l.dir_fd >= 0);
	CHECK_EQ(pthread_create(&th, NULL, landlocked, &l), 0);
	pthread_join(th, NULL);
	CHECK_EQ(l.rule, 0);
	CHECK_EQ(l.file, 0);
	CHECK_EQ(l.sibling, -EACCES);
	/* this thread is not landlocked */
	CHECK(access(secret, R_OK) == 0);
	close(l.dir_fd);
	teardown();
}

int main(void)
{
	RUN(root_holds_one_entry);
	RUN(only_the_file_resolves);
	RUN(root_cannot_change);
	RUN(read_and_write_reach_the_file);
	RUN(read_only_share);
	RUN(path_swapped_for_symlink);
	RUN(only_regular_files);
	RUN(restore_over_another_file);
	RUN(worker_landlocked_to_the_file);
	return test_summary();
}
