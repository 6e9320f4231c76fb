/*
 * What a run cost, counted rather than timed (issue 17,
 * docs/benchmarks.md "Counts"): the vCPUs' exits by reason (KVM's
 * statistics) and to the VMM, and this process's host page faults. Counts
 * do not depend on how fast the host is, so runs under the emulated KVM
 * host compare with runs on real hardware where times cannot.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "vmm/counts.h"
#include "vmm/vm.h"

void vm_counts_now(struct vm *vm, struct vm_counts *c)
{
	struct rusage ru;

	memset(c, 0, sizeof(*c));
	for (unsigned i = 0; vm && i < vm->ncpus; i++)
		if (vm->vcpus[i].hv)
			hv_vcpu_add_counts(vm->vcpus[i].hv, &c->hv);
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		c->minflt = (uint64_t)ru.ru_minflt;
		c->majflt = (uint64_t)ru.ru_majflt;
	}
}

/* b - a, field by field (a counter that went back, as a VM rebuilt after
 * a failed restore: 0). */
void vm_counts_sub(const struct vm_counts *b, const struct vm_counts *a,
		   struct vm_counts *d)
{
	const uint64_t *pb = (const uint64_t *)b, *pa = (const uint64_t *)a;
	uint64_t *pd = (uint64_t *)d;

	for (size_t i = 0; i < sizeof(*d) / sizeof(uint64_t); i++)
		pd[i] = pb[i] >= pa[i] ? pb[i] - pa[i] : 0;
}

int vm_counts_format(const struct vm_counts *c, char *buf, size_t size)
{
	const struct hv_counts *h = &c->hv;

	/* KVM's own counters, by their names */
	return snprintf(
	    buf, size,
	    "kvm pf_taken=%llu io_exits=%llu mmio_exits=%llu halt_exits=%llu "
	    "irq_exits=%llu exits=%llu; userspace_exits=%llu "
	    "host_faults=%llu (major %llu)",
	    (unsigned long long)h->pf_exits, (unsigned long long)h->io_exits,
	    (unsigned long long)h->mmio_exits,
	    (unsigned long long)h->halt_exits, (unsigned long long)h->irq_exits,
	    (unsigned long long)h->exits,
	    (unsigned long long)h->userspace_exits,
	    (unsigned long long)(c->minflt + c->majflt),
	    (unsigned long long)c->majflt);
}
