/*
 * Guest physical memory. Every access to guest memory from the VMM goes
 * through gm_ptr(), which checks that [gpa, gpa+len) lies inside one RAM
 * region (Solo5's rule: one checked accessor, no raw pointer arithmetic on
 * guest addresses anywhere else).
 */
#ifndef SM_VMM_GUEST_MEM_H
#define SM_VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"

#define GM_MAX_REGIONS 4

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;	    /* mapping of this region */
	uint64_t fd_offset; /* offset of the region in the memfd */
};

struct guest_mem {
	int fd;		/* memfd backing all RAM (for snapshots) */
	uint64_t total; /* bytes of RAM */
	uint8_t *base;	/* one host mapping of the whole memfd */
	unsigned nregions;
	struct gm_region regions[GM_MAX_REGIONS];
};

/*
 * Creates RAM of `size` bytes, laid out by the caller-provided region list
 * (gpa, size pairs; sizes must add up to `size`).
 */
int gm_create(struct guest_mem *gm, const uint64_t (*layout)[2],
	      unsigned nregions, struct sm_error *err);
void gm_destroy(struct guest_mem *gm);

/*
 * Writes all RAM to `path` (regions back to back, in order), sparse: only
 * ranges the guest ever touched are written. Atomic (temp + rename).
 */
/* The same into fd, a regular file open for writing (sized, fsynced). */
int gm_save_fd(const struct guest_mem *gm, int fd, struct sm_error *err);
int gm_save_file(const struct guest_mem *gm, const char *path,
		 struct sm_error *err);

/*
 * Creates RAM from a file written by gm_save_file(), mapped MAP_PRIVATE:
 * pages load lazily on first touch and writes stay in this process, so
 * restore time does not grow with memory size and clones share the
 * file's pages. The file must be exactly the layout's size.
 */
int gm_create_from_file(struct guest_mem *gm, const uint64_t (*layout)[2],
			unsigned nregions, const char *path,
			struct sm_error *err);

/* Host pointer for [gpa, gpa+len), or NULL if any byte is outside RAM. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copies in/out of guest memory; -EFAULT if out of range. */
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     uint64_t len);
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);

#endif
