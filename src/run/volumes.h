/*
 * Volumes for sm_run() (docs/volumes.md): docker's -v, --mount and
 * --tmpfs, plus anonymous volumes for the image's VOLUME entries.
 *
 * vol_plan() is pure (parsing, path cleaning, duplicate and slot checks);
 * vol_prepare() touches the host: it resolves bind sources, creates named
 * and anonymous volume directories under ROOT/volumes and copies the
 * image's content into new ones.
 */
#ifndef SM_RUN_VOLUMES_H
#define SM_RUN_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>

#include "supermachine.h"

/* virtio-fs devices every run VM has for volumes (tags smvol0..). */
#define VOL_SLOTS 6
#define VOL_MAX 64 /* mounts of all kinds in one run */

enum vol_type { VOL_BIND, VOL_NAMED, VOL_ANON, VOL_TMPFS };

struct vol_mount {
	enum vol_type type;
	char *source;	  /* bind: absolute host path; named: the name */
	char *target;	  /* clean absolute guest path, never "/" */
	char *tmpfs_opts; /* tmpfs: validated "k=v,flag" list, may be "" */
	bool read_only;
	bool no_copy;	  /* volume: do not copy the image's content in */
	bool create_host; /* bind from -v: create a missing source dir */
	bool from_image;  /* anonymous, for an image VOLUME entry */
	/* filled by vol_prepare() */
	char *host_dir; /* directory served (bind, named, anon), or the file */
	bool is_file;	/* bind of a regular file: host_dir is that file */
	char *anon_dir; /* anon: ROOT/volumes/ID, removed by vol_remove_anon */
	int slot;	/* virtio-fs slot, -1 for tmpfs */
};

struct vol_set {
	struct vol_mount m[VOL_MAX];
	size_t n;
};

/*
 * Parses every spec, adds anonymous volumes for image_volumes not covered
 * by a mount, sorts mounts parents first and assigns slots. cwd resolves
 * relative bind sources ("./x", "../x", "."). On failure set is freed.
 */
int vol_plan(const char *const *v, const char *const *mounts,
	     const char *const *tmpfs, char *const *image_volumes,
	     const char *cwd, struct vol_set *set, struct sm_error *err);
void vol_set_free(struct vol_set *set);
/* What one parsed mount holds (zeroed after). */
void vol_mount_free(struct vol_mount *m);

/*
 * Encodes the SM_S_MOUNT/SM_S_TMPFS spec records (src/proto/proto.h) into
 * buf, or only counts the bytes when buf is NULL; returns the byte count.
 */
size_t vol_spec_records(const struct vol_set *set, unsigned char *buf);

/* Single-spec parsers (used by vol_plan, exported for the unit tests). */
int vol_parse_v(const char *spec, const char *cwd, struct vol_mount *m,
		struct sm_error *err);
int vol_parse_mount(const char *spec, const char *cwd, struct vol_mount *m,
		    struct sm_error *err);
int vol_parse_tmpfs(const char *spec, struct vol_mount *m,
		    struct sm_error *err);
/* Cleans an absolute path lexically ("//a/./b/../c/" -> "/a/c");
 * NULL for a relative path or on ENOMEM. */
char *vol_clean_path(const char *path);
/* docker's local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
bool vol_valid_name(const char *name);

/*
 * Host side: bind sources must exist (created for -v) and be a directory
 * or a regular file (anything else is refused), named volumes live
 * in ROOT/volumes/NAME/_data, anonymous ones in ROOT/volumes/ID/_data;
 * new or empty volumes get the image's content at their target (read
 * below rootfs, never following links out of it).
 */
int vol_prepare(struct vol_set *set, const char *store_root, const char *rootfs,
		int owners_in_xattr, struct sm_error *err);
/* Deletes the anonymous volumes vol_prepare() made (docker run --rm). */
void vol_remove_anon(struct vol_set *set);

#endif
