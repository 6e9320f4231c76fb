/*
 * Reference grammar of distribution/reference (what docker accepts):
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain "/"] component ("/" component)*
 *   component := [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)*
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 * Normalisation: no domain -> docker.io, a single docker.io component gets
 * "library/", no tag and no digest -> ":latest".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/ref.h"
#include "util/cleanup.h"
#include "util/error.h"

#define NAME_MAX_TOTAL 255

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int oci_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7))
		return 0;
	d += 7;
	for (int i = 0; i < 64; i++)
		if (!((d[i] >= '0' && d[i] <= '9') ||
		      (d[i] >= 'a' && d[i] <= 'f')))
			return 0;
	return d[64] == '\0';
}

/* One path component: alnum runs joined by ".", "_", "__" or "-"+. */
static int component_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return 0;
	while (i < n) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '.' || (s[i] == '_' && s[i + 1] != '_')) {
			i++;
		} else if (s[i] == '_') {
			i += 2;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return 0;
		}
		if (i >= n || !is_lower_alnum(s[i]))
			return 0;
	}
	return 1;
}

static int domain_valid(const char *s, size_t n)
{
	size_t i = 0, host_end = n;
	const char *colon;

	if (n && s[0] == '[') { /* [ipv6]:port */
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return 0;
		for (const char *p = s + 1; p < rb; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return 0;
		i = rb - s + 1;
		host_end = i;
	} else {
		colon = memchr(s, ':', n);
		if (colon)
			host_end = colon - s;
		/* dot-separated labels of [A-Za-z0-9-], no leading/trailing -
		 */
		size_t start = 0;
		for (size_t j = 0; j <= host_end; j++) {
			if (j < host_end && s[j] != '.') {
				if (!isalnum((unsigned char)s[j]) &&
				    s[j] != '-')
					return 0;
				continue;
			}
			if (j == start || s[start] == '-' || s[j - 1] == '-')
				return 0;
			start = j + 1;
		}
		i = host_end;
	}
	if (i < n) {
		if (s[i] != ':' || i + 1 == n)
			return 0;
		for (i++; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return 0;
	}
	return 1;
}

static int tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 128)
		return 0;
	if (!isalnum((unsigned char)t[0]) && t[0] != '_')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
			return 0;
	return 1;
}

static int is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int bad(struct sm_error *err, const char *s, const char *why)
{
	return sm_err(err, -EINVAL, "invalid reference \"%s\": %s", s, why);
}

/* Docker's rule: the first component is a domain if it has "." or ":",
 * is "localhost", or has upper case letters. */
static int looks_like_domain(const char *s, size_t n)
{
	if (memchr(s, '.', n) || memchr(s, ':', n))
		return 1;
	if (n == 9 && !memcmp(s, "localhost", 9))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)s[i]))
			return 1;
	return 0;
}

static int split_name(const char *orig, const char *name, struct oci_ref *r,
		      struct sm_error *err)
{
	const char *slash = strchr(name, '/');
	const char *rest = name;

	if (slash && looks_like_domain(name, slash - name)) {
		if (!domain_valid(name, slash - name))
			return bad(err, orig, "invalid registry host");
		r->domain = strndup(name, slash - name);
		rest = slash + 1;
		if (!strcmp(r->domain, "index.docker.io")) {
			free(r->domain);
			r->domain = strdup("docker.io");
		}
	} else {
		r->domain = strdup("docker.io");
	}
	if (!r->domain)
		return sm_err(err, -ENOMEM, "out of memory");
	for (const char *p = rest; *p; p++)
		if (isupper((unsigned char)*p))
			return bad(err, orig,
				   "repository name must be lowercase");
	if (!strcmp(r->domain, "docker.io") && !strchr(rest, '/')) {
		if (asprintf(&r->path, "library/%s", rest) < 0)
			r->path = NULL;
	} else {
		r->path = strdup(rest);
	}
	if (!r->path)
		return sm_err(err, -ENOMEM, "out of memory");
	for (const char *c = r->path;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (!component_valid(c, n))
			return bad(err, orig, "invalid repository name");
		if (!e)
			break;
		c = e + 1;
	}
	if (strlen(r->domain) + 1 + strlen(r->path) > NAME_MAX_TOTAL)
		return bad(err, orig, "repository name too long");
	return 0;
}

int oci_ref_parse(const char *s, struct oci_ref *r, struct sm_error *err)
{
	_cleanup_free_ char *buf = NULL;
	char *at, *colon, *slash;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!s || !*s)
		return sm_err(err, -EINVAL, "invalid reference: empty");
	if (is_hex64(s))
		return bad(err, s,
			   "cannot specify 64-byte hexadecimal strings");
	buf = strdup(s);
	if (!buf)
		return sm_err(err, -ENOMEM, "out of memory");
	at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		if (strncmp(at + 1, "sha256:", 7) && strchr(at + 1, ':'))
			return bad(err, s, "unsupported digest algorithm");
		if (!oci_digest_valid(at + 1))
			return bad(err, s, "invalid digest");
		r->digest = strdup(at + 1);
	}
	slash = strrchr(buf, '/');
	colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = '\0';
		if (!tag_valid(colon + 1)) {
			oci_ref_free(r);
			return bad(err, s, "invalid tag");
		}
		r->tag = strdup(colon + 1);
	}
	if (!*buf) {
		oci_ref_free(r);
		return bad(err, s, "missing repository name");
	}
	ret = split_name(s, buf, r, err);
	if (!ret && !r->tag && !r->digest)
		r->tag = strdup("latest");
	if (!ret &&
	    ((at && !r->digest) || (colon && !r->tag) || (!at && !r->tag)))
		ret = sm_err(err, -ENOMEM, "out of memory");
	if (ret)
		oci_ref_free(r);
	return ret;
}

void oci_ref_free(struct oci_ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

char *oci_ref_name(const struct oci_ref *r)
{
	char *s;

	if (asprintf(&s, "%s/%s", r->domain, r->path) < 0)
		return NULL;
	return s;
}

char *oci_ref_string(const struct oci_ref *r)
{
	char *s;
	int n;

	if (r->digest && r->tag)
		n = asprintf(&s, "%s/%s:%s@%s", r->domain, r->path, r->tag,
			     r->digest);
	else if (r->digest)
		n = asprintf(&s, "%s/%s@%s", r->domain, r->path, r->digest);
	else
		n = asprintf(&s, "%s/%s:%s", r->domain, r->path, r->tag);
	return n < 0 ? NULL : s;
}

const char *oci_ref_familiar(const char *full)
{
	if (!strncmp(full, "docker.io/library/", 18) && !strchr(full + 18, '/'))
		return full + 18;
	if (!strncmp(full, "docker.io/", 10))
		return full + 10;
	return full;
}

const char *oci_ref_api_host(const struct oci_ref *r)
{
	return strcmp(r->domain, "docker.io") ? r->domain
					      : "registry-1.docker.io";
}
