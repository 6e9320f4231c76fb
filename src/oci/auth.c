/* Credentials (~/.docker/config.json) and WWW-Authenticate challenges. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oci/auth.h"
#include "oci/dl.h"
#include "util/cleanup.h"

static char *b64_decode(const char *in)
{
	size_t n = strlen(in);
	unsigned char *out = malloc(n + 4);
	int len;

	if (!out)
		return NULL;
	len = EVP_DecodeBlock(out, (const unsigned char *)in, n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts '=' padding as zero bytes. */
	while (n && in[n - 1] == '=' && len > 0) {
		n--;
		len--;
	}
	out[len] = '\0';
	return (char *)out;
}

char *auth_b64(const char *in)
{
	size_t n = strlen(in);
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
				n);
	return out;
}

static char *entry_creds(json_t *e)
{
	const char *a = json_string_value(json_object_get(e, "auth"));
	const char *u = json_string_value(json_object_get(e, "username"));
	const char *p = json_string_value(json_object_get(e, "password"));
	char *s;

	if (a && *a) {
		s = b64_decode(a);
		if (s && strchr(s, ':'))
			return s;
		free(s);
		return NULL;
	}
	if (u && p)
		return asprintf(&s, "%s:%s", u, p) < 0 ? NULL : s;
	return NULL;
}

/* docker matches "host", "https://host", "http://host/v1/" ... */
static int key_matches(const char *key, const char *domain)
{
	size_t n = strlen(domain);

	if (!strncmp(key, "https://", 8))
		key += 8;
	else if (!strncmp(key, "http://", 7))
		key += 7;
	if (!strcmp(domain, "docker.io") &&
	    (!strncmp(key, "index.docker.io", 15) ||
	     !strncmp(key, "registry-1.docker.io", 20)))
		return 1;
	return !strncmp(key, domain, n) && (key[n] == '\0' || key[n] == '/');
}

char *registry_docker_creds(const char *domain)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	_cleanup_free_ char *path = NULL;
	json_t *root, *auths, *e;
	const char *k;
	char *out = NULL;
	int n;

	if (dir && *dir)
		n = asprintf(&path, "%s/config.json", dir);
	else if (home && *home)
		n = asprintf(&path, "%s/.docker/config.json", home);
	else
		return NULL;
	if (n < 0)
		return NULL;
	root = json_load_file(path, 0, NULL);
	auths = json_object_get(root, "auths");
	json_object_foreach(auths, k, e)
	{
		if (key_matches(k, domain) && (out = entry_creds(e)))
			break;
	}
	json_decref(root);
	return out;
}

/* Stores a challenge parameter the first time it appears. */
static int set_param(struct auth_challenge *c, const char *key, const char *val)
{
	char **slot = !strcasecmp(key, "realm")	    ? &c->realm
		      : !strcasecmp(key, "service") ? &c->service
		      : !strcasecmp(key, "scope")   ? &c->scope
						    : NULL;

	if (!slot || *slot)
		return 0;
	*slot = strdup(val);
	return *slot ? 0 : -ENOMEM;
}

/* Copies one quoted or token value at *pp into val; -E2BIG when it does
 * not fit (a truncated realm would name another URL). */
static int read_value(const char **pp, char *val, size_t size)
{
	const char *p = *pp;
	size_t vn = 0;
	int quoted = *p == '"';

	for (p += quoted; *p; p++) {
		if (quoted ? *p == '"'
			   : *p == ',' || isspace((unsigned char)*p))
			break;
		if (quoted && *p == '\\' && p[1])
			p++;
		if (vn == size - 1)
			return -E2BIG;
		val[vn++] = *p;
	}
	if (quoted && *p == '"')
		p++;
	val[vn] = '\0';
	*pp = p;
	return 0;
}

/* Parses 'Bearer realm="x",service="y",scope="z"' (quoted or token values,
 * any order; the first of a repeated parameter counts). Returns the
 * scheme: 'b' bearer, 'B' basic, 0 unknown, or -E2BIG for a header or
 * value over AUTH_HEADER_MAX / AUTH_VALUE_MAX (the registry is not
 * trusted to keep them small). */
int auth_parse_challenge(const char *h, struct auth_challenge *c)
{
	const char *p = h;
	int scheme, ret = 0;

	memset(c, 0, sizeof(*c));
	if (strnlen(h, AUTH_HEADER_MAX + 1) > AUTH_HEADER_MAX)
		return -E2BIG;
	while (isspace((unsigned char)*p))
		p++;
	if (!strncasecmp(p, "bearer", 6) &&
	    (isspace((unsigned char)p[6]) || !p[6]))
		scheme = 'b';
	else if (!strncasecmp(p, "basic", 5) &&
		 (isspace((unsigned char)p[5]) || !p[5]))
		scheme = 'B';
	else
		return 0;
	p += scheme == 'b' ? 6 : 5;
	while (*p && !ret) {
		char key[32], val[AUTH_VALUE_MAX + 1];
		size_t kn = 0;

		while (isspace((unsigned char)*p) || *p == ',')
			p++;
		while (*p && *p != '=' && !isspace((unsigned char)*p) &&
		       kn < sizeof(key) - 1)
			key[kn++] = *p++;
		key[kn] = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=')
			break;
		p++;
		while (isspace((unsigned char)*p))
			p++;
		ret = read_value(&p, val, sizeof(val));
		if (!ret)
			ret = set_param(c, key, val);
	}
	if (ret) {
		auth_challenge_free(c);
		return ret;
	}
	return scheme;
}

/* Scheme and host of an absolute URL (curl's parser: the one that will
 * fetch it, so "http://reg@evil/" is host evil for both). */
static int url_scheme_host(const char *url, char **scheme, char **host)
{
	CURLU *u = curl_url();
	int ret = -EINVAL;

	*scheme = *host = NULL;
	if (!u)
		return -ENOMEM;
	if (!curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, scheme, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, host, 0) && **host)
		ret = 0;
	curl_url_cleanup(u);
	if (ret) {
		curl_free(*scheme);
		curl_free(*host);
		*scheme = *host = NULL;
	}
	return ret;
}

static int printable_ascii(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

/*
 * May the registry's credentials go (as Basic) to this token realm? Yes
 * when the realm is https (the registry delegated to it, and nobody on the
 * way reads them), or when both the registry and the realm are plain http
 * on the same host (any port: the credentials already cross that network
 * in clear to that machine). No for a plain-http realm on another host, or
 * a plain-http realm of an https registry: the token request then goes
 * anonymously. -EINVAL: the realm is not a printable absolute http(s) URL
 * (file:, ftp:, a path, control bytes...), so it is not asked at all.
 */
int auth_realm_gets_creds(const char *registry_base, const char *realm)
{
	char *rs = NULL, *rh = NULL, *bs = NULL, *bh = NULL;
	int ret = -EINVAL;

	if (strlen(realm) > AUTH_VALUE_MAX || !printable_ascii(realm) ||
	    url_scheme_host(realm, &rs, &rh))
		return -EINVAL;
	if (strcasecmp(rs, "https") && strcasecmp(rs, "http"))
		goto out;
	ret = 1;
	if (!strcasecmp(rs, "https"))
		goto out;
	ret = 0;
	if (!url_scheme_host(registry_base, &bs, &bh) &&
	    !strcasecmp(bs, "http") && !strcasecmp(bh, rh))
		ret = 1;
out:
	curl_free(rs);
	curl_free(rh);
	curl_free(bs);
	curl_free(bh);
	return ret;
}

void auth_challenge_free(struct auth_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

int auth_parse_token(const char *body, size_t len, char **token,
		     long long *expires_in)
{
	json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
	const char *tok = json_string_value(json_object_get(j, "token"));
	json_t *exp;

	*token = NULL;
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !*tok) {
		json_decref(j);
		return -EIO;
	}
	exp = json_object_get(j, "expires_in");
	/* spec default 60 s (also for nonsense: not a number, <= 0); a day
	 * at most, so that now + expires_in cannot overflow */
	*expires_in = json_is_integer(exp) && json_integer_value(exp) > 0
			  ? json_integer_value(exp)
			  : 60;
	if (*expires_in > AUTH_TOKEN_MAX_S)
		*expires_in = AUTH_TOKEN_MAX_S;
	*token = strdup(tok);
	json_decref(j);
	return *token ? 0 : -ENOMEM;
}
