#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/error.h"
#include "vmm/guest_mem.h"

int gm_create(struct guest_mem *gm, const uint64_t (*layout)[2],
	      unsigned nregions, struct sm_error *err)
{
	uint64_t total = 0, off = 0;

	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	if (nregions == 0 || nregions > GM_MAX_REGIONS)
		return sm_err(err, -EINVAL, "guest memory: bad region count %u",
			      nregions);
	for (unsigned i = 0; i < nregions; i++) {
		if (layout[i][1] == 0 || total + layout[i][1] < total)
			return sm_err(err, -EINVAL, "guest memory: bad region size");
		total += layout[i][1];
	}
	/* A memfd, so a snapshot can write it out and a restore can map a
	 * file in its place. */
	gm->fd = memfd_create("supermachine-ram", MFD_CLOEXEC);
	if (gm->fd < 0)
		return sm_err_errno(err, "guest memory: memfd_create");
	if (ftruncate(gm->fd, (off_t)total) < 0) {
		sm_err_errno(err, "guest memory: size %llu MiB",
			     (unsigned long long)(total >> 20));
		gm_destroy(gm);
		return err ? err->code : -ENOMEM;
	}
	gm->base = mmap(NULL, total, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_NORESERVE, gm->fd, 0);
	if (gm->base == MAP_FAILED) {
		gm->base = NULL;
		sm_err_errno(err, "guest memory: mmap %llu MiB",
			     (unsigned long long)(total >> 20));
		gm_destroy(gm);
		return err ? err->code : -ENOMEM;
	}
	/* Guest RAM is no use in a core dump and may hold guest secrets. */
	madvise(gm->base, total, MADV_DONTDUMP);
	gm->total = total;
	gm->nregions = nregions;
	for (unsigned i = 0; i < nregions; i++) {
		gm->regions[i].gpa = layout[i][0];
		gm->regions[i].size = layout[i][1];
		gm->regions[i].host = gm->base + off;
		gm->regions[i].fd_offset = off;
		off += layout[i][1];
	}
	return 0;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->base)
		munmap(gm->base, gm->total);
	if (gm->fd >= 0)
		close(gm->fd);
	gm->base = NULL;
	gm->fd = -1;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (gpa < r->gpa)
			continue;
		/* Written so that no sum can overflow. */
		if (gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}
