/* A running VM: memory, vCPU threads, buses, devices and its outcome. */
#ifndef SM_VMM_VM_H
#define SM_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"
#include "supermachine.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"

#define VM_MAX_CPUS 64
#define VM_MAX_VIRTIO 16

struct serial;
struct virtio_dev;

struct vm_vcpu {
	struct vm *vm;
	struct hv_vcpu *hv;
	unsigned index;
	pthread_t thread;
	bool started;
};

struct sm_buf;

/*
 * A device with snapshot state other than the virtio ones (whose
 * transport saves them): one ops table per device type, each device
 * registered in the VM's explicit table when the machine is built
 * (vm_add_device). restore takes the saved bytes (untrusted input) and
 * says in err why it refuses them.
 */
struct vm_device_ops {
	const char *name;
	int (*save)(void *dev, struct sm_buf *out);
	int (*restore)(void *dev, const void *data, size_t len,
		       struct sm_error *err);
};

#define VM_MAX_DEVICES 8

struct vm {
	struct hv_vm *hv;
	struct guest_mem mem;
	unsigned ncpus;
	struct vm_vcpu vcpus[VM_MAX_CPUS];
	struct bus pio, mmio;
	struct serial *serial;
	struct {
		const struct vm_device_ops *ops;
		void *dev;
	} devices[VM_MAX_DEVICES]; /* in snapshot order */
	unsigned ndevices;
	struct virtio_dev *virtio[VM_MAX_VIRTIO];
	unsigned nvirtio;
	/* shared-memory windows (DAX), each its own memory slot */
	unsigned nshm;
	struct {
		void *host;
		uint64_t gpa, size;
	} shm[VM_MAX_VIRTIO];
	uint64_t start_ns;
	int stop_efd; /* becomes readable when the VM stopped */

	pthread_mutex_t lock; /* protects the fields below */
	pthread_cond_t cond;
	bool pausing;	 /* vCPUs park until it is cleared */
	unsigned parked; /* vCPUs parked right now */
	bool stopped;
	enum sm_vm_exit reason;
	int status;
	char detail[512];      /* why it stopped, for error messages */
	uint64_t init_seen_ns; /* when init reported its start */
};

/* Edge-triggered interrupt: raise then lower the line. */
void vm_irq_pulse(struct vm *vm, unsigned irq);
/* The descriptors vm_irq_pulse() needs (hv_vm_irq_fds); 0 without a VM. */
size_t vm_irq_fds(const struct vm *vm, int *fds, size_t max);

/* Registers dev in vm's device table (snapshot order: registration). */
int vm_add_device(struct vm *vm, const struct vm_device_ops *ops, void *dev,
		  struct sm_error *err);

/*
 * Ends the VM (the first call wins) and makes every vCPU leave the guest.
 * `detail` says why, for the error message; may be NULL.
 */
void vm_stop(struct vm *vm, enum sm_vm_exit reason, int status,
	     const char *detail);

/*
 * Describes a vCPU the hypervisor could not run (vm_diag.c): the decoded
 * report, the guest's rip and the bytes there, and a note on the host's
 * hypervisor where that explains the failure.
 */
struct hv_fail;
void vm_describe_fail(struct vm *vm, struct vm_vcpu *v,
		      const struct hv_fail *fail, char *buf, size_t size);

/*
 * Reserves `size` bytes of guest-physical space above RAM for a device's
 * shared-memory region (virtio-fs DAX): host address space is reserved
 * inaccessible (PROT_NONE) and registered with the hypervisor; the device
 * maps file ranges into it. Called while the VM is being built.
 */
int vm_map_shm(struct vm *vm, uint64_t size, uint64_t *gpa, void **host,
	       struct sm_error *err);

/*
 * Takes every vCPU out of the guest and parks it (for a snapshot);
 * returns once all are parked, or -ECHILD if the VM stopped meanwhile.
 * vm_resume() lets them run again.
 */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

/* The guest reset or powered off: a panic if the console said so. */
void vm_guest_reset(struct vm *vm);

/* Records a boot progress marker written by the guest init. */
void vm_marker(struct vm *vm, uint8_t marker);

#endif
