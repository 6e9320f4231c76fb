/*
 * sm_volume_*: docker's volume create, ls, inspect, rm and prune over
 * ROOT/volumes (docs/volumes.md, "Volume commands"). A name is checked
 * against docker's rule before it becomes a path (any other is "no such
 * volume"), so no name reaches outside ROOT/volumes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/store.h"
#include "run/volumes.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/opts.h"
#include "volume/volume.h"

int volume_lock(const char *root, bool exclusive, struct sm_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int fd, r;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/locks", root) >= sizeof(dir))
		return sm_err(err, -ENAMETOOLONG, "%s/locks: path too long",
			      root);
	snprintf(path, sizeof(path), "%s/volumes.lock", dir);
	if ((r = sm_mkdir_p(dir, 0755)))
		return sm_err(err, r, "create %s: %s", dir, strerror(-r));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return sm_err_errno(err, "open %s", path);
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR) {
			r = sm_err_errno(err, "lock %s", path);
			close(fd);
			return r;
		}
	}
	return fd;
}

void volume_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

/* ROOT/volumes, made when missing, as a realpath (what records hold). */
static int volumes_dir(struct sm_store *s, char *out, struct sm_error *err)
{
	char p[PATH_MAX];
	int r;

	if ((size_t)snprintf(p, sizeof(p), "%s/volumes", s->root) >= sizeof(p))
		return sm_err(err, -ENAMETOOLONG, "%s/volumes: path too long",
			      s->root);
	if ((r = sm_mkdir_p(p, 0755)))
		return sm_err(err, r, "create %s: %s", p, strerror(-r));
	if (!realpath(p, out))
		return sm_err_errno(err, "volumes directory %s", p);
	return 0;
}

static int no_such(struct sm_error *err, const char *name)
{
	return sm_err(err, -ENOENT, "no such volume: %s", name);
}

/* The creation time of a volume's directory: its birth where the file
 * system keeps one, else its last change. */
static int64_t created_ns(const char *dir, const struct stat *st)
{
	struct statx sx;

	if (statx(AT_FDCWD, dir, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) == 0 &&
	    (sx.stx_mask & STATX_BTIME))
		return (int64_t)sx.stx_btime.tv_sec * 1000000000LL +
		       sx.stx_btime.tv_nsec;
	return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* Fills i for vdir/name; -ENOENT when that is no volume directory. */
static int describe(const char *vdir, const char *name,
		    const struct volume_use *uses, int nuses,
		    struct sm_volume_info *i)
{
	char dir[PATH_MAX], mark[PATH_MAX + 16];
	struct stat st;

	memset(i, 0, sizeof(*i));
	i->struct_size = sizeof(*i);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", vdir, name) >=
		sizeof(dir) ||
	    (size_t)snprintf(i->mountpoint, sizeof(i->mountpoint), "%s/_data",
			     dir) >= sizeof(i->mountpoint))
		return -ENAMETOOLONG;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return -ENOENT;
	snprintf(i->name, sizeof(i->name), "%s", name);
	i->created_ns = created_ns(dir, &st);
	snprintf(mark, sizeof(mark), "%s/" VOLUME_ANON_MARK, dir);
	i->anonymous =
	    faccessat(AT_FDCWD, mark, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	for (int u = 0; u < nuses; u++)
		i->users += strcmp(uses[u].name, name) == 0;
	return 0;
}

/* docker's words for a name its local driver refuses. */
static int check_name(const char *name, struct sm_error *err)
{
	if (strlen(name) == 1)
		return sm_err(err, -EINVAL,
			      "create %s: volume name is too short, names "
			      "should be at least two alphanumeric characters",
			      name);
	if (strlen(name) > 128)
		return sm_err(err, -EINVAL,
			      "create %.64s...: volume name is too long (at "
			      "most 128 bytes)",
			      name);
	if (!vol_valid_name(name))
		return sm_err(
		    err, -EINVAL,
		    "create %s: \"%s\" includes invalid characters "
		    "for a local volume name, only "
		    "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
		    "intended to pass a host directory, use absolute "
		    "path",
		    name, name);
	return 0;
}

static int give(struct sm_volume_info *out, const struct sm_volume_info *in,
		struct sm_error *err)
{
	return sm_opts_give(out, in, sizeof(*in), "sm_volume_info", err);
}

SM_API int sm_volume_create(struct sm_store *store, const char *name,
			    struct sm_volume_info *info, struct sm_error *err)
{
	char vdir[PATH_MAX], data[PATH_MAX], id[65];
	struct sm_volume_info mine;
	struct volume_use *uses = NULL;
	unsigned char r[32];
	int ret, n = 0;

	if (!store)
		return sm_err(err, -EINVAL, "sm_volume_create: no store");
	if (!name || !*name) { /* docker's: a random 64-hex name */
		if (getentropy(r, sizeof(r)))
			return sm_err_errno(err, "create a volume name");
		for (int i = 0; i < 32; i++)
			sprintf(id + 2 * i, "%02x", r[i]);
		name = id;
	}
	if ((ret = check_name(name, err)) ||
	    (ret = volumes_dir(store, vdir, err)))
		return ret;
	if ((size_t)snprintf(data, sizeof(data), "%s/%s/_data", vdir, name) >=
	    sizeof(data))
		return sm_err(err, -ENAMETOOLONG, "create %s: path too long",
			      name);
	if ((ret = sm_mkdir_p(data, 0755)))
		return sm_err(err, ret, "create %s: %s: %s", name, data,
			      strerror(-ret));
	if (!info)
		return 0;
	n = volume_uses(vdir, &uses, NULL);
	ret = describe(vdir, name, uses, n > 0 ? n : 0, &mine);
	free(uses);
	if (ret)
		return sm_err(err, ret, "create %s: %s", name, strerror(-ret));
	return give(info, &mine, err);
}

SM_API int sm_volume_inspect(struct sm_store *store, const char *name,
			     struct sm_volume_info *info, struct sm_error *err)
{
	char vdir[PATH_MAX];
	struct sm_volume_info mine;
	struct volume_use *uses = NULL;
	int ret, n;

	if (!store || !name || !info)
		return sm_err(err, -EINVAL,
			      "sm_volume_inspect: a store, a name and an info "
			      "are required");
	if (!vol_valid_name(name))
		return no_such(err, name);
	if ((ret = volumes_dir(store, vdir, err)))
		return ret;
	/* without the records (no runtime directory) it shows no users */
	n = volume_uses(vdir, &uses, NULL);
	ret = describe(vdir, name, uses, n > 0 ? n : 0, &mine);
	free(uses);
	if (ret == -ENOENT)
		return no_such(err, name);
	if (ret)
		return sm_err(err, ret, "volume %s: %s", name, strerror(-ret));
	return give(info, &mine, err);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct sm_volume_info *)a)->name,
		      ((const struct sm_volume_info *)b)->name);
}

/* Every volume of vdir, by name, into *out (free()); the count. */
static int list_in(const char *vdir, const struct volume_use *uses, int nuses,
		   struct sm_volume_info **out, struct sm_error *err)
{
	struct sm_volume_info *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(vdir);

	*out = NULL;
	if (!d)
		return sm_err_errno(err, "read %s", vdir);
	while ((de = readdir(d))) {
		if (!vol_valid_name(de->d_name)) /* ".", "..", ".rm-*" */
			continue;
		if (n == cap) {
			struct sm_volume_info *nv =
			    realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv || n >= INT32_MAX / 2) {
				free(nv ? nv : v);
				closedir(d);
				return sm_err(err, -ENOMEM,
					      "volume list: out of memory");
			}
			v = nv;
		}
		if (describe(vdir, de->d_name, uses, nuses, &v[n]) == 0)
			n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), by_name);
	*out = v;
	return (int)n;
}

SM_API int sm_volume_list(struct sm_store *store, struct sm_volume_info **list,
			  struct sm_error *err)
{
	char vdir[PATH_MAX];
	struct volume_use *uses = NULL;
	int ret, n;

	if (list)
		*list = NULL;
	if (!store || !list)
		return sm_err(
		    err, -EINVAL,
		    "sm_volume_list: a store and a list are required");
	if ((ret = volumes_dir(store, vdir, err)))
		return ret;
	n = volume_uses(vdir, &uses, NULL); /* as sm_volume_inspect() */
	ret = list_in(vdir, uses, n > 0 ? n : 0, list, err);
	free(uses);
	return ret;
}

SM_API const struct sm_volume_info *
sm_volume_info_at(const struct sm_volume_info *list, int i)
{
	if (!list || i < 0)
		return NULL;
	return (const void *)((const char *)list +
			      (size_t)i * list->struct_size);
}

/* docker's conflict: "remove NAME: volume is in use - [ID, ID]". */
static int in_use(struct sm_error *err, const char *name,
		  const struct volume_use *uses, int n)
{
	char ids[768] = "";
	size_t at = 0;

	for (int u = 0; u < n; u++) {
		if (strcmp(uses[u].name, name))
			continue;
		at += (size_t)snprintf(ids + at, sizeof(ids) - at, "%s%s",
				       at ? ", " : "", uses[u].id);
		if (at >= sizeof(ids))
			break; /* the message shows what fits */
	}
	return sm_err(err, -EBUSY, "remove %s: volume is in use - [%s]", name,
		      ids);
}

SM_API int sm_volume_remove(struct sm_store *store, const char *name, int force,
			    struct sm_error *err)
{
	char vdir[PATH_MAX];
	struct sm_volume_info i;
	struct volume_use *uses = NULL;
	int ret, n, lock;

	if (!store || !name)
		return sm_err(err, -EINVAL,
			      "sm_volume_remove: a store and a name are "
			      "required");
	if (!vol_valid_name(name))
		return force ? 0 : no_such(err, name);
	if ((ret = volumes_dir(store, vdir, err)))
		return ret;
	if ((lock = volume_lock(store->root, true, err)) < 0)
		return lock;
	n = ret = volume_uses(vdir, &uses, err);
	if (n >= 0) {
		ret = describe(vdir, name, uses, n, &i);
		if (ret == -ENOENT)
			ret = force ? 0 : no_such(err, name);
		else if (ret)
			ret = sm_err(err, ret, "remove %s: %s", name,
				     strerror(-ret));
		else if (i.users)
			ret = in_use(err, name, uses, n);
		else
			ret = volume_delete(vdir, name, err);
	}
	free(uses);
	volume_unlock(lock);
	return ret;
}

/* ---- deleting, prune ---- */

static __thread uint64_t walk_bytes;
static __thread bool walk_unreadable, walk_changed;

static int add_size(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F || flag == FTW_SL || flag == FTW_SLN)
		walk_bytes += (uint64_t)st->st_size;
	return 0;
}

/* docker's reclaimed space: the bytes of the files below dir. */
static uint64_t tree_bytes(const char *dir)
{
	walk_bytes = 0;
	nftw(dir, add_size, 16, FTW_PHYS);
	return walk_bytes;
}

/* Gives back to their owner (us) directories a guest made unreadable or
 * read-only (chmod 0 in a rootless volume), so they can be emptied. */
static int owner_rwx(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_D && flag != FTW_DNR)
		return 0;
	walk_unreadable |= flag == FTW_DNR;
	if (st->st_uid == geteuid() && (st->st_mode & 0700) != 0700 &&
	    chmod(path, (st->st_mode & 07777) | 0700) == 0)
		walk_changed = true;
	return 0;
}

static void make_removable(const char *dir)
{
	/* each pass opens one more level of what was unreadable */
	for (int pass = 0; pass < 64; pass++) {
		walk_unreadable = walk_changed = false;
		nftw(dir, owner_rwx, 16, FTW_PHYS);
		if (!walk_unreadable || !walk_changed)
			return;
	}
}

int volume_delete(const char *vdir, const char *name, struct sm_error *err)
{
	char dir[PATH_MAX], gone[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", vdir, name) >=
		sizeof(dir) ||
	    (size_t)snprintf(gone, sizeof(gone), "%s/.rm-%s.%d", vdir, name,
			     (int)getpid()) >= sizeof(gone))
		return sm_err(err, -ENAMETOOLONG, "remove %s: path too long",
			      name);
	/* out of sight at once: no run finds it half deleted */
	if (rename(dir, gone) < 0)
		return errno == ENOENT ? no_such(err, name)
				       : sm_err_errno(err, "remove %s", name);
	sm_rm_tree(gone);
	if (lstat(gone, &st) == 0) {
		make_removable(gone);
		sm_rm_tree(gone);
	}
	if (lstat(gone, &st) == 0)
		return sm_err(err, -ENOTEMPTY,
			      "remove %s: some of its files could not be "
			      "deleted (left in %s)",
			      name, gone);
	return 0;
}

/* What a removal cut short left (.rm-NAME.PID): prune finishes it. */
static void drop_leftovers(const char *vdir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(vdir);

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, ".rm-", 4) &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", vdir,
				     de->d_name) < sizeof(path)) {
			make_removable(path);
			sm_rm_tree(path);
		}
	if (d)
		closedir(d);
}

/* Deletes the volumes of all that no record names; the count. */
static int prune_in(const char *vdir, struct sm_volume_info *all, int n,
		    uint64_t *bytes)
{
	int kept = 0;

	for (int i = 0; i < n; i++) {
		uint64_t b;

		if (all[i].users)
			continue;
		b = tree_bytes(all[i].mountpoint);
		if (volume_delete(vdir, all[i].name, NULL))
			continue; /* docker's prune skips what it cannot */
		all[i].size = b;
		*bytes += b;
		all[kept++] = all[i];
	}
	return kept;
}

SM_API int sm_volume_prune(struct sm_store *store,
			   struct sm_volume_info **removed, uint64_t *reclaimed,
			   struct sm_error *err)
{
	char vdir[PATH_MAX];
	struct sm_volume_info *all = NULL;
	struct volume_use *uses = NULL;
	uint64_t bytes = 0;
	int ret, n, lock;

	if (removed)
		*removed = NULL;
	if (reclaimed)
		*reclaimed = 0;
	if (!store)
		return sm_err(err, -EINVAL, "sm_volume_prune: no store");
	if ((ret = volumes_dir(store, vdir, err)))
		return ret;
	if ((lock = volume_lock(store->root, true, err)) < 0)
		return lock;
	n = ret = volume_uses(vdir, &uses, err);
	if (n >= 0)
		n = ret = list_in(vdir, uses, n, &all, err);
	if (n >= 0) {
		drop_leftovers(vdir);
		ret = prune_in(vdir, all, n, &bytes);
	}
	volume_unlock(lock);
	free(uses);
	if (ret >= 0 && removed)
		*removed = all;
	else
		free(all);
	if (ret >= 0 && reclaimed)
		*reclaimed = bytes;
	return ret;
}
