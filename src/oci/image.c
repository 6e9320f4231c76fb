/* Image records: assembly, names, list, remove, inspect, lookup. */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/image.h"
#include "oci/oci.h"
#include "oci/ref.h"
#include "oci/unpack.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

#define MAX_ENTRY (16ULL << 30)
#define MAX_LAYER (64ULL << 30)

static int copy_blob_to(struct sm_store *s, const char *digest, const char *dst,
			struct sm_error *err)
{
	_cleanup_free_ char *src = store_blob_path(s, digest), *buf = NULL;
	size_t len;
	int r;

	if (!src)
		return sm_err(err, -EINVAL, "invalid digest %s", digest);
	r = store_read_file(src, 16 << 20, &buf, &len, err);
	return r ? r : store_write_file(dst, buf, len, err);
}

static int unpack_all(struct sm_store *s, const char *tmp,
		      const struct oci_manifest *m, struct progress *p,
		      struct sm_error *err)
{
	struct unpack_opts uo = {s->rootless, MAX_ENTRY, MAX_LAYER};
	_cleanup_free_ char *rootfs = NULL;
	_cleanup_close_ int fd = -1;
	int r = 0;

	if (asprintf(&rootfs, "%s/rootfs", tmp) < 0)
		return sm_err(err, -ENOMEM, "out of memory");
	if (mkdir(rootfs, 0755) < 0)
		return sm_err_errno(err, "mkdir %s", rootfs);
	fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sm_err_errno(err, "open %s", rootfs);
	for (size_t i = 0; !r && i < m->n_layers; i++) {
		const struct oci_desc *d = &m->layers[i];
		_cleanup_free_ char *blob = store_blob_path(s, d->digest);
		char what[96];

		snprintf(what, sizeof(what), "layer %s", d->digest);
		if (p && p->layer_ready) {
			r = p->layer_ready(p->ready_opaque, i, err);
			if (r)
				break;
		}
		progress_report(p, i, d->digest, 0, d->size,
				SM_PULL_EXTRACTING);
		r = oci_unpack_layer(fd, blob, &uo, what, err);
		if (!r)
			progress_report(p, i, d->digest, d->size, d->size,
					SM_PULL_EXTRACTED);
	}
	return r;
}

static int assemble_locked(struct sm_store *s, const char *mdigest,
			   const struct oci_manifest *m, const char *platform,
			   struct progress *p, struct sm_error *err)
{
	_cleanup_free_ char *dst = store_path(s, "images/%s", mdigest + 7);
	_cleanup_free_ char *tmp = store_path(s, "tmp/img-XXXXXX");
	_cleanup_free_ char *f1 = NULL, *f2 = NULL, *f3 = NULL, *meta = NULL;
	uint64_t size = 0;
	int r;

	if (!dst || !tmp)
		return sm_err(err, -ENOMEM, "out of memory");
	if (access(dst, F_OK) == 0)
		return 0;
	if (!mkdtemp(tmp))
		return sm_err_errno(err, "mkdtemp %s", tmp);
	for (size_t i = 0; i < m->n_layers; i++)
		size += m->layers[i].size;
	r = unpack_all(s, tmp, m, p, err);
	if (!r && (asprintf(&f1, "%s/manifest.json", tmp) < 0 ||
		   asprintf(&f2, "%s/config.json", tmp) < 0 ||
		   asprintf(&f3, "%s/meta.json", tmp) < 0 ||
		   asprintf(&meta,
			    "{\"rootless\": %s, \"config\": \"%s\", \"size\": "
			    "%llu, \"platform\": \"%s\"}\n",
			    s->rootless ? "true" : "false", m->config.digest,
			    (unsigned long long)size, platform) < 0))
		r = sm_err(err, -ENOMEM, "out of memory");
	if (!r)
		r = copy_blob_to(s, mdigest, f1, err);
	if (!r)
		r = copy_blob_to(s, m->config.digest, f2, err);
	if (!r)
		r = store_write_file(f3, meta, strlen(meta), err);
	if (!r && rename(tmp, dst) < 0)
		r = sm_err_errno(err, "rename %s", dst);
	if (!r && (r = sm_fsync_parent(dst)) < 0)
		r = sm_err(err, r, "sync the directory of %s", dst);
	if (r)
		store_rmtree(tmp);
	return r;
}

int image_assemble(struct sm_store *s, const char *mdigest,
		   const struct oci_manifest *m, const char *platform,
		   struct progress *p, struct sm_error *err)
{
	char lname[80];
	int lk, r;

	snprintf(lname, sizeof(lname), "image-%s", mdigest + 7);
	lk = store_lock(s, lname, 1, err);
	if (lk < 0)
		return lk;
	r = assemble_locked(s, mdigest, m, platform, p, err);
	store_unlock(lk);
	return r;
}

int image_tag(struct sm_store *s, const char *name, const char *mdigest,
	      const char *repo_digest, struct sm_error *err)
{
	json_t *refs, *e;
	int lk, r;

	lk = store_lock(s, "refs", 1, err);
	if (lk < 0)
		return lk;
	r = store_refs_load(s, &refs, err);
	if (!r) {
		e = json_pack("{s:s, s:s}", "digest", mdigest, "repo_digest",
			      repo_digest ? repo_digest : mdigest);
		json_object_set_new(refs, name, e);
		r = store_refs_save(s, refs, err);
		json_decref(refs);
	}
	store_unlock(lk);
	return r;
}

static json_t *load_json(struct sm_store *s, const char *mdigest,
			 const char *file)
{
	_cleanup_free_ char *p =
	    store_path(s, "images/%s/%s", mdigest + 7, file);

	return p ? json_load_file(p, 0, NULL) : NULL;
}

int image_info(struct sm_store *s, const char *name, const char *mdigest,
	       const char *repo_digest, struct sm_image_info *info)
{
	json_t *meta = load_json(s, mdigest, "meta.json");
	json_t *cfg = load_json(s, mdigest, "config.json");
	_cleanup_free_ char *cfgtxt = cfg ? json_dumps(cfg, 0) : NULL;
	struct oci_config c;

	memset(info, 0, sizeof(*info));
	info->struct_size = sizeof(*info);
	if (!meta) {
		json_decref(cfg);
		return -ENOENT;
	}
	snprintf(info->name, sizeof(info->name), "%s", name ? name : "");
	snprintf(info->digest, sizeof(info->digest), "%s", mdigest);
	snprintf(info->repo_digest, sizeof(info->repo_digest), "%s",
		 repo_digest ? repo_digest : mdigest);
	snprintf(info->id, sizeof(info->id), "%s",
		 json_string_value(json_object_get(meta, "config")) ?: "");
	snprintf(info->platform, sizeof(info->platform), "%s",
		 json_string_value(json_object_get(meta, "platform")) ?: "");
	info->size = json_integer_value(json_object_get(meta, "size"));
	if (cfgtxt && !oci_config_parse(cfgtxt, strlen(cfgtxt), &c, NULL)) {
		info->created = c.created;
		oci_config_free(&c);
	}
	json_decref(meta);
	json_decref(cfg);
	return 0;
}

SM_API const struct sm_image_info *
sm_image_info_at(const struct sm_image_info *list, int i)
{
	if (!list || i < 0)
		return NULL;
	return (const void *)((const char *)list +
			      (size_t)i * list->struct_size);
}

SM_API int sm_image_list(struct sm_store *s, struct sm_image_info **list,
			 struct sm_error *err)
{
	json_t *refs, *v;
	const char *k;
	size_t n = 0;
	int r;

	if (!s || !list)
		return sm_err(err, -EINVAL,
			      "sm_image_list: a store and a list are required");
	*list = NULL;
	r = store_refs_load(s, &refs, err);
	if (r)
		return r;
	*list = calloc(json_object_size(refs) + 1, sizeof(**list));
	if (!*list) {
		json_decref(refs);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	json_object_foreach(refs, k, v)
	{
		const char *d = json_string_value(json_object_get(v, "digest"));
		const char *rd =
		    json_string_value(json_object_get(v, "repo_digest"));
		/* only complete images: the directory appears by rename */
		if (oci_digest_valid(d) &&
		    !image_info(s, strncmp(k, "sha256:", 7) ? k : NULL, d, rd,
				&(*list)[n]))
			n++;
	}
	json_decref(refs);
	return n;
}

/* The image ID (config digest, what `images` shows) or the manifest
 * digest of the image mdigest starts with the hex prefix p (n chars). */
static int id_matches(struct sm_store *s, const char *mdigest, const char *p,
		      size_t n)
{
	json_t *meta;
	const char *id;
	int r;

	if (!strncmp(mdigest + 7, p, n))
		return 1;
	meta = load_json(s, mdigest, "meta.json");
	id = json_string_value(json_object_get(meta, "config"));
	r = oci_digest_valid(id) && !strncmp(id + 7, p, n);
	json_decref(meta);
	return r;
}

/* Finds the refs.json key for ref: a name, or a prefix of an image ID or
 * manifest digest (then *by_id is set). A prefix of two images is
 * refused. */
int image_lookup(struct sm_store *s, json_t *refs, const char *ref,
		 const char **key, int *by_id, struct sm_error *err)
{
	struct oci_ref pr;
	const char *k, *match = NULL, *mdigest = NULL;
	json_t *v;
	size_t n = strlen(ref);
	int hits = 0;

	*by_id = 0;
	if (!oci_ref_parse(ref, &pr, NULL)) {
		_cleanup_free_ char *full = oci_ref_string(&pr);
		oci_ref_free(&pr);
		if (full && json_object_get(refs, full)) {
			*key = json_object_iter_key(
			    json_object_iter_at(refs, full));
			return 0;
		}
	}
	if (!strncmp(ref, "sha256:", 7)) {
		ref += 7;
		n -= 7;
	}
	if (n >= 4 && n <= 64 && strspn(ref, "0123456789abcdef") == n) {
		json_object_foreach(refs, k, v)
		{
			const char *d =
			    json_string_value(json_object_get(v, "digest"));
			if (!oci_digest_valid(d) || !id_matches(s, d, ref, n))
				continue;
			/* names of one image are one match */
			if (mdigest && strcmp(mdigest, d))
				hits++;
			match = k;
			mdigest = d;
		}
		if (hits)
			return sm_err(err, -EINVAL,
				      "%s: ambiguous image ID prefix", ref);
		if (match) {
			*key = match;
			*by_id = 1;
			return 0;
		}
	}
	return sm_err(err, -ENOENT, "no such image: %s", ref);
}

static void keep_manifest_blobs(struct sm_store *s, const char *hex,
				json_t *keep)
{
	char dg[320];
	json_t *m, *l;
	size_t i;

	snprintf(dg, sizeof(dg), "sha256:%s", hex);
	m = load_json(s, dg, "manifest.json");
	l = json_object_get(json_object_get(m, "config"), "digest");
	if (json_is_string(l) && oci_digest_valid(json_string_value(l)))
		json_object_set_new(keep, json_string_value(l) + 7,
				    json_true());
	json_array_foreach(json_object_get(m, "layers"), i, l)
	{
		const char *d = json_string_value(json_object_get(l, "digest"));
		if (oci_digest_valid(d))
			json_object_set_new(keep, d + 7, json_true());
	}
	json_decref(m);
}

/*
 * Deletes images/HEX. It is moved under tmp/ first: removing the tree in
 * place, a kill half-way left images/HEX with part of its rootfs, which
 * the next pull of that image took for the whole image (assemble_locked()
 * skips an image whose directory exists). Under tmp/, what a kill leaves
 * is removed by store_clean_stale(). The caller holds the gc lock.
 */
int image_pin(struct sm_store *s, const char *hex, struct sm_error *err)
{
	_cleanup_free_ char *dir = store_path(s, "images/%s", hex);
	int fd;

	if (!dir)
		return sm_err(err, -ENOMEM, "out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sm_err_errno(err, "image sha256:%.12s", hex);
	while (flock(fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			int r =
			    sm_err_errno(err, "hold image sha256:%.12s", hex);

			close(fd);
			return r;
		}
	}
	return fd;
}

/* The image directory hex of images, locked exclusively for removal; -1
 * while a VM holds it (image_pin) or when it is not there. */
static int image_claim(int images, const char *hex)
{
	int fd = openat(images, hex, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether a VM holds the image hex. */
static bool image_in_use(struct sm_store *s, const char *hex)
{
	_cleanup_free_ char *idir = store_path(s, "images");
	_cleanup_close_ int images =
	    idir ? open(idir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	_cleanup_close_ int fd = -1;

	if (images < 0)
		return false;
	fd = openat(images, hex, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	return flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

static void remove_image(DIR *images, int tmpfd, const char *hex)
{
	char gone[300];

	snprintf(gone, sizeof(gone), "rm-%s", hex);
	store_rmtree_at(tmpfd, gone);
	if (tmpfd >= 0 && !renameat(dirfd(images), hex, tmpfd, gone))
		store_rmtree_at(tmpfd, gone);
	else
		store_rmtree_at(dirfd(images), hex);
}

/* Deletes images no name points at, then blobs no image uses. Skipped
 * while a pull holds the gc lock (it may be writing blobs right now). */
static void collect_garbage(struct sm_store *s, json_t *refs)
{
	_cleanup_free_ char *idir = store_path(s, "images");
	_cleanup_free_ char *bdir = store_path(s, "blobs/sha256");
	_cleanup_free_ char *tdir = store_path(s, "tmp");
	_cleanup_free_ char *lp = store_path(s, "locks/gc.lock");
	_cleanup_close_ int gc =
	    lp ? open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
	_cleanup_close_ int tmpfd = -1;
	json_t *keep = json_object(), *v;
	const char *k;
	struct dirent *e;
	DIR *d;

	if (gc < 0 || flock(gc, LOCK_EX | LOCK_NB) < 0 || !idir || !bdir ||
	    !tdir || !keep)
		goto out;
	tmpfd = open(tdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	json_object_foreach(refs, k, v)
	{
		const char *dg =
		    json_string_value(json_object_get(v, "digest"));
		const char *rd =
		    json_string_value(json_object_get(v, "repo_digest"));
		if (oci_digest_valid(dg))
			json_object_set_new(keep, dg + 7, json_true());
		if (oci_digest_valid(rd))
			json_object_set_new(keep, rd + 7, json_true());
	}
	d = opendir(idir);
	while (d && (e = readdir(d))) {
		int claim;

		if (e->d_name[0] == '.')
			continue;
		if (json_object_get(keep, e->d_name))
			keep_manifest_blobs(s, e->d_name, keep);
		else if ((claim = image_claim(dirfd(d), e->d_name)) >= 0) {
			remove_image(d, tmpfd, e->d_name);
			close(claim);
		} /* else a VM uses it: nameless, it goes after its end */
	}
	if (d)
		closedir(d);
	d = opendir(bdir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] != '.' && !json_object_get(keep, e->d_name))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
out:
	json_decref(keep);
}

/*
 * Deletes refs.json's entry `key` and, when by_id, every other name of the
 * same image. `key` lives in refs (deleting its entry frees it), so it is
 * copied first.
 */
static int remove_refs(json_t *refs, const char *key, int by_id,
		       struct sm_error *err)
{
	const char *d0 = json_string_value(
	    json_object_get(json_object_get(refs, key), "digest"));
	_cleanup_free_ char *name = strdup(key);
	_cleanup_free_ char *dg = d0 ? strdup(d0) : NULL;
	const char *k;
	json_t *v;
	void *tmp;

	if (!d0)
		return sm_err(err, -EINVAL, "refs.json: %s has no digest", key);
	if (!name || !dg)
		return sm_err(err, -ENOMEM, "out of memory");
	json_object_foreach_safe(refs, tmp, k, v)
	{
		const char *d = json_string_value(json_object_get(v, "digest"));

		if (!strcmp(k, name) || (by_id && d && !strcmp(d, dg)))
			json_object_del(refs, k);
	}
	return 0;
}

/* Whether any name in refs still points at manifest digest dg. */
static bool still_named(json_t *refs, const char *dg)
{
	const char *k;
	json_t *v;

	json_object_foreach(refs, k, v)
	{
		const char *d = json_string_value(json_object_get(v, "digest"));

		if (d && !strcmp(d, dg))
			return true;
	}
	return false;
}

/* Unless force: -EBUSY when removing key's names leaves its image
 * nameless while a VM uses it (docker's conflict). */
static int check_in_use(struct sm_store *s, json_t *refs, const char *key,
			int by_id, const char *ref, bool force,
			struct sm_error *err)
{
	const char *d = json_string_value(
	    json_object_get(json_object_get(refs, key), "digest"));
	_cleanup_free_ char *dg = d ? strdup(d) : NULL;
	json_t *after = force || !dg ? NULL : json_deep_copy(refs);
	int r = 0;

	if (after && !remove_refs(after, key, by_id, NULL) &&
	    !still_named(after, dg) && oci_digest_valid(dg) &&
	    image_in_use(s, dg + 7))
		r = sm_err(err, -EBUSY,
			   "conflict: unable to remove repository reference "
			   "\"%s\" (must force): a running container uses its "
			   "image %.19s",
			   ref, dg);
	json_decref(after);
	return r;
}

static int remove_names(struct sm_store *s, const char *ref, bool force,
			struct sm_error *err)
{
	json_t *refs = NULL;
	const char *key = NULL;
	int lk, r, by_id;

	if (!s || !ref)
		return sm_err(
		    err, -EINVAL,
		    "sm_image_remove: a store and a name are required");
	lk = store_lock(s, "refs", 1, err);
	if (lk < 0)
		return lk;
	r = store_refs_load(s, &refs, err);
	if (!r)
		r = image_lookup(s, refs, ref, &key, &by_id, err);
	if (!r)
		r = check_in_use(s, refs, key, by_id, ref, force, err);
	if (!r)
		r = remove_refs(refs, key, by_id, err);
	if (!r) {
		r = store_refs_save(s, refs, err);
		if (!r)
			collect_garbage(s, refs);
	}
	json_decref(refs);
	store_unlock(lk);
	if (r)
		sm_err_wrap(err, r, "remove %s", ref);
	return r;
}

SM_API int sm_image_remove(struct sm_store *s, const char *ref,
			   struct sm_error *err)
{
	return remove_names(s, ref, false, err);
}

SM_API int sm_image_untag(struct sm_store *s, const char *ref,
			  struct sm_error *err)
{
	return remove_names(s, ref, true, err);
}
