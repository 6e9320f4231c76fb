/*
 * Content-addressed store (layout in docs/images.md):
 *   ROOT/blobs/sha256/HEX     manifests, configs, layers as downloaded
 *   ROOT/images/HEX/          one unpacked image per manifest digest:
 *                             rootfs/, config.json, manifest.json, meta.json
 *   ROOT/refs.json            name -> manifest digest
 *   ROOT/locks/, ROOT/tmp/    lock files; temporaries renamed into place
 */
#ifndef SM_OCI_STORE_H
#define SM_OCI_STORE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <sys/types.h>

#include "supermachine.h"

struct sm_store {
	char *root;
	int rootless;	 /* ownership recorded in xattrs, no mknod */
	char **insecure; /* registries allowed over plain HTTP */
	size_t n_insecure;
};

/* malloc'd "ROOT/<fmt>"; NULL on ENOMEM. */
char *store_path(struct sm_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ROOT/blobs/sha256/HEX for a valid digest. */
char *store_blob_path(struct sm_store *s, const char *digest);
int store_blob_exists(struct sm_store *s, const char *digest);

/* flock()ed ROOT/locks/NAME.lock; returns the fd (>= 0) or -errno. */
int store_lock(struct sm_store *s, const char *name, int exclusive,
	       struct sm_error *err);
void store_unlock(int fd);

/* Writes data to path through a temporary file and rename(). */
int store_write_file(const char *path, const void *data, size_t len,
		     struct sm_error *err);
/* Reads a whole file (at most max bytes); *out is NUL terminated. */
int store_read_file(const char *path, size_t max, char **out, size_t *len,
		    struct sm_error *err);

/* Streams a blob into the store while hashing it. */
struct blob_writer {
	struct sm_store *s;
	char *tmp;
	int fd;
	EVP_MD_CTX *md;
	uint64_t written;
	uint64_t limit; /* expected size; more is an error */
};

int blob_writer_open(struct blob_writer *w, struct sm_store *s, uint64_t limit,
		     struct sm_error *err);
int blob_writer_write(struct blob_writer *w, const void *p, size_t n);
/* Truncates to nothing (restart of a download). */
int blob_writer_reset(struct blob_writer *w);
/* Verifies size (when want_size >= 0) and digest, renames into place. */
int blob_writer_commit(struct blob_writer *w, const char *want_digest,
		       int64_t want_size, char *got_digest /* [72] */,
		       struct sm_error *err);
void blob_writer_abort(struct blob_writer *w);

/* sha256 of a buffer as "sha256:HEX" into out[72]. */
void digest_buffer(const void *p, size_t n, char *out);
/* Stores a small blob (manifest, config) from memory. */
int store_put_blob(struct sm_store *s, const void *p, size_t n,
		   char *digest_out, struct sm_error *err);

/* refs.json, read and written under the "refs" lock by the caller. */
int store_refs_load(struct sm_store *s, json_t **refs, struct sm_error *err);
int store_refs_save(struct sm_store *s, json_t *refs, struct sm_error *err);

/* Removes the temporaries of pulls and loads that died (tmp/ entries,
 * refs.json.tmp.*) when no live process can own them (store.c). */
void store_clean_stale(struct sm_store *s);

/* Removes a directory tree without following symlinks. */
int store_rmtree_at(int dirfd, const char *name);
int store_rmtree(const char *path);

#endif
