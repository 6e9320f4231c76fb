/* Secure layer application (see unpack.c for the rules). */
#ifndef SM_OCI_UNPACK_H
#define SM_OCI_UNPACK_H

#include <stdint.h>

#include "supermachine.h"

struct unpack_opts {
	int rootless;	    /* record ownership in xattrs, refuse devices */
	uint64_t max_entry; /* largest file (bytes) */
	uint64_t max_total; /* largest layer, uncompressed */
};

/* Applies the tar layer at path (gzip/zstd/plain) onto the directory
 * rootfd, with OCI whiteouts. what names the layer in errors. */
int oci_unpack_layer(int rootfd, const char *path, const struct unpack_opts *o,
		     const char *what, struct sm_error *err);

#endif
