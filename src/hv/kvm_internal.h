/* State shared by the KVM backend's files (kvm.c, kvm_x86.c). */
#ifndef SM_HV_KVM_INTERNAL_H
#define SM_HV_KVM_INTERNAL_H

#include <linux/kvm.h>

struct hv_vm {
	int kvm_fd;
	int vm_fd;
	int run_size;
	struct kvm_cpuid2 *cpuid; /* supported CPUID, fetched once */
};

struct hv_vcpu {
	struct hv_vm *vm;
	int fd;
	struct kvm_run *run;
	unsigned index;
};

#endif
