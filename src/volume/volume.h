/*
 * Volumes as objects (sm_volume_* in supermachine.h, docs/volumes.md,
 * "Volume commands"): store.c lists, makes and deletes ROOT/volumes/NAME;
 * users.c writes into a container's record which volumes its run uses and
 * reads that back, for docker's "volume is in use" and for rm -v.
 *
 * No daemon counts references, so a run holds ROOT/locks/volumes.lock
 * shared from before its VM makes its volumes until its record names
 * them; rm and prune hold it exclusive while they decide and delete: a
 * volume is never deleted between its making and its recording.
 */
#ifndef SM_VOLUME_H
#define SM_VOLUME_H

#include <stdbool.h>
#include <stddef.h>

#include "supermachine.h"

struct ctr;

/* ROOT/volumes/ID/anonymous: the volume was made by a run (-v GUEST, an
 * image VOLUME), not by a name (volume_dirs.c writes it). */
#define VOLUME_ANON_MARK "anonymous"

/* Locks the volumes of the store at root; the fd, or -errno (err). */
int volume_lock(const char *root, bool exclusive, struct sm_error *err);
void volume_unlock(int fd);

/* One container's use of one volume. */
struct volume_use {
	char name[136];
	char id[72]; /* the container's */
	bool anonymous;
};

/*
 * Every use the container records make of volumes in vdir (a realpath,
 * ROOT/volumes), records from before this was recorded having none.
 * Returns the count, *uses (free()) the uses; -errno and err.
 */
int volume_uses(const char *vdir, struct volume_use **uses,
		struct sm_error *err);

/*
 * Writes into c's record ("volumes_dir", "volumes": [{"name",
 * "anonymous"}]) the named and anonymous volumes of vm, a VM made from
 * store_root. Nothing when it has none.
 */
int volume_record_users(struct ctr *c, const char *store_root, struct sm_vm *vm,
			struct sm_error *err);

/*
 * Deletes ROOT/volumes/NAME (name checked valid by the caller): renamed
 * out of sight first, then its files, made removable where a guest took
 * away the owner's permissions. 0 or -errno (err).
 */
int volume_delete(const char *vdir, const char *name, struct sm_error *err);

#endif
