/*
 * The snapshot state file (docs/snapshot.md): a header, typed records and a
 * CRC32 trailer, all little endian:
 *
 *   magic "SMSNAP\0\1" | u16 major | u16 minor | u32 record count
 *   record * count: u32 type | u32 instance | u64 length | payload
 *   u32 CRC32 (IEEE) of every byte before it
 *
 * The reader trusts nothing: a file of another major version or a newer
 * minor, a bad CRC, a truncated file, a record running past the end, a
 * duplicate (type, instance) or a file over SNAP_MAX_SIZE is refused with a
 * message that says which.
 */
#ifndef SM_SNAPSHOT_FORMAT_H
#define SM_SNAPSHOT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"
#include "util/buf.h"

#define SNAP_MAGIC "SMSNAP\0\1"
#define SNAP_MAGIC_LEN 8
#define SNAP_MAJOR 1
#define SNAP_MINOR 1	   /* 1: SNAP_REC_VM_CONF, SNAP_REC_DEVICE */
#define SNAP_HEADER_LEN 16 /* magic, major, minor, count */
#define SNAP_RECORD_HEADER_LEN 16
#define SNAP_MAX_SIZE (64u << 20)

/*
 * Record types. One list for the whole format, so two parts of the VMM
 * never pick the same number; `instance` tells apart records of one type
 * (vCPU index, device slot).
 */
enum snap_record_type {
	SNAP_REC_VM_INFO = 1, /* VM shape: memory layout, vCPU count */
	SNAP_REC_HV_VM = 2,   /* hv_vm_save(): irqchip, PIT, kvmclock */
	SNAP_REC_HV_VCPU = 3, /* hv_vcpu_save(), instance = vCPU index */
	/* a device of the VM's table (vm->devices, src/vmm/vm.h), instance
	 * = its index there; 0 is the 8250 UART, as SNAP_REC_SERIAL was */
	SNAP_REC_DEVICE = 16,
	SNAP_REC_VIRTIO = 17, /* a virtio-mmio device, instance = slot */
	/* the machine's configuration (src/run/vm_conf.h text): written by
	 * sm_vm_snapshot, absent from warm-start templates */
	SNAP_REC_VM_CONF = 18,
};

/* Builds a state file in memory; records are appended in order. */
struct snap_writer {
	struct sm_buf buf;
	uint32_t count;
	size_t open_at; /* header offset of the record being built, or 0 */
	bool misuse;	/* begin/end out of order: the file is refused */
	bool done;	/* snap_finish() ran */
};

void snap_writer_init(struct snap_writer *w);
void snap_writer_free(struct snap_writer *w);

/* Appends one record with a copy of [data, data+len). */
int snap_put(struct snap_writer *w, uint32_t type, uint32_t instance,
	     const void *data, size_t len, struct sm_error *err);

/*
 * Builds a record in place: snap_begin() returns the buffer to append the
 * payload to (with sm_buf_put*), snap_end() fixes its length. One record
 * at a time.
 */
struct sm_buf *snap_begin(struct snap_writer *w, uint32_t type,
			  uint32_t instance);
int snap_end(struct snap_writer *w, struct sm_error *err);

/*
 * Finishes the file (count, CRC) into w->buf; the writer takes no more
 * records after this. snap_write_file() calls it.
 */
int snap_finish(struct snap_writer *w, struct sm_error *err);

/*
 * Finishes and writes the file atomically: a temporary file next to path,
 * fsync, rename over path, fsync of the directory.
 */
/* The same into fd, a regular file open for writing (fsynced). */
int snap_write_fd(struct snap_writer *w, int fd, struct sm_error *err);
int snap_write_file(struct snap_writer *w, const char *path,
		    struct sm_error *err);

struct snap_record {
	uint32_t type, instance;
	const uint8_t *data; /* into the file's buffer; not aligned */
	uint64_t len;
};

/* A validated state file. */
struct snap_file {
	uint8_t *data; /* the whole file, owned */
	size_t len;
	uint16_t major, minor;
	uint32_t count;
	struct snap_record *recs; /* count records, in file order */
};

/*
 * Validates a state file held in memory; f takes a copy of it. On failure
 * f is left empty (snap_file_free() is still safe).
 */
int snap_parse(struct snap_file *f, const void *data, size_t len,
	       struct sm_error *err);

/* Reads and validates the state file at path. */
int snap_read_file(struct snap_file *f, const char *path, struct sm_error *err);

void snap_file_free(struct snap_file *f);

/* The record (type, instance), or NULL. */
const struct snap_record *snap_find(const struct snap_file *f, uint32_t type,
				    uint32_t instance);

/* CRC32 (IEEE 802.3, as zlib's crc32()); crc is 0 to start. */
uint32_t snap_crc32(uint32_t crc, const void *data, size_t len);

#endif
