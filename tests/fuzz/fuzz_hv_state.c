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
