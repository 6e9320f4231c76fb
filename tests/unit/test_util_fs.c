/*
 * src/util/fs.c: the descriptor sweep a thread or process does before it
 * serves untrusted input (the FUSE worker's own table, the VMM child).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "util/error.h"
#include "util/fs.h"

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Opens n descriptors of /dev/null; the lowest numbers free first. */
static void open_some(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Run in a child: the sweep closes the test runner's own fds too. */
static int sweep_in_child(int (*body)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(body());
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* Kept fds stay, in any order, with gaps and duplicates; all others
 * from `lowest` up go; those below it stay. */
static int keeps_only_those_named(void)
{
	int fds[8], keep[3];

	open_some(fds, 8);
	for (int i = 0; i < 8; i++)
		if (fds[i] < 3)
			return 1;
	keep[0] = fds[6];
	keep[1] = fds[2];
	keep[2] = fds[2];
	if (sm_close_fds_except(fds[1], keep, 3))
		return 2;
	if (!is_open(fds[0]) || is_open(fds[1]) || !is_open(fds[2]) ||
	    is_open(fds[3]) || is_open(fds[5]) || !is_open(fds[6]) ||
	    is_open(fds[7]))
		return 3;
	if (!is_open(2)) /* below `lowest` */
		return 4;
	return 0;
}

TEST(close_fds_except_keeps_only_those_named)
{
	CHECK_EQ(sweep_in_child(keeps_only_those_named), 0);
}

static int too_many_refused(void)
{
	int keep[SM_KEEP_FDS_MAX + 1] = {0}, fd = open("/dev/null", O_RDONLY);

	if (sm_close_fds_except(0, keep, SM_KEEP_FDS_MAX + 1) != -EINVAL)
		return 1;
	return is_open(fd) ? 0 : 2; /* refused before closing anything */
}

TEST(close_fds_except_refuses_too_many)
{
	CHECK_EQ(sweep_in_child(too_many_refused), 0);
}

/* ---- the one way to write a file ---- */

static char dir[64];

static int count_entries(void)
{
	DIR *d = opendir(dir);
	int n = 0;

	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static char *read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static int fail_half_way(int fd, void *arg, struct sm_error *err)
{
	(void)arg;
	if (write(fd, "half", 4) != 4)
		return -EIO;
	return sm_err(err, -ENOSPC, "disk full (as told)");
}

/* A write replaces the file whole, with the mode asked for; one that
 * fails half-way leaves the old file and no temporary file, and says
 * why with the callee's code. */
TEST(atomic_write_is_all_or_nothing)
{
	struct sm_error e = {0};
	char path[128], buf[64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/f", dir);
	CHECK_EQ(sm_atomic_write_buf(path, 0640, "one", 3, NULL), 0);
	CHECK_STR(read_text(path, buf, sizeof(buf)), "one");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	CHECK_EQ(sm_atomic_write_buf(path, 0600, "two!", 4, NULL), 0);
	CHECK_STR(read_text(path, buf, sizeof(buf)), "two!");
	CHECK_EQ(sm_atomic_write(path, 0600, fail_half_way, NULL, &e), -ENOSPC);
	CHECK(strstr(e.msg, "disk full") != NULL);
	CHECK_STR(read_text(path, buf, sizeof(buf)), "two!");
	CHECK_EQ(count_entries(), 1);
	snprintf(path, sizeof(path), "%s/no/such/dir/f", dir);
	CHECK_EQ(sm_atomic_write_buf(path, 0600, "x", 1, NULL), -ENOENT);
}

TEST(mkdir_p_makes_each_missing_component)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	CHECK_EQ(sm_mkdir_p(path, 0700), 0);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_EQ(sm_mkdir_p(path, 0700), 0);	     /* there already */
	snprintf(path, sizeof(path), "%s/f/x", dir); /* f is a file */
	CHECK_EQ(sm_mkdir_p(path, 0700), -ENOTDIR);
}

int main(void)
{
	RUN(close_fds_except_keeps_only_those_named);
	RUN(close_fds_except_refuses_too_many);
	snprintf(dir, sizeof(dir), "/tmp/sm-util-fs.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(atomic_write_is_all_or_nothing);
	RUN(mkdir_p_makes_each_missing_component);
	sm_rm_tree(dir);
	return test_summary();
}
