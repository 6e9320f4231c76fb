/*
 * sm_container_snapshot(): saves a running container's VM to a directory
 * and lets it go on. The container's VMM opens no path (docs/security.md,
 * "Jail"): the caller makes the two files under temporary names in the
 * directory, sends their descriptors for the VMM to write, and renames
 * them into place once it succeeded. The VMM never names, links or owns a
 * file there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container.h"
#include "util/error.h"
#include "util/fs.h"

#define NFILES 2
static const char *const names[NFILES] = {"memory", "state"};
/* guest memory and registers are the caller's alone */
static const mode_t modes[NFILES] = {0600, 0600};

struct staged {
	char tmp[NFILES][PATH_MAX];
	int fd[NFILES];
};

static int stage(struct staged *s, const char *dir)
{
	for (int i = 0; i < NFILES; i++) {
		if ((size_t)snprintf(s->tmp[i], sizeof(s->tmp[i]),
				     "%s/.%s.XXXXXX", dir,
				     names[i]) >= sizeof(s->tmp[i])) {
			s->tmp[i][0] = '\0';
			return -ENAMETOOLONG;
		}
		s->fd[i] = mkostemp(s->tmp[i], O_CLOEXEC);
		if (s->fd[i] < 0 || fchmod(s->fd[i], modes[i]) < 0)
			return -errno;
	}
	return 0;
}

static int commit(const struct staged *s, const char *dir)
{
	char path[PATH_MAX];

	for (int i = 0; i < NFILES; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     names[i]) >= sizeof(path))
			return -ENAMETOOLONG;
		if (rename(s->tmp[i], path) < 0)
			return -errno;
	}
	return sm_fsync_parent(path); /* the renames are durable */
}

/* Closes the descriptors; removes what was not renamed into place. */
static void unstage(struct staged *s)
{
	for (int i = 0; i < NFILES; i++) {
		if (s->fd[i] >= 0)
			close(s->fd[i]);
		if (s->tmp[i][0])
			unlink(s->tmp[i]); /* ENOENT once renamed */
	}
}

SM_API int sm_container_snapshot(struct sm_container *k, const char *dir,
				 struct sm_error *err)
{
	struct staged s = {.fd = {-1, -1}};
	char abs[PATH_MAX];
	json_t *req, *reply = NULL;
	int r;

	if (!k || !k->recorded || !dir)
		return sm_err(err, -EINVAL, "snapshot: no container or dir");
	if (mkdir(dir, 0755) && errno != EEXIST)
		return sm_err_errno(err, "create %s", dir);
	if (!realpath(dir, abs))
		return sm_err_errno(err, "%s", dir);
	if ((r = ctr_load(&k->rec, err)))
		return r;
	if ((r = stage(&s, abs)) < 0)
		sm_err(err, r, "snapshot: files in %s: %s", abs, strerror(-r));
	req = r ? NULL : json_pack("{s:s}", "op", "snapshot");
	if (!r && !req)
		r = sm_err(err, -ENOMEM, "snapshot: out of memory");
	if (!r)
		r = ctr_request(&k->rec, req, s.fd, NFILES, &reply, NULL, err);
	if (!r && (r = commit(&s, abs)) < 0)
		sm_err(err, r, "snapshot: naming the files in %s: %s", abs,
		       strerror(-r));
	unstage(&s);
	json_decref(req);
	json_decref(reply);
	return r;
}
