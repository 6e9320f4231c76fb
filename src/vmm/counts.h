/* What a run cost, counted (counts.c; issue 17). */
#ifndef SM_VMM_COUNTS_H
#define SM_VMM_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "hv/hv.h"

struct vm;

/* Only u64 fields: vm_counts_sub works on them as an array. */
struct vm_counts {
	struct hv_counts hv;	 /* summed over the VM's vCPUs */
	uint64_t minflt, majflt; /* this process's host page faults */
};

/* Now: vm's vCPUs (vm may be NULL: zeros) and this process's faults. */
void vm_counts_now(struct vm *vm, struct vm_counts *c);
/* d = b - a */
void vm_counts_sub(const struct vm_counts *b, const struct vm_counts *a,
		   struct vm_counts *d);
/* "kvm pf_taken=N io_exits=N ... exits=N; userspace_exits=N
 * host_faults=N (major N)" into buf; snprintf's count. */
int vm_counts_format(const struct vm_counts *c, char *buf, size_t size);

#endif
