/*
 * How KVM's failed exits are put into words (src/hv/kvm_fail.c): each
 * kind named, the instruction bytes KVM fetched, the data words, and a
 * message cut at the buffer's size, never past it.
 */
#include <linux/kvm.h>
#include <string.h>

#include "hv/hv.h"
#include "hv/kvm_internal.h"
#include "test.h"
#include "util/buf.h"

static struct kvm_run run;

static void describe(char *buf, size_t size)
{
	struct hv_fail f;

	kvm_decode_fail(&run, &f);
	hv_fail_describe(&f, buf, size);
}

TEST(emulation_failure_with_bytes)
{
	char buf[300];
	const uint8_t insn[] = {0x48, 0x0f, 0xae, 0x2f};

	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run.internal.ndata = 5;
	run.internal.data[0] =
	    KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run.internal.data[1] = sizeof(insn);
	memcpy(&run.internal.data[2], insn, sizeof(insn));
	run.internal.data[4] = 0x1234;
	describe(buf, sizeof(buf));
	CHECK_STR(buf, "KVM internal error 1: it could not emulate a guest "
		       "instruction; instruction as KVM read it: 48 0f ae 2f; "
		       "data 0x1234");
}

TEST(delivery_error_words)
{
	char buf[300];

	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run.internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
	run.internal.ndata = 2;
	run.internal.data[0] = 0x80000b0e;
	run.internal.data[1] = 0x30;
	describe(buf, sizeof(buf));
	CHECK_STR(buf, "KVM internal error 3: the CPU exited while an event "
		       "was being delivered; data 0x80000b0e 0x30");
}

/* ndata comes from the kernel, but never more words than there is room */
TEST(ndata_capped)
{
	char buf[1024];
	struct hv_fail f;

	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run.internal.suberror = 99;
	run.internal.ndata = 1000;
	kvm_decode_fail(&run, &f);
	CHECK_EQ(f.ndata, 16);
	hv_fail_describe(&f, buf, sizeof(buf));
	CHECK(strstr(buf, "KVM internal error 99: unknown suberror; data 0") ==
	      buf);
}

TEST(entry_failures)
{
	char buf[256];

	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_FAIL_ENTRY;
	run.fail_entry.hardware_entry_failure_reason = 0x80000021;
	describe(buf, sizeof(buf));
	CHECK_STR(buf, "KVM could not enter the guest: hardware reason "
		       "0x80000021 (VMX: invalid guest state)");
	run.fail_entry.hardware_entry_failure_reason = (uint64_t)-1;
	describe(buf, sizeof(buf));
	CHECK(strstr(buf, "(SVM: invalid VMCB state)") != NULL);
}

TEST(unhandled_exit_reason)
{
	char buf[256];

	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_DEBUG;
	describe(buf, sizeof(buf));
	CHECK_STR(buf, "KVM exit reason 4, which the VMM does not handle");
}

TEST(truncated_not_overrun)
{
	char buf[32 + 8];

	memset(buf, 'X', sizeof(buf));
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run.internal.ndata = 16;
	describe(buf, 32);
	CHECK_EQ(strlen(buf), 31);
	CHECK_EQ(buf[32], 'X');
}

TEST(appendf_stops_at_size)
{
	char buf[8];
	size_t off = 0;

	sm_appendf(buf, sizeof(buf), &off, "%s", "abcdef");
	sm_appendf(buf, sizeof(buf), &off, "%s", "ghij");
	sm_appendf(buf, sizeof(buf), &off, "%s", "k");
	CHECK_STR(buf, "abcdefg");
	CHECK(off >= sizeof(buf));
}

int main(void)
{
	RUN(emulation_failure_with_bytes);
	RUN(delivery_error_words);
	RUN(ndata_capped);
	RUN(entry_failures);
	RUN(unhandled_exit_reason);
	RUN(truncated_not_overrun);
	RUN(appendf_stops_at_size);
	return test_summary();
}
