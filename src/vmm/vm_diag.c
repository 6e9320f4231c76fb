/*
 * Words for a vCPU the hypervisor could not run: its report decoded, where
 * the guest was (instruction pointer and the bytes there, read through the
 * checked accessor) and what the host's hypervisor is when that explains
 * it. Guest memory is read once into a local copy; a pointer that does not
 * resolve to RAM is reported, never followed.
 */
#include <errno.h>
#include <stdio.h>

#include "hv/hv.h"
#include "util/buf.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"

#define X86_MAX_INSN 15
#define PAGE_SIZE_4K 4096

/* The bytes at the guest's instruction pointer, up to its page's end. */
static void put_guest_pc(struct vm *vm, struct vm_vcpu *v, char *buf,
			 size_t size, size_t *off)
{
	uint8_t insn[X86_MAX_INSN];
	uint64_t pc = 0, gpa = 0, n;
	int ret = hv_vcpu_pc(v->hv, &pc, &gpa);

	if (ret == -EFAULT)
		sm_appendf(buf, size, off, "; rip %#llx (not mapped)",
			   (unsigned long long)pc);
	if (ret)
		return;
	n = PAGE_SIZE_4K - (gpa & (PAGE_SIZE_4K - 1));
	if (n > sizeof(insn))
		n = sizeof(insn);
	sm_appendf(buf, size, off, "; rip %#llx (guest-physical %#llx)",
		   (unsigned long long)pc, (unsigned long long)gpa);
	if (gm_read(&vm->mem, gpa, insn, n) < 0)
		return;
	sm_appendf(buf, size, off, ":");
	for (uint64_t i = 0; i < n; i++)
		sm_appendf(buf, size, off, " %02x", insn[i]);
}

void vm_describe_fail(struct vm *vm, struct vm_vcpu *v,
		      const struct hv_fail *fail, char *buf, size_t size)
{
	char what[240], note[240];
	size_t off = 0;

	hv_fail_describe(fail, what, sizeof(what));
	hv_host_note(note, sizeof(note));
	sm_appendf(buf, size, &off, "hypervisor failed to run vCPU %u: %s",
		   v->index, what);
	put_guest_pc(vm, v, buf, size, &off);
	if (note[0])
		sm_appendf(buf, size, &off, ". Note: %s", note);
}
