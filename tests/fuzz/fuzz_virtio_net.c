/*
 * libFuzzer target for virtio-net's TX side (src/virtio/net.c, included
 * for its static process_tx): the input is guest memory holding the TX
 * ring and the frames with their virtio-net headers (checksum offload
 * offsets, GSO type); the harness runs one TX round into a backend that
 * only counts frames, then delivers a frame from the network (bytes
 * 16..) into the RX buffers the input offers (RX is untrusted too: any
 * host on the network; through net_deliver, as a backend does). Byte 0: queue
 * size (bits 0-2), EVENT_IDX (bit 7); byte 1: the RX frame's length.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include "../../src/virtio/net.c"
#include "fuzz_ring.h"
#include "fuzz_seed.h"
#include "fuzz_vm_stubs.h"

static unsigned long frames_out;

static int count_send(struct net_backend *b, const void *frame, size_t len)
{
	(void)b, (void)frame;
	frames_out += len;
	return 0;
}

static void no_close(struct net_backend *b)
{
	(void)b;
}

static const struct net_backend_ops count_ops = {count_send, no_close};

static void make_seeds(void)
{
	static uint8_t img[FR_RAM];
	const uint16_t heads[] = {0, 1, 2};
	/* an IPv4/UDP frame; checksum left to us from byte 34, field at 40 */
	static const uint8_t frame[60] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2,   0,	  0,   0,   0,	  1,
	    0x08, 0,	0x45, 0,    0,	  46,	0,   0,	  0,   0,   64,	  17,
	    0,	  0,	10,   0,    2,	  15,	10,  0,	  2,   2,   0x30, 0x39,
	    0,	  53,	0,    26,   0,	  0,	'q', 'u', 'e', 'r', 'y'};
	uint8_t hdr[NET_HDR_LEN] = {0};

	img[0] = 4; /* 16 entries */
	img[1] = 8; /* a 64-byte frame from the network, at byte 16 */
	memcpy(img + 16, frame, sizeof(frame));
	memcpy(img + FR_BUF + 0x000, hdr, sizeof(hdr));
	memcpy(img + FR_BUF + 0x000 + NET_HDR_LEN, frame, sizeof(frame));
	fr_put_desc(img, Q_TX, 0, FR_BUF + 0x000, NET_HDR_LEN + sizeof(frame),
		    0, 0);
	hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr[6] = 34; /* csum_start */
	hdr[8] = 6;  /* csum_offset */
	/* header and frame in two descriptors */
	memcpy(img + FR_BUF + 0x100, hdr, sizeof(hdr));
	memcpy(img + FR_BUF + 0x200, frame, sizeof(frame));
	fr_put_desc(img, Q_TX, 1, FR_BUF + 0x100, NET_HDR_LEN,
		    VIRTQ_DESC_F_NEXT, 2);
	fr_put_desc(img, Q_TX, 2, FR_BUF + 0x200, sizeof(frame), 0, 0);
	fr_put_avail(img, Q_TX, (const uint16_t[]){0, 1}, 2);
	for (unsigned i = 0; i < 2; i++)
		fr_put_desc(img, Q_RX, i, FR_BUF + 0x1000 + 0x800 * i, 2048,
			    VIRTQ_DESC_F_WRITE, 0);
	fr_put_avail(img, Q_RX, heads, 2);
	seed_write("tx-rx", img, fr_len(img));
}

FUZZ_SEEDS(make_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_dev dev;
	static struct net_backend be;
	struct virtio_net_config cfg = {.mac = {2, 0, 0, 0, 0, 1},
					.backend = &be};
	size_t rx_len;

	if (!fr_gm.base) {
		fr_init();
		pthread_mutex_init(&dev.lock, NULL);
		net_backend_init(&be, &count_ops);
		dev.ops = &virtio_net_ops;
		if (virtio_net_ops.init(&dev, &cfg, NULL))
			abort();
	}
	if (size < 16)
		return 0;
	fr_load(&dev, NET_NUM_QUEUES, (uint16_t)(1u << (data[0] & 7)), data,
		size);
	net_reset(&dev);
	process_tx(&dev, dev.priv);
	rx_len = size - 16 < data[1] * 8u ? size - 16 : data[1] * 8u;
	net_deliver(&be, data + 16, rx_len); /* as the backends do */
	net_thaw(&dev);
	return 0;
}
