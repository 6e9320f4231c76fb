/* Small file-system helpers shared by the library. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void sm_rm_tree(const char *dir)
{
	/* FTW_PHYS: a symlink is removed, not followed */
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* close_range() where the kernel has it (5.9), else one close() each up
 * to the descriptor limit. */
static void close_span(unsigned lo, unsigned hi)
{
	struct rlimit lim;

	if (lo > hi || close_range(lo, hi, 0) == 0 || errno != ENOSYS)
		return;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < hi)
		hi = lim.rlim_cur == 0 ? 0 : (unsigned)lim.rlim_cur - 1;
	for (unsigned fd = lo; fd <= hi && fd >= lo; fd++)
		close((int)fd);
}

int sm_close_fds_except(int lowest, const int *keep, size_t n)
{
	int k[SM_KEEP_FDS_MAX];
	size_t m = 0;
	unsigned lo = lowest < 0 ? 0 : (unsigned)lowest;

	if (n > SM_KEEP_FDS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (keep[i] >= (int)lo)
			k[m++] = keep[i];
	qsort(k, m, sizeof(k[0]), cmp_int);
	for (size_t i = 0; i < m; i++) {
		if ((unsigned)k[i] > lo)
			close_span(lo, (unsigned)k[i] - 1);
		if ((unsigned)k[i] + 1 > lo)
			lo = (unsigned)k[i] + 1;
	}
	close_span(lo, ~0U);
	return 0;
}

int sm_file_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int sm_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	/* the common case: the parents are there (one call, not one per
	 * component: stores and records are opened on every run) */
	if (mkdir(buf, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -errno : 0;
}

int sm_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, ret = 0;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	return ret;
}

int sm_atomic_write(const char *path, mode_t mode,
		    int (*fill)(int fd, void *arg, struct sm_error *err),
		    void *arg, struct sm_error *err)
{
	char tmp[PATH_MAX];
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(tmp))
		return sm_err(err, -ENAMETOOLONG, "%s: path too long", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return sm_err_errno(err, "create %s", tmp);
	ret = fchmod(fd, mode) < 0 ? sm_err_errno(err, "chmod %s", tmp) : 0;
	if (!ret && (ret = fill(fd, arg, err)) < 0)
		sm_err_wrap(err, ret, "write %s", path);
	if (!ret && fsync(fd) < 0)
		ret = sm_err_errno(err, "write %s: fsync", path);
	if (close(fd) < 0 && !ret)
		ret = sm_err_errno(err, "write %s: close", path);
	if (!ret && rename(tmp, path) < 0)
		ret = sm_err_errno(err, "rename %s to %s", tmp, path);
	if (ret) {
		unlink(tmp);
		return ret;
	}
	ret = sm_fsync_parent(path);
	return ret ? sm_err(err, ret, "write %s: fsync its directory: %s", path,
			    strerror(-ret))
		   : 0;
}

struct buf_arg {
	const void *data;
	size_t len;
};

static int fill_buf(int fd, void *arg, struct sm_error *err)
{
	const struct buf_arg *b = arg;
	int ret = sm_file_write_all(fd, b->data, b->len);

	return ret ? sm_err(err, ret, "%s", strerror(-ret)) : 0;
}

int sm_atomic_write_buf(const char *path, mode_t mode, const void *data,
			size_t len, struct sm_error *err)
{
	struct buf_arg b = {data, len};

	return sm_atomic_write(path, mode, fill_buf, &b, err);
}

uint64_t sm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
