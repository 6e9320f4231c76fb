/* oci_image_get() for the runtime and sm_image_inspect() for people. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci/image.h"
#include "oci/ref.h"
#include "oci/oci.h"
#include "util/cleanup.h"
#include "util/error.h"

/* Name and manifest digest for ref, from refs.json; with pin_fd, the
 * image held (image_pin) under the same lock, so no removal comes in
 * between. */
static int find(struct sm_store *s, const char *ref, char **name, char *digest,
		int *pin_fd, struct sm_error *err)
{
	json_t *refs = NULL;
	const char *key;
	int lk, r, by_id;

	lk = store_lock(s, "refs", 0, err);
	if (lk < 0)
		return lk;
	r = store_refs_load(s, &refs, err);
	if (!r)
		r = image_lookup(s, refs, ref, &key, &by_id, err);
	if (!r) {
		const char *d = json_string_value(
		    json_object_get(json_object_get(refs, key), "digest"));
		snprintf(digest, 72, "%s", d ? d : "");
		if (pin_fd && (!oci_digest_valid(digest) ||
			       (*pin_fd = image_pin(s, digest + 7, err)) < 0))
			r = oci_digest_valid(digest)
				? *pin_fd
				: sm_err(err, -EINVAL,
					 "refs.json: %s has no digest", key);
	}
	store_unlock(lk);
	if (!r) {
		*name = strdup(strncmp(key, "sha256:", 7) ? key : "");
		if (!*name)
			r = sm_err(err, -ENOMEM, "out of memory");
	}
	if (r && pin_fd && *pin_fd >= 0) {
		close(*pin_fd);
		*pin_fd = -1;
	}
	json_decref(refs);
	return r;
}

static int fill(struct sm_store *s, char *name, const char *digest,
		struct oci_image **out, struct sm_error *err)
{
	struct oci_image *img = calloc(1, sizeof(*img));
	_cleanup_free_ char *cfg = NULL, *cfgp = NULL, *metap = NULL;
	json_t *meta;
	size_t len;
	int r;

	if (!img) {
		free(name);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	img->pin_fd = -1;
	img->name = name;
	img->manifest_digest = strdup(digest);
	img->dir = store_path(s, "images/%s", digest + 7);
	img->rootfs = store_path(s, "images/%s/rootfs", digest + 7);
	cfgp = store_path(s, "images/%s/config.json", digest + 7);
	metap = store_path(s, "images/%s/meta.json", digest + 7);
	if (!img->manifest_digest || !img->dir || !img->rootfs || !cfgp ||
	    !metap) {
		oci_image_free(img);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	meta = json_load_file(metap, 0, NULL);
	if (!meta) {
		oci_image_free(img);
		return sm_err(err, -ENOENT, "image %s: not in the store",
			      digest);
	}
	img->owners_in_xattr = json_is_true(json_object_get(meta, "rootless"));
	img->config_digest =
	    strdup(json_string_value(json_object_get(meta, "config")) ?: "");
	json_decref(meta);
	r = store_read_file(cfgp, 16 << 20, &cfg, &len, err);
	if (!r)
		r = oci_config_parse(cfg, len, &img->config, err);
	if (r) {
		oci_image_free(img);
		return r;
	}
	*out = img;
	return 0;
}

int oci_image_get(struct sm_store *s, const char *ref,
		  const struct oci_get_options *o, struct oci_image **out,
		  struct sm_error *err)
{
	char digest[72];
	char *name = NULL;
	int pin = -1, *pin_fd = o && o->pin ? &pin : NULL, r;

	*out = NULL;
	r = find(s, ref, &name, digest, pin_fd, err);
	if (r == -ENOENT && !(o && o->no_pull)) {
		r = oci_pull(s, ref, o ? o->pull : NULL, NULL, err);
		if (!r)
			r = find(s, ref, &name, digest, pin_fd, err);
	}
	if (!r)
		r = fill(s, name, digest, out, err);
	if (!r)
		(*out)->pin_fd = pin;
	else if (pin >= 0)
		close(pin);
	return r;
}

void oci_image_free(struct oci_image *img)
{
	if (!img)
		return;
	free(img->name);
	free(img->manifest_digest);
	free(img->config_digest);
	free(img->dir);
	free(img->rootfs);
	oci_config_free(&img->config);
	if (img->pin_fd >= 0)
		close(img->pin_fd);
	free(img);
}

SM_API int sm_image_inspect(struct sm_store *s, const char *ref, char **json,
			    struct sm_error *err)
{
	struct oci_image *img;
	struct sm_image_info info;
	json_t *o, *names, *cfg, *man, *layers, *l, *refs = NULL, *v;
	const char *k;
	size_t i;
	int r;

	if (!s || !ref || !json)
		return sm_err(err, -EINVAL,
			      "sm_image_inspect: a store, a name and a result "
			      "are required");
	r = oci_image_get(s, ref, &(struct oci_get_options){.no_pull = 1}, &img,
			  err);
	if (r)
		return sm_err_wrap(err, r, "inspect %s", ref);
	image_info(s, img->name, img->manifest_digest, NULL, &info);
	names = json_array();
	if (!store_refs_load(s, &refs, NULL))
		json_object_foreach(refs, k, v)
		{
			const char *d =
			    json_string_value(json_object_get(v, "digest"));
			if (d && !strcmp(d, img->manifest_digest) &&
			    strncmp(k, "sha256:", 7))
				json_array_append_new(names, json_string(k));
		}
	json_decref(refs);
	{
		_cleanup_free_ char *p = store_path(s, "images/%s/config.json",
						    img->manifest_digest + 7);
		_cleanup_free_ char *q = store_path(
		    s, "images/%s/manifest.json", img->manifest_digest + 7);
		cfg = p ? json_load_file(p, 0, NULL) : NULL;
		man = q ? json_load_file(q, 0, NULL) : NULL;
	}
	layers = json_array();
	json_array_foreach(json_object_get(man, "layers"), i, l)
	    json_array_append(layers, json_object_get(l, "digest"));
	o = json_pack("{s:s, s:o, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:o, s:o}",
		      "Name", img->name, "Names", names, "Id",
		      img->config_digest, "Digest", img->manifest_digest,
		      "Platform", info.platform, "Size", (json_int_t)info.size,
		      "Created", (json_int_t)info.created, "RootFS",
		      img->rootfs, "Ownership",
		      img->owners_in_xattr ? "xattr" : "native", "Config",
		      json_object_get(cfg, "config")
			  ? json_incref(json_object_get(cfg, "config"))
			  : json_object(),
		      "Layers", layers);
	json_decref(cfg);
	json_decref(man);
	oci_image_free(img);
	*json = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!*json)
		return sm_err(err, -ENOMEM, "inspect %s: out of memory", ref);
	return 0;
}
