/*
 * Guest memory for the virtio fuzz targets: one region at GPA 0 whose
 * first bytes are the fuzz input, with the rings of each queue at fixed
 * places inside it. The input thus writes the descriptor tables, the
 * avail rings and the buffers the descriptors point at; the harness only
 * picks where the rings are and how large the queues are.
 */
#ifndef FUZZ_RING_H
#define FUZZ_RING_H
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "virtio/device.h"
#include "vmm/guest_mem.h"

#define FR_RAM (256u << 10)
#define FR_GUARD 4096u
/* queue q: descriptors at 0x1000 * (1 + 3q), avail and used after them */
#define FR_DESC(q) (0x1000ULL * (1 + 3 * (q)))
#define FR_AVAIL(q) (FR_DESC(q) + 0x1000)
#define FR_USED(q) (FR_DESC(q) + 0x2000)
/* where the seeds put their buffers: after the rings of 3 queues */
#define FR_BUF 0xa000ULL

static struct guest_mem fr_gm;

/*
 * Guest memory as gm_create() lays it out (one region at GPA 0), but
 * between two inaccessible pages: a device that reads or writes past
 * guest memory faults at once (ASan does not watch this mapping).
 */
static void fr_init(void)
{
	uint8_t *p = mmap(NULL, FR_RAM + 2 * FR_GUARD, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED ||
	    mprotect(p + FR_GUARD, FR_RAM, PROT_READ | PROT_WRITE))
		abort();
	memset(&fr_gm, 0, sizeof(fr_gm));
	fr_gm.fd = -1;
	fr_gm.total = FR_RAM;
	fr_gm.base = p + FR_GUARD;
	fr_gm.nregions = 1;
	fr_gm.regions[0].gpa = 0;
	fr_gm.regions[0].size = FR_RAM;
	fr_gm.regions[0].host = fr_gm.base;
}

/*
 * Copies the input to guest memory from GPA 0 (the first page is the
 * harness's control bytes, the rings follow) and readies nq queues of
 * `size` entries (a power of two <= 256) on dev.
 */
static void fr_load(struct virtio_dev *dev, unsigned nq, uint16_t size,
		    const uint8_t *data, size_t len)
{
	memset(fr_gm.base, 0, FR_RAM);
	memcpy(fr_gm.base, data, len < FR_RAM ? len : FR_RAM);
	dev->mem = &fr_gm;
	dev->status = VIRTIO_STATUS_DRIVER_OK;
	for (unsigned q = 0; q < nq; q++) {
		struct virtq *vq = &dev->queues[q];

		virtq_reset(vq);
		vq->size = size;
		vq->desc_gpa = FR_DESC(q);
		vq->avail_gpa = FR_AVAIL(q);
		vq->used_gpa = FR_USED(q);
		vq->event_idx = data[0] & 0x80;
		virtq_activate(vq, &fr_gm);
	}
}

/* ---- seeds: ring images in the layout fr_load() expects ---- */

struct fr_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* Descriptor i of queue q in the image img (FR_RAM bytes). */
static void fr_put_desc(uint8_t *img, unsigned q, unsigned i, uint64_t addr,
			uint32_t len, uint16_t flags, uint16_t next)
{
	struct fr_desc d = {addr, len, flags, next};

	memcpy(img + FR_DESC(q) + 16 * i, &d, sizeof(d));
}

/* Offers the chains at heads[0..n) on queue q's avail ring. */
static void fr_put_avail(uint8_t *img, unsigned q, const uint16_t *heads,
			 unsigned n)
{
	uint16_t idx = (uint16_t)n;

	for (unsigned i = 0; i < n; i++)
		memcpy(img + FR_AVAIL(q) + 4 + 2 * i, &heads[i], 2);
	memcpy(img + FR_AVAIL(q) + 2, &idx, 2);
}

/* The image's length: up to the last nonzero byte. */
static size_t fr_len(const uint8_t *img)
{
	size_t n = FR_RAM;

	while (n > 1 && !img[n - 1])
		n--;
	return n;
}
#endif
