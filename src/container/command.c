/*
 * docker's COMMAND of a container: what it runs. The user's --entrypoint,
 * else the image's Entrypoint; then the user's command, else the image's
 * Cmd (which an --entrypoint drops, as in docker). The image's part comes
 * from the store the container's record names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/container.h"

/* The image's config (Entrypoint, Cmd); NULL when the image is gone or
 * the record names a snapshot directory. */
static json_t *image_config(json_t *meta)
{
	struct sm_store_options so = {.size = sizeof(so)};
	const char *ref = ctr_str(meta, "image");
	struct sm_store *store = NULL;
	char *text = NULL;
	json_t *o, *cfg = NULL;

	so.root =
	    *ctr_str(meta, "store_root") ? ctr_str(meta, "store_root") : NULL;
	if (!*ref || sm_store_open(&store, &so, NULL))
		return NULL;
	if (!sm_image_inspect(store, ref, &text, NULL)) {
		o = json_loads(text, 0, NULL);
		cfg = json_incref(json_object_get(o, "Config"));
		json_decref(o);
	}
	free(text);
	sm_store_close(store);
	return cfg;
}

static size_t append_words(char *buf, size_t size, size_t n, json_t *words)
{
	size_t i;
	json_t *a;

	json_array_foreach(words, i, a)
	{
		if (n >= size || !json_is_string(a))
			break;
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " " : "",
				      json_string_value(a));
	}
	return n;
}

void ctr_command(json_t *meta, char *buf, size_t size)
{
	json_t *cmd = json_object_get(meta, "cmd");
	const char *ep = ctr_str(meta, "entrypoint");
	json_t *cfg = NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (!*ep || !json_array_size(cmd))
		cfg = image_config(meta);
	if (*ep)
		n += (size_t)snprintf(buf, size, "%s", ep);
	else
		n = append_words(buf, size, n,
				 json_object_get(cfg, "Entrypoint"));
	if (json_array_size(cmd))
		n = append_words(buf, size, n, cmd);
	else if (!*ep)
		n = append_words(buf, size, n, json_object_get(cfg, "Cmd"));
	json_decref(cfg);
}
