/*
 * The virtio-mmio register state machine (src/virtio/mmio.c) as a guest
 * driver drives it: identity, feature negotiation (the selectors, when
 * FEATURES_OK sticks, what it freezes), queue programming (the selected
 * queue, the size cap, a live queue's registers) and notifications.
 * Status and reset, interrupts, config space and save/restore are in
 * test_mmio_state.c; what a restore refuses in test_mmio_restore.c.
 */
#include "mmio_driver.h"
#include "test.h"

TEST(identity_registers_read_as_words_only)
{
	uint8_t b[4] = {1, 2, 3, 4};

	fresh();
	CHECK_EQ(get(dev, R_MAGIC), 0x74726976); /* "virt" */
	CHECK_EQ(get(dev, R_VERSION), 2);
	CHECK_EQ(get(dev, R_DEVICE_ID), 42);
	CHECK_EQ(get(dev, R_VENDOR_ID), 0x4d535553);
	/* registers are 32-bit, aligned: anything else reads zeros */
	virtio_mmio_read(dev, R_MAGIC, b, 2);
	CHECK(b[0] == 0 && b[1] == 0);
	virtio_mmio_read(dev, R_MAGIC + 1, b, 4);
	CHECK(!b[0] && !b[1] && !b[2] && !b[3]);
	/* and writes so made do nothing */
	virtio_mmio_write(dev, R_STATUS, (const uint8_t *)"\x01\x00", 2);
	CHECK_EQ(get(dev, R_STATUS), 0);
	/* a register that does not exist */
	CHECK_EQ(get(dev, 0x0c0), 0);
}

TEST(device_features_by_selector)
{
	fresh();
	CHECK_EQ(get(dev, R_DEVICE_FEATURES), (uint32_t)OFFERED);
	reg(dev, R_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(get(dev, R_DEVICE_FEATURES), (OFFERED >> 32) | 1); /* V1 */
	reg(dev, R_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ(get(dev, R_DEVICE_FEATURES), 0);
	reg(dev, R_DEVICE_FEATURES_SEL, 0xffffffff);
	CHECK_EQ(get(dev, R_DEVICE_FEATURES), 0);
}

TEST(driver_features_by_selector_write_only)
{
	fresh();
	reg(dev, R_STATUS, ACK | DRV);
	reg(dev, R_DRIVER_FEATURES_SEL, 1);
	reg(dev, R_DRIVER_FEATURES, 1);
	reg(dev, R_DRIVER_FEATURES_SEL, 0);
	reg(dev, R_DRIVER_FEATURES, 0x21);
	CHECK_EQ(dev->driver_features, VIRTIO_F_VERSION_1 | 0x21);
	/* a selector past the second word selects nothing */
	reg(dev, R_DRIVER_FEATURES_SEL, 2);
	reg(dev, R_DRIVER_FEATURES, 0xffffffff);
	CHECK_EQ(dev->driver_features, VIRTIO_F_VERSION_1 | 0x21);
	CHECK_EQ(get(dev, R_DRIVER_FEATURES), 0);
}

TEST(features_ok_accepted_for_offered_features_with_version_1)
{
	fresh();
	CHECK_EQ(
	    negotiate(dev, VIRTIO_F_VERSION_1 | (1ULL << 5) | (1ULL << 35)),
	    ACK | DRV | FOK);
	/* all of it, too */
	fresh();
	CHECK_EQ(negotiate(dev, VIRTIO_F_VERSION_1 | OFFERED), ACK | DRV | FOK);
}

TEST(features_ok_refused_without_version_1)
{
	fresh();
	CHECK_EQ(negotiate(dev, 1ULL << 5), ACK | DRV);
	CHECK_EQ(negotiate(dev, 0), ACK | DRV);
}

/* A driver that takes a bit we did not offer (low word, high word). */
TEST(features_ok_refused_for_bits_not_offered)
{
	fresh();
	CHECK_EQ(negotiate(dev, VIRTIO_F_VERSION_1 | (1ULL << 1)), ACK | DRV);
	CHECK_EQ(negotiate(dev, VIRTIO_F_VERSION_1 | (1ULL << 33)), ACK | DRV);
	CHECK_EQ(negotiate(dev, VIRTIO_F_VERSION_1 | (1ULL << 63)), ACK | DRV);
	/* refused, the features stay writable: the driver may try again */
	CHECK_EQ(negotiate(dev, VIRTIO_F_VERSION_1 | 1), ACK | DRV | FOK);
	CHECK_EQ(dev->driver_features, VIRTIO_F_VERSION_1 | 1);
}

/* Once FEATURES_OK stuck, the driver cannot widen what was accepted. */
TEST(driver_features_frozen_after_features_ok)
{
	fresh();
	CHECK_EQ(negotiate(dev, VIRTIO_F_VERSION_1), ACK | DRV | FOK);
	reg(dev, R_DRIVER_FEATURES_SEL, 0);
	reg(dev, R_DRIVER_FEATURES, 0xffffffff);
	reg(dev, R_DRIVER_FEATURES_SEL, 1);
	reg(dev, R_DRIVER_FEATURES, 0xffffffff);
	CHECK_EQ(dev->driver_features, VIRTIO_F_VERSION_1);
	reg(dev, R_STATUS, ACK | DRV | FOK | DOK);
	CHECK_EQ(get(dev, R_STATUS), ACK | DRV | FOK | DOK);
	CHECK_EQ(dev->driver_features, VIRTIO_F_VERSION_1);
}

TEST(queue_registers_program_the_selected_queue)
{
	fresh();
	reg(dev, R_QUEUE_SEL, 1);
	reg(dev, R_QUEUE_NUM, 32);
	reg(dev, R_QUEUE_DESC_LOW, 0x11112000);
	reg(dev, R_QUEUE_DESC_HIGH, 0x1);
	reg(dev, R_QUEUE_DRIVER_LOW, 0x22224000);
	reg(dev, R_QUEUE_DRIVER_HIGH, 0x2);
	reg(dev, R_QUEUE_DEVICE_LOW, 0x33336000);
	reg(dev, R_QUEUE_DEVICE_HIGH, 0x3);
	CHECK_EQ(dev->queues[1].size, 32);
	CHECK_EQ(dev->queues[1].desc_gpa, 0x111112000ULL);
	CHECK_EQ(dev->queues[1].avail_gpa, 0x222224000ULL);
	CHECK_EQ(dev->queues[1].used_gpa, 0x333336000ULL);
	/* the low half again leaves the high half */
	reg(dev, R_QUEUE_DESC_LOW, 0x5000);
	CHECK_EQ(dev->queues[1].desc_gpa, 0x100005000ULL);
	CHECK_EQ(dev->queues[0].size, 0);
	CHECK_EQ(dev->queues[0].desc_gpa, 0);
	CHECK_EQ(get(dev, R_QUEUE_NUM_MAX), QMAX);
	/* past the device's queues: nothing to program, nothing there */
	for (unsigned sel = 2; sel <= VIRTIO_MAX_QUEUES; sel++) {
		reg(dev, R_QUEUE_SEL, sel);
		CHECK_EQ(get(dev, R_QUEUE_NUM_MAX), 0);
		reg(dev, R_QUEUE_NUM, 8);
		reg(dev, R_QUEUE_DESC_LOW, 0x1000);
		reg(dev, R_QUEUE_READY, 1);
		CHECK_EQ(get(dev, R_QUEUE_READY), 0);
	}
	reg(dev, R_QUEUE_SEL, 0xffffffff);
	reg(dev, R_QUEUE_NUM, 8);
	CHECK_EQ(get(dev, R_QUEUE_READY), 0);
	for (unsigned q = 2; q < VIRTIO_MAX_QUEUES; q++)
		CHECK(dev->queues[q].size == 0 && dev->queues[q].desc_gpa == 0);
	CHECK_EQ(get(dev, R_STATUS), 0);
}

/* QueueNum over QueueNumMax never sticks; the queue cannot go live. */
TEST(queue_num_over_the_maximum_leaves_no_size)
{
	fresh();
	negotiate(dev, VIRTIO_F_VERSION_1);
	program_queue(dev, 0);
	reg(dev, R_QUEUE_NUM, QMAX + 1);
	CHECK_EQ(dev->queues[0].size, 0);
	reg(dev, R_QUEUE_NUM, QMAX);
	CHECK_EQ(dev->queues[0].size, QMAX);
	reg(dev, R_QUEUE_NUM, 0x10010); /* 16 in the low half */
	CHECK_EQ(dev->queues[0].size, 0);
	reg(dev, R_QUEUE_READY, 1);
	CHECK_EQ(get(dev, R_QUEUE_READY), 0);
	CHECK(get(dev, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/* A live queue's registers are the device's: writes are dropped. */
TEST(live_queue_ignores_size_and_address_writes)
{
	fresh();
	negotiate(dev, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX);
	program_queue(dev, 0);
	reg(dev, R_QUEUE_READY, 1);
	CHECK_EQ(get(dev, R_QUEUE_READY), 1);
	CHECK(dev->queues[0].event_idx); /* follows the negotiation */
	reg(dev, R_QUEUE_NUM, 8);
	reg(dev, R_QUEUE_DESC_LOW, 0x8000);
	reg(dev, R_QUEUE_DESC_HIGH, 0x1);
	reg(dev, R_QUEUE_DRIVER_LOW, 0x9000);
	reg(dev, R_QUEUE_DRIVER_HIGH, 0x1);
	reg(dev, R_QUEUE_DEVICE_LOW, 0xa000);
	reg(dev, R_QUEUE_DEVICE_HIGH, 0x1);
	CHECK_EQ(dev->queues[0].size, QSIZE);
	CHECK_EQ(dev->queues[0].desc_gpa, DESC(0));
	CHECK_EQ(dev->queues[0].avail_gpa, AVAIL(0));
	CHECK_EQ(dev->queues[0].used_gpa, USED(0));
	/* QueueReady 1 again changes nothing; 0 takes it down */
	reg(dev, R_QUEUE_READY, 1);
	CHECK_EQ(get(dev, R_QUEUE_READY), 1);
	reg(dev, R_QUEUE_READY, 0);
	CHECK_EQ(get(dev, R_QUEUE_READY), 0);
	reg(dev, R_QUEUE_NUM, 8);
	CHECK_EQ(dev->queues[0].size, 8);
	CHECK(!(get(dev, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
}

/* Rings outside guest memory: the device fails, the queue stays down,
 * notifications are not passed on until the driver resets it. */
TEST(bad_rings_need_reset_and_stop_notifications)
{
	fresh();
	negotiate(dev, VIRTIO_F_VERSION_1);
	program_queue(dev, 0);
	reg(dev, R_QUEUE_DESC_LOW, (uint32_t)RAM);
	reg(dev, R_QUEUE_READY, 1);
	CHECK_EQ(get(dev, R_QUEUE_READY), 0);
	CHECK(dev->queues[0].broken);
	CHECK_EQ(get(dev, R_STATUS),
		 ACK | DRV | FOK | VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(get(dev, R_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	program_queue(dev, 1);
	reg(dev, R_QUEUE_READY, 1);
	reg(dev, R_STATUS, get(dev, R_STATUS) | DOK);
	reg(dev, R_QUEUE_NOTIFY, 1);
	CHECK_EQ(tdev.notifies, 0);
	/* reset: a new start */
	reg(dev, R_STATUS, 0);
	bring_up(dev);
	offer(0, 0);
	reg(dev, R_QUEUE_NOTIFY, 0);
	CHECK_EQ(tdev.notifies, 1);
	CHECK_EQ(used_idx(0), 1);
}

TEST(notify_only_after_driver_ok_and_for_a_queue_that_exists)
{
	fresh();
	negotiate(dev, VIRTIO_F_VERSION_1);
	for (unsigned q = 0; q < 2; q++) {
		program_queue(dev, q);
		reg(dev, R_QUEUE_READY, 1);
	}
	offer(1, 0);
	reg(dev, R_QUEUE_NOTIFY, 1);
	CHECK_EQ(tdev.notifies, 0);
	reg(dev, R_STATUS, ACK | DRV | FOK | DOK);
	reg(dev, R_QUEUE_NOTIFY, 2);
	reg(dev, R_QUEUE_NOTIFY, 0xffffffff);
	CHECK_EQ(tdev.notifies, 0);
	reg(dev, R_QUEUE_NOTIFY, 1);
	CHECK_EQ(tdev.notifies, 1);
	CHECK_EQ(tdev.last_notify, 1);
	CHECK_EQ(used_idx(1), 1);
	CHECK_EQ(memcmp(gm_ptr(&vm.mem, BUF, 4), "abcd", 4), 0);
}

/* A descriptor index past the queue: virtio_serve_queue fails the device. */
TEST(malformed_ring_on_notify_needs_reset)
{
	uint16_t bad = QSIZE, idx = 1;

	fresh();
	bring_up(dev);
	gm_write(&vm.mem, AVAIL(0) + 4, &bad, 2);
	gm_write(&vm.mem, AVAIL(0) + 2, &idx, 2);
	reg(dev, R_QUEUE_NOTIFY, 0);
	CHECK(get(dev, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(get(dev, R_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	CHECK_EQ(used_idx(0), 0);
	reg(dev, R_QUEUE_NOTIFY, 0);
	CHECK_EQ(tdev.notifies, 1); /* not passed on any more */
}

int main(void)
{
	if (mmio_vm_setup())
		return 1;
	RUN(identity_registers_read_as_words_only);
	RUN(device_features_by_selector);
	RUN(driver_features_by_selector_write_only);
	RUN(features_ok_accepted_for_offered_features_with_version_1);
	RUN(features_ok_refused_without_version_1);
	RUN(features_ok_refused_for_bits_not_offered);
	RUN(driver_features_frozen_after_features_ok);
	RUN(queue_registers_program_the_selected_queue);
	RUN(queue_num_over_the_maximum_leaves_no_size);
	RUN(live_queue_ignores_size_and_address_writes);
	RUN(bad_rings_need_reset_and_stop_notifications);
	RUN(notify_only_after_driver_ok_and_for_a_queue_that_exists);
	RUN(malformed_ring_on_notify_needs_reset);
	mmio_vm_teardown();
	return test_summary();
}
