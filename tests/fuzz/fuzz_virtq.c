/*
 * libFuzzer target for the virtqueue chain walker (src/virtio/queue.c):
 * the input is guest memory (descriptor table, avail ring, buffers) and
 * the harness pops every chain the avail ring offers, reads and writes
 * it through virtq_chain_read/write, pushes it back and asks whether to
 * notify, as a device does. Byte 0 picks the queue size (bits 0-2),
 * EVENT_IDX (bit 7) and, bit 3, a descriptor table moved to the end of
 * guest memory (a read past it faults); byte 1 how much each chain
 * "writes" on push.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdint.h>

#include "fuzz_seed.h"
#include "fuzz_ring.h"
#include "virtio/queue.h"

static void make_seeds(void)
{
	static uint8_t img[FR_RAM];
	const uint16_t heads[] = {0, 2, 3};

	img[0] = 4; /* 16 entries */
	/* a readable + writable chain, a lone readable, a lone writable */
	fr_put_desc(img, 0, 0, FR_BUF + 0x000, 64, VIRTQ_DESC_F_NEXT, 1);
	fr_put_desc(img, 0, 1, FR_BUF + 0x100, 128, VIRTQ_DESC_F_WRITE, 0);
	fr_put_desc(img, 0, 2, FR_BUF + 0x200, 16, 0, 0);
	fr_put_desc(img, 0, 3, FR_BUF + 0x300, 32, VIRTQ_DESC_F_WRITE, 0);
	memcpy(img + FR_BUF + 0x000, "request bytes", 13);
	memcpy(img + FR_BUF + 0x200, "more", 4);
	img[FR_BUF + 0x300 + 31] = 1;
	fr_put_avail(img, 0, heads, 3);
	seed_write("chains", img, fr_len(img));
	img[0] = 0x80 | 4; /* EVENT_IDX */
	seed_write("chains-event-idx", img, fr_len(img));
	img[0] = 8 | 4; /* the table next to the guard page */
	seed_write("chains-table-at-end", img, fr_len(img));
	/* an indirect table (refused: not negotiated) */
	fr_put_desc(img, 0, 0, FR_BUF + 0x400, 32, VIRTQ_DESC_F_INDIRECT, 0);
	fr_put_desc(img, 1, 0, FR_BUF + 0x000, 64, 0, 0);
	img[0] = 4;
	seed_write("indirect", img, fr_len(img));
}

FUZZ_SEEDS(make_seeds)

/*
 * Moves the descriptor table to the last bytes of guest memory, next to
 * the guard page: reading a descriptor past the table then faults.
 */
static void table_at_end(struct virtq *q)
{
	uint64_t len = 16ULL * q->size, at = FR_RAM - len;

	memmove(fr_gm.base + at, fr_gm.base + q->desc_gpa, len);
	q->desc_gpa = at;
	q->ready = false;
	virtq_activate(q, &fr_gm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_dev dev;
	static uint8_t scratch[4096];
	struct virtq_chain c;
	int r;

	if (!fr_gm.base)
		fr_init();
	if (size < 2)
		return 0;
	fr_load(&dev, 1, (uint16_t)(1u << (data[0] & 7)), data, size);
	if (data[0] & 8)
		table_at_end(&dev.queues[0]);
	for (unsigned i = 0;
	     i < 512 && (r = virtq_pop(&dev.queues[0], &fr_gm, &c)) == 1; i++) {
		size_t got =
		    virtq_chain_read(&c, data[1], scratch, sizeof(scratch));
		size_t put =
		    virtq_chain_write(&c, c.readable_len, scratch, got);

		if ((data[1] & 1) && i == 0) {
			virtq_unpop(&dev.queues[0]);
			continue;
		}
		if (virtq_push(&dev.queues[0], &fr_gm, c.head,
			       (uint32_t)(put + data[1])))
			break;
		virtq_should_notify(&dev.queues[0], &fr_gm);
	}
	return 0;
}
