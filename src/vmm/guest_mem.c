#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "vmm/guest_mem.h"

/* The regions lie back to back in the one mapping at gm->base. */
static void set_regions(struct guest_mem *gm, const uint64_t (*layout)[2],
			unsigned nregions, uint64_t total)
{
	uint64_t off = 0;

	gm->total = total;
	gm->nregions = nregions;
	for (unsigned i = 0; i < nregions; i++) {
		gm->regions[i].gpa = layout[i][0];
		gm->regions[i].size = layout[i][1];
		gm->regions[i].host = gm->base + off;
		gm->regions[i].fd_offset = off;
		off += layout[i][1];
	}
}

/* The RAM size of a region list, refused unless every region has a size
 * and the sum fits (a wrapped sum would map less than the regions say). */
static int layout_total(const uint64_t (*layout)[2], unsigned nregions,
			uint64_t *total, struct sm_error *err)
{
	*total = 0;
	if (nregions == 0 || nregions > GM_MAX_REGIONS)
		return sm_err(err, -EINVAL, "guest memory: bad region count %u",
			      nregions);
	for (unsigned i = 0; i < nregions; i++) {
		if (layout[i][1] == 0 || *total + layout[i][1] < *total)
			return sm_err(err, -EINVAL,
				      "guest memory: bad region size");
		*total += layout[i][1];
	}
	return 0;
}

int gm_create(struct guest_mem *gm, const uint64_t (*layout)[2],
	      unsigned nregions, struct sm_error *err)
{
	uint64_t total;
	int ret;

	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	ret = layout_total(layout, nregions, &total, err);
	if (ret)
		return ret;
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
	set_regions(gm, layout, nregions, total);
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

static int write_range(int fd, const uint8_t *src, off_t off, size_t len)
{
	while (len) {
		ssize_t n = pwrite(fd, src, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		src += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copies only the memfd's data ranges (SEEK_DATA/SEEK_HOLE). */
static int copy_sparse(const struct guest_mem *gm, int out)
{
	off_t pos = 0, end = (off_t)gm->total;

	while (pos < end) {
		off_t data = lseek(gm->fd, pos, SEEK_DATA), hole;

		if (data < 0)
			return errno == ENXIO ? 0
					      : -1; /* ENXIO: no more data */
		hole = lseek(gm->fd, data, SEEK_HOLE);
		if (hole < 0 || hole > end)
			hole = end;
		if (write_range(out, gm->base + data, data,
				(size_t)(hole - data)))
			return -1;
		pos = hole;
	}
	return 0;
}

int gm_save_fd(const struct guest_mem *gm, int fd, struct sm_error *err)
{
	if (ftruncate(fd, (off_t)gm->total) < 0)
		return sm_err_errno(err, "size the memory file");
	/* A restored VM has no memfd: its mapping is the only source. */
	if (gm->fd >= 0 ? copy_sparse(gm, fd)
			: write_range(fd, gm->base, 0, gm->total))
		return sm_err_errno(err, "write the memory file");
	if (fsync(fd) < 0)
		return sm_err_errno(err, "fsync the memory file");
	return 0;
}

static int fill_memory(int fd, void *gm, struct sm_error *err)
{
	return gm_save_fd(gm, fd, err);
}

int gm_save_file(const struct guest_mem *gm, const char *path,
		 struct sm_error *err)
{
	return sm_atomic_write(path, 0600, fill_memory, (void *)gm, err);
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	default:
		return "of an unknown type";
	}
}

int gm_create_from_file(struct guest_mem *gm, const uint64_t (*layout)[2],
			unsigned nregions, const char *path,
			struct sm_error *err)
{
	uint64_t total;
	struct stat st;
	int fd, ret;

	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	ret = layout_total(layout, nregions, &total, err);
	if (ret)
		return ret;
	/* The snapshot directory is input: O_NONBLOCK so that a FIFO in
	 * place of the file is refused below instead of blocking the open
	 * until some writer comes; O_NOCTTY so that a terminal does not
	 * become ours. Neither changes anything for a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return sm_err_errno(err, "open memory file %s", path);
	if (fstat(fd, &st) < 0) {
		ret = sm_err_errno(err, "memory file %s: stat", path);
		close(fd);
		return ret;
	}
	/*
	 * Guest and VMM touch any page of the mapping; a page past the end
	 * of the file raises SIGBUS, which kills the VMM. So the file must
	 * cover the layout exactly, as gm_save_file() writes it (a longer
	 * one is not ours either), and be a regular file: a device or a
	 * directory has no size that says what a page read would find.
	 */
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return sm_err(err, -EINVAL,
			      "memory file %s is not a regular file but %s",
			      path, file_kind(st.st_mode));
	}
	if ((uint64_t)st.st_size != total) {
		close(fd);
		return sm_err(err, -EINVAL,
			      "memory file %s has %lld bytes, the guest memory "
			      "it restores has %llu",
			      path, (long long)st.st_size,
			      (unsigned long long)total);
	}
	gm->base = mmap(NULL, total, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	close(fd);
	if (gm->base == MAP_FAILED) {
		gm->base = NULL;
		return sm_err_errno(err, "map memory file %s", path);
	}
	madvise(gm->base, total, MADV_DONTDUMP);
	set_regions(gm, layout, nregions, total);
	return 0;
}
