/* Manifest/index parsing and platform matching (containerd's rules). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "oci/manifest.h"
#include "oci/ref.h"
#include "util/cleanup.h"
#include "util/error.h"

static char *jdup(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? strdup(v) : NULL;
}

static void desc_free(struct oci_desc *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	free(d->ref_name);
}

static int desc_parse(json_t *o, struct oci_desc *d, const char *what,
		      struct sm_error *err)
{
	json_t *sz = json_object_get(o, "size"), *p;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return sm_err(err, -EINVAL, "%s: not an object", what);
	d->media_type = jdup(o, "mediaType");
	d->digest = jdup(o, "digest");
	if (!oci_digest_valid(d->digest))
		return sm_err(err, -EINVAL, "%s: missing or unsupported digest",
			      what);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return sm_err(err, -EINVAL, "%s %s: invalid size", what,
			      d->digest);
	d->size = json_integer_value(sz);
	p = json_object_get(o, "platform");
	if (json_is_object(p)) {
		d->os = jdup(p, "os");
		d->arch = jdup(p, "architecture");
		d->variant = jdup(p, "variant");
	}
	d->ref_name = jdup(json_object_get(o, "annotations"),
			   "org.opencontainers.image.ref.name");
	return 0;
}

static int layer_type_ok(const char *mt)
{
	static const char *const ok[] = {
	    MT_OCI_LAYER,
	    MT_OCI_LAYER_GZ,
	    MT_OCI_LAYER "+zstd",
	    MT_DOCKER_LAYER_GZ,
	    "application/vnd.docker.image.rootfs.diff.tar",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	};

	if (!mt)
		return 1; /* OCI allows omitting it; content decides */
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(mt, ok[i]))
			return 1;
	return 0;
}

static int parse_list(json_t *a, struct oci_desc **out, size_t *n,
		      const char *what, struct sm_error *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return sm_err(err, -EINVAL, "manifest: missing \"%s\"", what);
	*n = json_array_size(a);
	*out = calloc(*n + 1, sizeof(**out));
	if (!*out)
		return sm_err(err, -ENOMEM, "out of memory");
	json_array_foreach(a, i, v)
	{
		int r = desc_parse(v, &(*out)[i], what, err);
		if (r)
			return r;
	}
	return 0;
}

int oci_manifest_parse(const char *body, size_t len, const char *ctype,
		       struct oci_manifest *m, struct sm_error *err)
{
	json_error_t je;
	json_t *root;
	const char *mt;
	int r;

	memset(m, 0, sizeof(*m));
	root = json_loadb(body, len, 0, &je);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return sm_err(err, -EINVAL, "manifest: invalid JSON: %s",
			      je.text);
	}
	if (json_integer_value(json_object_get(root, "schemaVersion")) == 1 ||
	    (ctype && strstr(ctype, "distribution.manifest.v1+"))) {
		json_decref(root);
		return sm_err(err, -ENOTSUP,
			      "manifest: Docker schema 1 images are not "
			      "supported (deprecated format; re-push the image "
			      "with a current client)");
	}
	mt = json_string_value(json_object_get(root, "mediaType"));
	if (!mt)
		mt = ctype;
	m->media_type = mt ? strdup(mt) : NULL;
	if (json_object_get(root, "manifests") ||
	    (mt &&
	     (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST)))) {
		m->kind = OCI_KIND_INDEX;
		r = parse_list(json_object_get(root, "manifests"),
			       &m->manifests, &m->n_manifests, "manifests",
			       err);
	} else {
		m->kind = OCI_KIND_MANIFEST;
		r = desc_parse(json_object_get(root, "config"), &m->config,
			       "config", err);
		if (!r)
			r = parse_list(json_object_get(root, "layers"),
				       &m->layers, &m->n_layers, "layers", err);
		for (size_t i = 0; !r && i < m->n_layers; i++)
			if (!layer_type_ok(m->layers[i].media_type))
				r = sm_err(
				    err, -ENOTSUP,
				    "layer %s: unsupported media type %s",
				    m->layers[i].digest,
				    m->layers[i].media_type);
	}
	json_decref(root);
	if (r)
		oci_manifest_free(m);
	return r;
}

void oci_manifest_free(struct oci_manifest *m)
{
	desc_free(&m->config);
	for (size_t i = 0; m->layers && i < m->n_layers; i++)
		desc_free(&m->layers[i]);
	for (size_t i = 0; m->manifests && i < m->n_manifests; i++)
		desc_free(&m->manifests[i]);
	free(m->layers);
	free(m->manifests);
	free(m->media_type);
	memset(m, 0, sizeof(*m));
}

/* uname/GOARCH aliases -> OCI names; sets a default variant. */
static void norm_arch(char *arch, size_t alen, char *variant, size_t vlen)
{
	static const struct {
		const char *from, *to, *variant;
	} map[] = {
	    {"x86_64", "amd64", ""},  {"x86-64", "amd64", ""},
	    {"aarch64", "arm64", ""}, {"armhf", "arm", "v7"},
	    {"armel", "arm", "v6"},   {"armv7l", "arm", "v7"},
	    {"armv6l", "arm", "v6"},  {"i386", "386", ""},
	    {"i686", "386", ""},      {"ppc64le", "ppc64le", ""},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(arch, map[i].from)) {
			snprintf(arch, alen, "%s", map[i].to);
			if (!*variant)
				snprintf(variant, vlen, "%s", map[i].variant);
			break;
		}
	}
	if (!strcmp(arch, "arm64") && !strcmp(variant, "v8"))
		variant[0] = '\0'; /* arm64 == arm64/v8 */
}

void oci_host_platform(char *buf, size_t len)
{
	struct utsname u;
	char arch[sizeof(u.machine) + 1], variant[16] = "";

	if (uname(&u) < 0)
		snprintf(u.machine, sizeof(u.machine), "x86_64");
	snprintf(arch, sizeof(arch), "%s", u.machine);
	norm_arch(arch, sizeof(arch), variant, sizeof(variant));
	snprintf(buf, len, "linux/%s%s%s", arch, *variant ? "/" : "", variant);
}

/* Lower is better; -1: cannot run. ARM vN runs v(N-1).. binaries. */
static int variant_score(const char *arch, const char *want, const char *have)
{
	if (!strcmp(want, have))
		return 0;
	if (!strcmp(arch, "arm") && want[0] == 'v' && have[0] == 'v') {
		int w = atoi(want + 1), h = atoi(have + 1);
		if (h > 0 && h < w)
			return w - h;
		return -1;
	}
	if (!*want)
		return 10; /* nothing asked: any variant, exact preferred */
	return -1;
}

int oci_index_select(const struct oci_manifest *idx, const char *platform,
		     const struct oci_desc **out, struct sm_error *err)
{
	char host[96], os[32] = "", arch[64] = "", variant[16] = "";
	int best = -1;
	const char *p;

	if (!platform) {
		oci_host_platform(host, sizeof(host));
		platform = host;
	}
	if (sscanf(platform, "%31[^/]/%63[^/]/%15s", os, arch, variant) < 2)
		return sm_err(
		    err, -EINVAL,
		    "invalid platform \"%s\" (want os/arch[/variant])",
		    platform);
	norm_arch(arch, sizeof(arch), variant, sizeof(variant));
	*out = NULL;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct oci_desc *d = &idx->manifests[i];
		char a[64], v[16];
		int s;

		if (!d->os || !d->arch || strcmp(d->os, os))
			continue;
		snprintf(a, sizeof(a), "%s", d->arch);
		snprintf(v, sizeof(v), "%s", d->variant ? d->variant : "");
		norm_arch(a, sizeof(a), v, sizeof(v));
		if (strcmp(a, arch))
			continue;
		s = variant_score(arch, variant, v);
		if (s >= 0 && (best < 0 || s < best)) {
			best = s;
			*out = d;
		}
	}
	if (*out)
		return 0;
	{
		char have[512] = "";
		size_t n = 0;
		for (size_t i = 0; i < idx->n_manifests && n < sizeof(have);
		     i++) {
			const struct oci_desc *d = &idx->manifests[i];
			p = d->variant ? d->variant : "";
			n +=
			    snprintf(have + n, sizeof(have) - n, "%s%s/%s%s%s",
				     n ? ", " : "", d->os ? d->os : "?",
				     d->arch ? d->arch : "?", *p ? "/" : "", p);
		}
		return sm_err(err, -ENOENT,
			      "no image for platform %s (available: %s)",
			      platform, n ? have : "none");
	}
}
