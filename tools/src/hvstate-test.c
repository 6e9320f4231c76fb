/*
 * hvstate-test: checks hv_vcpu_save/restore and hv_vm_save/restore on a
 * real KVM (run it under tools/with-kvm; tests/kvm/hvstate.sh does).
 *
 * A tiny 64-bit guest counts in a register (rbx), an XMM register (XSAVE
 * state), an MSR (KERNEL_GS_BASE), guest memory, the PIC's interrupt mask
 * and CR8 (the LAPIC's TPR), checks that its TSC never goes backwards, and
 * reports all of it on ports 0x10..0x16 every iteration. The VM is saved
 * in the middle of an iteration, restored into a second (and a third) VM
 * with a copy of its RAM, and each must carry on exactly where the first
 * stopped; so must the first. Then damaged state blobs must be refused.
 * Prints "PASS name" / "FAIL name: why" lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h> /* struct kvm_sregs, KVM_CAP_TSC_CONTROL */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86_64/x86.h"
#include "hv/hv.h"
#include "util/buf.h"
#include "util/error.h"
#include "vmm/guest_mem.h"

#define RAM_SIZE (4ULL << 20)
#define CODE_GPA 0x100000ULL
#define COUNTER_GPA 0x200000ULL
#define PORT_FIRST 0x10
#define PORT_LAST 0x16

/* The guest, assembled by hand: each line's instruction in its comment. */
/* clang-format off */
static const uint8_t guest_code[] = {
	0xb8, 0x01, 0x00, 0x00, 0x00,       /* mov eax, 1 */
	0x66, 0x48, 0x0f, 0x6e, 0xc8,       /* movq xmm1, rax */
	0x66, 0x0f, 0xef, 0xc0,             /* pxor xmm0, xmm0 */
	0x31, 0xdb,                         /* xor ebx, ebx */
	0x45, 0x31, 0xed,                   /* xor r13d, r13d */
	0x0f, 0x31,                         /* rdtsc */
	0x48, 0xc1, 0xe2, 0x20,             /* shl rdx, 32 */
	0x48, 0x09, 0xd0,                   /* or rax, rdx */
	0x49, 0x89, 0xc4,                   /* mov r12, rax */
	0x31, 0xc0,                         /* xor eax, eax */
	0xe6, 0x21,                         /* out 0x21, al (PIC mask) */
	0x44, 0x0f, 0x22, 0xc0,             /* mov cr8, rax */
	/* loop (0x27): */
	0x48, 0xff, 0xc3,                   /* inc rbx */
	0x66, 0x0f, 0xd4, 0xc1,             /* paddq xmm0, xmm1 */
	0xb9, 0x02, 0x01, 0x00, 0xc0,       /* mov ecx, 0xc0000102 */
	0x0f, 0x32,                         /* rdmsr */
	0x83, 0xc0, 0x01,                   /* add eax, 1 */
	0x83, 0xd2, 0x00,                   /* adc edx, 0 */
	0x0f, 0x30,                         /* wrmsr */
	0x48, 0xff, 0x04, 0x25,             /* inc qword [0x200000] */
	0x00, 0x00, 0x20, 0x00,
	0x0f, 0x31,                         /* rdtsc */
	0x48, 0xc1, 0xe2, 0x20,             /* shl rdx, 32 */
	0x48, 0x09, 0xd0,                   /* or rax, rdx */
	0x4c, 0x39, 0xe0,                   /* cmp rax, r12 */
	0x73, 0x06,                         /* jae +6 */
	0x41, 0xbd, 0x01, 0x00, 0x00, 0x00, /* mov r13d, 1: went back */
	0x49, 0x89, 0xc4,                   /* mov r12, rax */
	0x89, 0xd8,                         /* mov eax, ebx */
	0xe7, 0x10,                         /* out 0x10, eax */
	0x66, 0x48, 0x0f, 0x7e, 0xc0,       /* movq rax, xmm0 */
	0xe7, 0x11,                         /* out 0x11, eax */
	0xb9, 0x02, 0x01, 0x00, 0xc0,       /* mov ecx, 0xc0000102 */
	0x0f, 0x32,                         /* rdmsr */
	0xe7, 0x12,                         /* out 0x12, eax */
	0x48, 0x8b, 0x04, 0x25,             /* mov rax, [0x200000] */
	0x00, 0x00, 0x20, 0x00,
	0xe7, 0x13,                         /* out 0x13, eax */
	0x44, 0x89, 0xe8,                   /* mov eax, r13d */
	0xe7, 0x14,                         /* out 0x14, eax */
	0xe4, 0x21,                         /* in al, 0x21 */
	0x0f, 0xb6, 0xc0,                   /* movzx eax, al */
	0xe7, 0x15,                         /* out 0x15, eax */
	0x89, 0xd8,                         /* mov eax, ebx */
	0xe6, 0x21,                         /* out 0x21, al */
	0x44, 0x0f, 0x20, 0xc0,             /* mov rax, cr8 */
	0xe7, 0x16,                         /* out 0x16, eax */
	0x89, 0xd8,                         /* mov eax, ebx */
	0x83, 0xe0, 0x0f,                   /* and eax, 15 */
	0x44, 0x0f, 0x22, 0xc0,             /* mov cr8, rax */
	0xeb, 0x8c,                         /* jmp loop */
};
/* clang-format on */

struct machine {
	struct hv_vm *vm;
	struct hv_vcpu *vcpu;
	struct guest_mem mem;
	/* what the host has seen: the iteration and the next port */
	uint32_t iter;
	uint16_t next_port;
};

static int failures;

static void pass(const char *name)
{
	printf("PASS %s\n", name);
	fflush(stdout);
}

static void fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures++;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* A VM with RAM mapped and vCPU 0 created, nothing else. */
static int machine_new(struct machine *m, struct sm_error *err)
{
	const uint64_t layout[1][2] = {{0, RAM_SIZE}};
	int ret;

	memset(m, 0, sizeof(*m));
	m->mem.fd = -1;
	m->next_port = PORT_FIRST;
	ret = hv_vm_create(&m->vm, err);
	if (!ret)
		ret = gm_create(&m->mem, layout, 1, err);
	if (!ret)
		ret = hv_vm_map_ram(m->vm, 0, 0, RAM_SIZE, m->mem.base, err);
	if (!ret)
		ret = hv_vcpu_create(m->vm, 0, &m->vcpu, err);
	return ret;
}

static void machine_free(struct machine *m)
{
	hv_vcpu_destroy(m->vcpu);
	hv_vm_destroy(m->vm);
	gm_destroy(&m->mem);
	memset(m, 0, sizeof(*m));
}

/* Loads the guest and sets the boot CPU up in long mode at its start. */
static int machine_boot(struct machine *m, struct sm_error *err)
{
	struct x86_kernel k = {.entry = CODE_GPA};
	struct hv_x86_boot boot;
	int ret;

	if (gm_write(&m->mem, CODE_GPA, guest_code, sizeof(guest_code)))
		return -EFAULT;
	ret = x86_setup_boot_cpu(&m->mem, &k, &boot, err);
	if (ret)
		return ret;
	boot.cr4 |= 0x600; /* OSFXSR | OSXMMEXCPT: the guest uses SSE */
	return hv_vcpu_x86_setup(m->vcpu, 0, 1, &boot, err);
}

static uint32_t expected(uint16_t port, uint32_t k)
{
	switch (port) {
	case 0x14:
		return 0; /* the TSC never went backwards */
	case 0x15:
		return (k - 1) & 0xff; /* PIC mask written last iteration */
	case 0x16:
		return (k - 1) & 0xf; /* CR8 written last iteration */
	default:
		return k; /* rbx, xmm0, MSR, memory */
	}
}

/*
 * Runs until the guest has written port `stop_port` in iteration
 * `stop_iter`, checking every value on the way. 0, or -1 with why.
 */
static int run_until(struct machine *m, uint32_t stop_iter, uint16_t stop_port,
		     char *why, size_t whylen)
{
	for (int guard = 0; guard < 100000; guard++) {
		struct hv_exit e;
		uint32_t v = 0, want;
		uint16_t port;
		int ret = hv_vcpu_run(m->vcpu, &e);

		if (ret < 0) {
			snprintf(why, whylen, "KVM_RUN: %s", strerror(-ret));
			return -1;
		}
		if (e.kind == HV_EXIT_INTR)
			continue;
		if (e.kind == HV_EXIT_FAIL) {
			char what[240];

			hv_fail_describe(&e.fail, what, sizeof(what));
			snprintf(why, whylen, "%s in iteration %u", what,
				 m->iter);
			return -1;
		}
		if (e.kind != HV_EXIT_IO || !e.io.write || e.io.size != 4 ||
		    e.io.count != 1) {
			snprintf(why, whylen,
				 "unexpected exit kind %d (port %#x) in "
				 "iteration %u",
				 e.kind, e.kind == HV_EXIT_IO ? e.io.port : 0,
				 m->iter);
			return -1;
		}
		port = e.io.port;
		memcpy(&v, e.io.data, 4);
		if (port != m->next_port) {
			snprintf(why, whylen, "port %#x, expected %#x", port,
				 m->next_port);
			return -1;
		}
		if (port == PORT_FIRST)
			m->iter++;
		want = expected(port, m->iter);
		if (v != want) {
			snprintf(why, whylen,
				 "iteration %u: port %#x gave %u, expected %u",
				 m->iter, port, v, want);
			return -1;
		}
		m->next_port = port == PORT_LAST ? PORT_FIRST : port + 1;
		if (m->iter == stop_iter && port == stop_port)
			return 0;
	}
	snprintf(why, whylen, "no progress");
	return -1;
}

struct saved {
	struct sm_buf vcpu, vm;
	uint8_t *ram;
	uint32_t iter;
	uint16_t next_port;
};

/* A new VM restored from s: RAM copied, VM state, then vCPU state. */
static int restore_into(struct machine *m, const struct saved *s, double *us,
			struct sm_error *err)
{
	double t0;
	int ret = machine_new(m, err);

	if (ret)
		return ret;
	memcpy(m->mem.base, s->ram, RAM_SIZE);
	t0 = now_us();
	ret = hv_vm_restore(m->vm, s->vm.data, s->vm.len, err);
	if (!ret)
		ret = hv_vcpu_restore(m->vcpu, s->vcpu.data, s->vcpu.len, err);
	*us = now_us() - t0;
	m->iter = s->iter;
	m->next_port = s->next_port;
	return ret;
}

/* Offset of the header of section `id` in a blob, or -1. */
static long find_section(const uint8_t *b, size_t len, uint32_t id)
{
	size_t off = 4;

	while (off + 8 <= len) {
		uint32_t sid, slen;

		memcpy(&sid, b + off, 4);
		memcpy(&slen, b + off + 4, 4);
		if (sid == id)
			return (long)off;
		off += 8 + (size_t)slen;
	}
	return -1;
}

/* Section ids of the vCPU blob (src/hv/kvm_vcpu_state.c, snapshot.md). */
enum {
	SEC_CPUID = 2,
	SEC_SREGS = 5,
	SEC_XSAVE = 6,
	SEC_TSC_KHZ = 10,
	SEC_MSRS = 11
};

static uint32_t msr_count(const struct sm_buf *blob)
{
	long off = find_section(blob->data, blob->len, SEC_MSRS);
	uint32_t n = 0;

	if (off >= 0 && (size_t)off + 12 <= blob->len)
		memcpy(&n, blob->data + off + 8, 4);
	return n;
}

static void expect_refused(struct hv_vcpu *v, const uint8_t *b, size_t len,
			   const char *name, const char *what)
{
	struct sm_error err = {0};
	int ret = hv_vcpu_restore(v, b, len, &err);

	if (ret >= 0)
		fail(name, "accepted");
	else if (!strstr(err.msg, what))
		fail(name, "message \"%s\" lacks \"%s\"", err.msg, what);
	else
		pass(name);
}

/* Copies blob, lets `edit` damage it at section `id`, expects a refusal. */
static void damaged(struct hv_vcpu *v, const struct sm_buf *blob, uint32_t id,
		    size_t at, const void *bytes, size_t n, const char *name,
		    const char *what)
{
	uint8_t *b = malloc(blob->len);
	long off = find_section(blob->data, blob->len, id);

	if (!b || off < 0) {
		fail(name, "no section %u in the blob", id);
		free(b);
		return;
	}
	memcpy(b, blob->data, blob->len);
	memcpy(b + off + at, bytes, n);
	expect_refused(v, b, blob->len, name, what);
	free(b);
}

static void corruption_tests(const struct saved *s)
{
	struct machine m;
	struct sm_error err = {0};
	const uint32_t huge = 0xffffff00u, one = 1;
	const uint64_t bad_cr4 = 1ULL << 63;
	struct hv_vcpu *v1 = NULL;
	size_t bad = 0;
	uint8_t *b;

	if (machine_new(&m, &err)) {
		fail("corrupt_state_refused", "%s", err.msg);
		return;
	}
	/* Truncations never get past the checks, so one vCPU serves all. */
	for (size_t len = 0; len < s->vcpu.len; len++)
		if (hv_vcpu_restore(m.vcpu, s->vcpu.data, len, &err) != -EINVAL)
			bad++;
	if (bad)
		fail("truncated_vcpu_state_refused", "%zu lengths not refused",
		     bad);
	else
		pass("truncated_vcpu_state_refused");
	bad = 0;
	for (size_t len = 0; len < s->vm.len; len++)
		if (hv_vm_restore(m.vm, s->vm.data, len, &err) != -EINVAL)
			bad++;
	if (bad)
		fail("truncated_vm_state_refused", "%zu lengths not refused",
		     bad);
	else
		pass("truncated_vm_state_refused");

	b = malloc(s->vcpu.len);
	if (b) {
		memcpy(b, s->vcpu.data, s->vcpu.len);
		b[0] = 'X';
		expect_refused(m.vcpu, b, s->vcpu.len, "vcpu_bad_tag_refused",
			       "bad tag");
		memcpy(b, s->vm.data, 4); /* a VM blob's tag */
		expect_refused(m.vcpu, b, s->vcpu.len,
			       "vm_blob_as_vcpu_refused", "bad tag");
		free(b);
	}
	damaged(m.vcpu, &s->vcpu, SEC_CPUID, 4, &huge, 4,
		"section_past_end_refused", "truncated or corrupt");
	damaged(m.vcpu, &s->vcpu, SEC_CPUID, 8, &huge, 4,
		"cpuid_count_lie_refused", "CPUID of 4294967040 entries");
	damaged(m.vcpu, &s->vcpu, SEC_MSRS, 8, &one, 4, "msr_count_lie_refused",
		"1 MSRs in");
	damaged(m.vcpu, &s->vcpu, SEC_XSAVE, 0, &huge, 4,
		"unknown_section_refused", "unknown section");
	damaged(m.vcpu, &s->vcpu, SEC_XSAVE, 0, "\2\0\0\0", 4,
		"duplicate_section_refused", "appears twice");

	/* A blob of vCPU 0 into vCPU 1. */
	if (hv_vcpu_create(m.vm, 1, &v1, &err))
		fail("wrong_vcpu_refused", "%s", err.msg);
	else
		expect_refused(v1, s->vcpu.data, s->vcpu.len,
			       "wrong_vcpu_refused",
			       "saved from vCPU 0, restored into vCPU 1");
	hv_vcpu_destroy(v1);

	/* Well formed, but a value KVM refuses: the error says which call. */
	damaged(m.vcpu, &s->vcpu, SEC_SREGS,
		8 + offsetof(struct kvm_sregs, cr4), &bad_cr4, 8,
		"kvm_refusal_reported", "KVM_SET_SREGS");
	machine_free(&m);
}

/*
 * Restores s with its TSC rate set to khz into a new VM and runs it on.
 * Returns the restore's status (err says why) or, after a restore, -1
 * with `why` set if the guest did not carry on.
 */
static int restore_at_tsc(const struct saved *s, long off, uint32_t khz,
			  struct sm_error *err, char *why, size_t whylen)
{
	struct saved t = *s;
	struct machine m;
	double us;
	int ret;

	why[0] = '\0';
	memset(&t.vcpu, 0, sizeof(t.vcpu));
	sm_buf_put(&t.vcpu, s->vcpu.data, s->vcpu.len);
	if (t.vcpu.oom) {
		sm_buf_free(&t.vcpu);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	memcpy(t.vcpu.data + off + 8, &khz, 4);
	ret = restore_into(&m, &t, &us, err);
	if (!ret && run_until(&m, 8, 0x13, why, whylen))
		ret = -1;
	machine_free(&m);
	sm_buf_free(&t.vcpu);
	return ret;
}

/* Does this host's KVM scale a guest's TSC (KVM_CAP_TSC_CONTROL)? */
static bool kvm_scales_tsc(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), r = 0;

	if (fd >= 0) {
		r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL);
		close(fd);
	}
	return r > 0;
}

/*
 * A snapshot's TSC rate: a rate within the tolerance is kept as is; one
 * 10% off is scaled where KVM can, and refused with a message where not
 * (a guest whose clock runs 10% fast is worse than no restore).
 */
static void tsc_rate_tests(const struct saved *s)
{
	long off = find_section(s->vcpu.data, s->vcpu.len, SEC_TSC_KHZ);
	struct sm_error err = {0};
	char why[256];
	uint32_t khz;
	int ret;

	if (off < 0) {
		fail("tsc_rate_near_kept", "no TSC section in the vCPU blob");
		fail("tsc_rate_far_scaled_or_refused", "no TSC section");
		return;
	}
	memcpy(&khz, s->vcpu.data + off + 8, 4);
	ret = restore_at_tsc(s, off, khz + khz / 10000, &err, why, sizeof(why));
	if (ret)
		fail("tsc_rate_near_kept", "%u kHz + 100 ppm: %s", khz,
		     ret == -1 ? why : err.msg);
	else
		pass("tsc_rate_near_kept");

	ret = restore_at_tsc(s, off, khz + khz / 10, &err, why, sizeof(why));
	if (kvm_scales_tsc()) {
		if (ret)
			fail("tsc_rate_far_scaled_or_refused",
			     "KVM scales TSCs, yet %u kHz + 10%%: %s", khz,
			     ret == -1 ? why : err.msg);
		else
			pass("tsc_rate_far_scaled_or_refused");
	} else if (ret == -ENOTSUP && strstr(err.msg, "KVM cannot scale it")) {
		printf("# this KVM cannot scale TSCs: %s\n", err.msg);
		pass("tsc_rate_far_scaled_or_refused");
	} else {
		fail("tsc_rate_far_scaled_or_refused",
		     "KVM cannot scale TSCs; %u kHz + 10%% gave %d: %s", khz,
		     ret,
		     ret == -1 ? why
		     : ret     ? err.msg
			       : "accepted");
	}
}

int main(void)
{
	struct machine a, b, c;
	struct saved s = {0};
	struct sm_error err = {0};
	char why[256];
	double t0, save_us, rest_us;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (machine_new(&a, &err) || machine_boot(&a, &err)) {
		fail("guest_runs", "set-up: %s", err.msg);
		return 1;
	}
	if (run_until(&a, 5, 0x12, why, sizeof(why))) {
		fail("guest_runs", "%s", why);
		return 1;
	}
	pass("guest_runs");

	/* Saved right after an `out` exit: hv_vcpu_save completes it. */
	t0 = now_us();
	ret = hv_vcpu_save(a.vcpu, &s.vcpu, &err);
	if (!ret)
		ret = hv_vm_save(a.vm, &s.vm, &err);
	save_us = now_us() - t0;
	s.ram = malloc(RAM_SIZE);
	if (ret || !s.ram) {
		fail("state_saved", "%s", ret ? err.msg : "out of memory");
		return 1;
	}
	memcpy(s.ram, a.mem.base, RAM_SIZE);
	s.iter = a.iter;
	s.next_port = a.next_port;
	pass("state_saved");
	printf("# vCPU state %zu bytes (%u MSRs), VM state %zu bytes, saved "
	       "in %.0f us\n",
	       s.vcpu.len, msr_count(&s.vcpu), s.vm.len, save_us);

	if (restore_into(&b, &s, &rest_us, &err)) {
		fail("state_restored", "%s", err.msg);
		return 1;
	}
	pass("state_restored");
	printf("# restored (VM + vCPU state) in %.0f us\n", rest_us);
	if (run_until(&b, 10, PORT_LAST, why, sizeof(why)))
		fail("restored_vm_continues", "%s", why);
	else
		pass("restored_vm_continues");

	if (run_until(&a, 10, PORT_LAST, why, sizeof(why)))
		fail("original_vm_continues_after_save", "%s", why);
	else
		pass("original_vm_continues_after_save");

	/* The same state again, after the first clone ran on. */
	if (restore_into(&c, &s, &rest_us, &err))
		fail("second_restore_continues", "%s", err.msg);
	else if (run_until(&c, 8, 0x13, why, sizeof(why)))
		fail("second_restore_continues", "%s", why);
	else
		pass("second_restore_continues");

	corruption_tests(&s);
	tsc_rate_tests(&s);
	machine_free(&a);
	machine_free(&b);
	machine_free(&c);
	sm_buf_free(&s.vcpu);
	sm_buf_free(&s.vm);
	free(s.ram);
	return failures ? 1 : 0;
}
