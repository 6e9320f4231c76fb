/* Building a VM: memory, devices, kernel, boot structures, vCPUs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/x86.h"
#include "devices/platform.h"
#include "devices/serial.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "virtio/device.h"
#include "virtio/fs.h"
#include "vmm/vm_build.h"
#include "vmm/vm_run.h"

/* The VMM's own part of the kernel command line. */
#define BASE_CMDLINE \
	"console=ttyS0 reboot=k panic=-1 io_delay=none no_timer_check quiet"
#define MAX_FILE_SIZE (1ULL << 31)

struct mapped_file {
	uint8_t *data;
	size_t size;
};

static int map_file(const char *what, const char *path, struct mapped_file *f,
		    struct sm_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return sm_err_errno(err, "%s %s", what, path);
	if (fstat(fd, &st) < 0)
		return sm_err_errno(err, "%s %s", what, path);
	if (!S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > MAX_FILE_SIZE)
		return sm_err(err, -EINVAL,
			      "%s %s: not a regular file of sane size", what,
			      path);
	f->size = (size_t)st.st_size;
	f->data = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f->data == MAP_FAILED)
		return sm_err_errno(err, "%s %s: mmap", what, path);
	return 0;
}

static void unmap_file(struct mapped_file *f)
{
	if (f->data && f->data != MAP_FAILED)
		munmap(f->data, f->size);
}

static int add_pio(struct vm *vm, const char *name, uint64_t base,
		   uint64_t size, void *r, void *w, void *opaque,
		   struct sm_error *err)
{
	struct bus_device d = {.name = name,
			       .base = base,
			       .size = size,
			       .read = r,
			       .write = w,
			       .opaque = opaque};

	if (bus_add(&vm->pio, &d))
		return sm_err(err, -EBUSY, "port range of %s taken", name);
	return 0;
}

int vm_add_device(struct vm *vm, const struct vm_device_ops *ops, void *dev,
		  struct sm_error *err)
{
	if (vm->ndevices >= VM_MAX_DEVICES)
		return sm_err(err, -ENOSPC, "more than %d devices (%s)",
			      VM_MAX_DEVICES, ops->name);
	vm->devices[vm->ndevices].ops = ops;
	vm->devices[vm->ndevices++].dev = dev;
	return 0;
}

static int setup_platform_devices(struct vm *vm, int console_fd,
				  struct sm_error *err)
{
	int ret;

	vm->serial = serial_create(vm, SERIAL_COM1_IRQ, console_fd);
	if (!vm->serial)
		return sm_err(err, -ENOMEM, "out of memory");
	ret = vm_add_device(vm, &serial_device_ops, vm->serial, err);
	if (!ret)
		ret = add_pio(vm, "serial", SERIAL_COM1, 8, serial_read,
			      serial_write, vm->serial, err);
	if (!ret)
		ret = add_pio(vm, "i8042", I8042_DATA, 5, i8042_read,
			      i8042_write, vm, err);
	if (!ret)
		ret = add_pio(vm, "smport", SM_PORT_EXIT, 2, NULL, smport_write,
			      vm, err);
	return ret;
}

static int add_virtio(struct vm *vm, const char *type, const void *cfg,
		      struct sm_error *err)
{
	const struct virtio_dev_ops *ops = virtio_find_type(type);
	uint64_t base =
	    X86_VIRTIO_MMIO_BASE + vm->nvirtio * X86_VIRTIO_MMIO_SIZE;
	struct virtio_dev *dev;
	struct bus_device d;
	int ret;

	if (!ops)
		return sm_err(err, -ENOENT, "no virtio device type '%s'", type);
	if (vm->nvirtio >= VM_MAX_VIRTIO)
		return sm_err(err, -ENOSPC, "too many virtio devices");
	ret = virtio_mmio_create(vm, ops, cfg, base,
				 X86_VIRTIO_IRQ_BASE + vm->nvirtio, &dev, err);
	if (ret)
		return ret;
	d = (struct bus_device){.name = ops->name,
				.base = base,
				.size = X86_VIRTIO_MMIO_SIZE,
				.read = virtio_mmio_read,
				.write = virtio_mmio_write,
				.opaque = dev};
	if (bus_add(&vm->mmio, &d)) {
		virtio_mmio_destroy(dev);
		return sm_err(err, -EBUSY, "MMIO range of %s taken", ops->name);
	}
	vm->virtio[vm->nvirtio++] = dev;
	return 0;
}

int vm_map_shm(struct vm *vm, uint64_t size, uint64_t *gpa, void **host,
	       struct sm_error *err)
{
	/* Sections of 1 GiB keep every window aligned for the guest's memory
	 * hotplug (128 MiB sections) and its 2 MiB DAX chunks. */
	const uint64_t align = 1ULL << 30;
	uint64_t base = X86_SHM_BASE_MIN;
	void *p;
	int ret;

	if (size == 0 || size % (2ULL << 20) || size > (64ULL << 30))
		return sm_err(err, -EINVAL,
			      "shared memory window of %llu bytes: must be a "
			      "multiple of 2 MiB up to 64 GiB",
			      (unsigned long long)size);
	if (vm->nshm >= VM_MAX_VIRTIO)
		return sm_err(err, -ENOSPC, "too many shared memory windows");
	if (vm->nshm)
		base = (vm->shm[vm->nshm - 1].gpa + vm->shm[vm->nshm - 1].size +
			align - 1) &
		       ~(align - 1);
	p = mmap(NULL, size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return sm_err_errno(err, "reserve %llu MiB of address space",
				    (unsigned long long)(size >> 20));
	ret = hv_vm_map_ram(vm->hv, GM_MAX_REGIONS + vm->nshm, base, size, p,
			    err);
	if (ret) {
		munmap(p, size);
		return ret;
	}
	vm->shm[vm->nshm].host = p;
	vm->shm[vm->nshm].gpa = base;
	vm->shm[vm->nshm].size = size;
	vm->nshm++;
	*gpa = base;
	*host = p;
	return 0;
}

static int build_cmdline(struct vm *vm, const char *user, char **out,
			 struct sm_error *err)
{
	size_t cap = strlen(BASE_CMDLINE) + (user ? strlen(user) : 0) +
		     vm->nvirtio * 64 + 8;
	char *s = malloc(cap), frag[64];

	if (!s)
		return sm_err(err, -ENOMEM, "out of memory");
	strcpy(s, BASE_CMDLINE);
	for (unsigned i = 0; i < vm->nvirtio; i++) {
		if (virtio_mmio_cmdline(vm->virtio[i], frag, sizeof(frag)) ==
		    0) {
			strcat(s, " ");
			strcat(s, frag);
		}
	}
	if (user && *user) {
		strcat(s, " ");
		strcat(s, user);
	}
	*out = s;
	return 0;
}

static int load_guest(struct vm *vm, const struct vm_config *cfg,
		      struct hv_x86_boot *boot, struct sm_error *err)
{
	struct mapped_file kf = {0}, rf = {0};
	struct x86_kernel k;
	uint64_t initrd_gpa = 0;
	_cleanup_free_ char *cmdline = NULL;
	int ret;

	ret = map_file("kernel", cfg->kernel, &kf, err);
	if (!ret)
		ret = x86_load_kernel(kf.data, kf.size, &vm->mem, &k, err);
	if (!ret && cfg->initrd) {
		ret = map_file("initrd", cfg->initrd, &rf, err);
		if (!ret)
			ret = x86_load_initrd(rf.data, rf.size, &vm->mem, &k,
					      &initrd_gpa, err);
	}
	if (!ret)
		ret = build_cmdline(vm, cfg->cmdline, &cmdline, err);
	if (!ret)
		ret = x86_setup_zero_page(&vm->mem, &k, cmdline, initrd_gpa,
					  rf.size, err);
	if (!ret)
		ret = x86_setup_mptable(&vm->mem, vm->ncpus, err);
	if (!ret)
		ret = x86_setup_boot_cpu(&vm->mem, &k, boot, err);
	unmap_file(&kf);
	unmap_file(&rf);
	return ret;
}

static int setup_memory(struct vm *vm, uint64_t mib, const char *from_file,
			struct sm_error *err)
{
	uint64_t layout[2][2];
	unsigned n;
	int ret;

	if (mib < 64 || mib > (1ULL << 20))
		return sm_err(err, -EINVAL,
			      "memory %llu MiB out of range (64 MiB .. 1 TiB)",
			      (unsigned long long)mib);
	n = x86_ram_layout(mib << 20, layout);
	ret = from_file
		  ? gm_create_from_file(&vm->mem, (const uint64_t(*)[2])layout,
					n, from_file, err)
		  : gm_create(&vm->mem, (const uint64_t(*)[2])layout, n, err);
	for (unsigned i = 0; !ret && i < n; i++)
		ret = hv_vm_map_ram(vm->hv, i, vm->mem.regions[i].gpa,
				    vm->mem.regions[i].size,
				    vm->mem.regions[i].host, err);
	return ret;
}

int vm_setup_vcpus(struct vm *vm, const struct hv_x86_boot *boot,
		   struct sm_error *err)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int ret;

		vm->vcpus[i].vm = vm;
		vm->vcpus[i].index = i;
		ret = hv_vcpu_create(vm->hv, i, &vm->vcpus[i].hv, err);
		if (!ret && boot)
			ret = hv_vcpu_x86_setup(vm->vcpus[i].hv, i, vm->ncpus,
						i == 0 ? boot : NULL, err);
		if (ret)
			return ret;
	}
	return 0;
}

struct vm *vm_alloc(const struct vm_config *cfg)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	pthread_condattr_t ca;

	if (!vm)
		return NULL;
	vm->start_ns = sm_now_ns();
	vm->mem.fd = -1;
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->ncpus = cfg->cpus ? cfg->cpus : 1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->cond, &ca);
	pthread_condattr_destroy(&ca);
	return vm;
}

/* Everything but the guest's contents: hypervisor, RAM, devices. */
int vm_build_machine(struct vm *vm, const struct vm_config *cfg,
		     const char *memory_file, struct sm_error *err)
{
	int ret;

	if (vm->ncpus > VM_MAX_CPUS)
		return sm_err(err, -EINVAL, "%u vCPUs requested, limit %d",
			      vm->ncpus, VM_MAX_CPUS);
	ret = hv_vm_create(&vm->hv, err);
	if (!ret)
		ret = setup_memory(vm, cfg->memory_mib ? cfg->memory_mib : 256,
				   memory_file, err);
	if (!ret)
		ret = setup_platform_devices(vm, cfg->console_fd, err);
	/* The device order defines MMIO slots: a restore must match it. */
	if (!ret)
		ret = add_virtio(vm, "rng", NULL, err);
	for (unsigned i = 0; !ret && i < cfg->nshares; i++)
		ret = add_virtio(vm, "fs", &cfg->shares[i], err);
	if (!ret && cfg->vsock)
		ret = add_virtio(vm, "vsock", cfg->vsock, err);
	/* last, so VMs without it keep their slots (and old snapshots) */
	if (!ret && cfg->net)
		ret = add_virtio(vm, "net", cfg->net, err);
	return ret;
}

int vm_create(const struct vm_config *cfg, struct vm **vmp,
	      struct sm_error *err)
{
	struct vm *vm = vm_alloc(cfg);
	struct hv_x86_boot boot;
	int ret;

	if (!vm)
		return sm_err(err, -ENOMEM, "out of memory");
	ret = vm_build_machine(vm, cfg, NULL, err);
	if (!ret)
		ret = load_guest(vm, cfg, &boot, err);
	if (!ret)
		ret = vm_setup_vcpus(vm, &boot, err);
	if (ret) {
		vm_destroy(vm);
		return ret;
	}
	*vmp = vm;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->ncpus; i++)
		hv_vcpu_destroy(vm->vcpus[i].hv);
	for (unsigned i = 0; i < vm->nvirtio; i++)
		virtio_mmio_destroy(vm->virtio[i]);
	serial_destroy(vm->serial);
	for (unsigned i = 0; i < vm->nshm; i++)
		munmap(vm->shm[i].host, vm->shm[i].size);
	hv_vm_destroy(vm->hv);
	gm_destroy(&vm->mem);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}
