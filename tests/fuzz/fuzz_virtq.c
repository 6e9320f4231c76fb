/*
 * libFuzzer target for the virtqueue chain walker (src/virtio/queue.c):
 * the input is guest memory (descriptor table, avail ring, buffers) and
 * the harness pops every chain the avail ring offers, reads and writes
 * it through virtq_chain_read/write, pushes it back and asks whether to
 * notify, as a device does. Byte 0 picks the queue size (bits 0-2) and
 * EVENT_IDX (bit 7); byte 1 how much each chain "writes" on push.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdint.h>

#include "fuzz_ring.h"
#include "virtio/queue.h"

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
	for (unsigned i = 0; i < 512 && (r = virtq_pop(&dev.queues[0],
						       &fr_gm, &c)) == 1;
	     i++) {
		size_t got = virtq_chain_read(&c, data[1], scratch,
					      sizeof(scratch));
		size_t put = virtq_chain_write(&c, c.readable_len, scratch,
					       got);

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
