/*
 * Which containers use which volumes (volume.h): a run's record names the
 * volumes its VM made, once it made them; "volume is in use" and rm -v
 * read that back. A record is the user's own (its runtime directory is
 * 0700), yet what it names is checked as any input: a volume name must
 * be one (so it stays one component of a path), and the volumes
 * directory must be a real path ending in /volumes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/container.h"
#include "run/handle.h"
#include "run/volumes.h"
#include "util/error.h"
#include "volume/volume.h"

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The volume a mount is, or NULL for a bind or a tmpfs. */
static const char *volume_of(const struct vol_mount *m)
{
	if (m->type == VOL_NAMED)
		return m->source;
	if (m->type == VOL_ANON && m->anon_dir)
		return base(m->anon_dir);
	return NULL;
}

/* Anonymous: made so by a run, even when a restart mounts it by its
 * name (container/config_volumes.c); its mark says so. */
static bool made_anonymous(const struct vol_mount *m)
{
	char p[PATH_MAX];
	const char *slash = m->host_dir ? strrchr(m->host_dir, '/') : NULL;

	if (m->type == VOL_ANON)
		return true;
	return m->type == VOL_NAMED && slash &&
	       (size_t)snprintf(p, sizeof(p), "%.*s/" VOLUME_ANON_MARK,
				(int)(slash - m->host_dir),
				m->host_dir) < sizeof(p) &&
	       access(p, F_OK) == 0;
}

static bool listed(json_t *list, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		if (!strcmp(ctr_str(v, "name"), name))
			return true;
	}
	return false;
}

int volume_record_users(struct ctr *c, const char *store_root, struct sm_vm *vm,
			struct sm_error *err)
{
	char p[PATH_MAX], vdir[PATH_MAX];
	json_t *list = json_array();

	if (!list)
		return sm_err(err, -ENOMEM, "record volumes: out of memory");
	for (size_t i = 0; i < vm->vols.n; i++) {
		const struct vol_mount *m = &vm->vols.m[i];
		const char *name = volume_of(m);

		if (!name || !vol_valid_name(name) || listed(list, name))
			continue;
		json_array_append_new(list,
				      json_pack("{s:s, s:b, s:s}", "name", name,
						"anonymous", made_anonymous(m),
						"target", m->target));
	}
	if (json_array_size(list) == 0) {
		json_decref(list);
		return 0;
	}
	if ((size_t)snprintf(p, sizeof(p), "%s/volumes", store_root) >=
		sizeof(p) ||
	    !realpath(p, vdir)) {
		json_decref(list);
		return sm_err(err, -ENAMETOOLONG, "record volumes: %s", p);
	}
	json_object_set_new(c->meta, "volumes_dir", json_string(vdir));
	json_object_set_new(c->meta, "volumes", list);
	return ctr_write_meta(c, err);
}

/* The record's volumes directory when it is one: absolute, a real path
 * (no "..", no link), named "volumes". */
static const char *record_vdir(json_t *meta)
{
	const char *vdir = ctr_str(meta, "volumes_dir");
	char real[PATH_MAX];

	if (vdir[0] != '/' || strcmp(base(vdir), "volumes") ||
	    !realpath(vdir, real) || strcmp(real, vdir))
		return NULL;
	return vdir;
}

static int add_uses(struct ctr *c, const char *vdir, struct volume_use **v,
		    size_t *n, size_t *cap)
{
	json_t *list = json_object_get(c->meta, "volumes"), *e;
	size_t i;

	if (strcmp(ctr_str(c->meta, "volumes_dir"), vdir))
		return 0; /* another store's, or none recorded */
	json_array_foreach(list, i, e)
	{
		const char *name = ctr_str(e, "name");

		if (!vol_valid_name(name))
			continue;
		if (*n == *cap) {
			struct volume_use *nv =
			    *n < INT32_MAX / 2
				? realloc(*v,
					  (*cap ? *cap * 2 : 16) * sizeof(**v))
				: NULL;

			if (!nv)
				return -ENOMEM; /* *v is the caller's to free */
			*v = nv;
			*cap = *cap ? *cap * 2 : 16;
		}
		snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", name);
		snprintf((*v)[*n].id, sizeof((*v)[*n].id), "%s", c->id);
		(*v)[(*n)++].anonymous =
		    json_is_true(json_object_get(e, "anonymous"));
	}
	return 0;
}

int volume_uses(const char *vdir, struct volume_use **uses,
		struct sm_error *err)
{
	struct volume_use *v = NULL;
	size_t n = 0, cap = 0, nrec;
	struct ctr *recs;
	int ret = ctr_list(&recs, &nrec, err);

	*uses = NULL;
	if (ret)
		return sm_err_wrap(err, ret, "which containers use volumes");
	for (size_t i = 0; i < nrec && !ret; i++)
		ret = add_uses(&recs[i], vdir, &v, &n, &cap);
	ctr_list_free(recs, nrec);
	if (ret) {
		free(v);
		return sm_err(err, ret, "volume users: out of memory");
	}
	*uses = v;
	return (int)n;
}

/* rm -v: the anonymous volumes meta names that no other record does. */
static int remove_anonymous(json_t *meta, struct sm_error *err)
{
	const char *vdir = record_vdir(meta);
	char root[PATH_MAX];
	struct volume_use *uses = NULL;
	json_t *e;
	size_t i;
	int n, lock, ret = 0;

	if (!vdir)
		return 0; /* none recorded (or gone) */
	snprintf(root, sizeof(root), "%.*s", (int)(base(vdir) - 1 - vdir),
		 vdir);
	if ((lock = volume_lock(root, true, err)) < 0)
		return lock;
	if ((n = volume_uses(vdir, &uses, err)) < 0) {
		volume_unlock(lock);
		return n;
	}
	json_array_foreach(json_object_get(meta, "volumes"), i, e)
	{
		const char *name = ctr_str(e, "name");
		struct sm_error e2 = {0};
		bool used = false;
		int r;

		if (!json_is_true(json_object_get(e, "anonymous")) ||
		    !vol_valid_name(name))
			continue;
		for (int u = 0; u < n && !used; u++)
			used = !strcmp(uses[u].name, name);
		/* docker's rm -v leaves one in use (a conflict) quietly */
		r = used ? 0 : volume_delete(vdir, name, &e2);
		if (r && r != -ENOENT && !ret)
			ret = sm_err(err, r, "%s", e2.msg);
	}
	free(uses);
	volume_unlock(lock);
	return ret;
}

SM_API int sm_container_remove_with_volumes(struct sm_container *k, int force,
					    struct sm_error *err)
{
	char path[PATH_MAX];
	json_t *meta = NULL;
	int ret;

	if (!k)
		return sm_err(err, -EINVAL,
			      "sm_container_remove_with_volumes: no container");
	/* the record as it is now: its run names its volumes after it
	 * was opened, perhaps */
	if (k->recorded && !ctr_path(&k->rec, "meta", path, sizeof(path)))
		meta = json_load_file(path, 0, NULL);
	ret = sm_container_remove(k, force, err);
	if (!ret && meta)
		ret = remove_anonymous(meta, err);
	json_decref(meta);
	return ret;
}
