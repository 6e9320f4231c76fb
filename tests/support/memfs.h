/*
 * An in-memory FUSE backend for the tests and fuzz targets (not part of
 * the library): every file a memfd, the tree in the backend, nothing on
 * the host to race with. docs/fuse.md, "memfs".
 */
#ifndef SM_TESTS_MEMFS_H
#define SM_TESTS_MEMFS_H

#include "fuse/fuse_server.h"

extern const struct fuse_backend_ops fuse_memfs_ops;
int fuse_memfs_new(void **be, struct sm_error *err);

#endif
