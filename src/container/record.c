/* Container records on disk (container.h, docs/containers.md). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/container.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int set_err(struct sm_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(struct sm_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int ctr_root(char *buf, size_t size, struct sm_error *err)
{
	const char *env = getenv("SUPERMACHINE_RUNTIME");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n, r;

	if (env && *env)
		n = snprintf(buf, size, "%s/containers", env);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/run/supermachine/containers");
	else if (xdg && *xdg)
		n = snprintf(buf, size, "%s/supermachine/containers", xdg);
	else
		n = snprintf(buf, size, "/tmp/supermachine-%u/containers",
			     (unsigned)geteuid());
	if (n < 0 || (size_t)n >= size)
		return set_err(err, -ENAMETOOLONG,
			       "runtime directory path too long");
	r = sm_mkdir_p(buf, 0700);
	if (r)
		return set_err(err, r, "create the runtime directory %s: %s",
			       buf, strerror(-r));
	return 0;
}

__attribute__((noinline)) int ctr_join(char *buf, size_t size, const char *dir,
				       const char *file)
{
	int n = snprintf(buf, size, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int ctr_path(const struct ctr *c, const char *file, char *buf, size_t size)
{
	return ctr_join(buf, size, c->dir, file);
}

const char *ctr_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

int64_t ctr_int(json_t *obj, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(obj, key));
}

/* ---- names ---- */

static bool valid_name(const char *n)
{
	/* docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
	if (!isalnum((unsigned char)n[0]) || strlen(n) < 2 || strlen(n) > 127)
		return false;
	for (const char *p = n; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return false;
	return true;
}

static void random_name(char *buf, size_t size, unsigned attempt)
{
	static const char *const adj[] = {
	    "brave",  "calm",  "eager",	 "fancy", "gentle", "happy",
	    "jolly",  "keen",  "lucid",	 "merry", "nifty",  "proud",
	    "quirky", "swift", "tender", "vivid",
	};
	static const char *const who[] = {
	    "turing",	"hopper",  "lovelace", "ritchie",
	    "thompson", "knuth",   "dijkstra", "hamilton",
	    "liskov",	"lamport", "shannon",  "babbage",
	    "noether",	"curie",   "tesla",    "franklin",
	};
	unsigned char r[2];

	if (getentropy(r, sizeof(r)))
		r[0] = r[1] = (unsigned char)attempt;
	if (attempt < 8)
		snprintf(buf, size, "%s_%s", adj[r[0] % 16], who[r[1] % 16]);
	else
		snprintf(buf, size, "%s_%s%u", adj[r[0] % 16], who[r[1] % 16],
			 attempt);
}

/* ---- reading records ---- */

static json_t *load_json(const char *dir, const char *file)
{
	char path[PATH_MAX];

	if (ctr_join(path, sizeof(path), dir, file))
		return NULL;
	return json_load_file(path, 0, NULL);
}

static int open_record(struct ctr *c, const char *root, const char *id)
{
	memset(c, 0, sizeof(*c));
	if (ctr_join(c->dir, sizeof(c->dir), root, id))
		return -ENAMETOOLONG;
	c->meta = load_json(c->dir, "meta");
	if (!c->meta)
		return -ENOENT; /* being created or removed */
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->name, sizeof(c->name), "%s", ctr_str(c->meta, "name"));
	return 0;
}

void ctr_release(struct ctr *c)
{
	json_decref(c->meta);
	json_decref(c->state);
	c->meta = c->state = NULL;
}

void ctr_list_free(struct ctr *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ctr_release(&list[i]);
	free(list);
}

static int by_created_desc(const void *a, const void *b)
{
	int64_t x = ctr_int(((const struct ctr *)a)->meta, "created_ns");
	int64_t y = ctr_int(((const struct ctr *)b)->meta, "created_ns");

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Record directories without meta: a create killed before its last
 * write; and .rm-ID, a removal cut short. Called with root/.lock held
 * exclusively, which every create holds until its meta is written, so
 * none of them is in progress.
 */
static void drop_unfinished(const char *root)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(root);

	while (d && (de = readdir(d))) {
		if (!strncmp(de->d_name, ".rm-", 4) &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", root,
				     de->d_name) < sizeof(path)) {
			sm_rm_tree(path); /* a removal cut short */
			continue;
		}
		if (strlen(de->d_name) != CTR_ID_LEN ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s/meta", root,
				     de->d_name) >= sizeof(path) ||
		    access(path, F_OK) == 0 || errno != ENOENT)
			continue;
		path[strlen(path) - strlen("/meta")] = '\0';
		sm_rm_tree(path);
	}
	if (d)
		closedir(d);
}

/* drop_unfinished when no create holds the lock (never waits for it). */
static void drop_unfinished_if_idle(const char *root)
{
	char lock[PATH_MAX + 8];
	int lfd;

	snprintf(lock, sizeof(lock), "%s/.lock", root);
	lfd = open(lock, O_RDWR | O_CLOEXEC);
	if (lfd < 0)
		return;
	if (flock(lfd, LOCK_EX | LOCK_NB) == 0)
		drop_unfinished(root);
	close(lfd);
}

int ctr_list(struct ctr **list, size_t *n, struct sm_error *err)
{
	char root[PATH_MAX];
	struct ctr *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = ctr_root(root, sizeof(root), err);

	if (r)
		return r;
	drop_unfinished_if_idle(root);
	d = opendir(root);
	if (!d)
		return set_err(err, -errno, "read %s: %s", root,
			       strerror(errno));
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != CTR_ID_LEN)
			continue;
		if (cnt == cap) {
			struct ctr *nv =
			    realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv) {
				closedir(d);
				ctr_list_free(v, cnt);
				return set_err(err, -ENOMEM, "out of memory");
			}
			v = nv;
		}
		if (open_record(&v[cnt], root, de->d_name) == 0)
			cnt++;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), by_created_desc);
	*list = v;
	*n = cnt;
	return 0;
}

int ctr_find(struct ctr *c, const char *ref, struct sm_error *err)
{
	struct ctr *v;
	size_t n, hit = (size_t)-1, hits = 0;
	int r = ctr_list(&v, &n, err);

	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, ref) == 0 || strcmp(v[i].id, ref) == 0) {
			hit = i;
			hits = 1;
			break;
		}
		if (strlen(ref) >= 1 &&
		    strncmp(v[i].id, ref, strlen(ref)) == 0) {
			hit = i;
			hits++;
		}
	}
	if (hits == 1) {
		*c = v[hit];
		memset(&v[hit], 0, sizeof(v[hit]));
	}
	ctr_list_free(v, n);
	if (hits == 0)
		return set_err(err, -ENOENT, "no such container: %s", ref);
	if (hits > 1)
		return set_err(err, -EINVAL,
			       "container id prefix %s is ambiguous", ref);
	return 0;
}

/* ---- state ---- */

static bool pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int ctr_load(struct ctr *c, struct sm_error *err)
{
	json_decref(c->state);
	c->state = load_json(c->dir, "state");
	if (!c->state)
		c->state = json_pack("{s:s}", "status", "created");
	if (!c->state)
		return set_err(err, -ENOMEM, "out of memory");
	if (strcmp(ctr_str(c->state, "status"), "running") == 0 &&
	    !pid_alive((pid_t)ctr_int(c->state, "pid"))) {
		/* its process died without recording the end (SIGKILL) */
		json_object_set_new(c->state, "status", json_string("exited"));
		json_object_set_new(c->state, "exit_code", json_integer(-1));
	}
	return 0;
}

bool ctr_running(const struct ctr *c)
{
	return c->state && strcmp(ctr_str(c->state, "status"), "running") == 0;
}

/* A record's file, whole or not at all, even across a crash. */
static int write_json(const json_t *j, const char *path, struct sm_error *err)
{
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);

	if (!text)
		return set_err(err, -ENOMEM, "write %s: out of memory", path);
	return sm_atomic_write_buf(path, 0644, text, strlen(text), err);
}

int ctr_write_state(struct ctr *c, const json_t *state, struct sm_error *err)
{
	char path[PATH_MAX];

	ctr_path(c, "state", path, sizeof(path));
	return write_json(state, path, err);
}

int ctr_write_meta(struct ctr *c, struct sm_error *err)
{
	char path[PATH_MAX];

	if (ctr_path(c, "meta", path, sizeof(path)))
		return set_err(err, -ENAMETOOLONG, "%s/meta: path too long",
			       c->dir);
	return write_json(c->meta, path, err);
}

/* ---- creating and removing ---- */

static int name_taken(const char *name)
{
	struct ctr *v;
	size_t n;
	int taken = 0;

	if (ctr_list(&v, &n, NULL))
		return 0;
	for (size_t i = 0; i < n; i++)
		taken |= strcmp(v[i].name, name) == 0;
	ctr_list_free(v, n);
	return taken;
}

static int pick_name(const char *name, char *out, size_t size,
		     struct sm_error *err)
{
	if (name) {
		if (!valid_name(name))
			return set_err(err, -EINVAL,
				       "invalid container name \"%s\": only "
				       "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
				       name);
		if (name_taken(name))
			return set_err(
			    err, -EEXIST,
			    "the container name \"%s\" is already in use; "
			    "remove it first (supermachine rm %s)",
			    name, name);
		snprintf(out, size, "%s", name);
		return 0;
	}
	for (unsigned attempt = 0;; attempt++) {
		random_name(out, size, attempt);
		if (!name_taken(out))
			return 0;
	}
}

static void random_id(char *id)
{
	unsigned char r[CTR_ID_LEN / 2];

	if (getentropy(r, sizeof(r)))
		memset(r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++)
		sprintf(id + 2 * i, "%02x", r[i]);
}

int ctr_create(struct ctr *c, const char *name, json_t *meta,
	       struct sm_error *err)
{
	char root[PATH_MAX], lock[PATH_MAX + 8], path[PATH_MAX];
	int r = ctr_root(root, sizeof(root), err), lfd;

	memset(c, 0, sizeof(*c));
	c->meta = meta;
	if (r)
		return r;
	snprintf(lock, sizeof(lock), "%s/.lock", root);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX))
		r = set_err(err, -errno, "lock %s: %s", lock, strerror(errno));
	if (!r) {
		drop_unfinished(root);
		r = pick_name(name, c->name, sizeof(c->name), err);
	}
	if (!r) {
		random_id(c->id);
		if (ctr_join(c->dir, sizeof(c->dir), root, c->id) ||
		    mkdir(c->dir, 0700))
			r = set_err(err, -errno, "create %s: %s", c->dir,
				    strerror(errno));
	}
	if (!r) {
		json_object_set_new(meta, "id", json_string(c->id));
		json_object_set_new(meta, "name", json_string(c->name));
		ctr_path(c, "meta", path, sizeof(path));
		/* written last: a record without meta is invisible */
		r = write_json(meta, path, err);
	}
	if (lfd >= 0)
		close(lfd);
	return r;
}

static int remove_in_place(struct ctr *c, struct sm_error *err);

/*
 * Renamed out of the way first: the process that owns a record may write
 * its last state a moment after a `rm -f` saw it dead (a keeper, after
 * reaping its VMM); that write then finds no record rather than filling
 * one being removed. What a crash leaves as .rm-ID goes with the next
 * create (drop_unfinished).
 */
int ctr_remove(struct ctr *c, struct sm_error *err)
{
	char gone[PATH_MAX];
	const char *slash = strrchr(c->dir, '/');

	if (slash && (size_t)snprintf(gone, sizeof(gone), "%.*s/.rm-%s",
				      (int)(slash - c->dir), c->dir,
				      c->id) < sizeof(gone)) {
		if (rename(c->dir, gone) == 0) {
			sm_rm_tree(gone);
			return 0;
		}
		if (errno == ENOENT)
			return 0; /* removed already */
	}
	return remove_in_place(c, err);
}

/* The files of a record, then its directory. */
static int remove_in_place(struct ctr *c, struct sm_error *err)
{
	static const char *const files[] = {"state",	 "container.log",
					    "vmm.log",	 "ctl.sock",
					    "life.lock", "meta"};
	char path[PATH_MAX];
	DIR *d;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ctr_path(c, files[i], path, sizeof(path));
		unlink(path);
	}
	/* what a write cut short by a crash left (sm_atomic_write) */
	if ((d = opendir(c->dir))) {
		for (struct dirent *e; (e = readdir(d));)
			if (strstr(e->d_name, ".tmp.")) {
				ctr_path(c, e->d_name, path, sizeof(path));
				unlink(path);
			}
		closedir(d);
	}
	if (rmdir(c->dir) && errno != ENOENT)
		return set_err(err, -errno, "remove %s: %s", c->dir,
			       strerror(errno));
	return 0;
}

/*
 * The process that owns the record's VM (a supervisor, a foreground run)
 * holds this lock until it is gone, its socket removed: a start waits
 * for the last one's end, and two starts never both run a VM.
 */
int ctr_lock_life(const struct ctr *c, int wait_ms)
{
	char path[PATH_MAX];
	int fd, waited = 0;

	if (ctr_path(c, "life.lock", path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = -errno;

			close(fd);
			return e;
		}
		if (waited >= wait_ms) {
			close(fd);
			return -EBUSY;
		}
		nanosleep(&ts, NULL);
		waited += 20;
	}
	return fd;
}
