/*
 * virtio-vsock against a greedy or hostile guest: the caps on
 * connections and on buffered bytes (issue 14), with the device's own
 * I/O thread running, and a racing header. The guest is vsock_guest.h's
 * (buffers in a fake guest memory, kicks); its accept callback plays the
 * host listener. The protocol itself is in test_vsock_proto.c.
 */
#include "test.h"
#include "vsock_guest.h"

TEST(conn_cap_refuses_with_rst_then_recovers)
{
	struct virtio_vsock_config caps = {.max_conns = 3};
	struct vsock_stats st;
	struct hdr h;

	setup(&caps);
	post_rx(QSIZE);
	for (uint32_t p = 100; p < 103; p++)
		CHECK_EQ(connect_port(p).op, OP_RESPONSE);
	/* over the cap: each request gets a reset, nothing is opened */
	for (uint32_t p = 103; p < 113; p++) {
		h = connect_port(p);
		CHECK_EQ(h.op, OP_RST);
		CHECK_EQ(h.dst_port, p);
	}
	vsock_get_stats(&dev, &st);
	CHECK_EQ(st.conns, 3);
	CHECK_EQ(st.conns_refused, 10);
	CHECK_EQ(n_host_fds, 3);
	/* one closes: the next request is served again */
	guest_send(OP_RST, 100, 0, 0);
	CHECK_EQ(connect_port(200).op, OP_RESPONSE);
	CHECK_EQ(n_host_fds, 4);
}

TEST(conn_cap_refusals_without_rx_buffers_are_bounded)
{
	struct virtio_vsock_config caps = {.max_conns = 1};
	struct vsock_stats st;

	setup(&caps);
	/* no RX buffer: the resets owed pile up to a bound, then drop */
	for (uint32_t p = 100; p < 300; p++)
		guest_send(OP_REQUEST, p, 0, 0);
	CHECK(wait_used(TXQ, 200));
	vsock_get_stats(&dev, &st);
	CHECK_EQ(st.conns, 1);
	CHECK_EQ(st.conns_refused, 199);
	CHECK(st.rst_dropped > 0 && st.rst_dropped < 199);
	/* buffers come: the response, then the owed resets go out */
	post_rx(QSIZE);
	CHECK(wait_used(RXQ, 199 - (uint16_t)st.rst_dropped + 1));
}

TEST(buffered_cap_resets_only_the_greedy_connection)
{
	struct virtio_vsock_config caps = {.max_buffered = 128 * 1024};
	struct vsock_stats st;
	struct hdr h = {0};
	unsigned sent = 0;

	setup(&caps);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(100).op, OP_RESPONSE);
	CHECK_EQ(connect_port(101).op, OP_RESPONSE);
	/*
	 * Port 100's host end never reads: its socket fills, then the
	 * device buffers, then the cap resets the connection. (The guest
	 * ignores our credit here; the cap, below the credit, comes first.)
	 */
	while (sent < 400 && h.op != OP_RST) {
		guest_send(OP_RW, 100, 32768, 0xa5);
		sent++;
		if (used_idx(RXQ) != rx_seen)
			h = guest_recv();
		vsock_get_stats(&dev, &st);
		CHECK(st.buffered <= caps.max_buffered);
	}
	while (h.op != OP_RST && (h = guest_recv()).op)
		; /* credit updates may come first */
	CHECK_EQ(h.op, OP_RST);
	CHECK_EQ(h.dst_port, 100);
	vsock_get_stats(&dev, &st);
	CHECK_EQ(st.buffered_resets, 1);
	CHECK_EQ(st.conns, 1);
	CHECK_EQ(st.buffered, 0);
	/* the other connection still carries data */
	guest_send(OP_RW, 101, 1000, 0x5a);
	CHECK_EQ(drain(host_fds[1], 0x5a, 200), 1000);
}

/*
 * Double fetch (issue 14): a second thread flips the header's len
 * between a length the packet has (16) and one it has not (60000) while
 * the device handles RW packets. Only whole 16-byte payloads may reach
 * the host, every byte the guest's.
 */
static volatile uint32_t *race_len[QSIZE];
static int race_stop;

static void *len_flipper(void *arg)
{
	unsigned i = 0;

	(void)arg;
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		*race_len[i % QSIZE] = (i / QSIZE) & 1 ? 60000 : 16;
		i++;
	}
	return NULL;
}

TEST(header_len_race_forwards_only_checked_lengths)
{
	const unsigned n = 3000;
	size_t got, total = 0;
	pthread_t th;

	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(100).op, OP_RESPONSE);
	for (unsigned i = 0; i < QSIZE; i++)
		race_len[i] = gm_ptr(&gm, TXBUF + i * TXSLOT + 24, 4);
	race_stop = 0;
	if (pthread_create(&th, NULL, len_flipper, NULL))
		SKIP_TEST("no thread");
	for (unsigned i = 0; i < n; i++) {
		guest_send(OP_RW, 100, 16, 0x77);
		if (i % 64 == 63) {
			CHECK(wait_used(TXQ, (uint16_t)(i + 2)));
			got = drain(host_fds[0], 0x77, 5);
			CHECK(got != (size_t)-1);
			total += got;
		}
	}
	CHECK(wait_used(TXQ, (uint16_t)(n + 1)));
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	got = drain(host_fds[0], 0x77, 200);
	CHECK(got != (size_t)-1);
	total += got;
	CHECK_EQ(total % 16, 0);
	CHECK(total > 0);
}

int main(void)
{
	RUN(conn_cap_refuses_with_rst_then_recovers);
	RUN(conn_cap_refusals_without_rx_buffers_are_bounded);
	RUN(buffered_cap_resets_only_the_greedy_connection);
	RUN(header_len_race_forwards_only_checked_lengths);
	vsock_teardown();
	return test_summary();
}
