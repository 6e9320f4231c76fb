/*
 * The hypervisor interface: everything the VMM needs from KVM (and later
 * Hypervisor.framework or WHP). Devices never see it; only src/vmm/ and
 * src/arch/ call it.
 */
#ifndef SM_HV_H
#define SM_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"

struct hv_vm;
struct hv_vcpu;
struct sm_buf;

enum hv_exit_kind {
	HV_EXIT_IO,	  /* port I/O (x86) */
	HV_EXIT_MMIO,	  /* access to an address with no RAM */
	HV_EXIT_SHUTDOWN, /* triple fault */
	HV_EXIT_HLT,	  /* halt with no irqchip to wake us */
	HV_EXIT_INTR,	  /* interrupted by hv_vcpu_kick() or a signal */
	HV_EXIT_RESET,	  /* the guest asked for a reset / poweroff */
	HV_EXIT_FAIL,	  /* the hypervisor could not run the vCPU */
};

/*
 * Why the hypervisor could not run a vCPU (HV_EXIT_FAIL), as it said it:
 * kept raw here and turned into words by hv_fail_describe().
 */
struct hv_fail {
	uint32_t exit_reason; /* the hypervisor's own exit reason */
	uint32_t ndata;	      /* words of data[] the hypervisor filled */
	uint64_t code;	      /* KVM: suberror, or hardware entry failure */
	uint64_t data[16];
};

struct hv_exit {
	enum hv_exit_kind kind;
	union {
		struct {
			uint16_t port;
			uint8_t size; /* 1, 2 or 4 */
			bool write;
			uint32_t count; /* rep count */
			uint8_t *data;	/* count * size bytes */
		} io;
		struct {
			uint64_t addr;
			uint32_t len; /* 1..8 */
			bool write;
			uint8_t *data;
		} mmio;
		struct hv_fail fail;
	};
};

/*
 * What a vCPU cost so far (issue 17, docs/benchmarks.md): KVM's exits by
 * reason, where the host's KVM reports them (zeros where not), and the
 * returns of hv_vcpu_run() to the VMM. Added into *c.
 */
struct hv_counts {
	uint64_t exits;	   /* every exit from the guest */
	uint64_t pf_exits; /* of those: page faults taken */
	uint64_t io_exits, mmio_exits, halt_exits, irq_exits;
	uint64_t userspace_exits; /* runs that came back to the VMM */
};
void hv_vcpu_add_counts(struct hv_vcpu *vcpu, struct hv_counts *c);

int hv_vm_create(struct hv_vm **vmp, struct sm_error *err);
void hv_vm_destroy(struct hv_vm *vm);

/* Makes host memory [host, host+size) guest RAM at gpa. */
int hv_vm_map_ram(struct hv_vm *vm, unsigned slot, uint64_t gpa, uint64_t size,
		  void *host, struct sm_error *err);

/* Drives an interrupt line of the in-kernel interrupt controller. */
int hv_vm_set_irq(struct hv_vm *vm, unsigned irq, int level);
/*
 * The descriptors hv_vm_set_irq() uses (at most max, written to fds; the
 * count is returned): what a thread with a descriptor table of its own
 * keeps to raise interrupts. 0 where the hypervisor needs none.
 */
size_t hv_vm_irq_fds(const struct hv_vm *vm, int *fds, size_t max);

int hv_vcpu_create(struct hv_vm *vm, unsigned index, struct hv_vcpu **vcpup,
		   struct sm_error *err);
void hv_vcpu_destroy(struct hv_vcpu *vcpu);

/* Runs the vCPU until an exit the VMM must handle. 0 or -errno. */
int hv_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit);

/*
 * Makes the next (or current, together with a signal to the vCPU thread)
 * hv_vcpu_run return HV_EXIT_INTR. Safe from any thread.
 */
void hv_vcpu_request_exit(struct hv_vcpu *vcpu);

/*
 * One line of the vCPU's registers for a diagnostic (a triple fault):
 * instruction and stack pointers, control registers. Call it on a vCPU
 * that is not running.
 */
int hv_vcpu_describe(struct hv_vcpu *vcpu, char *buf, size_t size);

/*
 * One line that names a failure: what the hypervisor reported, decoded
 * (KVM: the exit, the internal-error suberror or the hardware reason for
 * a failed entry, the data words, the instruction bytes it fetched).
 */
void hv_fail_describe(const struct hv_fail *fail, char *buf, size_t size);

/*
 * The guest instruction pointer of a vCPU that is not running, as
 * virtual (`pc`) and, where the guest's page tables map it, physical
 * (`gpa`) address. 0, -EFAULT when unmapped (gpa unset), or -errno.
 */
int hv_vcpu_pc(struct hv_vcpu *vcpu, uint64_t *pc, uint64_t *gpa);

/*
 * A sentence about the host's hypervisor that explains guest failures,
 * or "" when there is nothing to say: on Linux, a KVM that is kvm-pvm
 * (no hardware virtualisation; it cannot run an unmodified guest kernel).
 */
void hv_host_note(char *buf, size_t size);
/* Reads what hv_host_note() needs; hv_vm_create() calls it. */
void hv_host_probe(void);

/* x86_64 boot state for the 64-bit Linux boot protocol. */
struct hv_x86_boot {
	uint64_t rip, rsi, rsp;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint16_t code_sel, data_sel, tss_sel;
};

/*
 * Sets CPUID (from what the hypervisor supports, with this vCPU's APIC id),
 * FPU, MSRs and LAPIC LINT wiring. `boot` is the boot CPU's entry state, or
 * NULL for an application processor that waits for INIT/SIPI.
 */
int hv_vcpu_x86_setup(struct hv_vcpu *vcpu, unsigned index, unsigned ncpus,
		      const struct hv_x86_boot *boot, struct sm_error *err);

/*
 * Snapshot state (src/hv/kvm_state.c, kvm_vcpu_state.c; docs/snapshot.md).
 * The blobs are opaque to callers, self-checking and versioned with the
 * snapshot format. On failure `out` is left as it was.
 *
 * hv_vcpu_save() appends the complete state of a vCPU that is not running
 * (its thread is out of hv_vcpu_run and stays out): CPUID, MP state,
 * registers, FPU/XSAVE, XCRs, debug registers, LAPIC, every readable MSR
 * KVM lists, pending events and the TSC frequency. It first completes any
 * I/O the last exit left pending (KVM_RUN with immediate_exit), so the
 * saved instruction pointer is past an `out` the VMM already handled. Call
 * it on the vCPU's own thread where possible: elsewhere KVM moves the vCPU
 * to the calling thread, which costs a grace period.
 *
 * hv_vcpu_restore() loads such a blob into a vCPU from hv_vcpu_create()
 * that has not run yet (hv_vcpu_x86_setup() is not needed). The blob is
 * untrusted: every length and count is checked before the vCPU is
 * touched; a value KVM itself refuses fails the call part way, and the
 * vCPU must then be destroyed, never run.
 */
int hv_vcpu_save(struct hv_vcpu *vcpu, struct sm_buf *out,
		 struct sm_error *err);
int hv_vcpu_restore(struct hv_vcpu *vcpu, const void *data, size_t len,
		    struct sm_error *err);

/*
 * VM-wide state: PIC master and slave, IOAPIC, PIT and kvmclock, saved
 * with every vCPU stopped (state of a running VM is inconsistent). Restore
 * into a VM from hv_vm_create() with its RAM mapped, BEFORE any of its
 * vCPUs runs: the kvmclock value must be in place when the guest first
 * reads it. Order: hv_vm_restore(), then hv_vcpu_restore() for each vCPU,
 * then run.
 */
int hv_vm_save(struct hv_vm *vm, struct sm_buf *out, struct sm_error *err);
int hv_vm_restore(struct hv_vm *vm, const void *data, size_t len,
		  struct sm_error *err);

#endif
