/*
 * virtio-net against a hostile or careless driver: truncated, runt and
 * oversized TX frames are dropped one by one (the queue keeps working),
 * RX without buffers queues a bounded amount, too-small RX buffers are
 * given back empty. A fake backend records what reaches "the network".
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "net/net.h"
#include "virtio/device.h"
#include "virtio/net.h"

extern const struct virtio_dev_ops virtio_net_ops;

#define RAM (4ULL << 20)
#define QSIZE 16
#define HDR 12
enum { RXQ, TXQ };
/* rings of queue q at 0x1000 + q * 0x1000 * 3 */
#define DESC(q) (0x1000ULL + (q)*0x3000ULL)
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q) (DESC(q) + 0x2000)
#define BUF 0x100000ULL

static struct guest_mem gm;
static struct virtio_dev dev;
static struct net_backend be;
static unsigned sent, last_len, bad_sums;
static bool check_sums; /* fake_send checks partial_csum_frame()'s sum */
static unsigned rx_cap; /* rx_queue_max for the next setup() */
static uint8_t last[NET_MAX_FRAME];

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* A receiver's check of partial_csum_frame()'s UDP checksum. */
static bool udp_sum_ok(const uint8_t *f)
{
	uint32_t sum = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 17 + 12;

	for (unsigned i = 34; i < 46; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static int fake_send(struct net_backend *b, const void *frame, size_t len)
{
	(void)b;
	sent++;
	last_len = (unsigned)len;
	memcpy(last, frame, len < sizeof(last) ? len : sizeof(last));
	if (check_sums && !udp_sum_ok(last))
		bad_sums++;
	return 0;
}

static void fake_close(struct net_backend *b)
{
	(void)b;
}

static const struct net_backend_ops fake_ops = {fake_send, fake_close};

static void setup(void)
{
	const uint64_t layout[1][2] = {{0, RAM}};
	struct virtio_net_config cfg = {
	    .mac = {2, 0, 0, 0, 0, 1}, .backend = &be, .rx_queue_max = rx_cap};

	if (dev.priv)
		virtio_net_ops.destroy(&dev);
	gm_destroy(&gm);
	if (gm_create(&gm, layout, 1, NULL))
		abort();
	memset(&dev, 0, sizeof(dev));
	pthread_mutex_init(&dev.lock, NULL);
	memset(&be, 0, sizeof(be));
	net_backend_init(&be, &fake_ops);
	dev.ops = &virtio_net_ops;
	dev.mem = &gm;
	dev.status = VIRTIO_STATUS_DRIVER_OK;
	for (unsigned q = 0; q < 2; q++) {
		uint16_t no_irq = VIRTQ_AVAIL_F_NO_INTERRUPT;

		dev.queues[q].size = QSIZE;
		dev.queues[q].desc_gpa = DESC(q);
		dev.queues[q].avail_gpa = AVAIL(q);
		dev.queues[q].used_gpa = USED(q);
		if (virtq_activate(&dev.queues[q], &gm))
			abort();
		dev.queues[q].ready = true;
		/* no interrupts: there is no VM behind this device */
		gm_write(&gm, AVAIL(q), &no_irq, 2);
	}
	sent = 0;
	if (virtio_net_ops.init(&dev, &cfg, NULL))
		abort();
}

/* Posts a one-descriptor chain of len bytes at slot i of queue q. */
static void post(unsigned q, unsigned i, uint32_t len, uint16_t flags)
{
	struct desc d = {BUF + (q * QSIZE + i) * 0x1000, len, flags, 0};
	uint16_t *avail = gm_ptr(&gm, AVAIL(q), 4 + 2 * QSIZE);

	gm_write(&gm, DESC(q) + 16 * i, &d, sizeof(d));
	avail[2 + avail[1] % QSIZE] = (uint16_t)i;
	avail[1]++;
}

static uint16_t used_idx(unsigned q)
{
	return ((uint16_t *)gm_ptr(&gm, USED(q), 4))[1];
}

static uint32_t used_len(unsigned q, unsigned n)
{
	return ((uint32_t *)gm_ptr(&gm, USED(q) + 4 + 8 * n, 8))[1];
}

static uint8_t *buf(unsigned q, unsigned i)
{
	return gm_ptr(&gm, BUF + (q * QSIZE + i) * 0x1000, 0x1000);
}

TEST(tx_good_frame_reaches_backend)
{
	setup();
	memset(buf(TXQ, 0), 0, HDR);
	memset(buf(TXQ, 0) + HDR, 0xab, 60);
	post(TXQ, 0, HDR + 60, 0);
	virtio_net_ops.notify(&dev, TXQ);
	CHECK_EQ(sent, 1);
	CHECK_EQ(last_len, 60);
	CHECK_EQ(last[59], 0xab);
	CHECK_EQ(used_idx(TXQ), 1);
	CHECK(!(dev.status & VIRTIO_STATUS_NEEDS_RESET));
}

TEST(tx_bad_frames_dropped_queue_keeps_going)
{
	setup();
	post(TXQ, 0, 4, 0);			  /* shorter than the header */
	post(TXQ, 1, HDR + 5, 0);		  /* runt frame */
	post(TXQ, 2, HDR + NET_MAX_FRAME + 1, 0); /* oversized */
	post(TXQ, 3, HDR + 0xf00, 0);		  /* jumbo, no offloads */
	post(TXQ, 4, 0x1000, VIRTQ_DESC_F_WRITE); /* nothing readable */
	post(TXQ, 5, HDR + NET_MAX_FRAME, 0);	  /* the largest allowed */
	virtio_net_ops.notify(&dev, TXQ);
	CHECK_EQ(sent, 1);
	CHECK_EQ(last_len, NET_MAX_FRAME);
	CHECK_EQ(used_idx(TXQ), 6); /* every chain was given back */
	CHECK(!(dev.status & VIRTIO_STATUS_NEEDS_RESET));
}

/* An IPv4/UDP frame whose UDP checksum the guest left to the device. */
static size_t partial_csum_frame(uint8_t *f)
{
	static const uint8_t head[] = {
	    /* ethernet */
	    2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
	    /* IPv4, 20 bytes, UDP, 10.0.2.15 -> 10.0.2.2 */
	    0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 2, 15, 10, 0, 2,
	    2,
	    /* UDP 1234 -> 53, length 12, checksum: the pseudo-header sum */
	    0x04, 0xd2, 0, 53, 0, 12, 0, 0, 'p', 'i', 'n', 'g'};
	/* pseudo header: addresses, protocol 17, UDP length 12 */
	uint32_t ps = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 17 + 12;

	memcpy(f, head, sizeof(head));
	ps = (ps & 0xffff) + (ps >> 16);
	f[40] = (uint8_t)(ps >> 8);
	f[41] = (uint8_t)ps;
	memset(f + sizeof(head), 0, 60 - sizeof(head)); /* ethernet padding */
	return 60;
}

static void set_csum_hdr(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t start,
			 uint16_t off)
{
	memset(h, 0, HDR);
	h[0] = flags;
	h[1] = gso;
	h[6] = (uint8_t)start;
	h[7] = (uint8_t)(start >> 8);
	h[8] = (uint8_t)off;
	h[9] = (uint8_t)(off >> 8);
}

TEST(tx_checksum_offload_completed_by_device)
{
	size_t len;
	uint32_t sum = 0;

	setup();
	len = partial_csum_frame(buf(TXQ, 0) + HDR);
	set_csum_hdr(buf(TXQ, 0), 1 /* NEEDS_CSUM */, 0, 34, 6);
	post(TXQ, 0, HDR + (uint32_t)len, 0);
	virtio_net_ops.notify(&dev, TXQ);
	CHECK_EQ(sent, 1);
	/* a receiver's check: pseudo header + UDP segment sums to 0xffff */
	sum = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 17 + 12;
	for (unsigned i = 34; i < 46; i += 2)
		sum += (uint32_t)last[i] << 8 | last[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	CHECK_EQ(sum, 0xffff);
	CHECK(last[40] || last[41]);
}

TEST(tx_bad_checksum_requests_dropped)
{
	setup();
	partial_csum_frame(buf(TXQ, 0) + HDR);
	set_csum_hdr(buf(TXQ, 0), 1, 0, 59, 6); /* field past the end */
	post(TXQ, 0, HDR + 60, 0);
	partial_csum_frame(buf(TXQ, 1) + HDR);
	set_csum_hdr(buf(TXQ, 1), 1, 1 /* TCPv4 GSO */, 34, 6);
	post(TXQ, 1, HDR + 60, 0);
	partial_csum_frame(buf(TXQ, 2) + HDR);
	set_csum_hdr(buf(TXQ, 2), 1, 0, 0xffff, 0xffff);
	post(TXQ, 2, HDR + 60, 0);
	virtio_net_ops.notify(&dev, TXQ);
	CHECK_EQ(sent, 0);
	CHECK_EQ(used_idx(TXQ), 3);
	CHECK(!(dev.status & VIRTIO_STATUS_NEEDS_RESET));
}

/*
 * Double fetch (issue 14): a second thread flips csum_start in the TX
 * headers between the right offset (34) and one past the frame while the
 * device sends. A frame may be dropped, or sent with the checksum done
 * at the offset checked; never with it done elsewhere or not at all.
 */
static volatile uint8_t *race_start[QSIZE];
static int race_stop;

static void *start_flipper(void *arg)
{
	unsigned i = 0;

	(void)arg;
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		bool bad = i & 1;

		for (unsigned k = 0; k < QSIZE; k++) {
			race_start[k][0] = bad ? 0xf0 : 34;
			race_start[k][1] = bad ? 0xff : 0;
		}
		/* each value held a varying while */
		for (unsigned k = (i * 7) % 32; k; k--)
			__asm__ volatile("" ::: "memory");
		i++;
	}
	return NULL;
}

TEST(tx_header_race_never_checksums_unchecked_offsets)
{
	const char *env = getenv("SM_NET_RACE_N");
	long n = env ? atol(env) : 2000000, i;
	time_t start = time(NULL);
	pthread_t th;

	setup();
	for (unsigned i = 0; i < QSIZE; i++) {
		partial_csum_frame(buf(TXQ, i) + HDR);
		set_csum_hdr(buf(TXQ, i), 1, 0, 34, 6);
		race_start[i] = buf(TXQ, i) + 6;
	}
	bad_sums = 0;
	check_sums = true;
	race_stop = 0;
	if (pthread_create(&th, NULL, start_flipper, NULL))
		SKIP_TEST("no thread");
	/* past n, go on (up to 20 s) until both outcomes were seen often:
	 * on a loaded machine the flipper may sleep through a whole run */
	for (i = 0; i < n || ((sent < 1000 || i - sent < 1000) &&
			      time(NULL) < start + 20);
	     i++) {
		post(TXQ, (unsigned)i % QSIZE, HDR + 60, 0);
		virtio_net_ops.notify(&dev, TXQ);
	}
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	check_sums = false;
	CHECK_EQ(bad_sums, 0);
	/* both outcomes, often: the race ran */
	CHECK(sent >= 1000 && i - sent >= 1000);
	CHECK(!(dev.status & VIRTIO_STATUS_NEEDS_RESET));
}

TEST(rx_data_valid_only_for_checksummed_backends)
{
	uint8_t frame[60] = {0};

	setup();
	dev.driver_features = 1ULL << 1; /* GUEST_CSUM */
	post(RXQ, 0, 0x800, VIRTQ_DESC_F_WRITE);
	post(RXQ, 1, 0x800, VIRTQ_DESC_F_WRITE);
	net_deliver(&be, frame, sizeof(frame));
	CHECK_EQ(buf(RXQ, 0)[0], 0); /* a tap's frame: not vouched for */
	be.rx_checksummed = true;
	net_deliver(&be, frame, sizeof(frame));
	CHECK_EQ(buf(RXQ, 1)[0], 2); /* DATA_VALID */
	CHECK_EQ(used_idx(RXQ), 2);
}

TEST(rx_without_buffers_is_bounded)
{
	uint8_t frame[100];

	setup();
	memset(frame, 0x5a, sizeof(frame));
	/* a flood while the guest posted nothing: no block, no crash */
	for (int i = 0; i < 10000; i++)
		net_deliver(&be, frame, sizeof(frame));
	CHECK_EQ(used_idx(RXQ), 0);
	/* buffers arrive: the queued frames (a bounded number) come out */
	for (unsigned i = 0; i < QSIZE; i++)
		post(RXQ, i, 0x1000, VIRTQ_DESC_F_WRITE);
	virtio_net_ops.notify(&dev, RXQ);
	CHECK_EQ(used_idx(RXQ), QSIZE);
	CHECK_EQ(used_len(RXQ, 0), HDR + sizeof(frame));
	CHECK_EQ(buf(RXQ, 0)[10], 1); /* num_buffers */
	CHECK_EQ(buf(RXQ, 0)[HDR + 99], 0x5a);
}

/* The RX queue cap (issue 14): over it frames are dropped and counted. */
TEST(rx_queue_cap_drops_and_counts_then_recovers)
{
	struct virtio_net_stats st;
	uint8_t frame[100];

	rx_cap = 4;
	setup();
	rx_cap = 0;
	for (int i = 0; i < 10; i++) {
		frame[0] = (uint8_t)i;
		net_deliver(&be, frame, sizeof(frame));
	}
	virtio_net_get_stats(&dev, &st);
	CHECK_EQ(st.rx_queued, 4);
	CHECK_EQ(st.rx_dropped, 6);
	/* the first four came through, in order; then the queue is free */
	for (unsigned i = 0; i < 8; i++)
		post(RXQ, i, 0x1000, VIRTQ_DESC_F_WRITE);
	virtio_net_ops.notify(&dev, RXQ);
	CHECK_EQ(used_idx(RXQ), 4);
	CHECK_EQ(buf(RXQ, 3)[HDR], 3);
	frame[0] = 42;
	net_deliver(&be, frame, sizeof(frame));
	CHECK_EQ(used_idx(RXQ), 5);
	CHECK_EQ(buf(RXQ, 4)[HDR], 42);
	virtio_net_get_stats(&dev, &st);
	CHECK_EQ(st.rx_queued, 0);
	CHECK_EQ(st.rx_dropped, 6);
}

TEST(rx_queue_cap_over_the_maximum_refused)
{
	struct virtio_net_config cfg = {
	    .backend = &be, .rx_queue_max = VIRTIO_NET_MAX_RX_QUEUE + 1};
	struct virtio_dev d = {.ops = &virtio_net_ops};
	struct sm_error err = {0};

	setup();
	CHECK_EQ(virtio_net_ops.init(&d, &cfg, &err), -EINVAL);
	CHECK(strstr(err.msg, "RX queue") != NULL);
	CHECK(d.priv == NULL);
}

TEST(rx_small_buffer_given_back_empty)
{
	uint8_t frame[1500] = {0};

	setup();
	post(RXQ, 0, 100, VIRTQ_DESC_F_WRITE);
	post(RXQ, 1, 0x1000, VIRTQ_DESC_F_WRITE);
	net_deliver(&be, frame, sizeof(frame));
	CHECK_EQ(used_idx(RXQ), 1);
	CHECK_EQ(used_len(RXQ, 0), 0);
	/* the frame was dropped; the next one uses the next buffer */
	net_deliver(&be, frame, sizeof(frame));
	CHECK_EQ(used_idx(RXQ), 2);
	CHECK_EQ(used_len(RXQ, 1), HDR + sizeof(frame));
}

TEST(rx_oversized_from_backend_dropped)
{
	static uint8_t frame[NET_MAX_FRAME + 100];

	setup();
	post(RXQ, 0, 0x1000, VIRTQ_DESC_F_WRITE);
	net_deliver(&be, frame, sizeof(frame));
	net_deliver(&be, frame, 3);
	CHECK_EQ(used_idx(RXQ), 0);
	CHECK(be.rx_dropped >= 2);
}

TEST(rx_before_driver_ok_dropped)
{
	uint8_t frame[64] = {0};

	setup();
	dev.status = 0;
	post(RXQ, 0, 0x1000, VIRTQ_DESC_F_WRITE);
	net_deliver(&be, frame, sizeof(frame));
	CHECK_EQ(used_idx(RXQ), 0);
}

/* While a snapshot is taken, frames wait; guest memory is not touched. */
TEST(rx_while_frozen_waits_for_thaw)
{
	uint8_t frame[64] = {0};

	setup();
	pthread_cond_init(&dev.thawed, NULL);
	post(RXQ, 0, 0x800, VIRTQ_DESC_F_WRITE);
	virtio_freeze(&dev);
	frame[0] = 0x11;
	net_deliver(&be, frame, sizeof(frame));
	CHECK_EQ(used_idx(RXQ), 0);
	CHECK_EQ(buf(RXQ, 0)[HDR], 0);
	virtio_thaw(&dev);
	CHECK_EQ(used_idx(RXQ), 1);
	CHECK_EQ(used_len(RXQ, 0), HDR + sizeof(frame));
	CHECK_EQ(buf(RXQ, 0)[HDR], 0x11);
	pthread_cond_destroy(&dev.thawed);
}

TEST(save_restore_round_trip)
{
	struct sm_error err = {0};
	struct sm_buf b = {0};
	uint8_t cfg[8];

	setup();
	CHECK_EQ(virtio_net_ops.save(&dev, &b), 0);
	CHECK_EQ(virtio_net_ops.restore(&dev, b.data, b.len, &err), 0);
	CHECK(virtio_net_ops.restore(&dev, b.data, b.len - 1, &err) < 0);
	CHECK(strcmp(err.msg, "record of 7 bytes, not 8") == 0);
	virtio_net_ops.config_read(&dev, 0, cfg, sizeof(cfg));
	CHECK_EQ(cfg[0], 2);
	CHECK_EQ(cfg[5], 1);
	CHECK_EQ(cfg[6], 1); /* link up */
	sm_buf_free(&b);
}

int main(void)
{
	RUN(tx_good_frame_reaches_backend);
	RUN(tx_bad_frames_dropped_queue_keeps_going);
	RUN(tx_checksum_offload_completed_by_device);
	RUN(tx_bad_checksum_requests_dropped);
	RUN(tx_header_race_never_checksums_unchecked_offsets);
	RUN(rx_data_valid_only_for_checksummed_backends);
	RUN(rx_without_buffers_is_bounded);
	RUN(rx_queue_cap_drops_and_counts_then_recovers);
	RUN(rx_queue_cap_over_the_maximum_refused);
	RUN(rx_small_buffer_given_back_empty);
	RUN(rx_oversized_from_backend_dropped);
	RUN(rx_before_driver_ok_dropped);
	RUN(rx_while_frozen_waits_for_thaw);
	RUN(save_restore_round_trip);
	virtio_net_ops.destroy(&dev);
	gm_destroy(&gm);
	return test_summary();
}
