/*
 * config.json of an OCI bundle, read into struct bundle (bundle.h). Every
 * value is checked for its JSON type, every list and string is capped,
 * and a wrong field is named in the error ("process.args[2]: not a
 * string"). What cannot apply to a VM is noted, never refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "util/error.h"
#include "oci/store.h"

#define MAX_STRING (64u << 10)

void bundle_note(struct bundle *b, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;

	if (b->nnotes >= BUNDLE_MAX_NOTES)
		return;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line)
		b->notes[b->nnotes++] = line;
}

/* A string member: *out a copy, NULL when absent and not required. */
static int get_str(json_t *obj, const char *key, const char *where,
		   bool required, char **out, struct sm_error *err)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	*out = NULL;
	if (!v && !required)
		return 0;
	if (!v)
		return sm_err(err, -EINVAL, "%s%s: missing", where, key);
	if (!json_is_string(v) || json_string_length(v) > MAX_STRING ||
	    strlen(s = json_string_value(v)) != json_string_length(v))
		return sm_err(err, -EINVAL,
			      "%s%s: not a string (without NUL, at most %u "
			      "bytes)",
			      where, key, MAX_STRING);
	*out = strdup(s);
	return *out ? 0 : sm_err(err, -ENOMEM, "out of memory");
}

static int get_bool(json_t *obj, const char *key, const char *where, bool *out,
		    struct sm_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (v && !json_is_boolean(v))
		return sm_err(err, -EINVAL, "%s%s: not a boolean", where, key);
	*out = json_is_true(v);
	return 0;
}

/* An integer member in [min, max]; *out untouched when absent. */
static int get_int(json_t *obj, const char *key, const char *where, int64_t min,
		   int64_t max, int64_t *out, struct sm_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return sm_err(err, -EINVAL,
			      "%s%s: not an integer from %lld to %lld", where,
			      key, (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* An array of strings: *out NULL-terminated (an empty one when absent). */
static int get_list(json_t *obj, const char *key, const char *where,
		    char ***out, struct sm_error *err)
{
	json_t *v = json_object_get(obj, key), *e;
	size_t i, n = json_array_size(v);

	*out = NULL;
	if (v && !json_is_array(v))
		return sm_err(err, -EINVAL, "%s%s: not an array", where, key);
	if (n > BUNDLE_MAX_ARGS)
		return sm_err(err, -E2BIG, "%s%s: more than %u entries", where,
			      key, BUNDLE_MAX_ARGS);
	*out = calloc(n + 1, sizeof(char *));
	if (!*out)
		return sm_err(err, -ENOMEM, "out of memory");
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || json_string_length(e) > MAX_STRING ||
		    strlen(json_string_value(e)) != json_string_length(e))
			return sm_err(err, -EINVAL,
				      "%s%s[%zu]: not a string (without NUL, "
				      "at most %u bytes)",
				      where, key, i, MAX_STRING);
		if (!((*out)[i] = strdup(json_string_value(e))))
			return sm_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static int get_object(json_t *obj, const char *key, const char *where,
		      json_t **out, struct sm_error *err)
{
	*out = json_object_get(obj, key);
	if (*out && !json_is_object(*out) && !json_is_null(*out))
		return sm_err(err, -EINVAL, "%s%s: not an object", where, key);
	if (json_is_null(*out))
		*out = NULL;
	return 0;
}

/* Keys of obj that a VM does not apply: a note each. */
static void note_ignored(struct bundle *b, json_t *obj, const char *where,
			 const char *const *keys)
{
	for (; *keys; keys++)
		if (json_object_get(obj, *keys))
			bundle_note(b, "%s%s: ignored (does not apply to a VM)",
				    where, *keys);
}

static int parse_user(struct bundle *b, json_t *proc, struct sm_error *err)
{
	json_t *user, *gids;
	int64_t uid = 0, gid = 0;
	int r = get_object(proc, "user", "process.", &user, err);

	if (!r)
		r = get_int(user, "uid", "process.user.", 0, UINT32_MAX - 1,
			    &uid, err);
	if (!r)
		r = get_int(user, "gid", "process.user.", 0, UINT32_MAX - 1,
			    &gid, err);
	if (r)
		return r;
	b->uid = (uint32_t)uid;
	b->gid = (uint32_t)gid;
	gids = json_object_get(user, "additionalGids");
	if (gids && !json_is_array(gids))
		return sm_err(err, -EINVAL,
			      "process.user.additionalGids: not an array");
	b->n_additional_gids = json_array_size(gids);
	if (b->n_additional_gids)
		bundle_note(b, "process.user.additionalGids: not applied (the "
			       "guest takes the user's groups from the "
			       "image's /etc/group)");
	note_ignored(b, user, "process.user.",
		     (const char *const[]){"umask", NULL});
	return 0;
}

static int parse_console(struct bundle *b, json_t *proc, struct sm_error *err)
{
	json_t *cs;
	int64_t h = 0, w = 0;
	int r = get_object(proc, "consoleSize", "process.", &cs, err);

	if (!r)
		r = get_int(cs, "height", "process.consoleSize.", 0, 65535, &h,
			    err);
	if (!r)
		r = get_int(cs, "width", "process.consoleSize.", 0, 65535, &w,
			    err);
	b->console_rows = (unsigned)h;
	b->console_cols = (unsigned)w;
	return r;
}

static int parse_process(struct bundle *b, json_t *root, struct sm_error *err)
{
	json_t *proc;
	int r = get_object(root, "process", "", &proc, err);

	if (!r && !proc)
		return sm_err(err, -EINVAL, "process: missing");
	if (!r)
		r = get_list(proc, "args", "process.", &b->args, err);
	if (!r && !b->args[0])
		r = sm_err(err, -EINVAL, "process.args: empty");
	if (!r)
		r = get_list(proc, "env", "process.", &b->env, err);
	if (!r)
		r = get_str(proc, "cwd", "process.", true, &b->cwd, err);
	if (!r && b->cwd[0] != '/')
		r = sm_err(err, -EINVAL, "process.cwd: not an absolute path");
	if (!r)
		r = get_bool(proc, "terminal", "process.", &b->terminal, err);
	if (!r)
		r = get_bool(proc, "noNewPrivileges", "process.",
			     &b->no_new_privileges, err);
	if (!r)
		r = parse_user(b, proc, err);
	if (!r)
		r = parse_console(b, proc, err);
	if (!r)
		note_ignored(b, proc, "process.",
			     (const char *const[]){
				 "capabilities", "rlimits", "apparmorProfile",
				 "selinuxLabel", "oomScoreAdj", "ioPriority",
				 "scheduler", "execCPUAffinity", NULL});
	return r;
}

static int parse_mount(struct bundle_mount *m, json_t *v, size_t i,
		       struct sm_error *err)
{
	char where[48];
	int r;

	snprintf(where, sizeof(where), "mounts[%zu].", i);
	if (!json_is_object(v))
		return sm_err(err, -EINVAL, "mounts[%zu]: not an object", i);
	r = get_str(v, "destination", where, true, &m->destination, err);
	if (!r)
		r = get_str(v, "type", where, false, &m->type, err);
	if (!r && !m->type && !(m->type = strdup("")))
		r = sm_err(err, -ENOMEM, "out of memory");
	if (!r)
		r = get_str(v, "source", where, false, &m->source, err);
	if (!r && !m->source && !(m->source = strdup("")))
		r = sm_err(err, -ENOMEM, "out of memory");
	if (!r)
		r = get_list(v, "options", where, &m->options, err);
	if (!r && m->destination[0] != '/')
		r = sm_err(err, -EINVAL, "%sdestination: not an absolute path",
			   where);
	return r;
}

static int parse_mounts(struct bundle *b, json_t *root, struct sm_error *err)
{
	json_t *mounts = json_object_get(root, "mounts"), *v;
	size_t i, n = json_array_size(mounts);
	int r = 0;

	if (mounts && !json_is_array(mounts))
		return sm_err(err, -EINVAL, "mounts: not an array");
	if (n > BUNDLE_MAX_MOUNTS)
		return sm_err(err, -E2BIG, "mounts: more than %u",
			      BUNDLE_MAX_MOUNTS);
	b->mounts = calloc(n ? n : 1, sizeof(*b->mounts));
	if (!b->mounts)
		return sm_err(err, -ENOMEM, "out of memory");
	json_array_foreach(mounts, i, v)
	{
		b->nmounts = i + 1; /* freed even when half parsed */
		if ((r = parse_mount(&b->mounts[i], v, i, err)))
			break;
	}
	return r;
}

static int parse_root(struct bundle *b, json_t *root, struct sm_error *err)
{
	json_t *r_obj;
	int r = get_object(root, "root", "", &r_obj, err);

	if (!r && !r_obj)
		return sm_err(err, -EINVAL, "root: missing");
	if (!r)
		r = get_str(r_obj, "path", "root.", true, &b->root_path, err);
	if (!r && !b->root_path[0])
		r = sm_err(err, -EINVAL, "root.path: empty");
	if (!r)
		r = get_bool(r_obj, "readonly", "root.", &b->root_readonly,
			     err);
	if (!r)
		r = get_str(root, "hostname", "", false, &b->hostname, err);
	return r;
}

static int parse_namespaces(struct bundle *b, json_t *linux_,
			    struct sm_error *err)
{
	json_t *ns = json_object_get(linux_, "namespaces"), *v;
	size_t i;
	int r = 0;

	if (ns && !json_is_array(ns))
		return sm_err(err, -EINVAL, "linux.namespaces: not an array");
	json_array_foreach(ns, i, v)
	{
		char where[48], *type = NULL;

		snprintf(where, sizeof(where), "linux.namespaces[%zu].", i);
		if (!json_is_object(v))
			return sm_err(err, -EINVAL,
				      "linux.namespaces[%zu]: "
				      "not an object",
				      i);
		r = get_str(v, "type", where, true, &type, err);
		if (!r && !strcmp(type, "network") && !b->has_netns) {
			b->has_netns = true;
			r = get_str(v, "path", where, false, &b->netns_path,
				    err);
		}
		free(type);
		if (r)
			break;
	}
	return r;
}

static int parse_resources(struct bundle *b, json_t *linux_,
			   struct sm_error *err)
{
	json_t *res, *mem = NULL, *cpu = NULL;
	int64_t period = 0;
	int r = get_object(linux_, "resources", "linux.", &res, err);

	if (!r)
		r = get_object(res, "memory", "linux.resources.", &mem, err);
	if (!r)
		r = get_object(res, "cpu", "linux.resources.", &cpu, err);
	if (!r)
		r = get_int(mem, "limit", "linux.resources.memory.", -1,
			    INT64_MAX, &b->memory_limit, err);
	if (!r)
		r = get_int(cpu, "quota", "linux.resources.cpu.", -1, INT64_MAX,
			    &b->cpu_quota, err);
	if (!r)
		r = get_int(cpu, "period", "linux.resources.cpu.", 0, INT64_MAX,
			    &period, err);
	b->cpu_period = (uint64_t)period;
	if (!r)
		note_ignored(b, res, "linux.resources.",
			     (const char *const[]){"pids", "blockIO",
						   "hugepageLimits", "network",
						   "devices", "rdma", NULL});
	return r;
}

static int parse_linux(struct bundle *b, json_t *root, struct sm_error *err)
{
	json_t *linux_;
	int r = get_object(root, "linux", "", &linux_, err);

	if (!r)
		r = parse_namespaces(b, linux_, err);
	if (!r)
		r = parse_resources(b, linux_, err);
	if (!r)
		note_ignored(b, linux_, "linux.",
			     (const char *const[]){
				 "seccomp", "maskedPaths", "readonlyPaths",
				 "devices", "sysctl", "uidMappings",
				 "gidMappings", "cgroupsPath", "mountLabel",
				 "rootfsPropagation", "personality", NULL});
	return r;
}

static int parse_annotations(struct bundle *b, json_t *root,
			     struct sm_error *err)
{
	json_t *ann;
	int r = get_object(root, "annotations", "", &ann, err);

	if (!r)
		r = get_str(ann, "io.supermachine.cpus", "annotations.", false,
			    &b->ann_cpus, err);
	if (!r)
		r = get_str(ann, "io.supermachine.memory", "annotations.",
			    false, &b->ann_memory, err);
	if (!r && json_object_get(root, "hooks"))
		bundle_note(b, "hooks: not run (the container's process is in "
			       "a VM, its namespaces are not the host's)");
	return r;
}

int bundle_parse(const char *text, size_t len, struct bundle *b,
		 struct sm_error *err)
{
	json_error_t je;
	json_t *root;
	char *ver = NULL;
	int r;

	memset(b, 0, sizeof(*b));
	if (len > BUNDLE_MAX_CONFIG)
		return sm_err(err, -EFBIG, "config.json: over %u bytes",
			      BUNDLE_MAX_CONFIG);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return sm_err(err, -EINVAL, "config.json: line %d: %s", je.line,
			      je.text);
	r = json_is_object(root)
		? get_str(root, "ociVersion", "", true, &ver, err)
		: sm_err(err, -EINVAL, "config.json: not an object");
	if (!r && strncmp(ver, "1.", 2))
		r = sm_err(err, -ENOTSUP,
			   "ociVersion: \"%.32s\": this runtime supports 1.x",
			   ver);
	free(ver);
	if (!r)
		r = parse_process(b, root, err);
	if (!r)
		r = parse_root(b, root, err);
	if (!r)
		r = parse_mounts(b, root, err);
	if (!r)
		r = parse_linux(b, root, err);
	if (!r)
		r = parse_annotations(b, root, err);
	json_decref(root);
	if (r)
		bundle_free(b);
	return r;
}

int bundle_parse_process(const char *text, size_t len, struct bundle *b,
			 struct sm_error *err)
{
	json_error_t je;
	json_t *root, *wrap;
	int r;

	memset(b, 0, sizeof(*b));
	if (len > BUNDLE_MAX_CONFIG)
		return sm_err(err, -EFBIG, "process: over %u bytes",
			      BUNDLE_MAX_CONFIG);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return sm_err(err, -EINVAL, "process: line %d: %s", je.line,
			      je.text);
	wrap = json_pack("{s:o}", "process", root);
	r = wrap ? parse_process(b, wrap, err)
		 : sm_err(err, -ENOMEM, "out of memory");
	json_decref(wrap);
	if (r)
		bundle_free(b);
	return r;
}

int bundle_load(const char *dir, struct bundle *b, struct sm_error *err)
{
	char path[4096];
	char *text = NULL;
	size_t len = 0;
	int r;

	memset(b, 0, sizeof(*b));
	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", dir) >=
	    sizeof(path))
		return sm_err(err, -ENAMETOOLONG, "bundle %s: path too long",
			      dir);
	r = store_read_file(path, BUNDLE_MAX_CONFIG, &text, &len, err);
	if (!r)
		r = bundle_parse(text, len, b, err);
	free(text);
	return r;
}

void bundle_free(struct bundle *b)
{
	free_list(b->args);
	free_list(b->env);
	free(b->cwd);
	free(b->root_path);
	free(b->hostname);
	for (size_t i = 0; i < b->nmounts; i++) {
		free(b->mounts[i].destination);
		free(b->mounts[i].type);
		free(b->mounts[i].source);
		free_list(b->mounts[i].options);
	}
	free(b->mounts);
	free(b->netns_path);
	free(b->ann_cpus);
	free(b->ann_memory);
	for (size_t i = 0; i < b->nnotes; i++)
		free(b->notes[i]);
	memset(b, 0, sizeof(*b));
}
