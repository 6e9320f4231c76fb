/*
 * supermachine snapshot CONTAINER DIR: saves a running container's VM to
 * DIR (state, memory, vm.conf) and lets it go on; `supermachine restore
 * DIR` resumes it, any number of times.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ctr.h"
#include "util/error.h"

/*
 * A fresh directory inside DIR for the VMM to write: a jailed VMM sees no
 * host path and writes as the jail's uid, so it gets this directory's
 * descriptor, owned by that uid (docs/security.md, "Jail").
 */
static int make_staging(const struct ctr *ct, const char *dir, char *staging,
			size_t size)
{
	json_t *uid = json_object_get(ct->meta, "jail_uid");
	json_t *gid = json_object_get(ct->meta, "jail_gid");
	int fd;

	if ((size_t)snprintf(staging, size, "%s/.staging-XXXXXX", dir) >= size ||
	    !mkdtemp(staging))
		return -1;
	fd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && json_is_integer(uid) && json_is_integer(gid) &&
	    fchown(fd, (uid_t)json_integer_value(uid),
		   (gid_t)json_integer_value(gid)) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		rmdir(staging);
	return fd;
}

/*
 * Moves what the VMM wrote into DIR, owned by the caller again. The VMM
 * is not trusted: only a regular file with one link is taken, and the
 * chown goes to the inode checked through its descriptor (a hard link
 * to a file elsewhere must not be given to the caller's user).
 */
static int take_one(int from_dir, int to_dir, const char *name)
{
	struct stat st;
	int fd = openat(from_dir, name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int ret = -1;

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_nlink == 1 && fchown(fd, getuid(), getgid()) == 0 &&
	    renameat(from_dir, name, to_dir, name) == 0)
		ret = 0;
	if (fd >= 0)
		close(fd);
	return ret;
}

static int take_staged(const char *staging, const char *dir)
{
	DIR *d = opendir(staging);
	int to = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	int ret = d && to >= 0 ? 0 : -1;

	while (!ret && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			ret = take_one(dirfd(d), to, e->d_name);
	if (d)
		closedir(d);
	if (to >= 0)
		close(to);
	return ret;
}

static void drop_staging(const char *staging)
{
	DIR *d = opendir(staging);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(staging);
}

int cmd_snapshot(int argc, char **argv)
{
	struct sm_error err = { 0 };
	char abs[PATH_MAX], staging[PATH_MAX];
	int fd = -1;
	json_t *req, *reply = NULL;
	struct ctr ct = { 0 };
	int r;

	if (argc != 3 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: supermachine snapshot CONTAINER DIR\n");
		return argc == 2 ? 0 : CLI_EXIT_FAILURE;
	}
	/* the container's process has its own working directory */
	if (mkdir(argv[2], 0755) && errno != EEXIST) {
		fprintf(stderr, "supermachine: create %s: %s\n", argv[2], strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	if (!realpath(argv[2], abs)) {
		fprintf(stderr, "supermachine: %s: %s\n", argv[2], strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	req = json_pack("{s:s, s:s}", "op", "snapshot", "dir", abs);
	r = ctr_find(&ct, argv[1], &err);
	if (!r && (r = ctr_load(&ct, &err)) == 0 &&
	    (fd = make_staging(&ct, abs, staging, sizeof(staging))) < 0)
		r = sm_err_errno(&err, "snapshot: a directory in %s", abs);
	if (!r)
		r = ctr_request(&ct, req, &fd, 1, &reply, NULL, &err);
	if (!r && take_staged(staging, abs))
		r = sm_err_errno(&err, "snapshot: moving the files into %s", abs);
	if (fd >= 0) {
		close(fd);
		drop_staging(staging);
	}
	if (r)
		cli_print_error(&err);
	json_decref(req);
	json_decref(reply);
	ctr_release(&ct);
	return r ? CLI_EXIT_FAILURE : 0;
}
