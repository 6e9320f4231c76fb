/* vm_restore(): a VM built from a snapshot directory. */
#include <limits.h>
#include <stdio.h>

#include "snapshot/snapshot.h"
#include "util/error.h"
#include "vmm/vm_build.h"
#include "vmm/vm_run.h"

int vm_restore(const struct vm_config *cfg, const char *dir, struct vm **vmp,
	       struct sm_error *err)
{
	struct vm *vm = vm_alloc(cfg);
	struct snap_file f = {0};
	char mem[PATH_MAX];
	int ret;

	if (!vm)
		return sm_err(err, -ENOMEM, "out of memory");
	snprintf(mem, sizeof(mem), "%s/" SNAP_MEMORY_FILE, dir);
	ret = vm_build_machine(vm, cfg, mem, err);
	if (!ret)
		ret = snapshot_open(vm, dir, &f, err);
	/* kvmclock, irqchip and PIT before any vCPU exists or runs */
	if (!ret)
		ret = snapshot_restore_vm(vm, &f, err);
	if (!ret)
		ret = vm_setup_vcpus(vm, NULL, err);
	if (!ret)
		ret = snapshot_restore_cpus_devices(vm, &f, err);
	snap_file_free(&f);
	if (ret) {
		vm_destroy(vm);
		return ret;
	}
	*vmp = vm;
	return 0;
}
