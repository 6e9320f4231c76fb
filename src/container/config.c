/*
 * What a container was created with, kept in its record ("config" in
 * meta), so that `start` and `restart` run it again as it was made
 * (docs/containers.md, "Start and restart"). Whatever depended on the
 * creating process is fixed here, as docker fixes it at create: `-e K`
 * takes the host's value now, and paths (env files, kernel, snapshot,
 * store) become absolute; the creator's working directory is kept for
 * relative bind sources.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/container.h"
#include "run/volumes.h"
#include "util/error.h"

enum field_kind { F_STR, F_PATH, F_LIST, F_INT, F_UINT, F_U64, F_ULONG };

struct field {
	const char *key;
	size_t off;
	enum field_kind kind;
};

#define RUN(key, member, kind)                                     \
	{                                                          \
		key, offsetof(struct sm_run_options, member), kind \
	}
static const struct field run_fields[] = {
    RUN("cmd", cmd, F_LIST),
    RUN("entrypoint", entrypoint, F_STR),
    RUN("env", env, F_LIST),
    RUN("env_files", env_files, F_LIST),
    RUN("workdir", workdir, F_STR),
    RUN("user", user, F_STR),
    RUN("hostname", hostname, F_STR),
    RUN("tty", tty, F_INT),
    RUN("interactive", interactive, F_INT),
    RUN("cpus", cpus, F_UINT),
    RUN("memory_mib", memory_mib, F_U64),
    RUN("kernel", kernel, F_PATH),
    RUN("initrd", initrd, F_PATH),
    RUN("timeout_ms", timeout_ms, F_UINT),
    RUN("no_snapshot", no_snapshot, F_INT),
    RUN("stop_signal", stop_signal, F_STR),
    RUN("network", network, F_STR),
    RUN("publish", publish, F_LIST),
    RUN("publish_all", publish_all, F_INT),
    RUN("volumes", volumes, F_LIST),
    RUN("mounts", mounts, F_LIST),
    RUN("tmpfs", tmpfs, F_LIST),
    RUN("remove_anonymous", remove_anonymous, F_INT),
    RUN("seccomp_unconfined", seccomp_unconfined, F_INT),
    RUN("jail_off", jail_off, F_INT),
    RUN("jail_user", jail_user, F_STR),
    RUN("share_max_nodes", share_max_nodes, F_UINT),
    RUN("share_max_files", share_max_files, F_UINT),
    RUN("share_max_dax_maps", share_max_dax_maps, F_UINT),
    RUN("vsock_max_conns", vsock_max_conns, F_UINT),
    RUN("vsock_max_buffer", vsock_max_buffer, F_ULONG),
    RUN("net_max_rx_frames", net_max_rx_frames, F_UINT),
    RUN("rootfs", rootfs, F_PATH),
    RUN("rootfs_readonly", rootfs_readonly, F_INT),
};

#define CTR(key, member, kind)                                           \
	{                                                                \
		key, offsetof(struct sm_container_options, member), kind \
	}
static const struct field ctr_fields[] = {
    CTR("store_root", store_root, F_PATH),
    CTR("image", image, F_STR),
    CTR("restore_dir", restore_dir, F_PATH),
    CTR("auto_remove", auto_remove, F_INT),
    CTR("stop_timeout", stop_timeout, F_INT),
    CTR("pids_limit", pids_limit, F_UINT),
    CTR("cpu_shares", cpu_shares, F_UINT),
    CTR("cgroup_parent", cgroup_parent, F_STR),
    CTR("log_max_size", log_max_size, F_U64),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- saving ---- */

/* -e K: the host's value now (docker's rule at create), else K stays
 * bare, which unsets K in the image's environment. */
static json_t *env_now(const char *def)
{
	const char *v = strchr(def, '=') ? NULL : getenv(def);
	char *kv;
	json_t *s;

	if (!v)
		return json_string(def);
	if (asprintf(&kv, "%s=%s", def, v) < 0)
		return NULL;
	s = json_string(kv);
	free(kv);
	return s;
}

/* A path made absolute (a file that is not there stays as given: its
 * run says what is wrong with it). */
static json_t *path_now(const char *p)
{
	char real[PATH_MAX];

	return json_string(realpath(p, real) ? real : p);
}

static json_t *list_now(const char *key, const char *const *v)
{
	json_t *a = json_array();

	for (; a && v && *v; v++) {
		json_t *s = !strcmp(key, "env")		? env_now(*v)
			    : !strcmp(key, "env_files") ? path_now(*v)
							: json_string(*v);

		if (!s || json_array_append_new(a, s)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *field_value(const struct field *f, const void *base)
{
	const char *p = (const char *)base + f->off;

	switch (f->kind) {
	case F_STR:
		return *(const char *const *)p ? json_string(*(char **)p)
					       : json_null();
	case F_PATH:
		return *(const char *const *)p ? path_now(*(char **)p)
					       : json_null();
	case F_LIST:
		return list_now(f->key, *(const char *const *const *)p);
	case F_INT:
		return json_integer(*(const int *)p);
	case F_UINT:
		return json_integer(*(const unsigned *)p);
	case F_U64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case F_ULONG:
		return json_integer((json_int_t) * (const unsigned long *)p);
	}
	return NULL;
}

static int save_fields(json_t *obj, const struct field *f, size_t n,
		       const void *base)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = field_value(&f[i], base);

		if (!v || json_object_set_new(obj, f[i].key, v))
			return -ENOMEM;
	}
	return 0;
}

json_t *ctr_config_save(const struct sm_container_options *o)
{
	json_t *cfg = json_object(), *run = json_object();
	char cwd[PATH_MAX];

	if (!cfg || !run || save_fields(cfg, ctr_fields, N(ctr_fields), o) ||
	    save_fields(run, run_fields, N(run_fields), o->run) ||
	    json_object_set(cfg, "run", run) ||
	    json_object_set_new(
		cfg, "cwd",
		json_string(getcwd(cwd, sizeof(cwd)) ? cwd : "/"))) {
		json_decref(run);
		json_decref(cfg);
		return NULL;
	}
	json_decref(run);
	return cfg;
}

/* ---- loading ---- */

/* A list of the record's strings, NULL-terminated; its own array. */
static int load_list(json_t *v, const char ***out, struct sm_error *err)
{
	const char **a;
	size_t i;
	json_t *s;

	*out = NULL;
	if (json_is_null(v) || !v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > 4096)
		return sm_err(err, -EINVAL, "a list that is not one");
	/* room for the anonymous volumes load_anonymous() may add */
	if (!(a = calloc(json_array_size(v) + VOL_MAX + 1, sizeof(*a))))
		return sm_err(err, -ENOMEM, "out of memory");
	json_array_foreach(v, i, s)
	{
		if (!json_is_string(s)) {
			free(a);
			return sm_err(err, -EINVAL, "a list of strings");
		}
		a[i] = json_string_value(s);
	}
	*out = a;
	return 0;
}

static int load_field(const struct field *f, json_t *v, void *base,
		      struct sm_error *err)
{
	char *p = (char *)base + f->off;
	json_int_t n = json_integer_value(v);

	if (f->kind == F_STR || f->kind == F_PATH) {
		if (v && !json_is_null(v) && !json_is_string(v))
			return sm_err(err, -EINVAL, "%s: not a string", f->key);
		*(const char **)p = json_string_value(v);
		return 0;
	}
	if (f->kind == F_LIST) {
		int r = load_list(v, (const char ***)p, err);

		return r ? sm_err_wrap(err, r, "%s", f->key) : 0;
	}
	if (v && !json_is_integer(v))
		return sm_err(err, -EINVAL, "%s: not a number", f->key);
	if (n < 0 || (f->kind != F_U64 && n > INT_MAX))
		return sm_err(err, -ERANGE, "%s: out of range", f->key);
	if (f->kind == F_INT)
		*(int *)p = (int)n;
	else if (f->kind == F_UINT)
		*(unsigned *)p = (unsigned)n;
	else if (f->kind == F_U64)
		*(uint64_t *)p = (uint64_t)n;
	else
		*(unsigned long *)p = (unsigned long)n;
	return 0;
}

static int load_fields(json_t *obj, const struct field *f, size_t n, void *base,
		       struct sm_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int r = load_field(&f[i], json_object_get(obj, f[i].key), base,
				   err);

		if (r)
			return r;
	}
	return 0;
}

void ctr_config_free(struct ctr_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < N(run_fields); i++)
		if (run_fields[i].kind == F_LIST)
			free(*(void **)((char *)&cfg->run + run_fields[i].off));
	for (size_t i = 0; i < cfg->nowned; i++)
		free(cfg->owned[i]);
	json_decref(cfg->json);
	free(cfg);
}

int ctr_config_load(json_t *meta, struct ctr_config **out, struct sm_error *err)
{
	json_t *json = json_object_get(meta, "config");
	struct ctr_config *cfg;
	int r;

	*out = NULL;
	if (!json_is_object(json) ||
	    !json_is_object(json_object_get(json, "run")))
		return sm_err(err, -ENOTSUP,
			      "its record keeps no options to run it again "
			      "(made by an older supermachine)");
	if (!(cfg = calloc(1, sizeof(*cfg))))
		return sm_err(err, -ENOMEM, "out of memory");
	cfg->json = json_incref(json);
	sm_run_options_init(&cfg->run);
	cfg->o.size = sizeof(cfg->o);
	cfg->o.run = &cfg->run;
	cfg->cwd = json_string_value(json_object_get(json, "cwd"));
	r = load_fields(json, ctr_fields, N(ctr_fields), &cfg->o, err);
	if (!r)
		r = load_fields(json_object_get(json, "run"), run_fields,
				N(run_fields), &cfg->run, err);
	if (!r && !!cfg->o.image + !!cfg->o.restore_dir + !!cfg->run.rootfs != 1)
		r = sm_err(err, -EINVAL,
			   "not one of an image, a snapshot and a root");
	if (!r)
		r = ctr_config_reuse_anonymous(cfg, meta, err);
	if (r) {
		ctr_config_free(cfg);
		return sm_err_wrap(err, r, "the record's options");
	}
	cfg->run.pull = SM_PULL_NEVER; /* docker start never pulls */
	*out = cfg;
	return 0;
}
