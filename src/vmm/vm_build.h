/* Pieces of VM construction shared by cold boot and snapshot restore. */
#ifndef SM_VMM_VM_BUILD_H
#define SM_VMM_VM_BUILD_H

#include "hv/hv.h"
#include "vmm/vm_run.h"

struct vm *vm_alloc(const struct vm_config *cfg);
/* Hypervisor VM, RAM (fresh, or mapped from memory_file), devices. */
int vm_build_machine(struct vm *vm, const struct vm_config *cfg,
		     const char *memory_file, struct sm_error *err);
/* Creates the vCPUs; boot != NULL also sets their boot state. */
int vm_setup_vcpus(struct vm *vm, const struct hv_x86_boot *boot,
		   struct sm_error *err);

#endif
