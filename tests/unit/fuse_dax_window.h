/*
 * A DAX window for the FUSE unit tests: the server maps file ranges into
 * `win` through `dax`, as the VMM maps them into the guest's DAX window.
 * The test maps `win` (PROT_NONE, its own size) before it starts a server.
 */
#ifndef SM_TEST_FUSE_DAX_WINDOW_H
#define SM_TEST_FUSE_DAX_WINDOW_H

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "fuse/fuse_server.h"

static uint8_t *win;

static int cb_map(void *o, uint64_t off, int fd, uint64_t foff, uint64_t len,
		  int wr)
{
	(void)o;
	return mmap(win + off, len, PROT_READ | (wr ? PROT_WRITE : 0),
		    MAP_SHARED | MAP_FIXED, fd, (off_t)foff) == MAP_FAILED
		   ? -errno
		   : 0;
}

/* Back to an inaccessible reservation, as the VMM's window is. */
static int cb_unmap(void *o, uint64_t off, uint64_t len)
{
	(void)o;
	return mmap(win + off, len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
		    0) == MAP_FAILED
		   ? -errno
		   : 0;
}

static const struct fuse_dax_ops dax = {cb_map, cb_unmap};

#endif
