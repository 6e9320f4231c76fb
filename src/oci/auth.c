/* Credentials (~/.docker/config.json) and WWW-Authenticate challenges. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/auth.h"
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

static void replace(char **field, const char *val)
{
	free(*field);
	*field = strdup(val);
}

/* Parses 'Bearer realm="x",service="y",scope="z"' (quoted or token values,
 * any order). Returns the scheme: 'b' bearer, 'B' basic, 0 unknown. */
int auth_parse_challenge(const char *h, struct auth_challenge *c)
{
	const char *p = h;
	int scheme;

	memset(c, 0, sizeof(*c));
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
	while (*p) {
		char key[32], val[1024];
		size_t kn = 0, vn = 0;

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
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (vn < sizeof(val) - 1)
					val[vn++] = *p;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && !isspace((unsigned char)*p))
				if (vn < sizeof(val) - 1)
					val[vn++] = *p++;
				else
					p++;
		}
		val[vn] = '\0';
		/* a repeated key: the last one counts */
		if (!strcasecmp(key, "realm"))
			replace(&c->realm, val);
		else if (!strcasecmp(key, "service"))
			replace(&c->service, val);
		else if (!strcasecmp(key, "scope"))
			replace(&c->scope, val);
	}
	return scheme;
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
