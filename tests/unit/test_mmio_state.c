/*
 * The virtio-mmio transport's state (src/virtio/mmio.c) as a guest driver
 * sees it: reset by a status of 0, InterruptStatus and its acknowledgement,
 * config space bounds and generation, the shared-memory registers, and a
 * save/restore round trip that must give back every register. (The
 * registers' negotiation and queue rules are in test_mmio.c; what a
 * restore refuses in test_mmio_restore.c.)
 */
#include "mmio_driver.h"
#include "test.h"

TEST(status_zero_resets_the_transport)
{
	fresh();
	bring_up(dev);
	offer(0, 0);
	reg(dev, R_QUEUE_NOTIFY, 0);
	reg(dev, R_DEVICE_FEATURES_SEL, 1);
	reg(dev, R_QUEUE_SEL, 1);
	reg(dev, R_SHM_SEL, 3);
	dev->config_generation = 5;
	CHECK(get(dev, R_INTERRUPT_STATUS) & VIRTIO_INT_USED);
	reg(dev, R_STATUS, 0);
	CHECK_EQ(tdev.resets, 1);
	CHECK_EQ(get(dev, R_STATUS), 0);
	CHECK_EQ(get(dev, R_INTERRUPT_STATUS), 0);
	CHECK_EQ(get(dev, R_DEVICE_FEATURES), (uint32_t)OFFERED); /* sel 0 */
	CHECK_EQ(dev->driver_features, 0);
	CHECK_EQ(dev->drv_features_sel, 0);
	CHECK_EQ(dev->queue_sel, 0);
	CHECK_EQ(dev->shm_sel, 0);
	for (unsigned q = 0; q < 2; q++) {
		CHECK(!dev->queues[q].ready && !dev->queues[q].broken);
		CHECK(dev->queues[q].size == 0 && dev->queues[q].desc_gpa == 0);
		CHECK_EQ(dev->queues[q].last_avail, 0);
		CHECK_EQ(dev->queues[q].used_idx, 0);
	}
	/* the generation counts config changes, not resets */
	CHECK_EQ(get(dev, R_CONFIG_GENERATION), 5);
	/* a second negotiation starts from nothing */
	CHECK_EQ(negotiate(dev, VIRTIO_F_VERSION_1 | 1), ACK | DRV | FOK);
}

TEST(interrupt_status_set_by_device_cleared_by_ack)
{
	uint16_t no_irq = VIRTQ_AVAIL_F_NO_INTERRUPT;

	fresh();
	bring_up(dev);
	/* the driver asked for no interrupt: none is raised */
	gm_write(&vm.mem, AVAIL(0), &no_irq, 2);
	offer(0, 0);
	reg(dev, R_QUEUE_NOTIFY, 0);
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(get(dev, R_INTERRUPT_STATUS), 0);
	offer(1, 0);
	reg(dev, R_QUEUE_NOTIFY, 1);
	CHECK_EQ(get(dev, R_INTERRUPT_STATUS), VIRTIO_INT_USED);
	pthread_mutex_lock(&dev->lock);
	virtio_fail(dev);
	pthread_mutex_unlock(&dev->lock);
	CHECK_EQ(get(dev, R_INTERRUPT_STATUS),
		 VIRTIO_INT_USED | VIRTIO_INT_CONFIG);
	/* an ack clears the bits it names, only those */
	reg(dev, R_INTERRUPT_ACK, 0);
	CHECK_EQ(get(dev, R_INTERRUPT_STATUS),
		 VIRTIO_INT_USED | VIRTIO_INT_CONFIG);
	reg(dev, R_INTERRUPT_ACK, VIRTIO_INT_USED);
	CHECK_EQ(get(dev, R_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	reg(dev, R_INTERRUPT_ACK, VIRTIO_INT_CONFIG);
	CHECK_EQ(get(dev, R_INTERRUPT_STATUS), 0);
	/* already failed: no second config interrupt */
	pthread_mutex_lock(&dev->lock);
	virtio_fail(dev);
	pthread_mutex_unlock(&dev->lock);
	CHECK_EQ(get(dev, R_INTERRUPT_STATUS), 0);
	/* the status register is not writable through the ack */
	CHECK(get(dev, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

TEST(config_space_accesses_within_its_size_only)
{
	uint8_t b[8];

	fresh();
	memcpy(tdev.config, "0123456789ab", CONFIG_SIZE);
	virtio_mmio_read(dev, R_CONFIG + 2, b, 2);
	CHECK_EQ(memcmp(b, "23", 2), 0);
	CHECK(tdev.last_off == 2 && tdev.last_len == 2);
	virtio_mmio_read(dev, R_CONFIG + 4, b, 8);
	CHECK_EQ(memcmp(b, "456789ab", 8), 0);
	CHECK_EQ(tdev.config_reads, 2);
	/* past the end, or straddling it: zeros, the device not asked */
	memset(b, 0xee, sizeof(b));
	virtio_mmio_read(dev, R_CONFIG + 8, b, 8);
	CHECK(!b[0] && !b[7]);
	virtio_mmio_read(dev, R_CONFIG + CONFIG_SIZE, b, 1);
	virtio_mmio_read(dev, R_CONFIG + 0xeff, b, 4);
	virtio_mmio_read(dev, ~0ULL, b, 4);
	CHECK_EQ(tdev.config_reads, 2);
	virtio_mmio_write(dev, R_CONFIG + 11, (const uint8_t *)"Z", 1);
	CHECK_EQ(tdev.config[11], 'Z');
	virtio_mmio_write(dev, R_CONFIG + 10, (const uint8_t *)"QQQQ", 4);
	virtio_mmio_write(dev, ~0ULL - 1, (const uint8_t *)"QQ", 2);
	CHECK_EQ(tdev.config_writes, 1);
	CHECK_EQ(memcmp(tdev.config, "0123456789aZ", CONFIG_SIZE), 0);
	/* config accesses do not move the generation */
	CHECK_EQ(get(dev, R_CONFIG_GENERATION), 0);
}

/* No region: every shared-memory register reads as all ones (4.2.2). */
TEST(shm_registers_describe_region_zero_only)
{
	fresh();
	CHECK_EQ(get(dev, R_SHM_LEN_LOW), 0xffffffff);
	CHECK_EQ(get(dev, R_SHM_BASE_HIGH), 0xffffffff);
	dev->shm_base = 0x1234500000ULL;
	dev->shm_len = 0x200000000ULL;
	CHECK_EQ(get(dev, R_SHM_LEN_LOW), 0);
	CHECK_EQ(get(dev, R_SHM_LEN_HIGH), 2);
	CHECK_EQ(get(dev, R_SHM_BASE_LOW), 0x34500000);
	CHECK_EQ(get(dev, R_SHM_BASE_HIGH), 0x12);
	reg(dev, R_SHM_SEL, 1);
	CHECK_EQ(get(dev, R_SHM_LEN_LOW), 0xffffffff);
	CHECK_EQ(get(dev, R_SHM_LEN_HIGH), 0xffffffff);
	CHECK_EQ(get(dev, R_SHM_BASE_LOW), 0xffffffff);
	CHECK_EQ(get(dev, R_SHM_BASE_HIGH), 0xffffffff);
}

TEST(cmdline_names_base_and_irq)
{
	char buf[64];

	fresh();
	CHECK_EQ(virtio_mmio_cmdline(dev, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "virtio_mmio.device=4K@0xd0000000:5");
	/* 34 characters and the NUL */
	CHECK_EQ(virtio_mmio_cmdline(dev, buf, 34), -ENOSPC);
	CHECK_EQ(virtio_mmio_cmdline(dev, buf, 35), 0);
}

/* Every register a driver can read, for each queue selector. */
static void snapshot_regs(struct virtio_dev *d, uint32_t *r)
{
	static const unsigned regs[] = {R_DEVICE_FEATURES, R_QUEUE_NUM_MAX,
					R_QUEUE_READY,	   R_INTERRUPT_STATUS,
					R_STATUS,	   R_SHM_LEN_LOW,
					R_SHM_BASE_LOW,	   R_CONFIG_GENERATION};
	uint32_t qsel = d->queue_sel;

	for (unsigned s = 0; s < 3; s++) {
		reg(d, R_QUEUE_SEL, s);
		for (unsigned i = 0; i < 8; i++)
			*r++ = get(d, regs[i]);
	}
	reg(d, R_QUEUE_SEL, qsel);
}

/* Save, restore into a new device, compare; the queues go on working. */
TEST(save_restore_round_trip_keeps_every_register)
{
	struct virtio_dev *d2;
	struct sm_buf rec = {0}, again = {0};
	uint32_t before[24], after[24];
	struct virtq q0;

	fresh();
	negotiate(dev, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | 1);
	program_queue(dev, 0);
	reg(dev, R_QUEUE_READY, 1);
	program_queue(dev, 1); /* queue 1 programmed, not live */
	reg(dev, R_STATUS, ACK | DRV | FOK | DOK);
	for (uint16_t i = 0; i < 3; i++) {
		offer(0, i);
		reg(dev, R_QUEUE_NOTIFY, 0);
	}
	reg(dev, R_DEVICE_FEATURES_SEL, 1);
	reg(dev, R_DRIVER_FEATURES_SEL, 1);
	reg(dev, R_QUEUE_SEL, 1);
	reg(dev, R_SHM_SEL, 2);
	dev->config_generation = 7;
	tdev.saved_word = 0xc0ffee;
	snapshot_regs(dev, before);
	q0 = dev->queues[0];
	CHECK_EQ(virtio_mmio_save(dev, &rec), 0);

	tdev.saved_word = 0;
	if (virtio_mmio_create(&vm, &test_ops, NULL, 0xd0000000, 5, &d2, &err))
		abort();
	memset(&err, 0, sizeof(err));
	CHECK_EQ(virtio_mmio_restore(d2, rec.data, rec.len, &err), 0);
	snapshot_regs(d2, after);
	CHECK_EQ(memcmp(before, after, sizeof(before)), 0);
	CHECK_EQ(tdev.saved_word, 0xc0ffee);
	CHECK_EQ(d2->driver_features, dev->driver_features);
	CHECK_EQ(d2->dev_features_sel, 1);
	CHECK_EQ(d2->drv_features_sel, 1);
	CHECK_EQ(d2->queue_sel, 1);
	CHECK_EQ(d2->shm_sel, 2);
	CHECK_EQ(d2->queues[0].last_avail, 3);
	CHECK_EQ(d2->queues[0].used_idx, 3);
	CHECK(d2->queues[0].event_idx); /* from the restored features */
	CHECK(!d2->queues[1].ready && d2->queues[1].size == QSIZE);
	CHECK_EQ(d2->queues[1].used_gpa, USED(1));
	CHECK(d2->queues[0].ready == q0.ready &&
	      d2->queues[0].broken == q0.broken &&
	      d2->queues[0].size == q0.size &&
	      d2->queues[0].desc_gpa == q0.desc_gpa &&
	      d2->queues[0].avail_gpa == q0.avail_gpa &&
	      d2->queues[0].used_gpa == q0.used_gpa);
	/* saved again, the same bytes */
	CHECK_EQ(virtio_mmio_save(d2, &again), 0);
	CHECK(again.len == rec.len &&
	      memcmp(again.data, rec.data, rec.len) == 0);
	/* the restored queue serves the next request */
	offer(0, 3);
	reg(d2, R_QUEUE_NOTIFY, 0);
	CHECK_EQ(used_idx(0), 4);
	/* a device record its device refuses: the transport says whose */
	rec.data[rec.len - 8] = 3; /* the record's length, then 4 bytes */
	memset(&err, 0, sizeof(err));
	CHECK_EQ(virtio_mmio_restore(d2, rec.data, rec.len - 1, &err), -EINVAL);
	CHECK(strcmp(err.msg, "device state: record of 3 bytes") == 0);
	virtio_mmio_destroy(d2);
	sm_buf_free(&rec);
	sm_buf_free(&again);
}

int main(void)
{
	if (mmio_vm_setup())
		return 1;
	RUN(status_zero_resets_the_transport);
	RUN(interrupt_status_set_by_device_cleared_by_ack);
	RUN(config_space_accesses_within_its_size_only);
	RUN(shm_registers_describe_region_zero_only);
	RUN(cmdline_names_base_and_irq);
	RUN(save_restore_round_trip_keeps_every_register);
	mmio_vm_teardown();
	return test_summary();
}
