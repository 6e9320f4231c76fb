/* Small file-system helpers shared by the library. */
#ifndef SM_UTIL_FS_H
#define SM_UTIL_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sm_error;

/* Removes dir and everything below it, best effort, never following
 * symbolic links. */
void sm_rm_tree(const char *dir);

/*
 * The one way the library writes files (docs/architecture.md, "Files").
 */

/* write(2) until all n bytes are written (EINTR retried). 0 or -errno. */
int sm_file_write_all(int fd, const void *p, size_t n);

/* mkdir -p: every missing component, with mode. 0 or -errno. */
int sm_mkdir_p(const char *path, mode_t mode);

/* fsync of the directory that holds path (after a rename or a create
 * there). 0 or -errno. */
int sm_fsync_parent(const char *path);

/*
 * Replaces path atomically and durably: fill(fd, arg) writes a new file
 * under a unique temporary name next to it (mode), which is fsynced,
 * renamed over path, and the directory fsynced. A crash leaves path old
 * or new, never partial; on failure the temporary file is removed and
 * path is as it was. fill returns 0 or -errno (with err set or not).
 */
int sm_atomic_write(const char *path, mode_t mode,
		    int (*fill)(int fd, void *arg, struct sm_error *err),
		    void *arg, struct sm_error *err);
/* sm_atomic_write of len bytes at data. */
int sm_atomic_write_buf(const char *path, mode_t mode, const void *data,
			size_t len, struct sm_error *err);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t sm_now_ns(void);

/* The most descriptors sm_close_fds_except() keeps. */
#define SM_KEEP_FDS_MAX 16

/*
 * Closes every descriptor of the calling thread's table numbered `lowest`
 * or above, except the n (at most SM_KEEP_FDS_MAX) in keep. -EINVAL when
 * keep is too long, else 0.
 */
int sm_close_fds_except(int lowest, const int *keep, size_t n);

#endif
