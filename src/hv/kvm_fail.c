/*
 * KVM's reasons for not running a vCPU, in words: KVM_EXIT_INTERNAL_ERROR
 * (suberror, data words, the instruction bytes it could not emulate),
 * KVM_EXIT_FAIL_ENTRY (the CPU's reason for refusing the VM entry) and
 * exit reasons the VMM does not handle. Also the host note for kvm-pvm,
 * whose failures look like ours but are the host's (docs/with-kvm.md).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hv/hv.h"
#include "util/buf.h"
#include "hv/kvm_internal.h"

#define HV_FAIL_MAX_WORDS (sizeof(((struct hv_fail *)0)->data) / 8)

void kvm_decode_fail(const struct kvm_run *run, struct hv_fail *fail)
{
	memset(fail, 0, sizeof(*fail));
	fail->exit_reason = run->exit_reason;
	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY) {
		fail->code = run->fail_entry.hardware_entry_failure_reason;
	} else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		fail->code = run->internal.suberror;
		fail->ndata = run->internal.ndata < HV_FAIL_MAX_WORDS
				  ? run->internal.ndata
				  : HV_FAIL_MAX_WORDS;
		memcpy(fail->data, run->internal.data,
		       fail->ndata * sizeof(fail->data[0]));
	}
}

static const char *suberror_name(uint64_t sub)
{
	switch (sub) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "it could not emulate a guest instruction";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "an exception arrived while it delivered another";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "the CPU exited while an event was being delivered";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "the CPU exited with a reason KVM does not handle";
	}
	return "unknown suberror";
}

/* VMX basic exit reasons for a failed entry (SDM vol. 3, appendix C). */
static const char *entry_failure_name(uint64_t hw)
{
	if (hw == (uint64_t)-1)
		return "SVM: invalid VMCB state";
	switch (hw & 0xffff) {
	case 33:
		return "VMX: invalid guest state";
	case 34:
		return "VMX: MSR loading failed";
	case 41:
		return "VMX: machine-check event";
	}
	return "unknown hardware reason";
}

static void put_words(char *buf, size_t size, size_t *off, const char *what,
		      const uint64_t *w, unsigned n)
{
	if (!n)
		return;
	sm_appendf(buf, size, off, "; %s", what);
	for (unsigned i = 0; i < n; i++)
		sm_appendf(buf, size, off, " %#llx", (unsigned long long)w[i]);
}

static void describe_internal(const struct hv_fail *f, char *buf, size_t size,
			      size_t *off)
{
	unsigned first = 0;

	sm_appendf(buf, size, off, "KVM internal error %llu: %s",
		   (unsigned long long)f->code, suberror_name(f->code));
	/* data[0] flags, data[1] length, data[2..3] the bytes KVM fetched */
	if (f->code == KVM_INTERNAL_ERROR_EMULATION && f->ndata >= 4 &&
	    (f->data[0] &
	     KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		uint8_t bytes[16];
		unsigned len = f->data[1] < 15 ? (unsigned)f->data[1] : 15;

		memcpy(bytes, &f->data[2], sizeof(bytes));
		sm_appendf(buf, size, off, "; instruction as KVM read it:");
		for (unsigned i = 0; i < len; i++)
			sm_appendf(buf, size, off, " %02x", bytes[i]);
		first = 4;
	}
	if (f->ndata > first)
		put_words(buf, size, off, "data", f->data + first,
			  f->ndata - first);
}

void hv_fail_describe(const struct hv_fail *f, char *buf, size_t size)
{
	size_t off = 0;

	if (!size)
		return;
	buf[0] = '\0';
	switch (f->exit_reason) {
	case KVM_EXIT_INTERNAL_ERROR:
		describe_internal(f, buf, size, &off);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		sm_appendf(
		    buf, size, &off,
		    "KVM could not enter the guest: hardware reason %#llx (%s)",
		    (unsigned long long)f->code, entry_failure_name(f->code));
		break;
	default:
		sm_appendf(buf, size, &off,
			   "KVM exit reason %u, which the VMM does "
			   "not handle",
			   f->exit_reason);
		break;
	}
}

int hv_vcpu_pc(struct hv_vcpu *vcpu, uint64_t *pc, uint64_t *gpa)
{
	struct kvm_regs r;
	struct kvm_sregs sr;
	struct kvm_translation t;
	bool long_mode;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	*pc = r.rip;
	/* 64-bit code ignores the CS base; other modes add it */
	long_mode = (sr.efer & (1ULL << 10)) && sr.cs.l;
	memset(&t, 0, sizeof(t));
	t.linear_address = long_mode ? r.rip : sr.cs.base + r.rip;
	if (ioctl(vcpu->fd, KVM_TRANSLATE, &t) < 0)
		return -errno;
	if (!t.valid)
		return -EFAULT;
	*gpa = t.physical_address;
	return 0;
}

/*
 * kvm-pvm registers /dev/kvm without VT-x or AMD-V: the guest kernel runs
 * in hardware ring 3 and KVM emulates what traps, which an unmodified
 * kernel does not survive (it dies in its first xrstor or int3). Where a
 * hardware module is loaded too, /dev/kvm may be that one: say nothing.
 */
static int host_is_pvm = -1; /* unknown until hv_host_probe() */

/*
 * Looks at the host's KVM modules once, when a VM is created: the note is
 * written from a vCPU thread, whose seccomp filter has no access(2).
 */
void hv_host_probe(void)
{
	bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	bool hw = access("/sys/module/kvm_intel", F_OK) == 0 ||
		  access("/sys/module/kvm_amd", F_OK) == 0;

	__atomic_store_n(&host_is_pvm, pvm && !hw, __ATOMIC_RELAXED);
}

void hv_host_note(char *buf, size_t size)
{
	if (!size)
		return;
	buf[0] = '\0';
	if (__atomic_load_n(&host_is_pvm, __ATOMIC_RELAXED) < 0)
		hv_host_probe();
	if (__atomic_load_n(&host_is_pvm, __ATOMIC_RELAXED) == 1)
		snprintf(buf, size,
			 "this host's KVM is kvm-pvm (no hardware "
			 "virtualisation), which cannot run an unmodified "
			 "guest kernel: use a host with VT-x or AMD-V, or run "
			 "under tools/with-kvm, which emulates one");
}
