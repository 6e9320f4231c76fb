/* Registry HTTP engine: one request loop for manifests and blobs. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "oci/auth.h"
#include "oci/registry.h"
#include "util/cleanup.h"
#include "util/error.h"

#define MAX_MANIFEST (4 << 20)
#define MAX_REDIRECTS 5
#define ERRBODY_MAX 2048

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
}

/* Where a response body goes. */
struct sink {
	char *buf; /* memory sink (manifests, tokens) */
	size_t len, max;
	struct blob_writer *w; /* or a blob writer */
	uint64_t offset;       /* Range start asked for */
	int checked;	       /* status looked at for this response */
	int to_err;	       /* non-2xx: body goes to errbuf */
	int overflow;	       /* too large for the sink */
	int werr;	       /* a blob write failed: -errno (ENOSPC...) */
	char errbuf[ERRBODY_MAX];
	size_t errlen;
	CURL *h;
	blob_progress_fn cb;
	void *opaque;
};

struct resp {
	long status;
	char *ctype, *www_auth, *location, *content_range;
	long retry_after; /* seconds, -1 none */
};

static void resp_clear(struct resp *r)
{
	free(r->ctype);
	free(r->www_auth);
	free(r->location);
	free(r->content_range);
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
}

static char *header_value(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	const char *v, *e = line + n;

	if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
		return NULL;
	v = line + k + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
		e--;
	return strndup(v, e - v);
}

static size_t on_header(char *line, size_t sz, size_t nm, void *p)
{
	struct resp *r = p;
	size_t n = sz * nm;
	char *v;

	if (n > 5 && !strncmp(line, "HTTP/", 5)) { /* new response */
		resp_clear(r);
		return n;
	}
	if ((v = header_value(line, n, "content-type")))
		free(r->ctype), r->ctype = v;
	else if ((v = header_value(line, n, "www-authenticate")))
		free(r->www_auth), r->www_auth = v;
	else if ((v = header_value(line, n, "location")))
		free(r->location), r->location = v;
	else if ((v = header_value(line, n, "content-range")))
		free(r->content_range), r->content_range = v;
	else if ((v = header_value(line, n, "retry-after"))) {
		char *end;
		long s = strtol(v, &end, 10);
		/* HTTP-date form: treat as "a little while" */
		r->retry_after = (end != v && s >= 0) ? s : 2;
		free(v);
	}
	return n;
}

/* Decides, at the first body byte, where this response's body goes. */
static int sink_check(struct sink *s, struct resp *r)
{
	long status = 0;

	if (s->checked)
		return 0;
	s->checked = 1;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		s->to_err = 1;
		return 0;
	}
	if (!s->w)
		return 0;
	if (status == 206) {
		unsigned long long start;
		if (!r->content_range ||
		    sscanf(r->content_range, "bytes %llu-", &start) != 1 ||
		    start != s->w->written) {
			/* misplaced range: abort, restart from zero */
			blob_writer_reset(s->w);
			return -1;
		}
	} else if (s->w->written) {
		/* server ignored Range: start the blob over */
		if (blob_writer_reset(s->w))
			return -1;
	}
	return 0;
}

struct wctx {
	struct sink *s;
	struct resp *r;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *opaque)
{
	struct wctx *c = opaque;
	struct sink *s = c->s;
	size_t n = sz * nm;

	if (sink_check(s, c->r))
		return 0;
	if (s->to_err) {
		size_t k = n;
		if (k > sizeof(s->errbuf) - 1 - s->errlen)
			k = sizeof(s->errbuf) - 1 - s->errlen;
		memcpy(s->errbuf + s->errlen, p, k);
		s->errlen += k;
		s->errbuf[s->errlen] = '\0';
		return n;
	}
	if (s->w) {
		int r = blob_writer_write(s->w, p, n);
		if (r) {
			/* only -EFBIG is the blob being too large; any other
			 * error is the store's disk (a full one: ENOSPC), and
			 * the pull must say so, not blame the registry */
			if (r == -EFBIG)
				s->overflow = 1;
			else
				s->werr = r;
			return 0;
		}
		if (s->cb)
			s->cb(s->opaque, s->w->written, 0);
		return n;
	}
	if (s->len + n > s->max) {
		s->overflow = 1;
		return 0;
	}
	char *nb = realloc(s->buf, s->len + n + 1);
	if (!nb)
		return 0;
	s->buf = nb;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static int host_is_loopback(const char *host)
{
	char h[256];
	struct in_addr a;
	const char *colon;

	if (host[0] == '[')
		return !strncmp(host, "[::1]", 5);
	colon = strrchr(host, ':');
	snprintf(h, sizeof(h), "%.*s", colon ? (int)(colon - host) : 255, host);
	if (!strcmp(h, "localhost"))
		return 1;
	return inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static int host_insecure(struct sm_store *s, const char *host)
{
	if (host_is_loopback(host))
		return 1;
	for (size_t i = 0; i < s->n_insecure; i++)
		if (!strcmp(s->insecure[i], host))
			return 1;
	return 0;
}

static void setup_handle(CURL *h)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "supermachine/0.1");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled transfer (under 1 byte/s for 30 s) is a broken one */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
}

/* One HTTP GET. Returns a CURLcode; fills resp. */
static CURLcode perform(CURL *h, const char *url, struct curl_slist *hdrs,
			struct sink *s, struct resp *r, int insecure_tls)
{
	struct wctx c = {s, r};

	setup_handle(h);
	resp_clear(r);
	s->checked = s->to_err = s->overflow = 0;
	s->errlen = 0;
	s->errbuf[0] = '\0';
	s->h = h;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
	if (insecure_tls) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	return cc;
}

/* Distribution error body -> "CODE: message". */
static void error_text(const char *body, char *out, size_t n)
{
	json_t *j = json_loads(body, 0, NULL);
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	if (code || msg)
		snprintf(out, n, ": %s%s%s", code ? code : "",
			 code && msg ? ": " : "", msg ? msg : "");
	else
		out[0] = '\0';
	json_decref(j);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long backoff_ms(unsigned int attempt, long retry_after)
{
	long ms;

	if (retry_after >= 0)
		return (retry_after > 60 ? 60 : retry_after) * 1000;
	ms = 250L << (attempt > 5 ? 5 : attempt);
	return ms > 8000 ? 8000 : ms;
}

/* What a token realm's 401 means, given the credentials sent or not. */
static const char *why_401(const char *basic, int sent)
{
	if (basic && !sent)
		return " (credentials withheld: plain-http realm on another "
		       "host)";
	return " (bad credentials)";
}

/* Fetches a Bearer token for the last challenge (under r->lock). */
static int fetch_token(struct registry *r, CURL *h, struct sm_error *err)
{
	_cleanup_free_ char *url = NULL;
	char *svc = NULL, *scope = NULL; /* curl_free()d */
	_cleanup_free_ char *dflt_scope = NULL;
	struct curl_slist *hdrs = NULL;
	struct sink s = {.max = 1 << 20};
	struct resp rs = {.retry_after = -1};
	char *tok;
	long long exp;
	CURLcode cc;
	int ret = 0, creds;

	if (asprintf(&dflt_scope, "repository:%s:pull", r->repo) < 0)
		return sm_err(err, -ENOMEM, "out of memory");
	svc = r->service ? curl_easy_escape(h, r->service, 0) : NULL;
	scope = curl_easy_escape(h, r->scope ? r->scope : dflt_scope, 0);
	if (asprintf(&url, "%s%sscope=%s%s%s", r->realm,
		     strchr(r->realm, '?') ? "&" : "?", scope,
		     svc ? "&service=" : "", svc ? svc : "") < 0)
		return sm_err(err, -ENOMEM, "out of memory");
	creds = auth_realm_gets_creds(r->base, r->realm);
	if (creds < 0) {
		ret = sm_err(err, creds,
			     "token realm refused: not an http(s) URL");
		goto out;
	}
	if (r->basic && creds)
		hdrs = curl_slist_append(hdrs, r->basic);
	for (unsigned int a = 0;; a++) {
		cc = perform(h, url, hdrs, &s, &rs, 0);
		if (cc == CURLE_OK && rs.status < 500 && rs.status != 429)
			break;
		if (a >= r->retries) {
			ret = sm_err(err, -EIO, "token %s: %s", r->realm,
				     cc ? curl_easy_strerror(cc)
					: "server error");
			goto out;
		}
		sleep_ms(backoff_ms(a, rs.retry_after));
		free(s.buf);
		s.buf = NULL;
		s.len = 0;
	}
	if (rs.status != 200) {
		ret = sm_err(err, rs.status == 401 ? -EACCES : -EIO,
			     "token %s: HTTP %ld%s", r->realm, rs.status,
			     rs.status == 401 ? why_401(r->basic, creds) : "");
		goto out;
	}
	ret = auth_parse_token(s.buf, s.len, &tok, &exp);
	if (ret) {
		ret = sm_err(err, ret,
			     ret == -EIO ? "token %s: no token in answer"
					 : "token %s: out of memory",
			     r->realm);
		goto out;
	}
	free(r->token);
	if (asprintf(&r->token, "Authorization: Bearer %s", tok) < 0)
		r->token = NULL;
	/* refresh a little early when the lifetime is long */
	r->token_expiry = time(NULL) + exp - (exp > 20 ? 5 : 0);
	free(tok);
	if (!r->token)
		ret = sm_err(err, -ENOMEM, "out of memory");
out:
	curl_slist_free_all(hdrs);
	curl_free(svc);
	curl_free(scope);
	free(s.buf);
	resp_clear(&rs);
	return ret;
}

/* Remembers a 401 challenge and gets credentials ready for it. */
static int answer_challenge(struct registry *r, CURL *h, const char *hdr,
			    struct sm_error *err)
{
	struct auth_challenge c;
	int scheme = hdr ? auth_parse_challenge(hdr, &c) : 0, ret;

	if (scheme == -ENOMEM)
		return sm_err(err, -ENOMEM, "out of memory");
	if (scheme < 0)
		return sm_err(err, -EACCES,
			      "unauthorized (challenge over %d bytes, or a "
			      "value over %d)",
			      AUTH_HEADER_MAX, AUTH_VALUE_MAX);
	if (scheme == 'B') {
		auth_challenge_free(&c);
		if (!r->basic)
			return sm_err(err, -EACCES,
				      "unauthorized: authentication required "
				      "(no credentials for %s)",
				      r->host);
		r->basic_challenged = 1;
		return 0;
	}
	if (scheme != 'b' || !c.realm) {
		auth_challenge_free(&c);
		return sm_err(err, -EACCES,
			      "unauthorized (no usable challenge)");
	}
	pthread_mutex_lock(&r->lock);
	free(r->realm);
	free(r->service);
	free(r->scope);
	r->realm = c.realm;
	r->service = c.service;
	r->scope = c.scope;
	ret = fetch_token(r, h, err);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* Authorization header for the registry itself (never for redirects). */
static char *auth_header(struct registry *r, CURL *h)
{
	char *out = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->token && time(NULL) >= r->token_expiry && r->realm)
		fetch_token(r, h, NULL); /* expired mid-pull: refresh */
	if (r->token)
		out = strdup(r->token);
	else if (r->basic && r->basic_challenged)
		out = strdup(r->basic);
	pthread_mutex_unlock(&r->lock);
	return out;
}

/* Worth another try. A refused connection (CURLE_COULDNT_CONNECT) is
 * not: nothing listens there, and docker says so at once. */
static int transient(CURLcode cc)
{
	return cc == CURLE_PARTIAL_FILE || cc == CURLE_RECV_ERROR ||
	       cc == CURLE_SEND_ERROR || cc == CURLE_OPERATION_TIMEDOUT ||
	       cc == CURLE_GOT_NOTHING || cc == CURLE_COULDNT_RESOLVE_HOST ||
	       cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_HTTP2 ||
	       cc == CURLE_HTTP2_STREAM;
}

/*
 * GET base+path into sink: auth, redirects, retries, resume. what names
 * the object in errors ("manifest x", "blob sha256:...").
 */
static int fetch(struct registry *r, CURL *h, const char *path,
		 const char *accept, struct sink *s, struct resp *rs,
		 const char *what, struct sm_error *err)
{
	_cleanup_free_ char *url0 = NULL;
	char *url = NULL, more[512];
	unsigned int attempt = 0, redirects = 0, reauth = 0;
	int ret = 0;

	if (asprintf(&url0, "%s/v2/%s", r->base, path) < 0)
		return sm_err(err, -ENOMEM, "out of memory");
	url = strdup(url0);
	for (;;) {
		struct curl_slist *hdrs = NULL;
		_cleanup_free_ char *auth = NULL, *range = NULL;
		int redirected = strcmp(url, url0) != 0;
		CURLcode cc;

		if (accept) {
			char a[512];
			snprintf(a, sizeof(a), "Accept: %s", accept);
			hdrs = curl_slist_append(hdrs, a);
		}
		if (!redirected && (auth = auth_header(r, h)))
			hdrs = curl_slist_append(hdrs, auth);
		if (s->w && s->w->written &&
		    asprintf(&range, "Range: bytes=%llu-",
			     (unsigned long long)s->w->written) > 0)
			hdrs = curl_slist_append(hdrs, range);
		cc = perform(h, url, hdrs, s, rs, 0);
		curl_slist_free_all(hdrs);
		if (s->werr) {
			ret = sm_err(err, s->werr, "%s: write to the store: %s",
				     what, strerror(-s->werr));
			break;
		}
		if (s->overflow) {
			ret = sm_err(err, -EFBIG, "%s: larger than expected",
				     what);
			break;
		}
		if (cc == CURLE_OK && rs->status >= 300 && rs->status < 400 &&
		    rs->location) {
			char *next = NULL;
			if (++redirects > MAX_REDIRECTS) {
				ret = sm_err(err, -ELOOP,
					     "%s: too many redirects", what);
				break;
			}
			curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &next);
			free(url);
			url = strdup(next ? next : rs->location);
			continue;
		}
		if (cc == CURLE_OK && rs->status == 401 && !redirected &&
		    reauth++ < 2) {
			ret = answer_challenge(r, h, rs->www_auth, err);
			if (ret) {
				sm_err_wrap(err, ret, "%s", what);
				break;
			}
			continue;
		}
		if (cc == CURLE_OK && rs->status >= 200 && rs->status < 300)
			break;
		if ((cc != CURLE_OK && transient(cc)) ||
		    (cc == CURLE_WRITE_ERROR && s->w) || rs->status == 429 ||
		    rs->status >= 500 ||
		    (cc == CURLE_OK && rs->status == 401)) {
			if (attempt >= r->retries || rs->status == 401) {
				if (cc != CURLE_OK)
					snprintf(more, sizeof(more), "%s",
						 curl_easy_strerror(cc));
				else
					snprintf(more, sizeof(more), "HTTP %ld",
						 rs->status);
				ret = sm_err(
				    err, rs->status == 401 ? -EACCES : -EIO,
				    "%s: %s%s", what, more,
				    attempt ? " (retries exhausted)" : "");
				break;
			}
			if (s->cb)
				s->cb(s->opaque, s->w ? s->w->written : 0, 1);
			sleep_ms(backoff_ms(attempt++, rs->retry_after));
			/* a resume goes back to the registry URL */
			free(url);
			url = strdup(url0);
			if (!s->w) {
				free(s->buf);
				s->buf = NULL;
				s->len = 0;
			}
			continue;
		}
		if (cc != CURLE_OK) {
			ret = sm_err(err, -EIO, "%s: %s", what,
				     curl_easy_strerror(cc));
			break;
		}
		error_text(s->errbuf, more, sizeof(more));
		ret = sm_err(err,
			     rs->status == 404	 ? -ENOENT
			     : rs->status == 403 ? -EACCES
						 : -EIO,
			     "%s: HTTP %ld%s%s", what, rs->status,
			     rs->status == 404 && !more[0] ? " not found" : "",
			     more);
		break;
	}
	free(url);
	return ret;
}

int registry_open(struct registry *r, struct sm_store *s,
		  const struct oci_ref *ref, const struct sm_pull_options *o,
		  struct sm_error *err)
{
	_cleanup_free_ char *creds = NULL;
	int insecure = oci_curl_need(err);

	if (insecure) /* no libcurl: nothing opened */
		return insecure;
	pthread_once(&curl_once, curl_init);
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->store = s;
	r->retries = 5;
	if (o && o->retries)
		r->retries = o->retries;
	r->host = strdup(oci_ref_api_host(ref));
	r->repo = strdup(ref->path);
	insecure = host_insecure(s, ref->domain);
	if (!r->host || !r->repo ||
	    asprintf(&r->base, "%s://%s", insecure ? "http" : "https",
		     r->host) < 0) {
		r->base = NULL;
		registry_close(r);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	if (o && o->username && o->password) {
		if (asprintf(&creds, "%s:%s", o->username, o->password) < 0)
			creds = NULL;
	} else {
		creds = registry_docker_creds(ref->domain);
	}
	if (creds) {
		_cleanup_free_ char *b = auth_b64(creds);
		if (!b || asprintf(&r->basic, "Authorization: Basic %s", b) < 0)
			r->basic = NULL;
	}
	return 0;
}

void registry_close(struct registry *r)
{
	free(r->host);
	free(r->repo);
	free(r->base);
	free(r->basic);
	free(r->token);
	free(r->realm);
	free(r->service);
	free(r->scope);
	pthread_mutex_destroy(&r->lock);
	memset(r, 0, sizeof(*r));
}

int registry_get_manifest(struct registry *r, CURL *h, const char *ref,
			  char **body, size_t *len, char **ctype,
			  char *digest_out, struct sm_error *err)
{
	_cleanup_free_ char *path = NULL, *what = NULL;
	struct sink s = {.max = MAX_MANIFEST};
	struct resp rs = {.retry_after = -1};
	int ret;

	if (asprintf(&path, "%s/manifests/%s", r->repo, ref) < 0 ||
	    asprintf(&what, "manifest %s", ref) < 0)
		return sm_err(err, -ENOMEM, "out of memory");
	ret = fetch(r, h, path, MANIFEST_ACCEPT, &s, &rs, what, err);
	if (!ret) {
		digest_buffer(s.buf ? s.buf : "", s.len, digest_out);
		if (oci_digest_valid(ref) && strcmp(ref, digest_out))
			ret = sm_err(err, -EIO,
				     "manifest %s: digest mismatch (got %s)",
				     ref, digest_out);
	}
	if (!ret && !s.buf)
		ret = sm_err(err, -EIO, "manifest %s: empty answer", ref);
	if (ret) {
		free(s.buf);
		resp_clear(&rs);
		return ret;
	}
	*body = s.buf;
	*len = s.len;
	*ctype = steal_ptr(rs.ctype);
	resp_clear(&rs);
	return 0;
}

int registry_get_blob(struct registry *r, CURL *h, const struct oci_desc *d,
		      blob_progress_fn cb, void *opaque, struct sm_error *err)
{
	_cleanup_free_ char *path = NULL, *what = NULL;
	struct blob_writer w;
	struct sink s = {.w = &w, .cb = cb, .opaque = opaque};
	struct resp rs = {.retry_after = -1};
	int ret;

	if (asprintf(&path, "%s/blobs/%s", r->repo, d->digest) < 0 ||
	    asprintf(&what, "blob %s", d->digest) < 0)
		return sm_err(err, -ENOMEM, "out of memory");
	ret = blob_writer_open(&w, r->store, d->size, err);
	if (ret)
		return sm_err_wrap(err, ret, "%s", what);
	ret = fetch(r, h, path, NULL, &s, &rs, what, err);
	resp_clear(&rs);
	if (ret) {
		blob_writer_abort(&w);
		return ret;
	}
	ret = blob_writer_commit(&w, d->digest, d->size, NULL, err);
	if (ret)
		return sm_err_wrap(err, ret, "%s", what);
	return 0;
}
