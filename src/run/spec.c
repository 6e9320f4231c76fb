/*
 * Process spec from an image config and docker-style options, following
 * the docker CLI and daemon (moby) rules so that `supermachine run` does
 * what `docker run` does with the same arguments:
 *
 *  - argv: --entrypoint replaces the image Entrypoint and also drops the
 *    image Cmd; CMD args replace the image Cmd; argv = entrypoint + cmd.
 *  - env: PATH/HOSTNAME/TERM defaults, overridden by the image Env, then
 *    --env-file lines, then -e, later wins on the same key. A bare "K"
 *    takes K from the host environment; when the host lacks it, it unsets
 *    K (moby's ReplaceOrAppendEnvValues removes keys given without '=').
 *  - cwd: -w (absolute only), image WorkingDir made absolute, or "/";
 *    cleaned like Go's filepath.Clean.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oci/oci.h"
#include "run/hostname.h"
#include "run/spec.h"
#include "util/cleanup.h"
#include "util/error.h"

#define DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_HOSTNAME "supermachine"

/* ---- string vectors ---- */

struct strv {
	char **v; /* NULL-terminated once non-empty */
	size_t n, cap;
};

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* Appends s (taking ownership); frees s on failure. */
static int strv_push(struct strv *sv, char *s)
{
	if (!s)
		return -ENOMEM;
	if (sv->n + 2 > sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;
		char **v = realloc(sv->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

static int strv_push_all(struct strv *sv, const char *const *src)
{
	int r;

	for (; src && *src; src++) {
		r = strv_push(sv, strdup(*src));
		if (r)
			return r;
	}
	return 0;
}

/* Always returns a NULL-terminated array (possibly empty) or NULL on ENOMEM. */
static char **strv_steal(struct strv *sv)
{
	char **v = sv->v;

	if (!v)
		v = calloc(1, sizeof(*v));
	sv->v = NULL;
	sv->n = sv->cap = 0;
	return v;
}

/* ---- argv ---- */

static size_t count(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static int build_argv(const struct oci_config *img,
		      const struct run_spec_options *o, struct run_spec *spec,
		      struct sm_error *err)
{
	const char *const *img_ep =
	    img ? (const char *const *)img->entrypoint : NULL;
	const char *const *img_cmd = img ? (const char *const *)img->cmd : NULL;
	const char *const *cmd;
	struct strv sv = {0};
	int r = 0;

	/* docker: --entrypoint resets the image Cmd as well. */
	if (o->entrypoint) {
		if (o->entrypoint[0])
			r = strv_push(&sv, strdup(o->entrypoint));
		img_cmd = NULL;
	} else {
		r = strv_push_all(&sv, img_ep);
	}
	cmd = count(o->cmd) ? o->cmd : img_cmd;
	if (!r)
		r = strv_push_all(&sv, cmd);
	if (r) {
		strv_free(sv.v);
		return sm_err(err, r, "out of memory");
	}
	if (sv.n == 0) {
		strv_free(sv.v);
		return sm_err(err, -EINVAL, "no command specified");
	}
	spec->argv = strv_steal(&sv);
	return 0;
}

/* A pool's VM runs nothing of its own: this only names its process. */
static int idle_argv(struct run_spec *spec, struct sm_error *err)
{
	struct strv sv = {0};

	if (strv_push(&sv, strdup(RUN_IDLE_NAME))) {
		strv_free(sv.v);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	spec->argv = strv_steal(&sv);
	return 0;
}

/* ---- environment ---- */

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static ssize_t env_find(const struct strv *env, const char *key, size_t klen)
{
	for (size_t i = 0; i < env->n; i++)
		if (key_len(env->v[i]) == klen && !memcmp(env->v[i], key, klen))
			return (ssize_t)i;
	return -1;
}

/* Sets kv ("K=V", taking ownership), replacing K in place if present. */
static int env_set(struct strv *env, char *kv)
{
	ssize_t i;

	if (!kv)
		return -ENOMEM;
	i = env_find(env, kv, key_len(kv));
	if (i < 0)
		return strv_push(env, kv);
	free(env->v[i]);
	env->v[i] = kv;
	return 0;
}

static void env_unset(struct strv *env, const char *key, size_t klen)
{
	ssize_t i = env_find(env, key, klen);

	if (i < 0)
		return;
	free(env->v[i]);
	memmove(&env->v[i], &env->v[i + 1], (env->n - i) * sizeof(char *));
	env->n--;
}

/*
 * Applies one user definition: "K=V" sets K; a bare "K" takes the host's
 * value, or unsets K when the host has none (docker's rule).
 */
static int env_apply(struct strv *env, const char *def)
{
	const char *host;
	char *kv;

	if (strchr(def, '='))
		return env_set(env, strdup(def));
	host = getenv(def);
	if (!host) {
		env_unset(env, def, strlen(def));
		return 0;
	}
	if (asprintf(&kv, "%s=%s", def, host) < 0)
		return -ENOMEM;
	return env_set(env, kv);
}

/*
 * Checks one --env-file line (newline stripped) as docker's ParseEnvFile
 * does; sets *def to the definition, or NULL for a comment/blank line.
 */
static int env_file_line(char *line, size_t len, const char *path,
			 unsigned lineno, char **def, struct sm_error *err)
{
	size_t k;

	*def = NULL;
	if (strlen(line) != len)
		return sm_err(err, -EINVAL,
			      "env file %s: line %u contains a NUL", path,
			      lineno);
	if (lineno == 1 && !strncmp(line, "\xef\xbb\xbf", 3))
		line += 3; /* UTF-8 BOM */
	/* docker trims leading whitespace only; the value stays verbatim. */
	while (isspace((unsigned char)*line))
		line++;
	if (!*line || *line == '#')
		return 0;
	k = key_len(line);
	if (k == 0)
		return sm_err(err, -EINVAL,
			      "env file %s: line %u: no variable name", path,
			      lineno);
	for (size_t i = 0; i < k; i++)
		if (isspace((unsigned char)line[i]))
			return sm_err(err, -EINVAL,
				      "env file %s: line %u: variable '%.*s' "
				      "contains whitespace",
				      path, lineno, (int)k, line);
	*def = line;
	return 0;
}

static int env_load_file(struct strv *env, const char *path,
			 struct sm_error *err)
{
	FILE *f = fopen(path, "re");
	_cleanup_free_ char *line = NULL;
	char *def;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t len;
	int r = 0;

	if (!f)
		return sm_err_errno(err, "env file %s", path);
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		r = env_file_line(line, len, path, lineno, &def, err);
		if (r)
			break;
		if (!def)
			continue;
		r = env_apply(env, def);
		if (r) {
			sm_err(err, r, "env file %s: out of memory", path);
			break;
		}
	}
	if (!r && ferror(f))
		r = sm_err_errno(err, "env file %s", path);
	fclose(f);
	return r;
}

static int env_defaults(struct strv *env, const char *hostname, bool tty)
{
	char *h;
	int r;

	r = strv_push(env, strdup("PATH=" DEFAULT_PATH));
	if (r)
		return r;
	if (asprintf(&h, "HOSTNAME=%s", hostname) < 0)
		return -ENOMEM;
	r = strv_push(env, h);
	if (!r && tty)
		r = strv_push(env, strdup("TERM=xterm"));
	return r;
}

static int env_image(struct strv *env, const struct oci_config *img)
{
	int r;

	for (char **p = img ? img->env : NULL; p && *p; p++) {
		/* A malformed image entry must not break the run. */
		if (!strchr(*p, '=') || **p == '=')
			continue;
		r = env_set(env, strdup(*p));
		if (r)
			return r;
	}
	return 0;
}

static int build_env(const struct oci_config *img,
		     const struct run_spec_options *o, struct run_spec *spec,
		     struct sm_error *err)
{
	struct strv env = {0};
	int r;

	r = env_defaults(&env, spec->hostname, o->tty);
	if (!r)
		r = env_image(&env, img);
	if (r)
		goto oom;
	for (const char *const *f = o->env_files; f && *f; f++) {
		r = env_load_file(&env, *f, err);
		if (r)
			goto fail;
	}
	for (const char *const *e = o->env; e && *e; e++) {
		if (key_len(*e) == 0) {
			r = sm_err(err, -EINVAL,
				   "invalid environment variable: \"%s\"", *e);
			goto fail;
		}
		r = env_apply(&env, *e);
		if (r)
			goto oom;
	}
	spec->env = strv_steal(&env);
	if (!spec->env)
		return sm_err(err, -ENOMEM, "out of memory");
	return 0;
oom:
	sm_err(err, r, "out of memory");
fail:
	strv_free(env.v);
	return r;
}

/* ---- working directory ---- */

/* Cleans an absolute path lexically ("//a/./b/../c/" -> "/a/c"). */
static char *clean_abs_path(const char *in)
{
	size_t len = strlen(in);
	char *out = malloc(len + 2);
	size_t o = 0;
	const char *p = in;

	if (!out)
		return NULL;
	while (*p) {
		const char *s;
		size_t n;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		n = p - s;
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* the slash before the dropped part */
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

static int build_cwd(const struct oci_config *img,
		     const struct run_spec_options *o, struct run_spec *spec,
		     struct sm_error *err)
{
	const char *wd = o->workdir;
	_cleanup_free_ char *abs = NULL;

	if (wd && *wd) {
		if (wd[0] != '/')
			return sm_err(err, -EINVAL,
				      "the working directory '%s' is invalid, "
				      "it needs to be an absolute path",
				      wd);
	} else {
		wd = img && img->working_dir && *img->working_dir
			 ? img->working_dir
			 : "/";
		/* docker accepts a relative image WorkingDir as from "/". */
		if (wd[0] != '/') {
			if (asprintf(&abs, "/%s", wd) < 0)
				return sm_err(err, -ENOMEM, "out of memory");
			wd = abs;
		}
	}
	spec->cwd = clean_abs_path(wd);
	if (!spec->cwd)
		return sm_err(err, -ENOMEM, "out of memory");
	return 0;
}

/* ---- user, hostname ---- */

/* "", "name", "uid", "name:group", "uid:gid": at most one ':' and no
 * empty part; names are resolved against the image's /etc/passwd later. */
static int check_user(const char *u, struct sm_error *err)
{
	const char *colon;

	if (!*u)
		return 0;
	colon = strchr(u, ':');
	if (colon == u || (colon && (!colon[1] || strchr(colon + 1, ':'))))
		return sm_err(err, -EINVAL,
			      "invalid user \"%s\": want user, uid, "
			      "user:group or uid:gid",
			      u);
	for (const char *p = u; *p; p++)
		if (iscntrl((unsigned char)*p))
			return sm_err(err, -EINVAL,
				      "invalid user: control character");
	return 0;
}

static int build_user_host(const struct oci_config *img,
			   const struct run_spec_options *o,
			   struct run_spec *spec, struct sm_error *err)
{
	/* docker: an empty -u falls back to the image User. */
	const char *u =
	    o->user && *o->user ? o->user : (img && img->user ? img->user : "");
	const char *h =
	    o->hostname && *o->hostname ? o->hostname : DEFAULT_HOSTNAME;
	int r;

	r = check_user(u, err);
	if (r)
		return r;
	r = run_check_hostname(h, err);
	if (r)
		return r;
	spec->user = strdup(u);
	spec->hostname = strdup(h);
	if (!spec->user || !spec->hostname)
		return sm_err(err, -ENOMEM, "out of memory");
	return 0;
}

/* ---- signals ---- */

/* glibc reserves 32 and 33; docker (unix.SIGRTMIN) says 34. */
#define RT_MIN 34
#define RT_MAX 64

static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"HUP", SIGHUP},	   {"INT", SIGINT},	  {"QUIT", SIGQUIT},
    {"ILL", SIGILL},	   {"TRAP", SIGTRAP},	  {"ABRT", SIGABRT},
    {"IOT", SIGIOT},	   {"BUS", SIGBUS},	  {"FPE", SIGFPE},
    {"KILL", SIGKILL},	   {"USR1", SIGUSR1},	  {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},	   {"PIPE", SIGPIPE},	  {"ALRM", SIGALRM},
    {"TERM", SIGTERM},	   {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},
    {"CLD", SIGCHLD},	   {"CONT", SIGCONT},	  {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},	   {"TTIN", SIGTTIN},	  {"TTOU", SIGTTOU},
    {"URG", SIGURG},	   {"XCPU", SIGXCPU},	  {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},	  {"WINCH", SIGWINCH},
    {"IO", SIGIO},	   {"POLL", SIGPOLL},	  {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

/* Strict decimal in [lo, hi]; -1 otherwise. */
static int parse_num(const char *s, int lo, int hi)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > hi)
			return -1;
	}
	return v < lo ? -1 : (int)v;
}

int run_parse_signal(const char *s)
{
	int n;

	if (!s || !*s)
		return -1;
	if (*s >= '0' && *s <= '9')
		return parse_num(s, 1, RT_MAX);
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (!strcasecmp(s, signals[i].name))
			return signals[i].sig;
	if (!strncasecmp(s, "RTMIN", 5)) {
		if (!s[5])
			return RT_MIN;
		if (s[5] != '+')
			return -1;
		n = parse_num(s + 6, 1, RT_MAX - RT_MIN);
		return n < 0 ? -1 : RT_MIN + n;
	}
	if (!strncasecmp(s, "RTMAX", 5)) {
		if (!s[5])
			return RT_MAX;
		if (s[5] != '-')
			return -1;
		n = parse_num(s + 6, 1, RT_MAX - RT_MIN);
		return n < 0 ? -1 : RT_MAX - n;
	}
	return -1;
}

static int build_stop_signal(const struct oci_config *img,
			     struct run_spec *spec, struct sm_error *err)
{
	const char *s = img ? img->stop_signal : NULL;

	spec->stop_signal = SIGTERM;
	if (!s || !*s)
		return 0;
	spec->stop_signal = run_parse_signal(s);
	if (spec->stop_signal < 0)
		return sm_err(
		    err, -EINVAL,
		    "image stop signal \"%.64s\" is not a known signal", s);
	return 0;
}

/* ---- entry points ---- */

int run_spec_build(const struct oci_config *img,
		   const struct run_spec_options *o, struct run_spec *spec,
		   struct sm_error *err)
{
	static const struct run_spec_options none;
	struct run_spec s = {0};
	int r;

	if (!o)
		o = &none;
	s.tty = o->tty;
	s.stdin_open = o->stdin_open;
	s.idle = o->idle;
	r = o->idle ? idle_argv(&s, err) : build_argv(img, o, &s, err);
	if (!r)
		r = build_user_host(img, o, &s, err);
	if (!r)
		r = build_env(img, o, &s, err);
	if (!r)
		r = build_cwd(img, o, &s, err);
	if (!r)
		r = build_stop_signal(img, &s, err);
	if (r) {
		run_spec_free(&s);
		memset(spec, 0, sizeof(*spec));
		return r;
	}
	*spec = s;
	return 0;
}

/* docker exec: the main process's env, user and workdir, overridden. */
static int exec_env_cwd_user(const struct run_spec *base,
			     const struct run_spec_options *o,
			     struct run_spec *s, struct sm_error *err)
{
	struct strv env = {0};
	int r = strv_push_all(&env, (const char *const *)base->env);

	for (const char *const *e = o->env; !r && e && *e; e++)
		r = env_apply(&env, *e);
	s->env = r ? NULL : strv_steal(&env);
	if (r || !s->env) {
		strv_free(env.v);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	if (o->workdir && *o->workdir && o->workdir[0] != '/')
		return sm_err(err, -EINVAL,
			      "the working directory '%s' is invalid, it needs "
			      "to be an absolute path",
			      o->workdir);
	s->cwd = o->workdir && *o->workdir
		     ? clean_abs_path(o->workdir)
		     : strdup(base->cwd ? base->cwd : "/");
	r = check_user(o->user && *o->user ? o->user : "", err);
	if (r)
		return r;
	s->user = strdup(o->user && *o->user ? o->user
					     : (base->user ? base->user : ""));
	if (!s->cwd || !s->user)
		return sm_err(err, -ENOMEM, "out of memory");
	return 0;
}

int run_spec_exec(const struct run_spec *base, const struct run_spec_options *o,
		  struct run_spec *spec, struct sm_error *err)
{
	struct run_spec s = {0};
	struct strv argv = {0};
	int r;

	if (!count(o->cmd))
		return sm_err(err, -EINVAL, "exec: no command given");
	r = strv_push_all(&argv, o->cmd);
	s.argv = r ? NULL : strv_steal(&argv);
	if (!s.argv) {
		strv_free(argv.v);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	s.tty = o->tty;
	s.stdin_open = o->stdin_open;
	s.stop_signal = base->stop_signal;
	r = exec_env_cwd_user(base, o, &s, err);
	if (r) {
		run_spec_free(&s);
		memset(spec, 0, sizeof(*spec));
		return r;
	}
	*spec = s;
	return 0;
}

void run_spec_free(struct run_spec *spec)
{
	if (!spec)
		return;
	strv_free(spec->argv);
	strv_free(spec->env);
	free(spec->cwd);
	free(spec->user);
	free(spec->hostname);
	memset(spec, 0, sizeof(*spec));
}
