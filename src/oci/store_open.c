/* sm_store_open(): where the store lives and what it may talk to. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/opts.h"

static char *default_root(void)
{
	const char *v = getenv("SUPERMACHINE_ROOT"), *home;
	char *p;

	if (v && *v)
		return strdup(v);
	v = getenv("XDG_DATA_HOME");
	if (v && *v)
		return asprintf(&p, "%s/supermachine", v) < 0 ? NULL : p;
	home = getenv("HOME");
	if (!home || !*home)
		home = "/root";
	return asprintf(&p, "%s/.local/share/supermachine", home) < 0 ? NULL
								      : p;
}

static int add_insecure(struct sm_store *s, const char *host)
{
	char **n = realloc(s->insecure, (s->n_insecure + 2) * sizeof(char *));

	if (!n)
		return -ENOMEM;
	s->insecure = n;
	if (!(n[s->n_insecure] = strdup(host)))
		return -ENOMEM;
	n[++s->n_insecure] = NULL;
	return 0;
}

/* {"insecure-registries": [...]} in $SUPERMACHINE_CONFIG or
 * $XDG_CONFIG_HOME/supermachine/config.json (like docker's daemon.json). */
static int load_config(struct sm_store *s)
{
	const char *p = getenv("SUPERMACHINE_CONFIG"), *x, *h;
	_cleanup_free_ char *path = NULL;
	json_t *root, *a, *v;
	size_t i;
	int r = 0;

	if (!p) {
		x = getenv("XDG_CONFIG_HOME");
		h = getenv("HOME");
		if (x && *x)
			r = asprintf(&path, "%s/supermachine/config.json", x);
		else if (h)
			r = asprintf(&path,
				     "%s/.config/supermachine/config.json", h);
		if (r < 0)
			return -ENOMEM;
		p = path;
	}
	if (!p || access(p, R_OK) < 0)
		return 0;
	root = json_load_file(p, 0, NULL);
	a = json_object_get(root, "insecure-registries");
	r = 0;
	json_array_foreach(a, i, v)
	{
		if (json_is_string(v) && !r)
			r = add_insecure(s, json_string_value(v));
	}
	json_decref(root);
	return r;
}

SM_API int sm_store_open(struct sm_store **out,
			 const struct sm_store_options *in,
			 struct sm_error *err)
{
	static const char *const sub[] = {"blobs/sha256", "images", "locks",
					  "tmp"};
	struct sm_store_options opts = {.size = sizeof(opts)}, *o = &opts;
	struct sm_store *s;
	const char *env;
	int r = 0;

	if (!out)
		return sm_err(err, -EINVAL,
			      "sm_store_open: a result is required");
	*out = NULL;
	r = sm_opts_take(&opts, sizeof(opts), in, "sm_store_options", err);
	if (r)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return sm_err(err, -ENOMEM, "out of memory");
	s->root = o->root ? strdup(o->root) : default_root();
	if (!s->root) {
		free(s);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	env = getenv("SUPERMACHINE_ROOTLESS");
	if (o->rootless > 0)
		s->rootless = 1;
	else if (env && *env)
		s->rootless = atoi(env) != 0;
	else
		s->rootless = geteuid() != 0;
	if (o->insecure_registries)
		for (size_t i = 0; !r && o->insecure_registries[i]; i++)
			r = add_insecure(s, o->insecure_registries[i]);
	env = getenv("SUPERMACHINE_INSECURE_REGISTRIES");
	if (env && !r) {
		_cleanup_free_ char *copy = strdup(env);
		char *save = NULL;
		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL;
		     t && !r; t = strtok_r(NULL, ",", &save))
			r = add_insecure(s, t);
	}
	if (!r)
		r = load_config(s);
	if (r) {
		sm_store_close(s);
		return sm_err(err, r, "open store: out of memory");
	}
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		_cleanup_free_ char *p = store_path(s, "%s", sub[i]);
		r = !p ? sm_err(err, -ENOMEM, "out of memory")
		       : sm_mkdir_p(p, 0755);
		if (r && p)
			sm_err(err, r, "mkdir %s: %s", p, strerror(-r));
		if (r) {
			sm_err_wrap(err, r, "open store %s", s->root);
			sm_store_close(s);
			return r;
		}
	}
	/* what a killed pull or load left behind (store.c) */
	store_clean_stale(s);
	*out = s;
	return 0;
}

SM_API void sm_store_close(struct sm_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_insecure; i++)
		free(s->insecure[i]);
	free(s->insecure);
	free(s->root);
	free(s);
}
