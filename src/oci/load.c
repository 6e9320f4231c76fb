/*
 * sm_image_load(): docker-archive (docker save, skopeo docker-archive:),
 * OCI archives (oci-archive:) and OCI layout directories. Archive members
 * stream into the store as blobs (hashed on the way); nothing from the
 * archive is ever written by its own path name.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/dl.h"
#include "oci/image.h"
#include "oci/oci.h"
#include "oci/ref.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/opts.h"

#define MAX_JSON (8 << 20)

struct load {
	struct sm_store *s;
	const struct sm_load_options *o;
	const char *dir; /* layout directory, or NULL for an archive */
	json_t *files;	 /* archive member path -> digest */
	json_t *links;	 /* archive symlink path -> target path */
	struct sm_image_info *out;
	int n;
	struct sm_error *err;
};

static int import_stream(struct load *l, struct archive *a, int64_t size,
			 char *digest)
{
	struct blob_writer w;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r = blob_writer_open(&w, l->s, size, l->err);

	if (r)
		return r;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) ==
	       ARCHIVE_OK) {
		int wr = blob_writer_write(&w, buf, len);
		if (wr) {
			/* its errno: a full disk must say "No space left" */
			blob_writer_abort(&w);
			return sm_err(l->err, wr, "write blob: %s",
				      strerror(-wr));
		}
	}
	if (r != ARCHIVE_EOF) {
		blob_writer_abort(&w);
		return sm_err(l->err, -EIO, "%s", archive_error_string(a));
	}
	return blob_writer_commit(&w, NULL, size, digest, l->err);
}

static char *clean(const char *p)
{
	while (!strncmp(p, "./", 2))
		p += 2;
	return strdup(p);
}

static int read_archive(struct load *l, const char *path)
{
	struct archive *a;
	struct archive_entry *e;
	int r = oci_archive_need(l->err), ar;

	if (r)
		return r;
	a = archive_read_new();
	if (!a)
		return sm_err(l->err, -ENOMEM, "out of memory");
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK) {
		r = sm_err(l->err, -EINVAL, "%s: %s", path,
			   archive_error_string(a));
		goto out;
	}
	while (!r && ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
		      ar == ARCHIVE_WARN)) {
		_cleanup_free_ char *name = clean(archive_entry_pathname(e));
		char dg[72];

		if (!name)
			r = sm_err(l->err, -ENOMEM, "out of memory");
		else if (archive_entry_filetype(e) == AE_IFLNK)
			json_object_set_new(
			    l->links, name,
			    json_string(archive_entry_symlink(e)));
		else if (archive_entry_filetype(e) == AE_IFREG &&
			 !(r = import_stream(l, a, archive_entry_size(e), dg)))
			json_object_set_new(l->files, name, json_string(dg));
	}
	if (!r && ar != ARCHIVE_EOF)
		r = sm_err(l->err, -EINVAL, "%s: %s", path,
			   archive_error_string(a));
out:
	archive_read_free(a);
	return r;
}

/* Digest of an archive member, following (relative) member symlinks. */
static const char *member(struct load *l, const char *name)
{
	char buf[1024];

	for (int hops = 0; hops < 8 && name; hops++) {
		const char *d =
		    json_string_value(json_object_get(l->files, name));
		const char *t =
		    json_string_value(json_object_get(l->links, name));
		if (d)
			return d;
		if (!t)
			return NULL;
		const char *slash = strrchr(name, '/');
		if (!strncmp(t, "../", 3) && slash) {
			/* "a/layer.tar" -> "../b/layer.tar" means "b/layer.tar"
			 */
			snprintf(buf, sizeof(buf), "%s", t + 3);
		} else if (slash) {
			snprintf(buf, sizeof(buf), "%.*s/%s",
				 (int)(slash - name), name, t);
		} else {
			snprintf(buf, sizeof(buf), "%s", t);
		}
		name = buf;
	}
	return NULL;
}

/* Makes sure digest is in the store (from a layout dir, verified). */
static int ensure_blob(struct load *l, const char *digest)
{
	_cleanup_free_ char *src = NULL;
	struct blob_writer w;
	char buf[1 << 16];
	struct stat st;
	ssize_t n;
	int fd, r;

	if (!oci_digest_valid(digest))
		return sm_err(l->err, -EINVAL, "invalid digest");
	if (store_blob_exists(l->s, digest))
		return 0;
	if (!l->dir)
		return sm_err(l->err, -ENOENT, "blob %s missing from archive",
			      digest);
	if (asprintf(&src, "%s/blobs/sha256/%s", l->dir, digest + 7) < 0)
		return sm_err(l->err, -ENOMEM, "out of memory");
	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = sm_err_errno(l->err, "open %s", src);
		if (fd >= 0)
			close(fd);
		return r;
	}
	r = blob_writer_open(&w, l->s, st.st_size, l->err);
	while (!r && (n = read(fd, buf, sizeof(buf))) > 0)
		if ((r = blob_writer_write(&w, buf, n))) {
			/* its errno, as in import_stream() */
			blob_writer_abort(&w);
			r = sm_err(l->err, r, "write blob: %s", strerror(-r));
		}
	close(fd);
	if (!r)
		r = blob_writer_commit(&w, digest, st.st_size, NULL, l->err);
	return r ? sm_err_wrap(l->err, r, "blob %s", digest) : 0;
}

static int read_blob(struct load *l, const char *digest, char **out,
		     size_t *len)
{
	_cleanup_free_ char *p = NULL;
	int r = ensure_blob(l, digest);

	if (r)
		return r;
	p = store_blob_path(l->s, digest);
	return store_read_file(p, MAX_JSON, out, len, l->err);
}

static const char *layer_type(struct load *l, const char *digest)
{
	_cleanup_free_ char *p = store_blob_path(l->s, digest);
	unsigned char m[4] = {0};
	int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		if (read(fd, m, 4) < 0)
			m[0] = 0;
		close(fd);
	}
	if (m[0] == 0x1f && m[1] == 0x8b)
		return MT_OCI_LAYER_GZ;
	if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return MT_OCI_LAYER "+zstd";
	return MT_OCI_LAYER;
}

/* Stores, unpacks and names one image given its manifest digest (names:
 * the caller's, the tag option is appended to it). */
static int load_named(struct load *l, const char *mdigest, json_t *names)
{
	_cleanup_free_ char *body = NULL, *cfgjson = NULL;
	struct oci_manifest m;
	struct oci_config c = {0};
	struct progress p = {.lock = PTHREAD_MUTEX_INITIALIZER};
	char platform[96];
	size_t len, cl, i;
	json_t *v;
	int r;

	r = read_blob(l, mdigest, &body, &len);
	if (!r)
		r = oci_manifest_parse(body, len, NULL, &m, l->err);
	if (r)
		return r;
	if (m.kind != OCI_KIND_MANIFEST) {
		oci_manifest_free(&m);
		return sm_err(l->err, -EINVAL, "%s: not an image manifest",
			      mdigest);
	}
	r = read_blob(l, m.config.digest, &cfgjson, &cl);
	if (!r)
		r = oci_config_parse(cfgjson, cl, &c, l->err);
	for (i = 0; !r && i < m.n_layers; i++)
		r = ensure_blob(l, m.layers[i].digest);
	snprintf(platform, sizeof(platform), "%s/%s%s%s", c.os ? c.os : "linux",
		 c.arch ? c.arch : "?", c.variant ? "/" : "",
		 c.variant ? c.variant : "");
	oci_config_free(&c);
	if (!r)
		r = image_assemble(l->s, mdigest, &m, platform, &p, l->err);
	oci_manifest_free(&m);
	if (!r && l->o && l->o->tag)
		json_array_append_new(names, json_string(l->o->tag));
	if (!r && !json_array_size(names))
		r = image_tag(l->s, mdigest, mdigest, NULL, l->err);
	json_array_foreach(names, i, v)
	{
		struct oci_ref ref;
		_cleanup_free_ char *full = NULL;
		if (r)
			break;
		r = oci_ref_parse(json_string_value(v), &ref, l->err);
		if (r)
			break;
		full = oci_ref_string(&ref);
		oci_ref_free(&ref);
		r = full ? image_tag(l->s, full, mdigest, NULL, l->err)
			 : sm_err(l->err, -ENOMEM, "out of memory");
		if (!r && i == json_array_size(names) - 1) {
			struct sm_image_info *n =
			    realloc(l->out, (l->n + 1) * sizeof(*n));
			if (!n)
				return sm_err(l->err, -ENOMEM, "out of memory");
			l->out = n;
			image_info(l->s, full, mdigest, NULL, &l->out[l->n++]);
		}
	}
	if (!r && !json_array_size(names)) {
		struct sm_image_info *n =
		    realloc(l->out, (l->n + 1) * sizeof(*n));
		if (!n)
			return sm_err(l->err, -ENOMEM, "out of memory");
		l->out = n;
		image_info(l->s, NULL, mdigest, NULL, &l->out[l->n++]);
	}
	return r;
}

/* load_named(), taking names (a JSON array of strings) on every path. */
static int load_manifest(struct load *l, const char *mdigest, json_t *names)
{
	int r = load_named(l, mdigest, names);

	json_decref(names);
	return r;
}

/* docker save's manifest.json: [{Config, RepoTags, Layers}]. */
static int load_docker(struct load *l, const char *digest)
{
	_cleanup_free_ char *txt = NULL;
	json_t *arr, *e, *lay;
	size_t i, j, len;
	int r = read_blob(l, digest, &txt, &len);

	if (r)
		return r;
	arr = json_loadb(txt, len, 0, NULL);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return sm_err(l->err, -EINVAL, "manifest.json: not a list");
	}
	json_array_foreach(arr, i, e)
	{
		const char *cfg = member(
		    l, json_string_value(json_object_get(e, "Config")) ?: "");
		json_t *layers = json_array(), *man, *tags;
		_cleanup_free_ char *mtxt = NULL;
		char mdg[72];

		if (!cfg) {
			r = sm_err(l->err, -EINVAL,
				   "config missing from archive");
			json_decref(layers);
			break;
		}
		json_array_foreach(json_object_get(e, "Layers"), j, lay)
		{
			const char *d = member(l, json_string_value(lay) ?: "");
			_cleanup_free_ char *bp =
			    d ? store_blob_path(l->s, d) : NULL;
			struct stat st;
			if (!d || !bp || stat(bp, &st) < 0) {
				r = sm_err(l->err, -EINVAL,
					   "layer %s missing from archive",
					   json_string_value(lay) ?: "?");
				break;
			}
			json_array_append_new(
			    layers, json_pack("{s:s, s:s, s:I}", "mediaType",
					      layer_type(l, d), "digest", d,
					      "size", (json_int_t)st.st_size));
		}
		_cleanup_free_ char *cp = store_blob_path(l->s, cfg);
		struct stat cst;
		if (!r && stat(cp, &cst) < 0)
			r = sm_err_errno(l->err, "config");
		if (r) {
			json_decref(layers);
			break;
		}
		man = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}",
				"schemaVersion", 2, "mediaType",
				MT_OCI_MANIFEST, "config", "mediaType",
				MT_OCI_CONFIG, "digest", cfg, "size",
				(json_int_t)cst.st_size, "layers", layers);
		mtxt = json_dumps(man, JSON_COMPACT);
		json_decref(man);
		if (!mtxt) {
			r = sm_err(l->err, -ENOMEM, "out of memory");
			break;
		}
		r = store_put_blob(l->s, mtxt, strlen(mtxt), mdg, l->err);
		tags = json_object_get(e, "RepoTags");
		if (!r)
			r = load_manifest(l, mdg,
					  json_is_array(tags)
					      ? json_deep_copy(tags)
					      : json_array());
		if (r)
			break;
	}
	json_decref(arr);
	return r;
}

/* An OCI layout's index.json (from a directory or an archive). */
static int load_oci(struct load *l, const char *index_txt, size_t len)
{
	json_t *idx = json_loadb(index_txt, len, 0, NULL), *e;
	size_t i;
	int r = 0;

	if (!json_is_array(json_object_get(idx, "manifests"))) {
		json_decref(idx);
		return sm_err(l->err, -EINVAL, "index.json: no manifests");
	}
	json_array_foreach(json_object_get(idx, "manifests"), i, e)
	{
		const char *mt =
		    json_string_value(json_object_get(e, "mediaType"));
		const char *dg =
		    json_string_value(json_object_get(e, "digest"));
		json_t *ann = json_object_get(e, "annotations"),
		       *names = json_array();
		const char *n = json_string_value(
		    json_object_get(ann, "io.containerd.image.name"));
		char sel[72];

		if (!n) {
			n = json_string_value(json_object_get(
			    ann, "org.opencontainers.image.ref.name"));
			/* a bare tag ("latest") is not a name */
			if (n && !strchr(n, '/') && !strchr(n, ':'))
				n = NULL;
		}
		if (n)
			json_array_append_new(names, json_string(n));
		snprintf(sel, sizeof(sel), "%s", dg ? dg : "");
		if (mt && (!strcmp(mt, MT_OCI_INDEX) ||
			   !strcmp(mt, MT_DOCKER_LIST))) {
			_cleanup_free_ char *txt = NULL;
			struct oci_manifest im;
			const struct oci_desc *d;
			size_t tl;
			r = read_blob(l, dg, &txt, &tl);
			if (!r)
				r = oci_manifest_parse(txt, tl, mt, &im,
						       l->err);
			if (!r) {
				r = oci_index_select(
				    &im, l->o ? l->o->platform : NULL, &d,
				    l->err);
				if (!r)
					snprintf(sel, sizeof(sel), "%s",
						 d->digest);
				oci_manifest_free(&im);
			}
		}
		if (!r)
			r = load_manifest(l, sel, names);
		else
			json_decref(names);
		if (r)
			break;
	}
	json_decref(idx);
	return r;
}

static int load_path(struct load *l, const char *path)
{
	struct stat st;
	_cleanup_free_ char *txt = NULL, *ip = NULL;
	size_t len;
	const char *d;
	int r;

	if (stat(path, &st) < 0)
		return sm_err_errno(l->err, "%s", path);
	if (S_ISDIR(st.st_mode)) {
		l->dir = path;
		if (asprintf(&ip, "%s/index.json", path) < 0)
			return sm_err(l->err, -ENOMEM, "out of memory");
		r = store_read_file(ip, MAX_JSON, &txt, &len, l->err);
		return r ? r : load_oci(l, txt, len);
	}
	r = read_archive(l, path);
	if (r)
		return r;
	if ((d = member(l, "manifest.json")))
		return load_docker(l, d);
	if ((d = member(l, "index.json"))) {
		/* members blobs/sha256/HEX must hash to HEX */
		const char *k;
		json_t *v;
		json_object_foreach(l->files, k, v)
		{
			if (!strncmp(k, "blobs/sha256/", 13) &&
			    strcmp(k + 13, json_string_value(v) + 7))
				return sm_err(l->err, -EIO,
					      "%s: digest mismatch (got %s)", k,
					      json_string_value(v));
		}
		r = read_blob(l, d, &txt, &len);
		return r ? r : load_oci(l, txt, len);
	}
	return sm_err(l->err, -EINVAL,
		      "not a docker-archive or OCI archive (no manifest.json "
		      "or index.json)");
}

SM_API int sm_image_load(struct sm_store *s, const char *path,
			 const struct sm_load_options *in,
			 struct sm_image_info **list, struct sm_error *err)
{
	struct sm_load_options o = {.size = sizeof(o)};
	struct load l = {.s = s, .o = &o, .err = err};
	int gc, r;

	if (!s || !path || !list)
		return sm_err(err, -EINVAL,
			      "sm_image_load: a store, a path and a list are "
			      "required");
	*list = NULL;
	r = sm_opts_take(&o, sizeof(o), in, "sm_load_options", err);
	if (r)
		return r;
	l.files = json_object();
	l.links = json_object();
	gc = store_lock(s, "gc", 0, err);
	if (gc < 0)
		r = gc;
	else
		r = load_path(&l, path);
	store_unlock(gc);
	json_decref(l.files);
	json_decref(l.links);
	if (r) {
		free(l.out);
		return sm_err_wrap(err, r, "load %s", path);
	}
	*list = l.out;
	return l.n;
}
