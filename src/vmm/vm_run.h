/* Building, running and tearing down a VM (used by the public API). */
#ifndef SM_VMM_VM_RUN_H
#define SM_VMM_VM_RUN_H

#include "supermachine.h"
#include "vmm/vm.h"

#include "virtio/fs.h"
#include "virtio/net.h"
#include "virtio/vsock.h"

#define VM_MAX_SHARES 8

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline; /* appended to the VMM's own arguments */
	unsigned cpus;
	uint64_t memory_mib;
	int console_fd;
	unsigned nshares;
	struct virtio_fs_config shares[VM_MAX_SHARES];
	const struct virtio_vsock_config *vsock; /* NULL: no vsock device */
	const struct virtio_net_config *net;	 /* NULL: no network device */
};

int vm_create(const struct vm_config *cfg, struct vm **vmp,
	      struct sm_error *err);
/*
 * Builds a VM from the snapshot in dir (see src/snapshot/): the config
 * must describe the same machine (vCPUs, memory, devices in order); the
 * kernel and initrd are not needed. vCPUs are not started.
 */
int vm_restore(const struct vm_config *cfg, const char *dir, struct vm **vmp,
	       struct sm_error *err);
void vm_destroy(struct vm *vm);

bool vm_is_stopped(struct vm *vm);
int vm_start_vcpus(struct vm *vm, struct sm_error *err);
/* Waits until the VM stops (or timeout_ms passes, 0: forever). */
int vm_wait(struct vm *vm, unsigned timeout_ms);

#endif
