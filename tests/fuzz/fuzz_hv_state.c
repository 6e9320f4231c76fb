/*
 * libFuzzer target for the hypervisor state records of a snapshot
 * (src/hv/kvm_state.c, kvm_vcpu_state.c, included for their static
 * checks): the section parser (hv_sec_parse), the VM and vCPU record
 * checks that run before any ioctl, and each vCPU restore step's own
 * decoding (CPUID count, TSC rate, XSAVE size, MSR list) up to its
 * ioctl, which gets fd -1 here (EBADF: no /dev/kvm needed, nothing set).
 * Byte 0, bit 0: a VM record (SNAP_REC_HV_VM) or a vCPU one
 * (SNAP_REC_HV_VCPU); the rest is the record.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include "../../src/hv/kvm_state.c"
#include "../../src/hv/kvm_vcpu_state.c"
#include "fuzz_seed.h"

/* Records in hv_vm_save / hv_vcpu_save's layout (hv_sec_put), zeroed
 * register contents: the real save needs /dev/kvm. */
static void make_seeds(void)
{
	struct sm_buf b = {0};
	union {
		struct kvm_irqchip chip;
		struct kvm_pit_state2 pit;
		struct kvm_clock_data clock;
		struct kvm_mp_state mp;
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_xsave xsave;
		struct kvm_xcrs xcrs;
		struct kvm_debugregs dbg;
		struct kvm_lapic_state lapic;
		struct kvm_vcpu_events ev;
		uint8_t cpuid[4 + 2 * sizeof(struct kvm_cpuid_entry2)];
		uint8_t msrs[4 + 2 * 12];
	} u;
	uint32_t v32;

	sm_buf_put_u8(&b, 1);
	sm_buf_put(&b, vm_tag, 4);
	for (unsigned i = 0; i < 3; i++) {
		memset(&u, 0, sizeof(u));
		u.chip.chip_id = i;
		hv_sec_put(&b, VM_PIC_MASTER + i, &u.chip, sizeof(u.chip));
	}
	memset(&u, 0, sizeof(u));
	hv_sec_put(&b, VM_PIT2, &u.pit, sizeof(u.pit));
	hv_sec_put(&b, VM_CLOCK, &u.clock, sizeof(u.clock));
	seed_write("vm", b.data, b.len);
	sm_buf_free(&b);

	memset(&b, 0, sizeof(b));
	sm_buf_put_u8(&b, 0);
	sm_buf_put(&b, vcpu_tag, 4);
	v32 = 0;
	hv_sec_put(&b, S_INDEX, &v32, 4);
	hv_sec_put(&b, S_MP_STATE, &u.mp, sizeof(u.mp));
	hv_sec_put(&b, S_REGS, &u.regs, sizeof(u.regs));
	hv_sec_put(&b, S_SREGS, &u.sregs, sizeof(u.sregs));
	hv_sec_put(&b, S_XSAVE, &u.xsave, sizeof(u.xsave));
	hv_sec_put(&b, S_XCRS, &u.xcrs, sizeof(u.xcrs));
	hv_sec_put(&b, S_DEBUGREGS, &u.dbg, sizeof(u.dbg));
	hv_sec_put(&b, S_LAPIC, &u.lapic, sizeof(u.lapic));
	v32 = 2000000;
	hv_sec_put(&b, S_TSC_KHZ, &v32, 4);
	memset(&u, 0, sizeof(u));
	u.cpuid[0] = 2; /* nent */
	hv_sec_put(&b, S_CPUID, u.cpuid, sizeof(u.cpuid));
	memset(&u, 0, sizeof(u));
	u.msrs[0] = 2; /* n, then (index, value) pairs */
	u.msrs[4] = 0x10;
	u.msrs[16] = 0x1b;
	hv_sec_put(&b, S_MSRS, u.msrs, sizeof(u.msrs));
	memset(&u, 0, sizeof(u));
	hv_sec_put(&b, S_EVENTS, &u.ev, sizeof(u.ev));
	seed_write("vcpu", b.data, b.len);
	sm_buf_free(&b);
}

FUZZ_SEEDS(make_seeds)
#include "fuzz_seed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_vm vm = {.kvm_fd = -1, .vm_fd = -1};
	struct hv_vcpu v = {.vm = &vm, .fd = -1, .index = 0};
	struct sm_error err = {0};
	struct hv_sections s;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		hv_vm_restore(&vm, data + 1, size - 1, &err);
		return 0;
	}
	hv_vcpu_restore(&v, data + 1, size - 1, &err);
	/* each step's decoding, past the first ioctl that fails here */
	if (hv_sec_parse(data + 1, size - 1, vcpu_tag, S_NSEC, "vCPU", &s,
			 &err) == 0 &&
	    check_all(&v, &s, &err) == 0) {
		restore_tsc_khz(&v, &s, &err);
		restore_xsave(&v, &s, &err);
		restore_msrs(&v, &s, &err);
	}
	return 0;
}
