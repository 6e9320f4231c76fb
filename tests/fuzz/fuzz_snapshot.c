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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t types[] = {SNAP_REC_VM_INFO, SNAP_REC_HV_VM,
					 SNAP_REC_HV_VCPU, SNAP_REC_SERIAL,
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
		r = snap_find(&f, SNAP_REC_SERIAL, 0);
		if (r)
			serial_restore(&ser, r->data, r->len);
		snap_file_free(&f);
	}
	free(copy);
	return 0;
}
