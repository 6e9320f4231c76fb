/*
 * What `inspect CONTAINER` and `wait` read from a record (supermachine.h,
 * "Containers"): docker's inspect object built from the record's meta and
 * state, and a wait for the state to say the process ended.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "container/container.h"
#include "container/log_format.h"
#include "util/error.h"

/* docker's time (RFC 3339, UTC, nanoseconds: the log's -t stamp without
 * its space); 0: docker's zero time. A state file's time is not trusted:
 * ctr_log_timestamp bounds it. */
static json_t *rfc3339(int64_t ns)
{
	char buf[64];
	size_t n = ns > 0 ? ctr_log_timestamp(ns, buf, sizeof(buf)) : 0;

	if (!n)
		return json_string("0001-01-01T00:00:00Z");
	buf[n - 1] = '\0';
	return json_string(buf);
}

/* Path and Args: the entrypoint then the command, as the VM ran them. */
static void path_and_args(json_t *meta, json_t *out)
{
	json_t *all = json_array(), *args = json_array();
	const char *ep = ctr_str(meta, "entrypoint");
	json_t *cmd = json_object_get(meta, "cmd");
	size_t i;
	json_t *v;

	if (*ep)
		json_array_append_new(all, json_string(ep));
	json_array_foreach(cmd, i, v) if (json_is_string(v))
	    json_array_append(all, v);
	for (i = 1; i < json_array_size(all); i++)
		json_array_append(args, json_array_get(all, i));
	json_object_set_new(
	    out, "Path",
	    json_string(json_array_size(all)
			    ? json_string_value(json_array_get(all, 0))
			    : ""));
	json_object_set_new(out, "Args", args);
	json_decref(all);
}

/* State: docker's fields; a VM is never paused, restarting or OOM-killed
 * the way a cgroup is. */
static json_t *state_object(struct ctr *c)
{
	const char *st = ctr_str(c->state, "status");
	bool running = !strcmp(st, "running"), exited = !strcmp(st, "exited");
	int64_t t = ctr_int(c->state, "time_ns");

	return json_pack(
	    "{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:o, "
	    "s:o}",
	    "Status", *st ? st : "created", "Running", running, "Paused", 0,
	    "Restarting", 0, "OOMKilled", 0, "Dead", 0, "Pid",
	    running ? (int)ctr_int(c->state, "pid") : 0, "ExitCode",
	    exited ? (int)ctr_int(c->state, "exit_code") : 0, "Error",
	    ctr_str(c->state, "error"), "StartedAt", rfc3339(running ? t : 0),
	    "FinishedAt", rfc3339(exited ? t : 0));
}

/* "127.0.0.1:8080->80/tcp, ..." (the state's ports) as docker's map. */
static json_t *ports_object(const char *ports)
{
	json_t *map = json_object();
	char *copy = strdup(ports), *save = NULL;

	for (char *p = copy ? strtok_r(copy, ", ", &save) : NULL; p;
	     p = strtok_r(NULL, ", ", &save)) {
		char *arrow = strstr(p, "->"), *colon;

		if (!arrow)
			continue;
		*arrow = '\0';
		colon = strrchr(p, ':');
		if (!colon)
			continue;
		*colon = '\0';
		json_t *binding =
		    json_pack("{s:s, s:s}", "HostIp", p, "HostPort", colon + 1);
		json_t *list = json_object_get(map, arrow + 2);

		if (!list) {
			list = json_array();
			json_object_set_new(map, arrow + 2, list);
		}
		json_array_append_new(list, binding);
	}
	free(copy);
	return map;
}

/* What the record's create options say that docker's Config holds. */
static void config_from_options(json_t *meta, json_t *config)
{
	json_t *run = json_object_get(json_object_get(meta, "config"), "run");
	const char *keys[][2] = {{"Tty", "tty"},
				 {"OpenStdin", "interactive"},
				 {"Hostname", "hostname"},
				 {"WorkingDir", "workdir"},
				 {"User", "user"}};

	for (size_t i = 0; run && config && i < sizeof(keys) / sizeof(*keys);
	     i++) {
		json_t *v = json_object_get(run, keys[i][1]);

		if (json_is_integer(v))
			json_object_set_new(
			    config, keys[i][0],
			    json_boolean(json_integer_value(v)));
		else if (json_is_string(v))
			json_object_set(config, keys[i][0], v);
	}
}

SM_API int sm_container_inspect_json(struct sm_container *k, char **json,
				     struct sm_error *err)
{
	struct ctr *c = k ? &k->rec : NULL;
	char name[sizeof(c->name) + 1];
	json_t *o;
	int ret;

	if (!k || !json || !k->recorded)
		return sm_err(err, -EINVAL,
			      "sm_container_inspect_json: a recorded "
			      "container and json are required");
	if ((ret = ctr_load(c, err)))
		return ret;
	snprintf(name, sizeof(name), "/%s", c->name);
	o = json_pack(
	    "{s:s, s:o, s:o, s:s, s:s, s:{s:b}, s:{s:s, s:i}, s:{s:o}}", "Id",
	    c->id, "Created", rfc3339(ctr_int(c->meta, "created_ns")), "State",
	    state_object(c), "Image", ctr_str(c->meta, "image"), "Name", name,
	    "HostConfig", "AutoRemove",
	    json_is_true(json_object_get(c->meta, "auto_remove")), "Config",
	    "Image", ctr_str(c->meta, "image"), "StopTimeout",
	    (int)ctr_int(c->meta, "stop_timeout"), "NetworkSettings", "Ports",
	    ports_object(ctr_str(c->state, "ports")));
	if (o) {
		path_and_args(c->meta, o);
		config_from_options(c->meta, json_object_get(o, "Config"));
	}
	*json = o ? json_dumps(o, JSON_INDENT(4) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return *json ? 0 : sm_err(err, -ENOMEM, "inspect: out of memory");
}

/*
 * The state file is replaced by a rename when it changes: inotify on the
 * record's directory wakes us; a process killed without a word changes
 * nothing, so a second's timeout rechecks (ctr_load sees its pid gone).
 */
SM_API int sm_container_wait(struct sm_container *k, int *exit_code,
			     struct sm_error *err)
{
	int ino, ret = 0;

	if (!k || !exit_code || !k->recorded)
		return sm_err(err, -EINVAL,
			      "sm_container_wait: a recorded container and "
			      "exit_code are required");
	ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino >= 0 &&
	    inotify_add_watch(ino, k->rec.dir,
			      IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF |
				  IN_MOVE_SELF) < 0) {
		close(ino);
		ino = -1;
	}
	for (;;) {
		struct pollfd p = {.fd = ino, .events = POLLIN};
		char buf[4096];

		if (access(k->rec.dir, F_OK) != 0) {
			ret = sm_err(err, -ENOENT,
				     "container %s was removed before it "
				     "ended",
				     k->rec.name);
			break;
		}
		if ((ret = ctr_load(&k->rec, err)))
			break;
		if (!strcmp(ctr_str(k->rec.state, "status"), "exited")) {
			*exit_code = (int)ctr_int(k->rec.state, "exit_code");
			break;
		}
		if (poll(&p, 1, 1000) > 0 && ino >= 0)
			while (read(ino, buf, sizeof(buf)) > 0) {
				/* drained: the state is read again */
			}
	}
	if (ino >= 0)
		close(ino);
	return ret;
}
