/*
 * A bundle's process as a VM's run options (bundle.h): the process and
 * its root one to one; mounts as the VM makes them (binds become -v
 * shares, tmpfs stays tmpfs, the kernel file systems the guest mounts
 * itself); cgroup limits and annotations as the VM's size. What has no
 * VM equivalent is noted on the bundle. docs/oci-runtime.md.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle.h"
#include "util/error.h"

#define MAX_CPUS 64

static bool has_option(const struct bundle_mount *m, const char *opt)
{
	for (char **o = m->options; o && *o; o++)
		if (!strcmp(*o, opt))
			return true;
	return false;
}

static int push(char ***list, size_t *n, char *s, struct sm_error *err)
{
	char **grown;

	if (!s)
		return sm_err(err, -ENOMEM, "out of memory");
	grown = realloc(*list, (*n + 2) * sizeof(char *));
	if (!grown) {
		free(s);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	grown[(*n)++] = s;
	grown[*n] = NULL;
	*list = grown;
	return 0;
}

static char *joined(const char *fmt, const char *a, const char *b)
{
	char *s = NULL;

	return asprintf(&s, fmt, a, b) < 0 ? NULL : s;
}

/* tmpfs options the VM's --tmpfs takes; the rest (strictatime,
 * tmpcopyup, propagation) are dropped. */
static bool tmpfs_option_kept(const char *o)
{
	static const char *const keep[] = {"ro",   "rw",     "exec", "noexec",
					   "suid", "nosuid", "dev",  "nodev"};
	static const char *const keyed[] = {
	    "size=", "mode=", "uid=", "gid=", "nr_inodes="};

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (!strcmp(o, keep[i]))
			return true;
	for (size_t i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++)
		if (!strncmp(o, keyed[i], strlen(keyed[i])))
			return true;
	return false;
}

static int map_tmpfs(struct bundle_run *map, const struct bundle_mount *m,
		     struct sm_error *err)
{
	char spec[512];
	size_t n = (size_t)snprintf(spec, sizeof(spec), "%s", m->destination);
	const char *sep = ":";

	if (strchr(m->destination, ':') || n >= sizeof(spec))
		return sm_err(err, -EINVAL,
			      "mount %s: a tmpfs destination with ':' or over "
			      "%zu bytes",
			      m->destination, sizeof(spec) - 1);
	for (char **o = m->options; o && *o; o++) {
		if (!tmpfs_option_kept(*o) || strchr(*o, ','))
			continue;
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%s%s", sep,
				      *o);
		sep = ",";
		if (n >= sizeof(spec))
			return sm_err(err, -EINVAL,
				      "mount %s: tmpfs options too long",
				      m->destination);
	}
	return push(&map->tmpfs, &map->ntmpfs, strdup(spec), err);
}

static int map_bind(struct bundle_run *map, const struct bundle_mount *m,
		    struct sm_error *err)
{
	bool ro = has_option(m, "ro");

	/* the engine's shm directory: the guest's own tmpfs serves it */
	if (!strcmp(m->destination, "/dev/shm"))
		return push(&map->tmpfs, &map->ntmpfs,
			    strdup("/dev/shm:mode=1777,nosuid,nodev"), err);
	if (m->source[0] != '/')
		return sm_err(err, -EINVAL,
			      "mount %s: bind source \"%.256s\" is not an "
			      "absolute path",
			      m->destination, m->source);
	if (strchr(m->source, ':') || strchr(m->destination, ':'))
		return sm_err(err, -EINVAL,
			      "mount %s: a bind path with ':' (%.256s) is not "
			      "supported",
			      m->destination, m->source);
	return push(
	    &map->volumes, &map->nvolumes,
	    joined(ro ? "%s:%s:ro" : "%s:%s", m->source, m->destination), err);
}

static bool is_bind(const struct bundle_mount *m)
{
	return !strcmp(m->type, "bind") ||
	       ((!m->type[0] || !strcmp(m->type, "none")) &&
		(has_option(m, "bind") || has_option(m, "rbind")));
}

static int map_mount(struct bundle *b, struct bundle_run *map,
		     const struct bundle_mount *m, struct sm_error *err)
{
	/* what the guest's init mounts itself, as runc would */
	static const char *const guest_own[] = {"proc", "sysfs", "devpts",
						"devtmpfs"};

	for (size_t i = 0; i < sizeof(guest_own) / sizeof(guest_own[0]); i++)
		if (!strcmp(m->type, guest_own[i]))
			return 0;
	if (!strcmp(m->type, "tmpfs") && !strcmp(m->destination, "/dev"))
		return 0; /* the guest's devtmpfs */
	if (!strcmp(m->type, "tmpfs"))
		return map_tmpfs(map, m, err);
	if (is_bind(m))
		return map_bind(map, m, err);
	bundle_note(b, "mount %.256s (type %.32s): not mounted in the VM",
		    m->destination, m->type);
	return 0;
}

#define MAX_MEMORY_MIB (1ULL << 20) /* 1 TiB */

/* Digits only, at most 19 of them (no sign, no space, no overflow). */
static bool plain_number(const char *s, size_t n)
{
	return n > 0 && n <= 19 && strspn(s, "0123456789") == n;
}

/* "512" (MiB), "512m", "2g": the annotation's size in MiB; 0 if bad or
 * over MAX_MEMORY_MIB. */
static uint64_t parse_mib(const char *s)
{
	size_t n = strspn(s, "0123456789");
	unsigned long long v;

	if (!plain_number(s, n) ||
	    (s[n] && (strchr("mMgG", s[n]) == NULL || s[n + 1])))
		return 0;
	v = strtoull(s, NULL, 10);
	if (s[n] == 'g' || s[n] == 'G')
		v = v <= MAX_MEMORY_MIB >> 10 ? v << 10 : 0;
	return v <= MAX_MEMORY_MIB ? v : 0;
}

static int map_size(struct bundle *b, struct sm_run_options *o,
		    struct sm_error *err)
{
	if (b->memory_limit > 0) {
		uint64_t mib =
		    ((uint64_t)b->memory_limit + (1 << 20) - 1) >> 20;

		if (mib < SM_MIN_MEMORY_MIB)
			bundle_note(b,
				    "linux.resources.memory.limit: %llu MiB "
				    "is below a VM's %u: %u it is",
				    (unsigned long long)mib, SM_MIN_MEMORY_MIB,
				    SM_MIN_MEMORY_MIB);
		o->memory_mib =
		    mib < SM_MIN_MEMORY_MIB ? SM_MIN_MEMORY_MIB : mib;
	}
	if (b->cpu_quota > 0 && b->cpu_period > 0) {
		uint64_t n = ((uint64_t)b->cpu_quota + b->cpu_period - 1) /
			     b->cpu_period;

		o->cpus = (unsigned)(n > MAX_CPUS ? MAX_CPUS : n);
	}
	if (b->ann_memory) {
		o->memory_mib = parse_mib(b->ann_memory);
		if (o->memory_mib < SM_MIN_MEMORY_MIB)
			return sm_err(err, -EINVAL,
				      "annotation io.supermachine.memory: "
				      "\"%.32s\" is not a size from %u MiB to "
				      "1 TiB",
				      b->ann_memory, SM_MIN_MEMORY_MIB);
	}
	if (b->ann_cpus) {
		size_t len = strlen(b->ann_cpus);
		unsigned long n = plain_number(b->ann_cpus, len)
				      ? strtoul(b->ann_cpus, NULL, 10)
				      : 0;

		if (n < 1 || n > MAX_CPUS)
			return sm_err(err, -EINVAL,
				      "annotation io.supermachine.cpus: "
				      "\"%.32s\" is not from 1 to %u",
				      b->ann_cpus, MAX_CPUS);
		o->cpus = (unsigned)n;
	}
	return 0;
}

static int map_root(struct bundle *b, const char *bundle_dir,
		    struct bundle_run *map, struct sm_error *err)
{
	if (b->root_path[0] == '/')
		map->rootfs = strdup(b->root_path);
	else
		map->rootfs = joined("%s/%s", bundle_dir, b->root_path);
	if (!map->rootfs)
		return sm_err(err, -ENOMEM, "out of memory");
	map->o.rootfs = map->rootfs;
	map->o.rootfs_readonly = b->root_readonly;
	return 0;
}

static int map_process(struct bundle *b, struct bundle_run *map,
		       struct sm_error *err)
{
	struct sm_run_options *o = &map->o;

	o->cmd = (const char *const *)b->args;
	o->entrypoint = "";
	o->env = (const char *const *)b->env;
	o->workdir = b->cwd;
	if (asprintf(&map->user, "%u:%u", b->uid, b->gid) < 0) {
		map->user = NULL;
		return sm_err(err, -ENOMEM, "out of memory");
	}
	o->user = map->user;
	o->hostname = b->hostname && *b->hostname ? b->hostname : NULL;
	o->tty = b->terminal;
	o->interactive = 1; /* the engine's stdin, /dev/null when none */
	if (b->no_new_privileges)
		bundle_note(b, "process.noNewPrivileges: the guest's process "
			       "runs with the privileges the VM gives it");
	return 0;
}

int bundle_to_run(struct bundle *b, const char *bundle_dir,
		  struct bundle_run *map, struct sm_error *err)
{
	int r;

	memset(map, 0, sizeof(*map));
	sm_run_options_init(&map->o);
	map->o.pull = SM_PULL_NEVER;
	map->o.no_snapshot = 1;
	r = map_process(b, map, err);
	if (!r)
		r = map_root(b, bundle_dir, map, err);
	for (size_t i = 0; !r && i < b->nmounts; i++)
		r = map_mount(b, map, &b->mounts[i], err);
	if (!r)
		r = map_size(b, &map->o, err);
	/* a new network namespace of the engine's making is an empty one */
	if (!r && b->has_netns && !b->netns_path)
		map->o.network = "none";
	map->o.volumes = (const char *const *)map->volumes;
	map->o.tmpfs = (const char *const *)map->tmpfs;
	if (r)
		bundle_run_free(map);
	return r;
}

void bundle_run_free(struct bundle_run *map)
{
	for (size_t i = 0; i < map->nvolumes; i++)
		free(map->volumes[i]);
	for (size_t i = 0; i < map->ntmpfs; i++)
		free(map->tmpfs[i]);
	free(map->volumes);
	free(map->tmpfs);
	free(map->rootfs);
	free(map->user);
	memset(map, 0, sizeof(*map));
}
