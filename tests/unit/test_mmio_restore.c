/*
 * virtio-mmio restore (virtio_mmio_restore) against records it must not
 * take: a snapshot directory is input, maybe written by someone else. The
 * devices are real ones, made by virtio_mmio_create() on a VM from
 * vm_alloc() as vm_build_machine() makes them (no hypervisor: nothing
 * here raises an interrupt), and driven through their MMIO registers as
 * a driver would. Their record comes from virtio_mmio_save(); each case
 * changes one field of it and expects a refusal whose message says what
 * was wrong, and the round trips show that the record unchanged restores
 * into a new VM whose memory is mapped from the saved memory file.
 *
 * Record layout (virtio_mmio_save, little endian): status, device and
 * driver feature selectors, driver features (u64), queue_sel,
 * interrupt_status, config_generation, shm_sel; per queue 32 bytes (size
 * u16, ready u8, broken u8, desc, avail and used addresses u64,
 * last_avail and used_idx u16); the device's own record: u32 length and
 * its bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/serial.h"
#include "sandbox/sandbox.h"
#include "snapshot/snapshot.h"
#include "test.h"
#include "util/fs.h"
#include "virtio/device.h"
#include "virtio/fs.h"
#include "vmm/vm.h"
#include "vmm/vm_build.h"

extern const struct virtio_dev_ops virtio_rng_ops, virtio_fs_ops;

/* virtio-mmio registers (virtio 1.2, 4.2.2) */
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_STATUS 0x070
#define R_QUEUE_DESC_LOW 0x080
#define R_QUEUE_DRIVER_LOW 0x090
#define R_QUEUE_DEVICE_LOW 0x0a0

#define RAM (1ULL << 20)
#define QSIZE 16
#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define BUF 0x10000ULL
#define RNG_MAX 64 /* virtio_rng_ops.queue_max */

/* record offsets */
#define O_STATUS 0
#define O_DRIVER_FEATURES 12
#define O_QUEUE(i) (36 + 32 * (i))
#define O_SIZE 0
#define O_READY 2
#define O_BROKEN 3
#define O_DESC 4
#define O_AVAIL 12
#define O_USED 20
#define O_OWN(nq) (36 + 32 * (nq)) /* the device record's length */

enum { SLOT_RNG, SLOT_FS };

static const uint64_t layout[1][2] = {{0, RAM}};
static char dir[64], share[96], memfile[96];
static struct vm *vm1, *vm2; /* saved from, restored into */
static struct sm_buf rng_rec, fs_rec;
static struct sm_error err;

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static void reg(struct virtio_dev *d, unsigned off, uint32_t v)
{
	virtio_mmio_write(d, off, (const uint8_t *)&v, 4);
}

static uint32_t reg_get(struct virtio_dev *d, unsigned off)
{
	uint32_t v;

	virtio_mmio_read(d, off, (uint8_t *)&v, 4);
	return v;
}

static void add_device(struct vm *vm, const struct virtio_dev_ops *ops,
		       const void *cfg)
{
	struct virtio_dev *d;

	if (virtio_mmio_create(vm, ops, cfg, 0xd0000000 + vm->nvirtio * 0x1000,
			       5 + vm->nvirtio, &d, &err)) {
		fprintf(stderr, "# %s\n", err.msg);
		abort();
	}
	vm->virtio[vm->nvirtio++] = d;
}

/* A VM as vm_build_machine() makes it, less the hypervisor; its RAM
 * fresh or mapped from a memory file as on restore. */
static struct vm *new_vm(const char *memory_file)
{
	struct vm_config cfg = {.console_fd = -1};
	struct virtio_fs_config fs = {.tag = "t", .dir = share};
	struct vm *vm = vm_alloc(&cfg);

	if (!vm)
		abort();
	/* no vCPUs without KVM: snapshot_restore_cpus_devices() goes
	 * straight to the device table (the serial port) and virtio */
	vm->ncpus = 0;
	if (memory_file
		? gm_create_from_file(&vm->mem, layout, 1, memory_file, &err)
		: gm_create(&vm->mem, layout, 1, &err)) {
		fprintf(stderr, "# %s\n", err.msg);
		abort();
	}
	vm->serial = serial_create(vm, 4, -1);
	if (!vm->serial ||
	    vm_add_device(vm, &serial_device_ops, vm->serial, NULL))
		abort();
	add_device(vm, &virtio_rng_ops, NULL);
	add_device(vm, &virtio_fs_ops, &fs);
	return vm;
}

/* Offers one 64-byte writable buffer (descriptor i) on the rng queue and
 * notifies it, as the guest's driver would. */
static void rng_request(struct vm *vm, uint16_t i)
{
	struct desc d = {BUF + 0x100 * i, 64, VIRTQ_DESC_F_WRITE, 0};
	uint16_t idx;

	gm_write(&vm->mem, DESC + 16 * i, &d, sizeof(d));
	gm_read(&vm->mem, AVAIL + 2, &idx, 2);
	gm_write(&vm->mem, AVAIL + 4 + 2 * (idx % QSIZE), &i, 2);
	idx++;
	gm_write(&vm->mem, AVAIL + 2, &idx, 2);
	reg(vm->virtio[SLOT_RNG], R_QUEUE_NOTIFY, 0);
}

static uint16_t used_idx(struct vm *vm)
{
	uint16_t idx = 0;

	gm_read(&vm->mem, USED + 2, &idx, 2);
	return idx;
}

/* The driver's side of probing virtio-rng: features, queue 0, DRIVER_OK;
 * then one request served, so the indices are not zero. */
static void drive_rng(struct vm *vm)
{
	struct virtio_dev *d = vm->virtio[SLOT_RNG];
	uint16_t no_irq = VIRTQ_AVAIL_F_NO_INTERRUPT;

	/* no interrupts: there is no hypervisor to take them */
	gm_write(&vm->mem, AVAIL, &no_irq, 2);
	reg(d, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	reg(d, R_DRIVER_FEATURES_SEL, 1);
	reg(d, R_DRIVER_FEATURES, 1); /* VERSION_1 */
	reg(d, R_DRIVER_FEATURES_SEL, 0);
	reg(d, R_DRIVER_FEATURES, 0);
	reg(d, R_STATUS,
	    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_FEATURES_OK);
	reg(d, R_QUEUE_SEL, 0);
	reg(d, R_QUEUE_NUM, QSIZE);
	reg(d, R_QUEUE_DESC_LOW, (uint32_t)DESC);
	reg(d, R_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
	reg(d, R_QUEUE_DEVICE_LOW, (uint32_t)USED);
	reg(d, R_QUEUE_READY, 1);
	reg(d, R_STATUS, reg_get(d, R_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	rng_request(vm, 0);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sm-mmiorestore.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(share, sizeof(share), "%s/share", dir);
	snprintf(memfile, sizeof(memfile), "%s/memory", dir);
	if (mkdir(share, 0700))
		abort();
	/* The jail wants sm_jail_setup() from the VMM's main thread first
	 * (its shared empty root); the share worker's confinement to the
	 * share and its seccomp role stay on. */
	sm_jail_set_thread_policy(false);
	vm1 = new_vm(NULL);
	drive_rng(vm1);
	if (used_idx(vm1) != 1)
		abort();
	if (virtio_mmio_save(vm1->virtio[SLOT_RNG], &rng_rec) ||
	    virtio_mmio_save(vm1->virtio[SLOT_FS], &fs_rec) ||
	    gm_save_file(&vm1->mem, memfile, &err))
		abort();
	vm2 = new_vm(memfile);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A copy of the saved rng record to change one field in. */
static uint8_t *rng_copy(void)
{
	uint8_t *p = malloc(rng_rec.len + 64);

	if (!p)
		abort();
	memcpy(p, rng_rec.data, rng_rec.len);
	return p;
}

/*
 * Restores rec into vm2's rng device, reset first as a new VM's is;
 * true when it is refused with -EINVAL and a message containing want.
 */
static bool refused(const uint8_t *rec, size_t len, const char *want)
{
	struct virtio_dev *d = vm2->virtio[SLOT_RNG];
	int ret;

	reg(d, R_STATUS, 0);
	memset(&err, 0, sizeof(err));
	ret = virtio_mmio_restore(d, rec, len, &err);
	if (ret == -EINVAL && err.code == -EINVAL && strstr(err.msg, want))
		return true;
	fprintf(stderr, "# restore: %d \"%s\", wanted -EINVAL \"%s\"\n", ret,
		err.msg, want);
	return false;
}

TEST(round_trip_restores_a_working_queue)
{
	struct virtio_dev *d = vm2->virtio[SLOT_RNG];

	memset(&err, 0, sizeof(err));
	CHECK_EQ(virtio_mmio_restore(d, rng_rec.data, rng_rec.len, &err), 0);
	CHECK_EQ(err.code, 0);
	CHECK_EQ(reg_get(d, R_STATUS),
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(d->driver_features, VIRTIO_F_VERSION_1);
	CHECK(d->queues[0].ready && !d->queues[0].broken);
	CHECK_EQ(d->queues[0].size, QSIZE);
	CHECK_EQ(d->queues[0].last_avail, 1);
	CHECK_EQ(d->queues[0].used_idx, 1);
	/* the restored queue goes on where the saved one stopped */
	CHECK_EQ(used_idx(vm2), 1);
	rng_request(vm2, 1);
	CHECK_EQ(used_idx(vm2), 2);
	CHECK(!(reg_get(d, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	CHECK_EQ(used_idx(vm1), 1); /* a private mapping: the file's pages */
}

TEST(truncated_transport_refused)
{
	CHECK(refused(rng_rec.data, O_QUEUE(0) - 1,
		      "transport record truncated"));
	CHECK(refused(rng_rec.data, 0, "transport record truncated"));
}

TEST(driver_features_not_offered_refused)
{
	uint8_t *p = rng_copy();

	/* EVENT_IDX: virtio-rng does not offer it */
	put64(p + O_DRIVER_FEATURES, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX);
	CHECK(refused(p, rng_rec.len,
		      "driver features 0x120000000 not all offered "
		      "(0x100000000)"));
	free(p);
}

/* status_write() never lets FEATURES_OK stick without VERSION_1 */
TEST(features_ok_without_version_1_refused)
{
	uint8_t *p = rng_copy();

	put64(p + O_DRIVER_FEATURES, 0);
	CHECK(refused(p, rng_rec.len,
		      "status 0xf has FEATURES_OK without VERSION_1"));
	/* the same features before FEATURES_OK: a driver mid-probe */
	put32(p + O_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	p[O_QUEUE(0) + O_READY] = 0;
	memset(&err, 0, sizeof(err));
	reg(vm2->virtio[SLOT_RNG], R_STATUS, 0);
	CHECK_EQ(
	    virtio_mmio_restore(vm2->virtio[SLOT_RNG], p, rng_rec.len, &err),
	    0);
	free(p);
}

TEST(queue_size_over_the_maximum_refused)
{
	uint8_t *p = rng_copy();

	/* not live: a QueueNum over QueueNumMax never sticks either */
	p[O_QUEUE(0) + O_READY] = 0;
	put16(p + O_QUEUE(0) + O_SIZE, 2 * RNG_MAX);
	CHECK(refused(p, rng_rec.len, "queue 0: size 128 over the maximum 64"));
	put16(p + O_QUEUE(0) + O_SIZE, 0xffff);
	CHECK(refused(p, rng_rec.len, "queue 0: size 65535 over the maximum"));
	free(p);
}

TEST(live_queue_size_not_a_power_of_two_refused)
{
	uint8_t *p = rng_copy();

	put16(p + O_QUEUE(0) + O_SIZE, 24);
	CHECK(refused(p, rng_rec.len,
		      "queue 0: size not a power of two up to 1024 (size 24,"));
	put16(p + O_QUEUE(0) + O_SIZE, 0);
	CHECK(refused(p, rng_rec.len,
		      "queue 0: size not a power of two up to 1024 (size 0,"));
	free(p);
}

TEST(live_rings_outside_guest_memory_refused)
{
	uint8_t *p = rng_copy();

	put64(p + O_QUEUE(0) + O_DESC, RAM - 16 * QSIZE + 16);
	CHECK(refused(p, rng_rec.len,
		      "queue 0: descriptor table outside guest memory"));
	/* a sum that wraps must not come back inside */
	put64(p + O_QUEUE(0) + O_DESC, ~0ULL - 15);
	CHECK(refused(p, rng_rec.len,
		      "queue 0: descriptor table outside guest memory"));
	put64(p + O_QUEUE(0) + O_DESC, DESC);
	put64(p + O_QUEUE(0) + O_AVAIL, RAM);
	CHECK(refused(p, rng_rec.len,
		      "queue 0: available ring outside guest memory"));
	put64(p + O_QUEUE(0) + O_AVAIL, AVAIL);
	put64(p + O_QUEUE(0) + O_USED, RAM - 8);
	CHECK(
	    refused(p, rng_rec.len, "queue 0: used ring outside guest memory"));
	free(p);
}

TEST(live_rings_misaligned_refused)
{
	uint8_t *p = rng_copy();

	put64(p + O_QUEUE(0) + O_DESC, DESC + 8);
	CHECK(refused(p, rng_rec.len,
		      "queue 0: ring address misaligned (size 16, descriptors "
		      "0x1008, available 0x2000, used 0x3000)"));
	put64(p + O_QUEUE(0) + O_DESC, DESC);
	put64(p + O_QUEUE(0) + O_USED, USED + 2);
	CHECK(refused(p, rng_rec.len, "queue 0: ring address misaligned"));
	free(p);
}

/* the save writes bools; a restore used to take any byte as true */
TEST(ready_or_broken_not_a_bool_refused)
{
	uint8_t *p = rng_copy();

	p[O_QUEUE(0) + O_READY] = 2;
	CHECK(refused(p, rng_rec.len, "queue 0: ready 2, broken 0"));
	p[O_QUEUE(0) + O_READY] = 1;
	p[O_QUEUE(0) + O_BROKEN] = 0x80;
	CHECK(refused(p, rng_rec.len, "queue 0: ready 1, broken 128"));
	free(p);
}

TEST(truncated_queue_refused)
{
	CHECK(refused(rng_rec.data, O_QUEUE(0) + 20,
		      "queue 0: record truncated"));
	CHECK(refused(rng_rec.data, O_OWN(1) - 1, "queue 0: record truncated"));
}

TEST(device_record_length_must_be_what_follows)
{
	uint8_t *p = rng_copy();

	/* the length field cut off */
	CHECK(refused(p, O_OWN(1) + 2, "device record length truncated"));
	/* more announced than there is */
	put32(p + O_OWN(1), 8);
	CHECK(refused(p, rng_rec.len,
		      "device record of 8 bytes where 0 are left"));
	/* bytes after the record */
	put32(p + O_OWN(1), 0);
	CHECK(refused(p, rng_rec.len + 3,
		      "device record of 0 bytes where 3 are left"));
	free(p);
}

TEST(device_state_for_a_stateless_device_refused)
{
	uint8_t *p = rng_copy();

	put32(p + O_OWN(1), 4);
	put32(p + O_OWN(1) + 4, 0xdeadbeef);
	CHECK(refused(p, rng_rec.len + 4,
		      "4 bytes of device state for a device that keeps "
		      "none"));
	free(p);
}

/* A state file of the VM's serial port and the given device records. */
static void state_of(struct snap_file *f, const void *rng, size_t rng_len,
		     const void *fs, size_t fs_len)
{
	struct snap_writer w;
	struct sm_error e = {0};

	snap_writer_init(&w);
	if (serial_save(vm2->serial, snap_begin(&w, SNAP_REC_DEVICE, 0)) ||
	    snap_end(&w, &e) ||
	    (rng &&
	     snap_put(&w, SNAP_REC_VIRTIO, SLOT_RNG, rng, rng_len, &e)) ||
	    (fs && snap_put(&w, SNAP_REC_VIRTIO, SLOT_FS, fs, fs_len, &e)) ||
	    snap_finish(&w, &e) || snap_parse(f, w.buf.data, w.buf.len, &e))
		abort();
	snap_writer_free(&w);
}

/* What the user reads: the device, its slot, the field. */
TEST(snapshot_restore_names_device_slot_and_field)
{
	uint8_t *p = rng_copy();
	struct snap_file f;

	put16(p + O_QUEUE(0) + O_SIZE, 2 * RNG_MAX);
	state_of(&f, p, rng_rec.len, fs_rec.data, fs_rec.len);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(snapshot_restore_cpus_devices(vm2, &f, &err), -EINVAL);
	CHECK(strcmp(err.msg, "snapshot state of virtio-rng (slot 0): queue "
			      "0: size 128 over the maximum 64") == 0);
	snap_file_free(&f);

	state_of(&f, rng_rec.data, rng_rec.len, NULL, 0);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(snapshot_restore_cpus_devices(vm2, &f, &err), -EINVAL);
	CHECK(strcmp(err.msg, "snapshot has no state of virtio-fs (slot 1)") ==
	      0);
	snap_file_free(&f);

	state_of(&f, rng_rec.data, rng_rec.len, fs_rec.data, fs_rec.len);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(snapshot_restore_cpus_devices(vm2, &f, &err), 0);
	snap_file_free(&f);
	free(p);
}

/*
 * virtio-fs's own record is the FUSE server's state, restored on the
 * share's worker. Its refusal used to reach the user as "missing or
 * malformed" only: the worker's restore got no error object.
 */
/* A device of the VM's table (vm->devices: the serial port) says which
 * one and why, as virtio devices do. */
TEST(platform_device_refusal_names_it)
{
	struct snap_writer w;
	struct snap_file f;
	struct sm_error e = {0};
	const uint8_t three[3] = {0};

	CHECK(vm2->ndevices >= 1);
	snap_writer_init(&w);
	if (snap_put(&w, SNAP_REC_DEVICE, 0, three, sizeof(three), &e) ||
	    snap_put(&w, SNAP_REC_VIRTIO, SLOT_RNG, rng_rec.data, rng_rec.len,
		     &e) ||
	    snap_put(&w, SNAP_REC_VIRTIO, SLOT_FS, fs_rec.data, fs_rec.len,
		     &e) ||
	    snap_finish(&w, &e) || snap_parse(&f, w.buf.data, w.buf.len, &e))
		abort();
	snap_writer_free(&w);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(snapshot_restore_cpus_devices(vm2, &f, &err), -EINVAL);
	CHECK(strcmp(err.msg, "snapshot state of the serial port (8250) "
			      "(device 0): 3 bytes of UART state, expected "
			      "8") == 0);
	snap_file_free(&f);
}

TEST(fs_state_refusal_says_what_was_wrong)
{
	const unsigned own = O_OWN(2) + 4; /* FUSE state: SERVER record */
	uint8_t *p = malloc(fs_rec.len);
	struct snap_file f;
	uint32_t magic;

	if (!p)
		abort();
	memcpy(p, fs_rec.data, fs_rec.len);
	/* type 1 (SERVER), length, magic "SMFS", version; minor, pad,
	 * next_nodeid */
	memcpy(&magic, p + own + 6, 4);
	CHECK_EQ(magic, 0x53464d53);
	put64(p + own + 22, 0);
	state_of(&f, rng_rec.data, rng_rec.len, p, fs_rec.len);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(snapshot_restore_cpus_devices(vm2, &f, &err), -EINVAL);
	CHECK(strcmp(err.msg, "snapshot state of virtio-fs (slot 1): device "
			      "state: fuse: state: next_nodeid 0 out of "
			      "range") == 0);
	snap_file_free(&f);

	/* and straight from the transport, on the worker (not inline) */
	CHECK(virtio_fs_confined(vm2->virtio[SLOT_FS]) >= 0);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(virtio_mmio_restore(vm2->virtio[SLOT_FS], p, fs_rec.len, &err),
		 -EINVAL);
	CHECK(strcmp(err.msg, "device state: fuse: state: next_nodeid 0 out "
			      "of range") == 0);
	memcpy(p, fs_rec.data, fs_rec.len);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(virtio_mmio_restore(vm2->virtio[SLOT_FS], p, fs_rec.len, &err),
		 0);
	free(p);
}

int main(void)
{
	setup();
	RUN(round_trip_restores_a_working_queue);
	RUN(truncated_transport_refused);
	RUN(driver_features_not_offered_refused);
	RUN(features_ok_without_version_1_refused);
	RUN(queue_size_over_the_maximum_refused);
	RUN(live_queue_size_not_a_power_of_two_refused);
	RUN(live_rings_outside_guest_memory_refused);
	RUN(live_rings_misaligned_refused);
	RUN(ready_or_broken_not_a_bool_refused);
	RUN(truncated_queue_refused);
	RUN(device_record_length_must_be_what_follows);
	RUN(device_state_for_a_stateless_device_refused);
	RUN(snapshot_restore_names_device_slot_and_field);
	RUN(platform_device_refusal_names_it);
	RUN(fs_state_refusal_says_what_was_wrong);
	vm_destroy(vm2);
	vm_destroy(vm1);
	sm_buf_free(&rng_rec);
	sm_buf_free(&fs_rec);
	sm_rm_tree(dir);
	return test_summary();
}
