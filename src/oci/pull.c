/* sm_image_pull(): resolve, download in parallel, verify, unpack, name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/image.h"
#include "oci/oci.h"
#include "oci/registry.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/opts.h"

void progress_report(struct progress *p, unsigned int index, const char *digest,
		     uint64_t cur, uint64_t total, enum sm_pull_state state)
{
	struct sm_pull_progress ev = {index, p->count, digest,
				      cur,   total,    state};

	if (!p->fn)
		return;
	pthread_mutex_lock(&p->lock);
	p->fn(&ev, p->opaque);
	pthread_mutex_unlock(&p->lock);
}

struct job {
	struct registry *reg;
	struct sm_store *s;
	const struct oci_desc *descs;
	size_t n;
	pthread_mutex_t lock;
	pthread_cond_t cv; /* a blob became ready, or the job failed */
	unsigned char *ready;
	size_t next;
	int failed;
	struct sm_error err;
	struct progress *p;
	pthread_t t[16];
	unsigned int started;
};

struct blob_cb {
	struct job *j;
	unsigned int index;
	const struct oci_desc *d;
};

static void on_blob_progress(void *opaque, uint64_t cur, int retrying)
{
	struct blob_cb *b = opaque;

	progress_report(b->j->p, b->index, b->d->digest, cur, b->d->size,
			retrying ? SM_PULL_RETRYING : SM_PULL_DOWNLOADING);
}

/* Downloads one blob unless present; the per-blob lock makes a second
 * process wait and then find it instead of downloading it again. */
static int fetch_blob(struct registry *reg, CURL *h, const struct oci_desc *d,
		      struct blob_cb *cb, struct sm_error *err)
{
	char lname[80];
	int lk, r = 0;

	snprintf(lname, sizeof(lname), "blob-%s", d->digest + 7);
	lk = store_lock(reg->store, lname, 1, err);
	if (lk < 0)
		return lk;
	if (store_blob_exists(reg->store, d->digest)) {
		if (cb)
			progress_report(cb->j->p, cb->index, d->digest, d->size,
					d->size, SM_PULL_EXISTS);
	} else {
		r = registry_get_blob(reg, h, d, cb ? on_blob_progress : NULL,
				      cb, err);
		if (!r && cb)
			progress_report(cb->j->p, cb->index, d->digest, d->size,
					d->size, SM_PULL_DOWNLOADED);
	}
	store_unlock(lk);
	return r;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	CURL *h = curl_easy_init();
	struct sm_error err = {0};

	for (;;) {
		size_t i;
		pthread_mutex_lock(&j->lock);
		i = j->next++;
		int stop = j->failed || i >= j->n || !h;
		if (!h && !j->failed) {
			j->failed = 1;
			sm_err(&j->err, -ENOMEM, "curl: cannot create handle");
		}
		pthread_mutex_unlock(&j->lock);
		if (stop)
			break;
		struct blob_cb cb = {j, i, &j->descs[i]};
		int r = fetch_blob(j->reg, h, &j->descs[i], &cb, &err);
		pthread_mutex_lock(&j->lock);
		if (!r)
			j->ready[i] = 1;
		else if (!j->failed) {
			j->failed = 1;
			j->err = err;
		}
		pthread_cond_broadcast(&j->cv);
		pthread_mutex_unlock(&j->lock);
		if (r)
			break;
	}
	if (h)
		curl_easy_cleanup(h);
	return NULL;
}

/* Starts the layer downloads; layers_finish() joins them. */
static int layers_start(struct job *j, struct registry *reg,
			const struct oci_manifest *m, unsigned int parallel,
			struct progress *p, struct sm_error *err)
{
	unsigned int n = parallel ? parallel : 3;

	memset(j, 0, sizeof(*j));
	j->reg = reg;
	j->s = reg->store;
	j->descs = m->layers;
	j->n = m->n_layers;
	j->p = p;
	j->ready = calloc(m->n_layers + 1, 1);
	if (!j->ready)
		return sm_err(err, -ENOMEM, "out of memory");
	if (n > 16)
		n = 16;
	if (n > m->n_layers)
		n = m->n_layers ? m->n_layers : 1;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cv, NULL);
	for (size_t i = 0; i < m->n_layers; i++)
		progress_report(p, i, m->layers[i].digest, 0, m->layers[i].size,
				SM_PULL_WAITING);
	for (unsigned int i = 0; i < n; i++)
		if (!pthread_create(&j->t[j->started], NULL, worker, j))
			j->started++;
	if (!j->started)
		worker(j);
	return 0;
}

/* image_assemble()'s layer_ready: waits for layer i's blob. */
static int layer_ready(void *opaque, size_t i, struct sm_error *err)
{
	struct job *j = opaque;
	int r = 0;

	pthread_mutex_lock(&j->lock);
	while (i < j->n && !j->ready[i] && !j->failed)
		pthread_cond_wait(&j->cv, &j->lock);
	if (i < j->n && !j->ready[i]) {
		*err = j->err;
		r = j->err.code ? j->err.code : -EIO;
	}
	pthread_mutex_unlock(&j->lock);
	return r;
}

/* Stops handing out blobs when abort is set, joins the workers; returns
 * the downloads' error. */
static int layers_finish(struct job *j, int abort, struct sm_error *err)
{
	pthread_mutex_lock(&j->lock);
	if (abort)
		j->failed = 1;
	pthread_mutex_unlock(&j->lock);
	for (unsigned int i = 0; i < j->started; i++)
		pthread_join(j->t[i], NULL);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->lock);
	free(j->ready);
	if (j->failed && !abort) {
		*err = j->err;
		return j->err.code ? j->err.code : -EIO;
	}
	return 0;
}

static int read_blob(struct sm_store *s, const char *digest, char **out,
		     size_t *len, struct sm_error *err)
{
	_cleanup_free_ char *p = store_blob_path(s, digest);

	if (!p)
		return sm_err(err, -EINVAL, "invalid digest");
	return store_read_file(p, 16 << 20, out, len, err);
}

/* The platform-specific manifest for ref: resolves an index. */
static int resolve(struct registry *reg, CURL *h, const struct oci_ref *ref,
		   const char *platform, struct oci_manifest *m,
		   char *top_digest, char *mdigest, struct sm_error *err)
{
	_cleanup_free_ char *body = NULL, *ctype = NULL;
	size_t len;
	int r;

	r = registry_get_manifest(reg, h, ref->digest ? ref->digest : ref->tag,
				  &body, &len, &ctype, top_digest, err);
	if (!r)
		r = oci_manifest_parse(body, len, ctype, m, err);
	if (r)
		return r;
	strcpy(mdigest, top_digest);
	if (m->kind == OCI_KIND_INDEX) {
		const struct oci_desc *d;
		struct oci_manifest idx = *m;

		memset(m, 0, sizeof(*m));
		r = store_put_blob(reg->store, body, len, top_digest, err);
		if (!r)
			r = oci_index_select(&idx, platform, &d, err);
		if (!r) {
			free(body);
			free(ctype);
			body = ctype = NULL;
			r = registry_get_manifest(reg, h, d->digest, &body,
						  &len, &ctype, mdigest, err);
		}
		oci_manifest_free(&idx);
		if (!r)
			r = oci_manifest_parse(body, len, ctype, m, err);
		if (!r && m->kind != OCI_KIND_MANIFEST)
			r = sm_err(err, -EINVAL, "nested index not supported");
		if (r)
			return r;
	}
	return store_put_blob(reg->store, body, len, mdigest, err);
}

/* An explicit --platform must match a single-platform image's config. */
static int check_platform(const char *want, const struct oci_config *c,
			  struct sm_error *err)
{
	char os[32] = "", arch[64] = "";

	if (!want || !c->arch || sscanf(want, "%31[^/]/%63[^/]", os, arch) < 2)
		return 0;
	if ((c->os && strcmp(os, c->os)) || strcmp(arch, c->arch))
		return sm_err(err, -ENOENT, "image is for %s/%s, not %s",
			      c->os ? c->os : "?", c->arch, want);
	return 0;
}

static int pull_locked(struct sm_store *s, const struct oci_ref *ref,
		       const struct sm_pull_options *o,
		       struct sm_image_info *info, struct sm_error *err)
{
	struct registry reg;
	struct oci_manifest m = {0};
	struct oci_config cfg = {0};
	struct progress p = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct job j;
	char top[72], mdigest[72], platform[96];
	const char *want = o ? o->platform : NULL;
	_cleanup_free_ char *cfgjson = NULL, *name = NULL;
	size_t cfglen;
	CURL *h;
	int r;

	if (o && o->progress) {
		p.fn = o->progress;
		p.opaque = o->progress_opaque;
	}
	r = registry_open(&reg, s, ref, o, err);
	if (r)
		return r;
	h = curl_easy_init();
	if (!h) {
		registry_close(&reg);
		return sm_err(err, -ENOMEM, "curl: cannot create handle");
	}
	r = resolve(&reg, h, ref, want, &m, top, mdigest, err);
	if (!r)
		r = fetch_blob(&reg, h, &m.config, NULL, err);
	if (!r)
		r = read_blob(s, m.config.digest, &cfgjson, &cfglen, err);
	if (!r)
		r = oci_config_parse(cfgjson, cfglen, &cfg, err);
	if (!r)
		r = check_platform(want, &cfg, err);
	curl_easy_cleanup(h);
	p.count = m.n_layers;
	if (!r)
		r = layers_start(&j, &reg, &m, o ? o->parallel : 0, &p, err);
	if (!r) {
		/* layers unpack in order as soon as they are in, while later
		 * ones still download */
		snprintf(platform, sizeof(platform), "%s/%s%s%s",
			 cfg.os ? cfg.os : "linux", cfg.arch ? cfg.arch : "?",
			 cfg.variant ? "/" : "",
			 cfg.variant ? cfg.variant : "");
		p.layer_ready = layer_ready;
		p.ready_opaque = &j;
		r = image_assemble(s, mdigest, &m, platform, &p, err);
		/* a download error is the one to report: it made the
		 * assembly fail, or would have */
		int rd = layers_finish(&j, r != 0, err);
		if (!r)
			r = rd;
	}
	registry_close(&reg);
	name = oci_ref_string(ref);
	if (!r && !name)
		r = sm_err(err, -ENOMEM, "out of memory");
	if (!r)
		r = image_tag(s, name, mdigest, top, err);
	if (!r && info)
		r = image_info(s, name, mdigest, top, info);
	oci_config_free(&cfg);
	oci_manifest_free(&m);
	return r;
}

int oci_pull(struct sm_store *s, const char *refstr,
	     const struct sm_pull_options *o, struct sm_image_info *info,
	     struct sm_error *err)
{
	struct oci_ref ref;
	int gc, r;

	r = oci_ref_parse(refstr, &ref, err);
	if (r)
		return r;
	/* shared: keeps rmi's garbage collection off our fresh blobs */
	gc = store_lock(s, "gc", 0, err);
	if (gc < 0) {
		oci_ref_free(&ref);
		return gc;
	}
	r = pull_locked(s, &ref, o, info, err);
	store_unlock(gc);
	if (r)
		sm_err_wrap(err, r, "pull %s", refstr);
	oci_ref_free(&ref);
	return r;
}

SM_API int sm_image_pull(struct sm_store *s, const char *ref,
			 const struct sm_pull_options *in,
			 struct sm_image_info *info, struct sm_error *err)
{
	struct sm_pull_options o = {.size = sizeof(o)};
	struct sm_image_info mine;
	int r = s && ref
		    ? sm_opts_take(&o, sizeof(o), in, "sm_pull_options", err)
		    : sm_err(err, -EINVAL,
			     "sm_image_pull: a store and a name are "
			     "required");

	if (!r && info && info->struct_size < sizeof(size_t))
		r = sm_err(err, -EINVAL,
			   "sm_image_pull: set info->struct_size to sizeof");
	if (!r)
		r = oci_pull(s, ref, &o, info ? &mine : NULL, err);
	if (!r && info)
		sm_opts_give(info, &mine, sizeof(mine), "sm_image_info", NULL);
	return r;
}
