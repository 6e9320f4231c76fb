/* sm_boot(): the low-level public entry point. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/serial.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/opts.h"
#include "vmm/vm_run.h"

static int boot(const struct sm_boot_config *cfg, struct sm_boot_result *result,
		struct sm_error *err);

SM_API int sm_boot(const struct sm_boot_config *in, struct sm_boot_result *out,
		   struct sm_error *err)
{
	struct sm_boot_config cfg = {.size = sizeof(cfg), .console_fd = -1};
	struct sm_boot_result result = {.size = sizeof(result)};
	int ret;

	if (!in || !out)
		return sm_err(err, -EINVAL,
			      "sm_boot: a config and a result are required");
	ret = sm_opts_take(&cfg, sizeof(cfg), in, "sm_boot_config", err);
	if (!ret && out->size < sizeof(size_t))
		ret =
		    sm_err(err, -EINVAL, "sm_boot: set result->size to sizeof");
	if (!ret && !cfg.kernel)
		ret = sm_err(err, -EINVAL, "sm_boot: a kernel is required");
	if (ret)
		return ret;
	ret = boot(&cfg, &result, err);
	sm_opts_give(out, &result, sizeof(result), "sm_boot_result", NULL);
	return ret;
}

static int boot(const struct sm_boot_config *cfg, struct sm_boot_result *result,
		struct sm_error *err)
{
	struct vm_config vc;
	struct vm *vm;
	int ret;

	vc = (struct vm_config){
	    .kernel = cfg->kernel,
	    .initrd = cfg->initrd,
	    .cmdline = cfg->cmdline,
	    .cpus = cfg->cpus,
	    .memory_mib = cfg->memory_mib,
	    .console_fd = cfg->console_fd,
	};
	if (cfg->nshares > VM_MAX_SHARES)
		return sm_err(err, -EINVAL, "%u shares, limit %d", cfg->nshares,
			      VM_MAX_SHARES);
	for (unsigned i = 0; i < cfg->nshares; i++) {
		vc.shares[i].tag = cfg->shares[i].tag;
		vc.shares[i].dir = cfg->shares[i].dir;
		vc.shares[i].read_only = cfg->shares[i].read_only;
		vc.shares[i].dax_window = cfg->shares[i].dax_window;
	}
	vc.nshares = cfg->nshares;
	ret = vm_create(&vc, &vm, err);
	if (ret)
		return ret;
	ret = vm_start_vcpus(vm, err);
	vm_wait(vm, cfg->timeout_ms);
	serial_flush(vm->serial);
	result->reason = vm->reason;
	result->status = vm->status;
	result->total_ns = sm_now_ns() - vm->start_ns;
	if (vm->init_seen_ns)
		result->boot_to_init_ns = vm->init_seen_ns - vm->start_ns;
	snprintf(result->detail, sizeof(result->detail), "%s", vm->detail);
	vm_destroy(vm);
	return ret;
}
