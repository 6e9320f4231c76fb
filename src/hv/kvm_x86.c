/* KVM backend: x86_64 vCPU set-up (CPUID, FPU, LAPIC, boot registers). */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hv/hv.h"
#include "hv/kvm_internal.h"
#include "util/error.h"

#define CPUID_MAX_ENTRIES 256
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRING 1ULL

static int kvm_supported_cpuid(struct hv_vm *vm, struct sm_error *err)
{
	size_t sz = sizeof(struct kvm_cpuid2) +
		    CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);

	if (vm->cpuid)
		return 0;
	vm->tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				 KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	vm->cpuid = calloc(1, sz);
	if (!vm->cpuid)
		return sm_err(err, -ENOMEM, "out of memory");
	vm->cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		free(vm->cpuid);
		vm->cpuid = NULL;
		return sm_err_errno(err, "KVM_GET_SUPPORTED_CPUID");
	}
	return 0;
}

/* Per-vCPU CPUID: the supported set with this CPU's APIC id. */
static int set_cpuid(struct hv_vcpu *vcpu, unsigned index, unsigned ncpus,
		     struct sm_error *err)
{
	struct kvm_cpuid2 *c;
	size_t sz;
	int ret = kvm_supported_cpuid(vcpu->vm, err);

	if (ret)
		return ret;
	sz = sizeof(*c) + vcpu->vm->cpuid->nent * sizeof(c->entries[0]);
	c = malloc(sz);
	if (!c)
		return sm_err(err, -ENOMEM, "out of memory");
	memcpy(c, vcpu->vm->cpuid, sz);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (index << 24) |
				 ((ncpus & 0xff) << 16);
			e->ecx |= 1u << 31; /* running under a hypervisor */
			/*
			 * The in-kernel LAPIC emulates the TSC-deadline
			 * timer, but KVM_GET_SUPPORTED_CPUID leaves the bit
			 * to the VMM. Without it the guest programs one-shot
			 * APIC timer counts instead (QEMU sets it too).
			 */
			if (vcpu->vm->tsc_deadline)
				e->ecx |= 1u << 24;
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: ebx[23:16] valid */
			break;
		case 0xb:
		case 0x1f:
			e->edx = index; /* x2APIC id */
			break;
		}
	}
	ret = ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0
		  ? sm_err_errno(err, "KVM_SET_CPUID2")
		  : 0;
	free(c);
	return ret;
}

static int set_lapic(struct hv_vcpu *vcpu, struct sm_error *err)
{
	struct kvm_lapic_state lapic;
	uint32_t *lint0 = (uint32_t *)&lapic.regs[APIC_LVT_LINT0];
	uint32_t *lint1 = (uint32_t *)&lapic.regs[APIC_LVT_LINT1];

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return sm_err_errno(err, "KVM_GET_LAPIC");
	/* Legacy wiring: PIC on LINT0 (ExtINT), NMI on LINT1. */
	*lint0 = (*lint0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lint1 = (*lint1 & ~0x700u) | (APIC_MODE_NMI << 8);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return sm_err_errno(err, "KVM_SET_LAPIC");
	return 0;
}

static int set_fpu_msrs(struct hv_vcpu *vcpu, struct sm_error *err)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} msrs = {.hdr.nmsrs = 1,
		  .e[0] = {.index = MSR_IA32_MISC_ENABLE,
			   .data = MISC_ENABLE_FAST_STRING}};

	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return sm_err_errno(err, "KVM_SET_FPU");
	if (ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) != 1)
		return sm_err(err, -EIO, "KVM_SET_MSRS: MISC_ENABLE refused");
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
			 bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static int set_boot_regs(struct hv_vcpu *vcpu, const struct hv_x86_boot *b,
			 struct sm_error *err)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
	    .rflags = 0x2,
	    .rip = b->rip,
	    .rsi = b->rsi,
	    .rsp = b->rsp,
	    .rbp = b->rsp,
	};

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return sm_err_errno(err, "KVM_GET_SREGS");
	flat_segment(&sregs.cs, b->code_sel, 0xb, true);
	flat_segment(&sregs.ds, b->data_sel, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = b->tss_sel;
	sregs.tr.limit = 0xfffff;
	sregs.tr.type = 0xb; /* busy 64-bit TSS */
	sregs.tr.present = 1;
	sregs.gdt.base = b->gdt_base;
	sregs.gdt.limit = b->gdt_limit;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = b->cr0;
	sregs.cr3 = b->cr3;
	sregs.cr4 = b->cr4;
	sregs.efer = b->efer;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return sm_err_errno(err, "KVM_SET_SREGS");
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return sm_err_errno(err, "KVM_SET_REGS");
	return 0;
}

int hv_vcpu_x86_setup(struct hv_vcpu *vcpu, unsigned index, unsigned ncpus,
		      const struct hv_x86_boot *boot, struct sm_error *err)
{
	int ret = set_cpuid(vcpu, index, ncpus, err);

	if (!ret)
		ret = set_fpu_msrs(vcpu, err);
	if (!ret)
		ret = set_lapic(vcpu, err);
	if (!ret && boot)
		ret = set_boot_regs(vcpu, boot, err);
	return ret;
}
