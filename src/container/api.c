/*
 * The public container API (supermachine.h, "Containers"): handles on
 * records, creating and starting one, and what `ps` and `inspect` show.
 * The operations on a running container are in ops.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/container.h"
#include "util/error.h"
#include "util/opts.h"

static json_t *make_meta(const struct sm_container_options *o)
{
	json_t *cmd = json_array();

	for (const char *const *a = o->run->cmd; cmd && a && *a; a++)
		json_array_append_new(cmd, json_string(*a));
	json_t *config = ctr_config_save(o);

	if (!config) {
		json_decref(cmd);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:s?, s:s?, s:I, s:b, s:b, s:i, s:o}",
			 "image",
			 o->restore_dir ? o->restore_dir
			 : o->image	? o->image
					: o->run->rootfs,
			 "cmd", cmd, "entrypoint", o->run->entrypoint,
			 "store_root", o->store_root, "created_ns",
			 (json_int_t)ctr_wall_ns(), "detached", o->detach,
			 "auto_remove", o->auto_remove, "stop_timeout",
			 o->stop_timeout, "config", config);
}

static char *dup_or_null(const char *s, bool *failed)
{
	char *d = s ? strdup(s) : NULL;

	*failed |= s && !d;
	return d;
}

/* Options copied into the handle: its strings are its own. */
static int take_options(struct sm_container *k,
			const struct sm_container_options *in,
			struct sm_error *err)
{
	bool failed = false;
	int ret;

	memset(&k->o, 0, sizeof(k->o));
	ret =
	    sm_opts_take(&k->o, sizeof(k->o), in, "sm_container_options", err);
	if (ret)
		return ret;
	if (!k->o.run ||
	    !!k->o.image + !!k->o.restore_dir + !!k->o.run->rootfs != 1)
		return sm_err(err, -EINVAL,
			      "sm_container_options: want run options and "
			      "one of image, restore_dir and run->rootfs");
	k->o.stop_timeout = k->o.stop_timeout > 0 ? k->o.stop_timeout : 10;
	k->o.store_root = k->store_root = dup_or_null(k->o.store_root, &failed);
	k->o.image = k->image = dup_or_null(k->o.image, &failed);
	k->o.restore_dir = k->restore_dir =
	    dup_or_null(k->o.restore_dir, &failed);
	k->o.cgroup_parent = k->cgroup_parent =
	    dup_or_null(k->o.cgroup_parent, &failed);
	return failed ? sm_err(err, -ENOMEM, "container options: out of memory")
		      : 0;
}

SM_API int sm_container_create(const struct sm_container_options *o,
			       struct sm_container **out, struct sm_error *err)
{
	struct sm_container *k = calloc(1, sizeof(*k));
	json_t *meta;
	int ret;

	*out = NULL;
	if (!k)
		return sm_err(err, -ENOMEM, "container: out of memory");
	k->life_fd = k->stdin_feed = k->stdin_conn = -1;
	ret = take_options(k, o, err);
	meta = ret ? NULL : make_meta(&k->o);
	if (!ret && !meta)
		ret = sm_err(err, -ENOMEM, "container record: out of memory");
	if (!ret) {
		ret = ctr_create(&k->rec, k->o.name, meta, err);
		k->recorded = !ret;
		/* a foreground run goes on without a record (ps misses it) */
		if (ret && !k->o.name && !k->o.detach) {
			ctr_release(&k->rec);
			memset(&k->rec, 0, sizeof(k->rec));
			ret = 0;
		}
	}
	k->o.name = NULL; /* the caller's; the record's name from here on */
	if (ret) {
		sm_container_close(k);
		return ret;
	}
	*out = k;
	return 0;
}

SM_API int sm_container_start(struct sm_container *k, int *exit_status,
			      struct sm_error *err)
{
	int status = 0, ret;

	if (!k || (!k->o.run && !k->recorded))
		return sm_err(err, -EINVAL,
			      "sm_container_start: not a container handle");
	if (k->started)
		return sm_err(err, -EALREADY, "container %s started already",
			      k->rec.name);
	k->started = true;
	if (!k->o.run) /* an opened record: docker start */
		ret = ctr_start_existing(k, &status, err);
	else if (k->o.detach)
		ret = ctr_start_detached(k, &status, err);
	else
		ret = ctr_start_foreground(k, &status, err);
	if (exit_status)
		*exit_status = status;
	return ret;
}

SM_API int sm_container_open(const char *ref, struct sm_container **out,
			     struct sm_error *err)
{
	struct sm_container *k = calloc(1, sizeof(*k));
	int ret;

	*out = NULL;
	if (!k)
		return sm_err(err, -ENOMEM, "container: out of memory");
	k->life_fd = k->stdin_feed = k->stdin_conn = -1;
	if (!ref)
		ret = sm_err(err, -EINVAL, "no container named");
	else
		ret = ctr_find(&k->rec, ref, err);
	if (ret) {
		ctr_release(&k->rec);
		free(k);
		return ret;
	}
	k->recorded = true;
	*out = k;
	return 0;
}

SM_API const char *sm_container_id(const struct sm_container *k)
{
	return k ? k->rec.id : "";
}

SM_API const char *sm_container_name(const struct sm_container *k)
{
	return k ? k->rec.name : "";
}

SM_API void sm_container_close(struct sm_container *k)
{
	if (!k)
		return;
	ctr_release(&k->rec);
	ctr_config_free(k->cfg);
	if (k->life_fd >= 0)
		close(k->life_fd);
	if (k->stdin_conn >= 0)
		close(k->stdin_conn);
	free(k->store_root);
	free(k->image);
	free(k->restore_dir);
	free(k->cgroup_parent);
	free(k);
}

/* ---- what a record says ---- */

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void fill_info(struct ctr *c, struct sm_container_info *i)
{
	const char *st = ctr_str(c->state, "status");

	memset(i, 0, sizeof(*i));
	i->struct_size = sizeof(*i);
	copy_str(i->id, sizeof(i->id), c->id);
	copy_str(i->name, sizeof(i->name), c->name);
	copy_str(i->image, sizeof(i->image), ctr_str(c->meta, "image"));
	ctr_command(c->meta, i->command, sizeof(i->command));
	copy_str(i->ports, sizeof(i->ports), ctr_str(c->state, "ports"));
	copy_str(i->error, sizeof(i->error), ctr_str(c->state, "error"));
	i->status = !strcmp(st, "running")  ? SM_CONTAINER_RUNNING
		    : !strcmp(st, "exited") ? SM_CONTAINER_EXITED
					    : SM_CONTAINER_CREATED;
	i->exit_code = (int)ctr_int(c->state, "exit_code");
	i->pid = (int)ctr_int(c->state, "pid");
	i->detached = json_is_true(json_object_get(c->meta, "detached"));
	i->auto_remove = json_is_true(json_object_get(c->meta, "auto_remove"));
	i->stop_timeout = (int)ctr_int(c->meta, "stop_timeout");
	i->created_ns = ctr_int(c->meta, "created_ns");
	i->changed_ns = ctr_int(c->state, "time_ns");
}

SM_API int sm_container_inspect(struct sm_container *k,
				struct sm_container_info *info,
				struct sm_error *err)
{
	struct sm_container_info mine;
	int ret;

	if (!k || !k->recorded)
		return sm_err(err, -ENOENT, "the container has no record");
	if ((ret = ctr_load(&k->rec, err)))
		return ret;
	fill_info(&k->rec, &mine);
	return sm_opts_give(info, &mine, sizeof(mine), "sm_container_info",
			    err);
}

SM_API int sm_container_list(struct sm_container_info **out,
			     struct sm_error *err)
{
	struct sm_container_info *list;
	struct ctr *v;
	size_t n;
	int ret;

	*out = NULL;
	if ((ret = ctr_list(&v, &n, err)))
		return ret;
	if (n > (size_t)INT32_MAX ||
	    !(list = calloc(n ? n : 1, sizeof(*list)))) {
		ctr_list_free(v, n);
		return sm_err(err, -ENOMEM, "container list: out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		ctr_load(&v[i], NULL);
		fill_info(&v[i], &list[i]);
	}
	ctr_list_free(v, n);
	*out = list;
	return (int)n;
}

SM_API const struct sm_container_info *
sm_container_info_at(const struct sm_container_info *list, int i)
{
	if (!list || i < 0)
		return NULL;
	return (const void *)((const char *)list +
			      (size_t)i * list->struct_size);
}
