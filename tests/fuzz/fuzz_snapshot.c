/*
 * libFuzzer target for the snapshot state file (src/snapshot/format.c):
 * snap_parse (header, record table, CRC, sizes, duplicates) on the whole
 * input, then what a restore does with the records before it hands them
 * to the hypervisor and device parsers (their own targets: fuzz_hv_state,
 * fuzz_virtio_restore): snap_find of every record type, and the serial
 * port's restore (src/devices/serial.c, included for its private state).
 * Inputs that parse are mostly the real save functions' output: see
 * tests/fuzz/corpus/snapshot (CRCs are right there, so mutations of the
 * record bodies that keep the CRC valid get past snap_parse only when
 * libFuzzer fixes the CRC; bit 0 of the last byte asks the harness to
 * recompute it, so the record parsers get mutated bodies too).
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdlib.h>
#include <string.h>

#include "../../src/devices/serial.c"
#include "fuzz_seed.h"
#include "fuzz_vm_stubs.h"
#include "snapshot/format.h"

/* The file's trailing CRC-32 (format.c) over everything before it. */
static void fix_crc(uint8_t *d, size_t len)
{
	uint32_t crc;

	if (len < SNAP_HEADER_LEN + 4)
		return;
	crc = snap_crc32(0, d, len - 4);
	memcpy(d + len - 4, &crc, 4);
}

/*
 * A state file as snapshot.c writes one (VM description, hypervisor
 * records, the serial port's real save, two virtio records), with and
 * without the harness's CRC fix-up byte.
 */
static void make_seeds(void)
{
	struct serial *ser = serial_create(NULL, 4, -1);
	struct snap_writer w;
	struct sm_buf *b;
	uint8_t zero[64] = {0};

	snap_writer_init(&w);
	b = snap_begin(&w, SNAP_REC_VM_INFO, 0);
	sm_buf_put_u32(b, 1);	      /* vCPUs */
	sm_buf_put_u32(b, 1);	      /* memory regions */
	sm_buf_put_u64(b, 0);	      /* gpa */
	sm_buf_put_u64(b, 256 << 20); /* size */
	sm_buf_put_u32(b, 2);	      /* virtio devices */
	sm_buf_put_u32(b, 1);	      /* net */
	sm_buf_put_u32(b, 19);	      /* vsock */
	snap_end(&w, NULL);
	snap_put(&w, SNAP_REC_HV_VM, 0, "HVM1", 4, NULL);
	snap_put(&w, SNAP_REC_HV_VCPU, 0, "HVC1", 4, NULL);
	serial_save(ser, snap_begin(&w, SNAP_REC_DEVICE, 0));
	snap_end(&w, NULL);
	snap_put(&w, SNAP_REC_VIRTIO, 0, zero, sizeof(zero), NULL);
	snap_put(&w, SNAP_REC_VIRTIO, 1, zero, 40, NULL);
	if (snap_finish(&w, NULL))
		abort();
	sm_buf_put_u8(&w.buf, 0);
	seed_write("state", w.buf.data, w.buf.len);
	w.buf.data[w.buf.len - 1] = 1;
	seed_write("state-fix-crc", w.buf.data, w.buf.len);
	snap_writer_free(&w);
	serial_destroy(ser);
}

FUZZ_SEEDS(make_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t types[] = {SNAP_REC_VM_INFO, SNAP_REC_HV_VM,
					 SNAP_REC_HV_VCPU, SNAP_REC_DEVICE,
					 SNAP_REC_VIRTIO};
	static struct serial ser = {.lock = PTHREAD_MUTEX_INITIALIZER,
				    .out_fd = -1};
	struct snap_file f;
	const struct snap_record *r;
	uint8_t *copy;

	if (size < 1)
		return 0;
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size - 1);
	if (data[size - 1] & 1)
		fix_crc(copy, size - 1);
	if (snap_parse(&f, copy, size - 1, NULL) == 0) {
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			for (uint32_t inst = 0; inst < 4; inst++)
				snap_find(&f, types[i], inst);
		r = snap_find(&f, SNAP_REC_DEVICE, 0);
		if (r)
			serial_restore(&ser, r->data, r->len);
		snap_file_free(&f);
	}
	free(copy);
	return 0;
}
