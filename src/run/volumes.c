/*
 * Parsing and planning of volumes (docker's -v, --mount, --tmpfs and the
 * image's VOLUME list). Pure: no file system access, so the rules are
 * unit-tested (tests/unit/test_run_volumes.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "run/volumes.h"
#include "util/error.h"

char *vol_clean_path(const char *path)
{
	size_t len = strlen(path), n = 0;
	char *out;
	const char *p = path;

	if (path[0] != '/')
		return NULL;
	out = malloc(len + 2);
	if (!out)
		return NULL;
	while (*p) {
		const char *s;
		size_t l;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		l = (size_t)(p - s);
		if (l == 0 || (l == 1 && s[0] == '.'))
			continue;
		if (l == 2 && s[0] == '.' && s[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--; /* the slash; ".." of "/" is "/" */
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, s, l);
		n += l;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

bool vol_valid_name(const char *name)
{
	const char *p = name;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	      (*p >= '0' && *p <= '9')))
		return false;
	for (p++; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		      *p == '-'))
			return false;
	return p - name >= 2 && strlen(name) <= 128;
}

static bool is_relative_source(const char *s)
{
	return strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
	       strncmp(s, "./", 2) == 0 || strncmp(s, "../", 3) == 0;
}

/* A bind source: absolute, or relative to cwd; cleaned. */
static int host_source(const char *src, const char *cwd, char **out,
		       struct sm_error *err)
{
	char *joined = NULL;

	if (src[0] != '/') {
		if (!cwd || cwd[0] != '/')
			return sm_err(err, -EINVAL,
				      "relative source %s needs an absolute "
				      "working directory",
				      src);
		if (asprintf(&joined, "%s/%s", cwd, src) < 0)
			return sm_err(err, -ENOMEM, "out of memory");
	}
	*out = vol_clean_path(joined ? joined : src);
	free(joined);
	return *out ? 0 : sm_err(err, -ENOMEM, "out of memory");
}

static int set_target(struct vol_mount *m, const char *dst, const char *opt,
		      const char *spec, struct sm_error *err)
{
	if (!dst || !*dst)
		return sm_err(
		    err, -EINVAL,
		    "%s %s: a destination (container path) is required", opt,
		    spec);
	if (dst[0] != '/')
		return sm_err(err, -EINVAL,
			      "%s %s: destination %s is not an absolute path",
			      opt, spec, dst);
	m->target = vol_clean_path(dst);
	if (!m->target)
		return sm_err(err, -ENOMEM, "out of memory");
	if (strcmp(m->target, "/") == 0)
		return sm_err(err, -EINVAL, "%s %s: destination can't be '/'",
			      opt, spec);
	return 0;
}

/* Source of -v or --mount: a host path (bind) or a volume name. */
static int set_source(struct vol_mount *m, const char *src, const char *cwd,
		      const char *spec, struct sm_error *err)
{
	if (src[0] == '/' || is_relative_source(src)) {
		m->type = VOL_BIND;
		return host_source(src, cwd, &m->source, err);
	}
	if (!vol_valid_name(src))
		return sm_err(
		    err, -EINVAL,
		    "-v %s: \"%s\" includes invalid characters for a local "
		    "volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
		    "allowed; if you intended to pass a host directory, use an "
		    "absolute path",
		    spec, src);
	m->type = VOL_NAMED;
	m->source = strdup(src);
	return m->source ? 0 : sm_err(err, -ENOMEM, "out of memory");
}

static int v_options(struct vol_mount *m, const char *opts, const char *spec,
		     struct sm_error *err)
{
	char buf[128], *save = NULL;
	int rw = 0;

	if (strlen(opts) >= sizeof(buf))
		return sm_err(err, -EINVAL, "-v %s: bad options", spec);
	strcpy(buf, opts);
	for (char *o = strtok_r(buf, ",", &save); o;
	     o = strtok_r(NULL, ",", &save)) {
		if (strcmp(o, "ro") == 0)
			m->read_only = true;
		else if (strcmp(o, "rw") == 0)
			rw = 1;
		else if (strcmp(o, "nocopy") == 0)
			m->no_copy = true;
		else
			return sm_err(err, -EINVAL,
				      "-v %s: unknown option \"%s\" (ro, rw "
				      "and nocopy are supported)",
				      spec, o);
	}
	if (rw && m->read_only)
		return sm_err(err, -EINVAL, "-v %s: both ro and rw", spec);
	return 0;
}

int vol_parse_v(const char *spec, const char *cwd, struct vol_mount *m,
		struct sm_error *err)
{
	char *copy = strdup(spec), *f[3] = {0};
	int n = 0, ret;

	memset(m, 0, sizeof(*m));
	m->slot = -1;
	if (!copy)
		return sm_err(err, -ENOMEM, "out of memory");
	for (char *p = copy, *c; n < 3; p = c + 1) {
		f[n++] = p;
		c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		if (n == 3) {
			free(copy);
			return sm_err(err, -EINVAL,
				      "-v %s: invalid spec: too many colons",
				      spec);
		}
	}
	if (n == 1) { /* -v /guest: an anonymous volume */
		m->type = VOL_ANON;
		ret = set_target(m, f[0], "-v", spec, err);
	} else {
		ret = *f[0] ? set_source(m, f[0], cwd, spec, err)
			    : sm_err(err, -EINVAL, "-v %s: empty source", spec);
		if (!ret)
			ret = set_target(m, f[1], "-v", spec, err);
		if (!ret && n == 3)
			ret = v_options(m, f[2], spec, err);
		m->create_host = true; /* docker -v creates a missing dir */
	}
	free(copy);
	return ret;
}

/* "true", "1" or nothing is true; "false", "0" is false. */
static int parse_bool(const char *v, bool *out)
{
	if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

static int tmpfs_opt(char *opts, size_t size, const char *o);

static int mount_kv(struct vol_mount *m, char *k, char *v, const char **src,
		    const char **dst, char *topts, const char *spec,
		    struct sm_error *err)
{
	char buf[96];

	if (strcmp(k, "type") == 0) {
		if (!v)
			return sm_err(err, -EINVAL,
				      "--mount %s: type needs a value", spec);
		if (strcmp(v, "bind") == 0)
			m->type = VOL_BIND;
		else if (strcmp(v, "volume") == 0)
			m->type = VOL_NAMED;
		else if (strcmp(v, "tmpfs") == 0)
			m->type = VOL_TMPFS;
		else
			return sm_err(
			    err, -EINVAL,
			    "--mount %s: type must be bind, volume or tmpfs",
			    spec);
	} else if (strcmp(k, "source") == 0 || strcmp(k, "src") == 0) {
		*src = v;
	} else if (strcmp(k, "target") == 0 || strcmp(k, "dst") == 0 ||
		   strcmp(k, "destination") == 0) {
		*dst = v;
	} else if (strcmp(k, "readonly") == 0 || strcmp(k, "ro") == 0) {
		if (parse_bool(v, &m->read_only))
			return sm_err(err, -EINVAL, "--mount %s: bad %s value",
				      spec, k);
	} else if (strcmp(k, "volume-nocopy") == 0) {
		if (parse_bool(v, &m->no_copy))
			return sm_err(err, -EINVAL, "--mount %s: bad %s value",
				      spec, k);
	} else if (v && (strcmp(k, "tmpfs-size") == 0 ||
			 strcmp(k, "tmpfs-mode") == 0)) {
		snprintf(buf, sizeof(buf), "%s=%s", k + 6, v);
		if (tmpfs_opt(topts, 256, buf))
			return sm_err(err, -EINVAL, "--mount %s: bad %s", spec,
				      k);
	} else {
		return sm_err(err, -EINVAL,
			      "--mount %s: unknown or unsupported key \"%s\"",
			      spec, k);
	}
	return 0;
}

int vol_parse_mount(const char *spec, const char *cwd, struct vol_mount *m,
		    struct sm_error *err)
{
	char *copy = strdup(spec), *save = NULL, topts[256] = "";
	const char *src = NULL, *dst = NULL;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	m->slot = -1;
	m->type = VOL_NAMED; /* docker's default type is volume */
	if (!copy)
		return sm_err(err, -ENOMEM, "out of memory");
	for (char *kv = strtok_r(copy, ",", &save); kv && !ret;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (eq)
			*eq = '\0';
		ret = mount_kv(m, kv, eq ? eq + 1 : NULL, &src, &dst, topts,
			       spec, err);
	}
	if (!ret)
		ret = set_target(m, dst, "--mount", spec, err);
	if (ret)
		goto out;
	if (m->type == VOL_TMPFS) {
		if (src)
			ret = sm_err(err, -EINVAL,
				     "--mount %s: tmpfs takes no source", spec);
		else if (m->read_only && tmpfs_opt(topts, sizeof(topts), "ro"))
			ret = sm_err(err, -EINVAL, "--mount %s: bad options",
				     spec);
		else if (!(m->tmpfs_opts = strdup(topts)))
			ret = sm_err(err, -ENOMEM, "out of memory");
	} else if (topts[0]) {
		ret = sm_err(err, -EINVAL,
			     "--mount %s: tmpfs options on a non-tmpfs mount",
			     spec);
	} else if (m->type == VOL_BIND) {
		ret = src && *src
			  ? host_source(src, cwd, &m->source, err)
			  : sm_err(err, -EINVAL,
				   "--mount %s: a bind needs a source", spec);
	} else if (!src || !*src) {
		m->type = VOL_ANON;
	} else if (!vol_valid_name(src)) {
		ret =
		    sm_err(err, -EINVAL,
			   "--mount %s: invalid volume name \"%s\"", spec, src);
	} else if (!(m->source = strdup(src))) {
		ret = sm_err(err, -ENOMEM, "out of memory");
	}
out:
	free(copy);
	return ret;
}

static bool all_in(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* Checks one tmpfs option and appends it to opts (size bytes). */
static int tmpfs_opt(char *opts, size_t size, const char *o)
{
	static const char *const flags[] = {"ro",   "rw",     "exec", "noexec",
					    "suid", "nosuid", "dev",  "nodev"};
	const char *eq = strchr(o, '=');
	bool ok = false;

	if (!eq) {
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			ok = ok || strcmp(o, flags[i]) == 0;
	} else if (!strncmp(o, "size=", 5)) {
		size_t d = strspn(eq + 1, "0123456789");

		ok = d > 0 && (eq[1 + d] == '\0' ||
			       (strchr("kKmMgG%", eq[1 + d]) && !eq[2 + d]));
	} else if (!strncmp(o, "mode=", 5)) {
		ok = all_in(eq + 1, "01234567") && strlen(eq + 1) <= 4;
	} else if (!strncmp(o, "uid=", 4) || !strncmp(o, "gid=", 4) ||
		   !strncmp(o, "nr_inodes=", 10)) {
		ok = all_in(eq + 1, "0123456789") && strlen(eq + 1) <= 10;
	}
	if (!ok || strlen(opts) + strlen(o) + 2 > size)
		return -1;
	if (*opts)
		strcat(opts, ",");
	strcat(opts, o);
	return 0;
}

int vol_parse_tmpfs(const char *spec, struct vol_mount *m, struct sm_error *err)
{
	char *copy = strdup(spec), *colon, *save = NULL, opts[256] = "";
	int ret = 0;

	memset(m, 0, sizeof(*m));
	m->slot = -1;
	m->type = VOL_TMPFS;
	if (!copy)
		return sm_err(err, -ENOMEM, "out of memory");
	colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	ret = set_target(m, copy, "--tmpfs", spec, err);
	for (char *o = colon ? strtok_r(colon + 1, ",", &save) : NULL;
	     o && !ret; o = strtok_r(NULL, ",", &save)) {
		if (tmpfs_opt(opts, sizeof(opts), o))
			ret = sm_err(err, -EINVAL,
				     "--tmpfs %s: bad option \"%s\" (size=, "
				     "mode=, uid=, gid=, nr_inodes=, ro, rw, "
				     "[no]exec, [no]suid, [no]dev)",
				     spec, o);
		if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0)
			m->read_only = o[1] == 'o';
	}
	if (!ret && !(m->tmpfs_opts = strdup(opts)))
		ret = sm_err(err, -ENOMEM, "out of memory");
	free(copy);
	return ret;
}

void vol_mount_free(struct vol_mount *m)
{
	free(m->source);
	free(m->target);
	free(m->tmpfs_opts);
	free(m->host_dir);
	free(m->anon_dir);
	memset(m, 0, sizeof(*m));
}

void vol_set_free(struct vol_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		vol_mount_free(&set->m[i]);
	set->n = 0;
}

static int depth(const char *p)
{
	int d = 0;

	for (; *p; p++)
		d += *p == '/';
	return d;
}

static int by_depth(const void *a, const void *b)
{
	const struct vol_mount *x = a, *y = b;
	int d = depth(x->target) - depth(y->target);

	return d ? d : strcmp(x->target, y->target);
}

static int add_list(struct vol_set *set, const char *const *list, int kind,
		    const char *cwd, struct sm_error *err)
{
	for (; list && *list; list++) {
		struct vol_mount *m = &set->m[set->n];
		int ret;

		if (set->n >= VOL_MAX)
			return sm_err(err, -E2BIG, "more than %d mounts",
				      VOL_MAX);
		ret = kind == 0	  ? vol_parse_v(*list, cwd, m, err)
		      : kind == 1 ? vol_parse_mount(*list, cwd, m, err)
				  : vol_parse_tmpfs(*list, m, err);
		set->n++; /* freed with the set even when half parsed */
		if (ret)
			return ret;
	}
	return 0;
}

static bool covered(const struct vol_set *set, const char *target)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->m[i].target, target) == 0)
			return true;
	return false;
}

static int add_image_volumes(struct vol_set *set, char *const *vols,
			     struct sm_error *err)
{
	for (; vols && *vols; vols++) {
		struct vol_mount *m = &set->m[set->n];
		char *t = vol_clean_path(*vols);

		/* Docker skips nothing here, but a bad image entry must not
		 * stop the run: relative or "/" entries are ignored. */
		if (!t || strcmp(t, "/") == 0 || covered(set, t)) {
			free(t);
			continue;
		}
		if (set->n >= VOL_MAX) {
			free(t);
			return sm_err(err, -E2BIG, "more than %d mounts",
				      VOL_MAX);
		}
		memset(m, 0, sizeof(*m));
		m->type = VOL_ANON;
		m->target = t;
		m->from_image = true;
		m->slot = -1;
		set->n++;
	}
	return 0;
}

static int check_and_assign(struct vol_set *set, struct sm_error *err)
{
	int slot = 0;

	for (size_t i = 0; i + 1 < set->n; i++)
		if (strcmp(set->m[i].target, set->m[i + 1].target) == 0)
			return sm_err(err, -EINVAL, "duplicate mount point: %s",
				      set->m[i].target);
	for (size_t i = 0; i < set->n; i++) {
		if (set->m[i].type == VOL_TMPFS)
			continue;
		if (slot >= VOL_SLOTS)
			return sm_err(
			    err, -E2BIG,
			    "too many volumes and bind mounts: at most %d per "
			    "VM (tmpfs mounts do not count)",
			    VOL_SLOTS);
		set->m[i].slot = slot++;
	}
	return 0;
}

int vol_plan(const char *const *v, const char *const *mounts,
	     const char *const *tmpfs, char *const *image_volumes,
	     const char *cwd, struct vol_set *set, struct sm_error *err)
{
	int ret;

	memset(set, 0, sizeof(*set));
	ret = add_list(set, v, 0, cwd, err);
	if (!ret)
		ret = add_list(set, mounts, 1, cwd, err);
	if (!ret)
		ret = add_list(set, tmpfs, 2, cwd, err);
	if (!ret)
		ret = add_image_volumes(set, image_volumes, err);
	if (!ret) {
		qsort(set->m, set->n, sizeof(set->m[0]), by_depth);
		ret = check_and_assign(set, err);
	}
	if (ret)
		vol_set_free(set);
	return ret;
}

static size_t put_text(unsigned char *buf, uint16_t tag, const char *a,
		       const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	uint32_t len = (uint32_t)(la + lb + lc);

	if (buf) {
		sm_put_le16(buf, tag);
		sm_put_le32(buf + 2, len);
		memcpy(buf + 6, a, la);
		memcpy(buf + 6 + la, b, lb);
		memcpy(buf + 6 + la + lb, c, lc);
	}
	return 6 + (size_t)len;
}

size_t vol_spec_records(const struct vol_set *set, unsigned char *buf)
{
	size_t n = 0;
	char head[32];

	for (size_t i = 0; set && i < set->n; i++) {
		const struct vol_mount *m = &set->m[i];

		if (m->type == VOL_TMPFS) {
			n += put_text(buf ? buf + n : NULL, SM_S_TMPFS,
				      m->tmpfs_opts ? m->tmpfs_opts : "", ":",
				      m->target);
			continue;
		}
		snprintf(head, sizeof(head), "%d:%s%s:", m->slot,
			 m->read_only ? "ro" : "rw", m->is_file ? ",file" : "");
		n += put_text(buf ? buf + n : NULL, SM_S_MOUNT, head, "",
			      m->target);
	}
	return n;
}
