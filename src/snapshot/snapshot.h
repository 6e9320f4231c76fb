/*
 * VM snapshots: a directory with `state` (src/snapshot/format.h records:
 * VM shape, hypervisor VM and vCPU state, every device's own record) and
 * `memory` (guest RAM, sparse).
 */
#ifndef SM_SNAPSHOT_SNAPSHOT_H
#define SM_SNAPSHOT_SNAPSHOT_H

#include "snapshot/format.h"
#include "supermachine.h"

struct vm;

#define SNAP_STATE_FILE "state"
#define SNAP_MEMORY_FILE "memory"

/*
 * Pauses the VM, writes dir/state and dir/memory, resumes it. conf
 * (conf_len bytes; NULL: none) becomes the state file's
 * SNAP_REC_VM_CONF record: the machine's configuration travels in the
 * one atomic, checksummed file.
 */
int snapshot_save(struct vm *vm, const char *dir, const void *conf,
		  size_t conf_len, struct sm_error *err);
/* The same into two regular files open for writing: no path is used. */
int snapshot_save_fds(struct vm *vm, int memory_fd, int state_fd,
		      const void *conf, size_t conf_len, struct sm_error *err);

/*
 * Loads dir/state and checks it against the VM being built (vCPU count,
 * memory layout, device types). Fills *f; the caller frees it.
 */
int snapshot_open(struct vm *vm, const char *dir, struct snap_file *f,
		  struct sm_error *err);

/* Applies the hypervisor VM state (before vCPUs run). */
int snapshot_restore_vm(struct vm *vm, const struct snap_file *f,
			struct sm_error *err);
/* Applies vCPU and device state (vCPUs created, not yet started). */
int snapshot_restore_cpus_devices(struct vm *vm, const struct snap_file *f,
				  struct sm_error *err);

#endif
