/* Store-side image records shared by pull, load and the public calls. */
#ifndef SM_OCI_IMAGE_H
#define SM_OCI_IMAGE_H

#include <pthread.h>

#include "oci/manifest.h"
#include "oci/store.h"

/* Serialised progress reporting. */
struct progress {
	pthread_mutex_t lock;
	sm_pull_progress_fn fn;
	void *opaque;
	unsigned int count;
	/* When set, image_assemble() calls it before unpacking layer i: it
	 * returns once that blob is in the store (0) or will not be (error),
	 * so unpacking overlaps the downloads of later layers. */
	int (*layer_ready)(void *opaque, size_t i, struct sm_error *err);
	void *ready_opaque;
};

void progress_report(struct progress *p, unsigned int index, const char *digest,
		     uint64_t cur, uint64_t total, enum sm_pull_state state);

/*
 * Unpacks the layers of manifest m (blobs already in the store) into
 * ROOT/images/HEX(mdigest) through a temporary directory, with
 * manifest.json, config.json and meta.json beside rootfs/. No-op when the
 * image is already there. Waits for each layer through p->layer_ready.
 */
int image_assemble(struct sm_store *s, const char *mdigest,
		   const struct oci_manifest *m, const char *platform,
		   struct progress *p, struct sm_error *err);

/* Points name at mdigest in refs.json (repo_digest may be NULL). */
int image_tag(struct sm_store *s, const char *name, const char *mdigest,
	      const char *repo_digest, struct sm_error *err);

/* Fills info from the store for mdigest (name may be NULL). */
int image_info(struct sm_store *s, const char *name, const char *mdigest,
	       const char *repo_digest, struct sm_image_info *info);

/*
 * A running VM's hold on an image: a shared flock on ROOT/images/HEX for
 * as long as the returned fd is open. An image held is never deleted:
 * sm_image_remove() refuses to leave it nameless, sm_image_untag() does
 * and the image goes with the first removal after its last VM ended
 * (docs/images.md, "In use"). The fd or -errno.
 */
int image_pin(struct sm_store *s, const char *hex, struct sm_error *err);

/* Pulls ref (parsed) into the store. */
int oci_pull(struct sm_store *s, const char *ref,
	     const struct sm_pull_options *o, struct sm_image_info *info,
	     struct sm_error *err);

#include <jansson.h>
/* refs.json key for a name, or a prefix of an image ID (config digest) or
 * manifest digest; *by_id when a prefix. */
int image_lookup(struct sm_store *s, json_t *refs, const char *ref,
		 const char **key, int *by_id, struct sm_error *err);
#endif
