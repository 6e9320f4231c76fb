/*
 * The state directory of each container (ROOT/ID/state.json, exec.fifo)
 * and what the commands derive from it: the status runtime-spec defines,
 * from whether the container's process lives (its pid and start time)
 * and whether start has consumed exec.fifo, as runc does.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

bool oci_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 200 || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789_+.-") == n;
}

int oci_path(char *buf, size_t size, const char *id, const char *name)
{
	int n =
	    name ? snprintf(buf, size, "%s/%s/%s", oci_globals.root, id, name)
		 : snprintf(buf, size, "%s/%s", oci_globals.root, id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void oci_record_name(const char *id, char *buf, size_t size)
{
	size_t i;

	/* a record name is docker's [A-Za-z0-9][A-Za-z0-9_.-]*: '+' is not */
	snprintf(buf, size, "oci-%s", id);
	for (i = 0; buf[i]; i++)
		if (buf[i] == '+')
			buf[i] = '_';
}

uint64_t oci_proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* after the command's ")", field 3 (state) is first: 22 is 20th */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			 "%*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	/* a zombie has ended: its container is stopped */
	return p[2] == 'Z' ? 0 : (uint64_t)start;
}

const char *oci_status(const struct oci_state *st)
{
	char fifo[4200];
	struct stat sb;

	if (!st->starttime || oci_proc_starttime(st->pid) != st->starttime)
		return "stopped";
	if (!oci_path(fifo, sizeof(fifo), st->id, "exec.fifo") &&
	    lstat(fifo, &sb) == 0)
		return "created";
	return "running";
}

int oci_state_save(const struct oci_state *st)
{
	char path[4200], tmp[4300];
	json_t *ann =
	    st->annotations ? json_loads(st->annotations, 0, NULL) : NULL;
	json_t *j =
	    json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:o}", "ociVersion",
		      OCI_SPEC_VERSION, "id", st->id, "pid", (int)st->pid,
		      "bundle", st->bundle, "rootfs", st->rootfs, "created",
		      st->created, "starttime", (json_int_t)st->starttime,
		      "annotations", ann ? ann : json_object());
	int r = -ENOMEM;

	if (j && !oci_path(path, sizeof(path), st->id, "state.json")) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		r = json_dump_file(j, tmp, JSON_COMPACT) ? -EIO : 0;
		if (!r && rename(tmp, path))
			r = -errno;
	}
	json_decref(j);
	return r;
}

static void copy_str(char *dst, size_t size, json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	snprintf(dst, size, "%s", s ? s : "");
}

int oci_state_load(const char *id, struct oci_state *st)
{
	char path[4200];
	json_t *j;

	memset(st, 0, sizeof(*st));
	if (!oci_id_valid(id) || oci_path(path, sizeof(path), id, "state.json"))
		return -ENOENT;
	j = json_load_file(path, 0, NULL);
	if (!j)
		return -ENOENT;
	copy_str(st->id, sizeof(st->id), j, "id");
	copy_str(st->bundle, sizeof(st->bundle), j, "bundle");
	copy_str(st->rootfs, sizeof(st->rootfs), j, "rootfs");
	copy_str(st->created, sizeof(st->created), j, "created");
	st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	st->starttime =
	    (uint64_t)json_integer_value(json_object_get(j, "starttime"));
	st->annotations =
	    json_dumps(json_object_get(j, "annotations"), JSON_COMPACT);
	json_decref(j);
	return 0;
}

int oci_write_pid_file(const char *path, pid_t pid)
{
	char tmp[4200], text[32];
	int fd, n = snprintf(text, sizeof(text), "%d", (int)pid);

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return oci_fail("pid file %s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return oci_fail("pid file %s: %s", tmp, strerror(errno));
	bool ok = write(fd, text, (size_t)n) == n;
	int e = errno;

	ok = !close(fd) && ok;
	if (ok && !rename(tmp, path))
		return 0;
	e = ok ? errno : e;
	unlink(tmp);
	return oci_fail("pid file %s: %s", path, strerror(e ? e : EIO));
}
