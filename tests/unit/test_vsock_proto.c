/*
 * virtio-vsock's stream protocol (src/virtio/vsock.c) as a guest's driver
 * sees it: credit both ways (the host's bytes stop at the guest's
 * buf_alloc less what it has not forwarded; the guest's stop at ours, and
 * a guest past it is reset), credit updates asked for and volunteered,
 * resets and shutdowns from either side, and after a restore the
 * transport reset event. The guest is vsock_guest.h's; the caps on
 * connections and bytes are in test_vsock.c.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "test.h"
#include "vsock_guest.h"

#define PORT 100

/* Bytes the host end has for the guest: a pattern. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 13 + i / 256);
}

/*
 * Takes the RW packets for PORT until `want` payload bytes came, then any
 * more that come before RX is quiet for 100 ms, appending the payloads
 * at dst + *got; counts the other packets in *other.
 */
static void take_rw(uint8_t *dst, size_t max, size_t want, size_t *got,
		    unsigned *other)
{
	static uint8_t data[0x1000];

	while (*got < want || !rx_quiet(100)) {
		struct hdr h = guest_recv_data(data);

		if (h.op == 0)
			return; /* nothing for 5 s */
		if (h.op != OP_RW || h.dst_port != PORT || *got + h.len > max) {
			(*other)++;
			continue;
		}
		memcpy(dst + *got, data, h.len);
		*got += h.len;
	}
}

static bool host_end_at_eof(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	return poll(&p, 1, ms) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static unsigned conns_now(void)
{
	struct vsock_stats st;

	vsock_get_stats(&dev, &st);
	return st.conns;
}

/* Waits (up to 1 s) for the device to hold n connections. */
static bool conns_become(unsigned n)
{
	for (int i = 0; i < 1000; i++) {
		if (conns_now() == n)
			return true;
		usleep(1000);
	}
	return false;
}

TEST(host_data_stops_at_the_guests_credit)
{
	static uint8_t sent[3000], got[3000];
	size_t n = 0;
	unsigned other = 0;
	struct hdr h;

	setup(NULL);
	post_rx(QSIZE);
	guest_buf_alloc = 1000;
	h = connect_port(PORT);
	CHECK_EQ(h.op, OP_RESPONSE);
	/* the response tells the guest our credit */
	CHECK_EQ(h.buf_alloc, DEVICE_BUF_ALLOC);
	CHECK_EQ(h.fwd_cnt, 0);
	CHECK(h.src_cid == VSOCK_HOST_CID && h.dst_cid == GUEST_CID);
	CHECK(h.src_port == HOST_PORT && h.dst_port == PORT);
	for (size_t i = 0; i < sizeof(sent); i++)
		sent[i] = pattern(i);
	CHECK_EQ(send(host_fds[0], sent, sizeof(sent), 0), sizeof(sent));
	take_rw(got, sizeof(got), 1000, &n, &other);
	CHECK_EQ(n, 1000);
	/* a smaller buffer than what is in flight: no credit, not 2^32 */
	guest_buf_alloc = 500;
	guest_send(OP_CREDIT_UPDATE, PORT, 0, 0);
	take_rw(got, sizeof(got), 1000, &n, &other);
	CHECK_EQ(n, 1000);
	/* the guest read what it had: room for 1000 more each time */
	guest_buf_alloc = 1000;
	guest_fwd_cnt = 1000;
	guest_send(OP_CREDIT_UPDATE, PORT, 0, 0);
	take_rw(got, sizeof(got), 2000, &n, &other);
	CHECK_EQ(n, 2000);
	guest_fwd_cnt = 2000;
	guest_send(OP_CREDIT_UPDATE, PORT, 0, 0);
	take_rw(got, sizeof(got), 3000, &n, &other);
	CHECK_EQ(n, 3000);
	CHECK_EQ(memcmp(got, sent, sizeof(sent)), 0);
	CHECK_EQ(other, 0);
}

TEST(credit_request_answered_with_bytes_forwarded)
{
	struct hdr h;

	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(PORT).op, OP_RESPONSE);
	guest_send(OP_RW, PORT, 5000, 0x11);
	CHECK_EQ(drain(host_fds[0], 0x11, 200), 5000);
	CHECK(rx_quiet(50)); /* under half the window: nothing volunteered */
	guest_send(OP_CREDIT_REQUEST, PORT, 0, 0);
	h = guest_recv();
	CHECK_EQ(h.op, OP_CREDIT_UPDATE);
	CHECK_EQ(h.dst_port, PORT);
	CHECK_EQ(h.fwd_cnt, 5000);
	CHECK_EQ(h.buf_alloc, DEVICE_BUF_ALLOC);
	CHECK_EQ(h.len, 0);
}

/* Half our window forwarded: the guest hears of it unasked. */
TEST(credit_update_volunteered_after_half_the_window)
{
	const uint32_t chunk = DEVICE_BUF_ALLOC / 8;
	size_t total = 0;
	struct hdr h;

	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(PORT).op, OP_RESPONSE);
	for (int i = 0; i < 3; i++) {
		guest_send(OP_RW, PORT, chunk, 0x22);
		total += drain(host_fds[0], 0x22, 200);
	}
	CHECK_EQ(total, 3 * chunk);
	CHECK(rx_quiet(50));
	guest_send(OP_RW, PORT, chunk, 0x22);
	CHECK_EQ(drain(host_fds[0], 0x22, 200), chunk);
	h = guest_recv();
	CHECK_EQ(h.op, OP_CREDIT_UPDATE);
	CHECK_EQ(h.fwd_cnt, 4 * chunk);
	CHECK(rx_quiet(50)); /* once */
}

/*
 * The host end never reads: the guest's bytes pile up in the device,
 * within the credit we gave. A guest that sends past it (ignoring our
 * buf_alloc) has its connection reset: the credit rule, not the device's
 * cap (4 MiB by default), which stays untouched.
 */
TEST(guest_past_its_credit_is_reset)
{
	const uint32_t chunk = 32768;
	struct vsock_stats st = {0};
	size_t peak = 0; /* the most the device held for it */
	struct hdr h = {0};

	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(PORT).op, OP_RESPONSE);
	for (int i = 0; i < 100 && h.op != OP_RST; i++) {
		guest_send(OP_RW, PORT, chunk, 0x33);
		CHECK(wait_used(TXQ, (uint16_t)tx_slot));
		vsock_get_stats(&dev, &st);
		peak = st.buffered > peak ? st.buffered : peak;
		while (used_idx(RXQ) != rx_seen && h.op != OP_RST)
			h = guest_recv(); /* credit updates may come first */
	}
	while (h.op && h.op != OP_RST)
		h = guest_recv();
	CHECK_EQ(h.op, OP_RST);
	CHECK_EQ(h.dst_port, PORT);
	/* held up to the credit, refused only what did not fit in it */
	CHECK(peak <= DEVICE_BUF_ALLOC);
	CHECK(peak + chunk > DEVICE_BUF_ALLOC);
	CHECK(conns_become(0));
	vsock_get_stats(&dev, &st);
	CHECK_EQ(st.buffered, 0);
	CHECK_EQ(st.buffered_resets, 0);
	/* the host end gets what was forwarded, then the end */
	CHECK(drain(host_fds[0], 0x33, 100) != (size_t)-1);
	CHECK(host_end_at_eof(host_fds[0], 100));
}

/* RST from the guest ends its connection and no other; no reply. */
TEST(guest_rst_closes_the_host_end_without_reply)
{
	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(PORT).op, OP_RESPONSE);
	CHECK_EQ(connect_port(PORT + 1).op, OP_RESPONSE);
	guest_send(OP_RST, PORT, 0, 0);
	CHECK(host_end_at_eof(host_fds[0], 1000));
	CHECK(conns_become(1));
	CHECK(rx_quiet(100));
	/* a reset or data for a connection that does not exist: nothing */
	guest_send(OP_RST, PORT + 50, 0, 0);
	guest_send(OP_RW, PORT + 51, 10, 0x44);
	guest_send(OP_RST, PORT, 0, 0);
	CHECK(rx_quiet(100));
	CHECK_EQ(conns_now(), 1);
	/* the other connection carries on */
	guest_send(OP_RW, PORT + 1, 10, 0x44);
	CHECK_EQ(drain(host_fds[1], 0x44, 200), 10);
}

/* The host closes its end: the guest is told no more either way. */
/* CPU time this process used, in ms (the device's I/O thread is ours). */
static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
	       ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

TEST(host_close_sends_shutdown_then_guest_rst_ends_it)
{
	struct timespec wait = {0, 300 * 1000 * 1000};
	double t0;
	struct hdr h;

	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(PORT).op, OP_RESPONSE);
	close(host_fds[0]);
	host_fds[0] = -1;
	h = guest_recv();
	CHECK_EQ(h.op, OP_SHUTDOWN);
	CHECK_EQ(h.flags, SHUTDOWN_RCV | SHUTDOWN_SEND);
	CHECK_EQ(h.dst_port, PORT);
	CHECK_EQ(conns_now(), 1); /* until the guest's reset */
	/* a guest that never resets costs no CPU: the hung-up host end is
	 * out of the I/O thread's epoll set (it spun at ~55% before) */
	t0 = cpu_ms();
	nanosleep(&wait, NULL);
	CHECK(cpu_ms() - t0 < 60);
	guest_send(OP_RST, PORT, 0, 0);
	CHECK(conns_become(0));
	CHECK(rx_quiet(50));
}

/* The guest shuts down its sending side, then both: the device resets. */
TEST(guest_shutdown_half_then_both_ways)
{
	uint8_t data[0x1000];
	struct hdr h;

	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(PORT).op, OP_RESPONSE);
	guest_send_flags(OP_SHUTDOWN, PORT, 0, 0, SHUTDOWN_SEND);
	CHECK(host_end_at_eof(host_fds[0], 1000));
	/* the other way still carries data */
	CHECK_EQ(send(host_fds[0], "pong", 4, 0), 4);
	h = guest_recv_data(data);
	CHECK_EQ(h.op, OP_RW);
	CHECK(h.len == 4 && !memcmp(data, "pong", 4));
	/* data after its own shutdown is dropped, not a reason to reset */
	guest_send(OP_RW, PORT, 10, 0x55);
	CHECK(rx_quiet(100));
	CHECK_EQ(conns_now(), 1);
	guest_send_flags(OP_SHUTDOWN, PORT, 0, 0, SHUTDOWN_RCV);
	h = guest_recv();
	CHECK_EQ(h.op, OP_RST);
	CHECK_EQ(h.dst_port, PORT);
	CHECK(conns_become(0));
}

/* ops.save / ops.restore under the lock, as the transport calls them. */
static int restore(const void *rec, size_t len, struct sm_error *err)
{
	int ret;

	pthread_mutex_lock(&dev.lock);
	ret = virtio_vsock_ops.restore(&dev, rec, len, err);
	pthread_mutex_unlock(&dev.lock);
	return ret;
}

/* Event buffer i (len bytes at EVBUF + 0x100 i, filled with 0xff). */
static void post_event_buffer(uint16_t i, uint32_t len)
{
	memset(gm_ptr(&gm, EVBUF + 0x100 * i, 0x100), 0xff, 0x100);
	post(EVQ, i, EVBUF + 0x100 * i, len, VIRTQ_DESC_F_WRITE);
}

/* The used element of event buffer number n: its id and length. */
static void event_used(uint16_t n, uint32_t *id, uint32_t *len)
{
	gm_read(&gm, USED(EVQ) + 4 + 8 * n, id, 4);
	gm_read(&gm, USED(EVQ) + 8 + 8 * n, len, 4);
}

/*
 * Connections are not saved: restored, the device drops them (their host
 * ends see the end) and tells the guest with a transport reset event as
 * soon as the driver gives it an event buffer.
 */
TEST(restore_drops_connections_and_sends_transport_reset)
{
	struct sm_buf rec = {0};
	struct sm_error err = {0};
	uint32_t id, len, event;

	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(PORT).op, OP_RESPONSE);
	CHECK_EQ(connect_port(PORT + 1).op, OP_RESPONSE);
	pthread_mutex_lock(&dev.lock);
	CHECK_EQ(virtio_vsock_ops.save(&dev, &rec), 0);
	pthread_mutex_unlock(&dev.lock);
	CHECK_EQ(rec.len, 8);
	CHECK_EQ(restore(rec.data, rec.len, &err), 0);
	CHECK_EQ(conns_now(), 0);
	CHECK(host_end_at_eof(host_fds[0], 1000));
	CHECK(host_end_at_eof(host_fds[1], 1000));
	/* no event buffer yet: the event waits for one */
	usleep(50000);
	CHECK_EQ(used_idx(EVQ), 0);
	post_event_buffer(0, 8);
	CHECK(wait_used(EVQ, 1));
	event_used(0, &id, &len);
	gm_read(&gm, EVBUF, &event, 4);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, 4);
	CHECK_EQ(event, 0); /* VIRTIO_VSOCK_EVENT_TRANSPORT_RESET */
	/* one event per restore */
	post_event_buffer(1, 8);
	usleep(50000);
	CHECK_EQ(used_idx(EVQ), 1);
	/* the next restore's event takes the buffer already there */
	CHECK_EQ(restore(rec.data, rec.len, &err), 0);
	CHECK(wait_used(EVQ, 2));
	event_used(1, &id, &len);
	CHECK_EQ(id, 1);
	CHECK_EQ(len, 4);
	/* a buffer too short for the event: the length written, not 4 */
	post_event_buffer(2, 2);
	CHECK_EQ(restore(rec.data, rec.len, &err), 0);
	CHECK(wait_used(EVQ, 3));
	event_used(2, &id, &len);
	CHECK_EQ(id, 2);
	CHECK_EQ(len, 2);
	/* the device works on: a new connection */
	CHECK_EQ(connect_port(PORT + 2).op, OP_RESPONSE);
	sm_buf_free(&rec);
}

/* A record of another VM (its CID) or of another length: refused, and
 * the connections stay. */
TEST(restore_refuses_another_vms_record)
{
	uint8_t rec[12] = {0};
	struct sm_error err = {0};
	uint64_t cid = 7;

	setup(NULL);
	post_rx(QSIZE);
	CHECK_EQ(connect_port(PORT).op, OP_RESPONSE);
	memcpy(rec, &cid, 8);
	CHECK_EQ(restore(rec, 8, &err), -EINVAL);
	CHECK(strcmp(err.msg, "guest CID 7, this VM's is 3") == 0);
	CHECK_EQ(restore(rec, 4, &err), -EINVAL);
	CHECK(strcmp(err.msg, "record of 4 bytes, not 8") == 0);
	cid = GUEST_CID;
	memcpy(rec, &cid, 8);
	CHECK_EQ(restore(rec, 12, &err), -EINVAL);
	CHECK(strcmp(err.msg, "record of 12 bytes, not 8") == 0);
	CHECK_EQ(conns_now(), 1);
	usleep(50000);
	CHECK_EQ(used_idx(EVQ), 0);
	guest_send(OP_RW, PORT, 10, 0x66);
	CHECK_EQ(drain(host_fds[0], 0x66, 200), 10);
}

int main(void)
{
	RUN(host_data_stops_at_the_guests_credit);
	RUN(credit_request_answered_with_bytes_forwarded);
	RUN(credit_update_volunteered_after_half_the_window);
	RUN(guest_past_its_credit_is_reset);
	RUN(guest_rst_closes_the_host_end_without_reply);
	RUN(host_close_sends_shutdown_then_guest_rst_ends_it);
	RUN(guest_shutdown_half_then_both_ways);
	RUN(restore_drops_connections_and_sends_transport_reset);
	RUN(restore_refuses_another_vms_record);
	vsock_teardown();
	return test_summary();
}
