/*
 * What the virtio and serial devices call on their VM, for fuzz targets
 * that run a device without one: the interrupt goes nowhere, there is no
 * shared-memory window, no real network backend opens (net_open() is
 * linked from src/net/backend.c, never called). Included by exactly one file of
 * each target.
 */
#ifndef FUZZ_VM_STUBS_H
#define FUZZ_VM_STUBS_H
#include <errno.h>

#include "net/net.h"
#include "vmm/vm.h"

void vm_irq_pulse(struct vm *vm, unsigned irq)
{
	(void)vm, (void)irq;
}

size_t vm_irq_fds(const struct vm *vm, int *fds, size_t max)
{
	(void)vm, (void)fds, (void)max;
	return 0;
}

int vm_map_shm(struct vm *vm, uint64_t size, uint64_t *gpa, void **host,
	       struct sm_error *err)
{
	(void)vm, (void)size, (void)gpa, (void)host, (void)err;
	return -ENODEV;
}

int net_slirp_open(const struct net_slirp_options *opts,
		   const struct net_port *ports, unsigned nports,
		   struct net_backend **out, struct sm_error *err)
{
	(void)opts, (void)ports, (void)nports, (void)out, (void)err;
	return -ENODEV;
}

int net_tap_open(const char *ifname, struct net_backend **out,
		 struct sm_error *err)
{
	(void)ifname, (void)out, (void)err;
	return -ENODEV;
}
#endif
