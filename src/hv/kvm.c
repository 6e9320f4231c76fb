/* KVM backend of the hypervisor interface (src/hv/hv.h), x86_64. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv/hv.h"
#include "hv/kvm_internal.h"
#include "util/error.h"

#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

static int kvm_check_caps(struct hv_vm *vm, struct sm_error *err)
{
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
	    {KVM_CAP_IRQCHIP, "IRQCHIP"},
	    {KVM_CAP_USER_MEMORY, "USER_MEMORY"},
	    {KVM_CAP_PIT2, "PIT2"},
	    {KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT"},
	    {KVM_CAP_EXT_CPUID, "EXT_CPUID"},
	};

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
			return sm_err(err, -ENOTSUP, "KVM lacks capability %s",
				      needed[i].name);
	return 0;
}

static int kvm_setup_platform(struct hv_vm *vm, struct sm_error *err)
{
	uint64_t identity = KVM_IDENTITY_MAP_ADDR;
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

	/* Intel needs these two pages reserved below 4 GiB; harmless on AMD. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return sm_err_errno(err, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return sm_err_errno(err, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return sm_err_errno(err, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return sm_err_errno(err, "KVM_CREATE_PIT2");
	return 0;
}

int hv_vm_create(struct hv_vm **vmp, struct sm_error *err)
{
	struct hv_vm *vm = calloc(1, sizeof(*vm));
	int ret, version;

	if (!vm)
		return sm_err(err, -ENOMEM, "out of memory");
	hv_host_probe(); /* before any thread's seccomp filter */
	vm->vm_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ret = sm_err_errno(err, "open /dev/kvm");
		goto fail;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		ret = sm_err(err, -ENOTSUP, "KVM API version %d, need %d",
			     version, KVM_API_VERSION);
		goto fail;
	}
	ret = kvm_check_caps(vm, err);
	if (ret)
		goto fail;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = sm_err_errno(err, "KVM_CREATE_VM");
		goto fail;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run)) {
		ret = sm_err_errno(err, "KVM_GET_VCPU_MMAP_SIZE");
		goto fail;
	}
	ret = kvm_setup_platform(vm, err);
	if (ret)
		goto fail;
	*vmp = vm;
	return 0;
fail:
	hv_vm_destroy(vm);
	return ret;
}

void hv_vm_destroy(struct hv_vm *vm)
{
	if (!vm)
		return;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	free(vm);
}

int hv_vm_map_ram(struct hv_vm *vm, unsigned slot, uint64_t gpa, uint64_t size,
		  void *host, struct sm_error *err)
{
	struct kvm_userspace_memory_region region = {
	    .slot = slot,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return sm_err_errno(err, "KVM_SET_USER_MEMORY_REGION slot %u",
				    slot);
	return 0;
}

int hv_vm_set_irq(struct hv_vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = {.irq = irq, .level = level};

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

size_t hv_vm_irq_fds(const struct hv_vm *vm, int *fds, size_t max)
{
	if (max < 1)
		return 0;
	fds[0] = vm->vm_fd;
	return 1;
}

int hv_vcpu_create(struct hv_vm *vm, unsigned index, struct hv_vcpu **vcpup,
		   struct sm_error *err)
{
	struct hv_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	void *run;

	if (!vcpu)
		return sm_err(err, -ENOMEM, "out of memory");
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0) {
		int ret = sm_err_errno(err, "KVM_CREATE_VCPU %u", index);

		free(vcpu);
		return ret;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED) {
		int ret = sm_err_errno(err, "mmap kvm_run of vCPU %u", index);

		close(vcpu->fd);
		free(vcpu);
		return ret;
	}
	vcpu->run = run;
	kvm_stats_open(vcpu);
	*vcpup = vcpu;
	return 0;
}

void hv_vcpu_destroy(struct hv_vcpu *vcpu)
{
	if (!vcpu)
		return;
	munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->stats_fd >= 0)
		close(vcpu->stats_fd);
	close(vcpu->fd);
	free(vcpu);
}

int hv_vcpu_describe(struct hv_vcpu *vcpu, char *buf, size_t size)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sr) < 0) {
		snprintf(buf, size, "registers unreadable: %s",
			 strerror(errno));
		return -errno;
	}
	/* AMD reinitialises the VMCB on a shutdown intercept: nothing left */
	if (r.rip == 0xfff0 && sr.cs.selector == 0xf000) {
		snprintf(buf, size, "registers already reset by the CPU");
		return 0;
	}
	snprintf(buf, size, "rip=%#llx rsp=%#llx cr2=%#llx cr3=%#llx cs=%#x",
		 (unsigned long long)r.rip, (unsigned long long)r.rsp,
		 (unsigned long long)sr.cr2, (unsigned long long)sr.cr3,
		 sr.cs.selector);
	return 0;
}

void hv_vcpu_request_exit(struct hv_vcpu *vcpu)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

static void decode_exit(struct kvm_run *run, struct hv_exit *exit)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit->kind = HV_EXIT_IO;
		exit->io.port = run->io.port;
		exit->io.size = run->io.size;
		exit->io.write = run->io.direction == KVM_EXIT_IO_OUT;
		exit->io.count = run->io.count;
		exit->io.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		exit->kind = HV_EXIT_MMIO;
		exit->mmio.addr = run->mmio.phys_addr;
		exit->mmio.len = run->mmio.len;
		exit->mmio.write = run->mmio.is_write;
		exit->mmio.data = run->mmio.data;
		break;
	case KVM_EXIT_SHUTDOWN:
		exit->kind = HV_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_HLT:
		exit->kind = HV_EXIT_HLT;
		break;
	case KVM_EXIT_INTR:
		exit->kind = HV_EXIT_INTR;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		exit->kind = HV_EXIT_RESET;
		break;
	default: /* KVM_EXIT_FAIL_ENTRY, KVM_EXIT_INTERNAL_ERROR, others */
		exit->kind = HV_EXIT_FAIL;
		kvm_decode_fail(run, &exit->fail);
		break;
	}
}

int hv_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit)
{
	int r;

	memset(exit, 0, sizeof(*exit));
	r = ioctl(vcpu->fd, KVM_RUN, 0);
	__atomic_add_fetch(&vcpu->userspace_exits, 1, __ATOMIC_RELAXED);
	if (r < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			__atomic_store_n(&vcpu->run->immediate_exit, 0,
					 __ATOMIC_SEQ_CST);
			exit->kind = HV_EXIT_INTR;
			return 0;
		}
		return -errno;
	}
	decode_exit(vcpu->run, exit);
	return 0;
}
