/*
 * cgroup v2 limits for a container's VMM process (docs/security.md,
 * "cgroups"): --pids-limit, --cpu-shares, --cgroup-parent, as docker
 * spells them. The VMM moves itself into CGROOT/PARENT/ID before its VM
 * exists; memory.max is the guest's memory plus the VMM's own overhead.
 * The cgroup goes when the VMM has ended: removed by the keeper of a
 * jailed VMM, or by the VMM itself after moving back where it came from.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container.h"
#include "util/error.h"

#define CGROOT "/sys/fs/cgroup"
#define DEFAULT_GUEST_MIB 512 /* the library's default guest memory */
/* the VMM's own: threads, FUSE tables, slirp, page tables of the guest */
#define OVERHEAD_MIB 128

static int write_file(const char *dir, const char *file, const char *val,
		      struct sm_error *err)
{
	char path[PATH_MAX];
	int fd, ret = 0;
	size_t n = strlen(val);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, n) != (ssize_t)n)
		ret = sm_err_errno(err, "cgroup: write %s to %s", val, path);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int cgroup_path(const struct sm_container_options *j, const char *id,
		       char *buf, size_t size)
{
	const char *parent =
	    j->cgroup_parent ? j->cgroup_parent : "supermachine";

	if (strstr(parent, "..") || parent[0] == '/' || !*parent ||
	    (size_t)snprintf(buf, size, CGROOT "/%s/%s", parent, id) >= size)
		return -EINVAL;
	return 0;
}

bool ctr_cgroup_wanted(const struct sm_container_options *j)
{
	return j->pids_limit || j->cpu_shares || j->cgroup_parent;
}

/* docker's --cpu-shares (2..262144, default 1024) as cgroup v2 cpu.weight */
static unsigned weight_of(unsigned shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 +
	       (unsigned)(((unsigned long long)(shares - 2) * 9999) / 262142);
}

static int delegate(const char *dir, struct sm_error *err)
{
	/* every ancestor hands the three controllers down */
	char path[PATH_MAX];
	char *slash;

	snprintf(path, sizeof(path), "%s", dir);
	slash = strrchr(path, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (strcmp(path, CGROOT) && delegate(path, err))
		return err ? err->code : -EIO;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return sm_err_errno(err, "cgroup: mkdir %s", dir);
	return write_file(path, "cgroup.subtree_control", "+memory +pids +cpu",
			  err);
}

/* Where this process was (a path under CGROOT), to go back there. */
static char origin[PATH_MAX];

static void remember_origin(void)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX];

	snprintf(origin, sizeof(origin), CGROOT);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::/", 4)) {
			line[strcspn(line, "\n")] = '\0';
			if (strlen(line + 3) < sizeof(origin) - sizeof(CGROOT))
				snprintf(origin, sizeof(origin), CGROOT "%.*s",
					 (int)(sizeof(origin) - sizeof(CGROOT)),
					 strcmp(line + 3, "/") ? line + 3 : "");
		}
	if (f)
		fclose(f);
}

int ctr_cgroup_enter(const struct sm_container_options *j, const char *id,
		     struct sm_error *err)
{
	char dir[PATH_MAX], v[32];
	struct stat st;
	unsigned mib =
	    j->run->memory_mib ? j->run->memory_mib : DEFAULT_GUEST_MIB;
	int ret;

	if (!ctr_cgroup_wanted(j))
		return 0;
	if (stat(CGROOT "/cgroup.controllers", &st) < 0)
		return sm_err(
		    err, -ENOTSUP,
		    "cgroup limits need cgroup v2 mounted at " CGROOT);
	if (cgroup_path(j, id, dir, sizeof(dir)))
		return sm_err(err, -EINVAL,
			      "--cgroup-parent %s: want a relative "
			      "path without ..",
			      j->cgroup_parent);
	ret = delegate(dir, err);
	snprintf(v, sizeof(v), "%llu",
		 ((unsigned long long)mib + mib / 4 + OVERHEAD_MIB) << 20);
	if (!ret)
		ret = write_file(dir, "memory.max", v, err);
	if (!ret && j->pids_limit) {
		snprintf(v, sizeof(v), "%u", j->pids_limit);
		ret = write_file(dir, "pids.max", v, err);
	}
	if (!ret && j->cpu_shares) {
		snprintf(v, sizeof(v), "%u", weight_of(j->cpu_shares));
		ret = write_file(dir, "cpu.weight", v, err);
	}
	remember_origin();
	if (!ret) /* the whole process, single-threaded still */
		ret = write_file(dir, "cgroup.procs", "0", err);
	if (ret)
		rmdir(dir);
	return ret;
}

void ctr_cgroup_remove(const struct sm_container_options *j, const char *id)
{
	char dir[PATH_MAX];

	if (ctr_cgroup_wanted(j) && !cgroup_path(j, id, dir, sizeof(dir)))
		rmdir(dir);
}

/* A VMM that was not jailed goes back where it came from, then removes
 * its cgroup. */
void ctr_cgroup_leave(const struct sm_container_options *j, const char *id)
{
	if (!ctr_cgroup_wanted(j) || !origin[0])
		return;
	write_file(origin, "cgroup.procs", "0", NULL);
	ctr_cgroup_remove(j, id);
}
