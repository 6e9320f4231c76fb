/* State shared by the KVM backend's files (kvm.c, kvm_x86.c). */
#ifndef SM_HV_KVM_INTERNAL_H
#define SM_HV_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv_vm {
	int kvm_fd;
	int vm_fd;
	int run_size;
	struct kvm_cpuid2 *cpuid; /* supported CPUID, fetched once */
	bool tsc_deadline;	  /* KVM_CAP_TSC_DEADLINE_TIMER */
};

/* Where the counters hv_counts takes sit in a stats fd (kvm_stats.c). */
#define KVM_STAT_COUNT 6
struct kvm_stats_layout {
	uint32_t data_offset;	 /* of the data block in the file */
	uint32_t data_size;	 /* bytes of it read: up to the last one used */
	int off[KVM_STAT_COUNT]; /* each counter's offset in it; -1: none */
};

struct hv_vcpu {
	struct hv_vm *vm;
	int fd;
	struct kvm_run *run;
	unsigned index;
	int stats_fd; /* KVM_GET_STATS_FD's, or -1 */
	struct kvm_stats_layout stats;
	uint64_t userspace_exits; /* KVM_RUN returns (atomic) */
};

/*
 * A stats fd's layout: the offsets of "exits", "pf_taken", "io_exits",
 * "mmio_exits", "halt_exits", "irq_exits" (cumulative u64s); -EINVAL
 * for a file that is no stats file. kvm_stats_read: their values now
 * (zeros where absent); -ENODATA when there is no fd or none was found.
 */
int kvm_stats_layout(int fd, struct kvm_stats_layout *l);
int kvm_stats_read(int fd, const struct kvm_stats_layout *l,
		   uint64_t out[KVM_STAT_COUNT]);
/* Opens the vCPU's stats fd (stats_fd -1 when the host has none). */
void kvm_stats_open(struct hv_vcpu *vcpu);

struct hv_fail;

/* Copies a failed exit's report out of kvm_run (kvm_fail.c). */
void kvm_decode_fail(const struct kvm_run *run, struct hv_fail *fail);

/*
 * Snapshot blobs (kvm_state.c): a 4-byte tag, then sections of
 * u32 id | u32 length | payload, each id at most once. Payloads are the
 * kernel's own structs (the uapi layout is stable; a snapshot is restored
 * on an x86_64 host).
 */
#define HV_SEC_MAX 16

struct sm_buf;
struct sm_error;

struct hv_sections {
	const uint8_t *p[HV_SEC_MAX];
	uint32_t len[HV_SEC_MAX];
	bool have[HV_SEC_MAX];
};

void hv_sec_put(struct sm_buf *b, uint32_t id, const void *p, size_t len);

/*
 * Splits an untrusted blob into sections: checks the tag, that every
 * section lies inside the blob, ids are below nsec and none repeats.
 */
int hv_sec_parse(const void *data, size_t len, const char tag[4], unsigned nsec,
		 const char *what, struct hv_sections *s, struct sm_error *err);

/*
 * Section id must be present (unless optional) and exactly `size` bytes
 * long (size 0: any length). 0, 1 when optional and absent, or -EINVAL.
 */
int hv_sec_want(const struct hv_sections *s, unsigned id, size_t size,
		bool optional, const char *what, const char *name,
		struct sm_error *err);

#endif
