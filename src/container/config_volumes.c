/*
 * A container that runs again keeps its anonymous volumes, as docker's
 * does: each one its record names (meta "volumes", with the target its
 * run mounted it at) takes the place of the `-v /target` or `--mount
 * type=volume,target=/target` that made it, or of the image's VOLUME
 * entry, as a volume by that name. Its "anonymous" mark stays in the
 * volume's directory, so `rm -v` and `volume ls` still see what it is.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/container.h"
#include "run/volumes.h"
#include "util/error.h"
#include "volume/volume.h"

/* The run's own spec that makes an anonymous volume at target, else -1. */
static int anon_spec_at(const char **specs, bool mount, const char *cwd,
			const char *target)
{
	for (int i = 0; specs && specs[i]; i++) {
		struct vol_mount m = {0};
		int r = mount ? vol_parse_mount(specs[i], cwd, &m, NULL)
			      : vol_parse_v(specs[i], cwd, &m, NULL);
		bool hit = !r && m.type == VOL_ANON && m.target &&
			   !strcmp(m.target, target);

		vol_mount_free(&m);
		if (hit)
			return i;
	}
	return -1;
}

static void drop_at(const char **specs, int i)
{
	for (; specs[i]; i++)
		specs[i] = specs[i + 1];
}

static size_t count(const char **specs)
{
	size_t n = 0;

	while (specs && specs[n])
		n++;
	return n;
}

/* "NAME:TARGET[:ro]" in place of spec i (or appended when i < 0). */
static int use_volume(struct ctr_config *cfg, const char *name,
		      const char *target, bool ro, int i, struct sm_error *err)
{
	char *spec;

	if (!cfg->run.volumes &&
	    !(cfg->run.volumes = calloc(VOL_MAX + 1, sizeof(char *))))
		return sm_err(err, -ENOMEM, "out of memory");
	if (cfg->nowned >= sizeof(cfg->owned) / sizeof(cfg->owned[0]) ||
	    (i < 0 && count((const char **)cfg->run.volumes) >= VOL_MAX))
		return sm_err(err, -E2BIG, "too many volumes");
	if (asprintf(&spec, "%s:%s%s", name, target, ro ? ":ro" : "") < 0)
		return sm_err(err, -ENOMEM, "out of memory");
	cfg->owned[cfg->nowned++] = spec;
	((const char **)cfg->run
	     .volumes)[i >= 0 ? (size_t)i
			      : count((const char **)cfg->run.volumes)] = spec;
	return 0;
}

static bool still_there(const char *vdir, const char *name)
{
	char p[PATH_MAX];

	return (size_t)snprintf(p, sizeof(p), "%s/%s/%s", vdir, name,
				VOLUME_ANON_MARK) < sizeof(p) &&
	       access(p, F_OK) == 0;
}

static int reuse_one(struct ctr_config *cfg, const char *name,
		     const char *target, struct sm_error *err)
{
	const char *cwd = cfg->cwd ? cfg->cwd : "/";
	const char **v = (const char **)cfg->run.volumes;
	const char **mounts = (const char **)cfg->run.mounts;
	struct vol_mount m = {0};
	bool ro = false;
	int i = anon_spec_at(v, false, cwd, target);

	if (i >= 0) {
		ro = !vol_parse_v(v[i], cwd, &m, NULL) && m.read_only;
		vol_mount_free(&m);
		return use_volume(cfg, name, target, ro, i, err);
	}
	i = anon_spec_at(mounts, true, cwd, target);
	if (i >= 0) {
		ro = !vol_parse_mount(mounts[i], cwd, &m, NULL) && m.read_only;
		vol_mount_free(&m);
		drop_at(mounts, i);
	}
	return use_volume(cfg, name, target, ro, -1, err);
}

int ctr_config_reuse_anonymous(struct ctr_config *cfg, json_t *meta,
			       struct sm_error *err)
{
	const char *vdir = ctr_str(meta, "volumes_dir");
	json_t *list = json_object_get(meta, "volumes"), *e;
	size_t i;

	if (vdir[0] != '/')
		return 0; /* none recorded */
	json_array_foreach(list, i, e)
	{
		const char *name = ctr_str(e, "name"),
			   *target = ctr_str(e, "target");
		char *clean = vol_clean_path(target);
		int r = 0;

		if (json_is_true(json_object_get(e, "anonymous")) && clean &&
		    strcmp(clean, "/") && vol_valid_name(name) &&
		    still_there(vdir, name))
			r = reuse_one(cfg, name, clean, err);
		free(clean);
		if (r)
			return r;
	}
	return 0;
}
