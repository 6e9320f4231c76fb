/* Virtqueue validation against hostile drivers. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "virtio/queue.h"

#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define BUF 0x10000ULL
#define RAM (1ULL << 20)
#define QSIZE 8

static struct guest_mem gm;
static struct virtq q;

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static void setup(void)
{
	const uint64_t layout[1][2] = {{0, RAM}};

	gm_destroy(&gm);
	if (gm_create(&gm, layout, 1, NULL))
		abort();
	virtq_reset(&q);
	q.size = QSIZE;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	if (virtq_activate(&q, &gm))
		abort();
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct desc d = {addr, len, flags, next};

	gm_write(&gm, DESC + 16 * i, &d, sizeof(d));
}

/* Publishes `head` in the avail ring and bumps avail->idx by `bump`. */
static void make_avail(uint16_t head, uint16_t bump)
{
	uint16_t *avail = gm_ptr(&gm, AVAIL, 4 + 2 * QSIZE);

	avail[2 + avail[1] % QSIZE] = head;
	avail[1] += bump;
}

TEST(good_chain_readable_then_writable)
{
	struct virtq_chain c;
	uint16_t *used;

	setup();
	set_desc(0, BUF, 100, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF + 0x1000, 200, VIRTQ_DESC_F_WRITE, 0);
	make_avail(0, 1);
	CHECK_EQ(virtq_pop(&q, &gm, &c), 1);
	CHECK_EQ(c.head, 0);
	CHECK_EQ(c.n_readable, 1);
	CHECK_EQ(c.n_writable, 1);
	CHECK_EQ(c.readable_len, 100);
	CHECK_EQ(c.writable_len, 200);
	CHECK(c.iov[0].iov_base == gm_ptr(&gm, BUF, 1));
	CHECK_EQ(virtq_chain_write(&c, 0, "hello", 5), 5);
	CHECK(memcmp(gm_ptr(&gm, BUF + 0x1000, 5), "hello", 5) == 0);
	CHECK_EQ(virtq_push(&q, &gm, c.head, 5), 0);
	used = gm_ptr(&gm, USED, 4 + 8 * QSIZE);
	CHECK_EQ(used[1], 1);
	CHECK_EQ(((uint32_t *)(used + 2))[1], 5);
	CHECK_EQ(virtq_pop(&q, &gm, &c), 0); /* empty now */
}

TEST(loop_is_rejected)
{
	struct virtq_chain c;

	setup();
	set_desc(0, BUF, 10, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 10, VIRTQ_DESC_F_NEXT, 0);
	make_avail(0, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
	CHECK(q.broken);
	/* a broken queue stays broken, nothing more is served */
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(self_loop_is_rejected)
{
	struct virtq_chain c;

	setup();
	set_desc(3, BUF, 10, VIRTQ_DESC_F_NEXT, 3);
	make_avail(3, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(out_of_ram_buffer_is_rejected)
{
	struct virtq_chain c;

	setup();
	set_desc(0, RAM - 10, 20, 0, 0);
	make_avail(0, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(wrapping_address_is_rejected)
{
	struct virtq_chain c;

	setup();
	set_desc(0, ~0ULL - 5, 100, 0, 0);
	make_avail(0, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(zero_length_is_rejected)
{
	struct virtq_chain c;

	setup();
	set_desc(0, BUF, 0, 0, 0);
	make_avail(0, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(next_out_of_range_is_rejected)
{
	struct virtq_chain c;

	setup();
	set_desc(0, BUF, 10, VIRTQ_DESC_F_NEXT, 0xffff);
	make_avail(0, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(head_out_of_range_is_rejected)
{
	struct virtq_chain c;

	setup();
	make_avail(200, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(readable_after_writable_is_rejected)
{
	struct virtq_chain c;

	setup();
	set_desc(0, BUF, 10, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(1, BUF, 10, 0, 0);
	make_avail(0, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(indirect_is_rejected)
{
	struct virtq_chain c;

	setup();
	set_desc(0, BUF, 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(avail_index_jump_is_rejected)
{
	struct virtq_chain c;

	setup();
	set_desc(0, BUF, 10, 0, 0);
	make_avail(0, QSIZE + 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

TEST(avail_index_wraps_around_16_bits)
{
	struct virtq_chain c;
	uint16_t *avail;

	setup();
	/* driver and device both near the 16-bit wrap */
	q.last_avail = 0xffff;
	q.used_idx = 0xffff;
	avail = gm_ptr(&gm, AVAIL, 4 + 2 * QSIZE);
	avail[1] = 0xffff;
	set_desc(0, BUF, 10, 0, 0);
	set_desc(1, BUF, 10, 0, 0);
	make_avail(0, 1); /* idx -> 0 */
	make_avail(1, 1); /* idx -> 1 */
	CHECK_EQ(virtq_pop(&q, &gm, &c), 1);
	CHECK_EQ(c.head, 0);
	CHECK_EQ(virtq_push(&q, &gm, c.head, 0), 0);
	CHECK_EQ(virtq_pop(&q, &gm, &c), 1);
	CHECK_EQ(c.head, 1);
	CHECK_EQ(virtq_pop(&q, &gm, &c), 0);
	CHECK(!q.broken);
}

TEST(bad_ring_addresses_refused_at_activation)
{
	setup();
	virtq_reset(&q);
	q.size = QSIZE;
	q.desc_gpa = RAM - 16; /* table runs off the end */
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	CHECK(virtq_activate(&q, &gm) < 0);
	virtq_reset(&q);
	q.size = 3; /* not a power of two */
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	CHECK(virtq_activate(&q, &gm) < 0);
	virtq_reset(&q);
	q.size = 0;
	CHECK(virtq_activate(&q, &gm) < 0);
}

TEST(long_chain_is_bounded)
{
	struct virtq_chain c;

	setup();
	/* a legal-looking chain longer than the queue cannot exist */
	for (unsigned i = 0; i < QSIZE; i++)
		set_desc(i, BUF, 1, VIRTQ_DESC_F_NEXT,
			 (uint16_t)((i + 1) % QSIZE));
	make_avail(0, 1);
	CHECK(virtq_pop(&q, &gm, &c) < 0);
}

/* VIRTIO_F_EVENT_IDX: interrupts only when used_event is crossed. */
TEST(event_idx_interrupts_when_used_event_crossed)
{
	uint16_t *avail, *used;
	struct virtq_chain c;

	setup();
	q.event_idx = true;
	avail = gm_ptr(&gm, AVAIL, 6 + 2 * QSIZE);
	used = gm_ptr(&gm, USED, 6 + 8 * QSIZE);
	set_desc(0, BUF, 100, 0, 0);
	avail[2 + QSIZE] = 1; /* used_event: wake me after the 2nd buffer */
	for (unsigned i = 0; i < 3; i++) {
		make_avail(0, 1);
		CHECK_EQ(virtq_pop(&q, &gm, &c), 1);
		CHECK_EQ(virtq_push(&q, &gm, c.head, 0), 0);
		/* the first decision has no history: it interrupts */
		CHECK_EQ(virtq_should_notify(&q, &gm), i != 2);
	}
	CHECK_EQ(used[1], 3);
	/* two more in one batch, used_event 4 among them: one interrupt */
	avail[2 + QSIZE] = 4;
	for (unsigned i = 0; i < 2; i++) {
		make_avail(0, 1);
		CHECK_EQ(virtq_pop(&q, &gm, &c), 1);
		CHECK_EQ(virtq_push(&q, &gm, c.head, 0), 0);
	}
	CHECK(virtq_should_notify(&q, &gm));
	/* NO_INTERRUPT means nothing with event_idx */
	avail[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	avail[2 + QSIZE] = 5;
	make_avail(0, 1);
	CHECK_EQ(virtq_pop(&q, &gm, &c), 1);
	CHECK_EQ(virtq_push(&q, &gm, c.head, 0), 0);
	CHECK(virtq_should_notify(&q, &gm));
}

TEST(event_idx_empty_pop_asks_for_next_notification)
{
	uint16_t *used;
	struct virtq_chain c;

	setup();
	q.event_idx = true;
	used = gm_ptr(&gm, USED, 6 + 8 * QSIZE);
	used[2 + 4 * QSIZE] = 0xbeef;
	set_desc(0, BUF, 100, 0, 0);
	make_avail(0, 1);
	make_avail(0, 1);
	CHECK_EQ(virtq_pop(&q, &gm, &c), 1);
	CHECK_EQ(virtq_pop(&q, &gm, &c), 1);
	CHECK_EQ(virtq_pop(&q, &gm, &c), 0);
	/* avail_event = the index seen: notify when the 3rd buffer comes */
	CHECK_EQ(used[2 + 4 * QSIZE], 2);
}

TEST(without_event_idx_no_interrupt_flag_rules)
{
	uint16_t *avail;

	setup();
	avail = gm_ptr(&gm, AVAIL, 4);
	CHECK(virtq_should_notify(&q, &gm));
	avail[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	CHECK(!virtq_should_notify(&q, &gm));
}

/*
 * Double fetch (issue 14): a second thread, as a guest's other vCPU,
 * keeps flipping each field of descriptors 0 and 1 between a good value
 * and a bad one (a length past RAM, an address past RAM, INDIRECT, a
 * self-loop) while the device pops chains. Every chain popped must lie
 * in RAM with the lengths it reports; a bad chain may only be refused.
 * SM_VIRTQ_RACE_N sets the number of pops (default below).
 */
#define RACE_N_DEFAULT 2000000
#define RACE_MAX_S 20
#define RACE_MIN_SEEN 10000

static int race_stop;

static void *desc_flipper(void *arg)
{
	volatile struct desc *t = gm_ptr(&gm, DESC, 16ULL * QSIZE);
	unsigned i = 0;

	(void)arg;
	/* one field at a time goes bad and back, so good chains come too */
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		unsigned which = (i >> 3) & 1;
		volatile struct desc *d = &t[which];
		bool bad = !(i & 1); /* bad first, then good again */

		switch ((i >> 1) % 4) {
		case 0:
			d->len = bad ? 0x7fffffff : 100;
			break;
		case 1:
			d->addr = bad ? RAM - 8 : BUF;
			break;
		case 2:
			d->flags =
			    (uint16_t)((bad ? VIRTQ_DESC_F_INDIRECT : 0) |
				       (which ? 0 : VIRTQ_DESC_F_NEXT));
			break;
		default:
			d->next = (uint16_t)(bad ? which : 1);
			break;
		}
		/* each value held a varying while: windows of any width
		 * between a check and a use see both */
		for (unsigned k = (i * 7) % 64; k; k--)
			__asm__ volatile("" ::: "memory");
		i++;
	}
	return NULL;
}

/* Whether every iovec of c lies in RAM and the sums match. */
static bool chain_in_ram(const struct virtq_chain *c)
{
	const uint8_t *lo = gm_ptr(&gm, 0, 1), *hi = lo + RAM;
	size_t sum = 0, n = c->n_readable + c->n_writable;

	if (n == 0 || n > VIRTQ_MAX_CHAIN)
		return false;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = c->iov[i].iov_base;

		if (b < lo || c->iov[i].iov_len > (size_t)(hi - b))
			return false;
		sum += c->iov[i].iov_len;
	}
	return sum == c->readable_len + c->writable_len;
}

TEST(descriptor_races_never_escape_ram)
{
	const char *env = getenv("SM_VIRTQ_RACE_N");
	long n = env ? atol(env) : RACE_N_DEFAULT, popped = 0, refused = 0;
	time_t start = time(NULL);
	struct virtq_chain c;
	pthread_t th;

	setup();
	set_desc(0, BUF, 100, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 100, 0, 0);
	race_stop = 0;
	if (pthread_create(&th, NULL, desc_flipper, NULL))
		SKIP_TEST("no thread");
	/* past n, go on (up to RACE_MAX_S) until both outcomes were seen
	 * often: on a loaded machine the flipper may sleep through a run */
	for (long i = 0;
	     i < n || ((popped < RACE_MIN_SEEN || refused < RACE_MIN_SEEN) &&
		       time(NULL) < start + RACE_MAX_S);
	     i++) {
		int ret;

		make_avail(0, 1);
		ret = virtq_pop(&q, &gm, &c);
		if (ret == 1) {
			popped++;
			CHECK(chain_in_ram(&c));
			CHECK_EQ(virtq_push(&q, &gm, c.head, 0), 0);
		} else {
			CHECK(ret < 0);
			refused++;
			/* a fresh queue on the same rings, as after a reset */
			q.broken = false;
		}
	}
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	/* both outcomes were seen, so the race really ran */
	CHECK(popped >= RACE_MIN_SEEN);
	CHECK(refused >= RACE_MIN_SEEN);
	if (getenv("SM_VIRTQ_RACE_VERBOSE"))
		printf("# %ld chains popped, %ld refused\n", popped, refused);
}

int main(void)
{
	RUN(good_chain_readable_then_writable);
	RUN(loop_is_rejected);
	RUN(self_loop_is_rejected);
	RUN(out_of_ram_buffer_is_rejected);
	RUN(wrapping_address_is_rejected);
	RUN(zero_length_is_rejected);
	RUN(next_out_of_range_is_rejected);
	RUN(head_out_of_range_is_rejected);
	RUN(readable_after_writable_is_rejected);
	RUN(indirect_is_rejected);
	RUN(avail_index_jump_is_rejected);
	RUN(avail_index_wraps_around_16_bits);
	RUN(bad_ring_addresses_refused_at_activation);
	RUN(long_chain_is_bounded);
	RUN(descriptor_races_never_escape_ram);
	gm_destroy(&gm);
	RUN(event_idx_interrupts_when_used_event_crossed);
	RUN(event_idx_empty_pop_asks_for_next_notification);
	RUN(without_event_idx_no_interrupt_flag_rules);
	return test_summary();
}
