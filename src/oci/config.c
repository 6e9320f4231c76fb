/* Image config parsing (the fields a VM needs to start the process). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oci/oci.h"
#include "util/error.h"

static char *dup_str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v && *v ? strdup(v) : NULL;
}

/* ["a","b"] -> NULL-terminated array; NULL for absent/null. */
static int str_array(json_t *a, char ***out)
{
	size_t i, n;
	json_t *v;

	*out = NULL;
	if (!a || json_is_null(a))
		return 0;
	if (json_is_string(a)) { /* tolerated: "Cmd": "sh" */
		*out = calloc(2, sizeof(char *));
		if (!*out || !((*out)[0] = strdup(json_string_value(a))))
			return -ENOMEM;
		return 0;
	}
	if (!json_is_array(a))
		return -EINVAL;
	n = json_array_size(a);
	*out = calloc(n + 1, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v))
			return -EINVAL;
		if (!((*out)[i] = strdup(json_string_value(v))))
			return -ENOMEM;
	}
	return 0;
}

/* {"80/tcp":{}} -> keys (and values when vals != NULL). */
static int obj_keys(json_t *o, char ***keys, char ***vals)
{
	const char *k;
	json_t *v;
	size_t i = 0, n;

	*keys = NULL;
	if (vals)
		*vals = NULL;
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return -EINVAL;
	n = json_object_size(o);
	*keys = calloc(n + 1, sizeof(char *));
	if (vals)
		*vals = calloc(n + 1, sizeof(char *));
	if (!*keys || (vals && !*vals))
		return -ENOMEM;
	json_object_foreach(o, k, v)
	{
		if (!((*keys)[i] = strdup(k)))
			return -ENOMEM;
		if (vals) {
			const char *s = json_string_value(v);
			if (!((*vals)[i] = strdup(s ? s : "")))
				return -ENOMEM;
		}
		i++;
	}
	return 0;
}

/* RFC 3339 "2024-01-02T03:04:05.123Z" -> epoch seconds (UTC). */
static long long parse_time(const char *s)
{
	struct tm tm = {0};
	const char *end;

	if (!s)
		return 0;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return 0;
	return (long long)timegm(&tm);
}

int oci_config_parse(const char *json, size_t len, struct oci_config *c,
		     struct sm_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je), *cfg;
	int r = 0;

	memset(c, 0, sizeof(*c));
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return sm_err(err, -EINVAL, "image config: invalid JSON: %s",
			      je.text);
	}
	c->os = dup_str(root, "os");
	c->arch = dup_str(root, "architecture");
	c->variant = dup_str(root, "variant");
	c->created =
	    parse_time(json_string_value(json_object_get(root, "created")));
	cfg = json_object_get(root, "config");
	if (!cfg)
		cfg = json_object_get(root, "container_config");
	if (cfg && json_is_object(cfg)) {
		c->working_dir = dup_str(cfg, "WorkingDir");
		c->user = dup_str(cfg, "User");
		c->stop_signal = dup_str(cfg, "StopSignal");
		if (!r)
			r = str_array(json_object_get(cfg, "Entrypoint"),
				      &c->entrypoint);
		if (!r)
			r = str_array(json_object_get(cfg, "Cmd"), &c->cmd);
		if (!r)
			r = str_array(json_object_get(cfg, "Env"), &c->env);
		if (!r)
			r = obj_keys(json_object_get(cfg, "ExposedPorts"),
				     &c->exposed_ports, NULL);
		if (!r)
			r = obj_keys(json_object_get(cfg, "Volumes"),
				     &c->volumes, NULL);
		if (!r)
			r = obj_keys(json_object_get(cfg, "Labels"),
				     &c->label_keys, &c->label_values);
	}
	json_decref(root);
	if (r) {
		oci_config_free(c);
		return sm_err(err, r, "image config: %s",
			      r == -ENOMEM ? "out of memory"
					   : "malformed config field");
	}
	return 0;
}

static void free_array(char **a)
{
	for (size_t i = 0; a && a[i]; i++)
		free(a[i]);
	free(a);
}

void oci_config_free(struct oci_config *c)
{
	free_array(c->entrypoint);
	free_array(c->cmd);
	free_array(c->env);
	free_array(c->exposed_ports);
	free_array(c->volumes);
	free_array(c->label_keys);
	free_array(c->label_values);
	free(c->working_dir);
	free(c->user);
	free(c->stop_signal);
	free(c->os);
	free(c->arch);
	free(c->variant);
	memset(c, 0, sizeof(*c));
}
