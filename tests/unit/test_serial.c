/*
 * The 16550A model on COM1 (src/devices/serial.c) as Linux's 8250 driver
 * and its probe use it, register by register: THR to the console sink,
 * RBR and LSR (output only: never data ready, always ready to send), the
 * divisor latch behind DLAB, the scratch register, IER and the IIR's
 * THR-empty interrupt, FIFO bits, loopback, and the snapshot record.
 * (The console's panic watch is in test_serial_panic.c.)
 *
 * The VM has a stand-in hypervisor whose interrupt line goes nowhere
 * (vm_fd -1: the KVM_IRQ_LINE ioctl fails), so writes that raise the
 * THR-empty interrupt run as on a real VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/serial.h"
#include "hv/kvm_internal.h"
#include "test.h"
#include "vmm/vm.h"

/* port offsets from COM1 */
enum { THR_RBR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_FIFO 0xc0
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

static struct hv_vm no_irq_hv = {.kvm_fd = -1, .vm_fd = -1};
static struct vm vm = {.hv = &no_irq_hv};
static struct serial *s;
static int console[2] = {-1, -1}; /* the console sink: a pipe */

/* A new UART whose console is a fresh non-blocking pipe. */
static void fresh(void)
{
	serial_destroy(s);
	if (console[0] >= 0) {
		close(console[0]);
		close(console[1]);
	}
	if (pipe2(console, O_NONBLOCK))
		abort();
	s = serial_create(&vm, 4, console[1]);
	if (!s)
		abort();
}

static void out(unsigned off, uint8_t v)
{
	serial_write(s, off, &v, 1);
}

static uint8_t in(unsigned off)
{
	uint8_t v = 0xee;

	serial_read(s, off, &v, 1);
	return v;
}

static void print(const char *text)
{
	while (*text)
		out(THR_RBR_DLL, (uint8_t)*text++);
}

/* What reached the console so far, NUL-terminated (size > 1). */
static size_t console_read(char *buf, size_t size)
{
	ssize_t n = read(console[0], buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

TEST(thr_bytes_reach_the_console_a_line_at_a_time)
{
	char buf[64];

	fresh();
	print("boot");
	CHECK_EQ(console_read(buf, sizeof(buf)), 0); /* held: no newline */
	print(" ok\r\nnext");
	CHECK_STR(buf, "");
	console_read(buf, sizeof(buf));
	CHECK_STR(buf, "boot ok\r\n");
	serial_flush(s);
	console_read(buf, sizeof(buf));
	CHECK_STR(buf, "next");
}

/* A line longer than the buffer goes out when the buffer is full. */
TEST(long_line_flushed_when_the_buffer_fills)
{
	static char buf[8192];

	fresh();
	for (int i = 0; i < 5000; i++)
		out(THR_RBR_DLL, 'a' + i % 26);
	CHECK_EQ(console_read(buf, sizeof(buf)), 4096);
	CHECK(buf[0] == 'a' && buf[4095] == 'a' + 4095 % 26);
	serial_flush(s);
	CHECK_EQ(console_read(buf, sizeof(buf)), 5000 - 4096);
	CHECK_EQ(buf[0], 'a' + 4096 % 26);
}

/* Output only: RBR reads 0, LSR never has data, always room to send. */
TEST(rbr_empty_and_lsr_always_ready_to_send)
{
	fresh();
	CHECK_EQ(in(THR_RBR_DLL), 0);
	CHECK_EQ(in(LSR), LSR_THRE | LSR_TEMT);
	print("x\n");
	CHECK_EQ(in(LSR), LSR_THRE | LSR_TEMT);
	CHECK(!(in(LSR)&LSR_DR));
	CHECK_EQ(in(THR_RBR_DLL), 0);
	/* reads of more than a byte: the register, then zeros */
	{
		uint8_t w[4] = {0xff, 0xff, 0xff, 0xff};

		serial_read(s, LSR, w, 4);
		CHECK(w[0] == (LSR_THRE | LSR_TEMT) && !w[1] && !w[2] && !w[3]);
	}
}

TEST(dlab_puts_the_divisor_latch_at_offsets_0_and_1)
{
	char buf[16];

	fresh();
	out(IER_DLM, 0x05);
	out(LCR, LCR_DLAB | 0x03);
	CHECK_EQ(in(LCR), LCR_DLAB | 0x03);
	/* the power-on divisor: 12, 9600 baud */
	CHECK_EQ(in(THR_RBR_DLL), 12);
	CHECK_EQ(in(IER_DLM), 0);
	out(THR_RBR_DLL, 0x01); /* 115200 baud */
	out(IER_DLM, 0x02);
	CHECK_EQ(in(THR_RBR_DLL), 0x01);
	CHECK_EQ(in(IER_DLM), 0x02);
	/* divisor writes are not console bytes, nor IER bits */
	out(THR_RBR_DLL, '\n');
	serial_flush(s);
	CHECK_EQ(console_read(buf, sizeof(buf)), 0);
	out(LCR, 0x03);
	CHECK_EQ(in(IER_DLM), 0x05);
	CHECK_EQ(in(THR_RBR_DLL), 0);
	/* the latch kept its value */
	out(LCR, LCR_DLAB | 0x03);
	CHECK_EQ(in(THR_RBR_DLL), '\n');
	CHECK_EQ(in(IER_DLM), 0x02);
}

TEST(scratch_register_holds_what_was_written)
{
	fresh();
	CHECK_EQ(in(SCR), 0);
	out(SCR, 0x55);
	CHECK_EQ(in(SCR), 0x55);
	out(SCR, 0xaa);
	CHECK_EQ(in(SCR), 0xaa);
	out(LCR, LCR_DLAB); /* not behind the latch */
	CHECK_EQ(in(SCR), 0xaa);
}

TEST(ier_keeps_its_four_interrupt_bits)
{
	fresh();
	out(IER_DLM, 0xff);
	CHECK_EQ(in(IER_DLM), 0x0f);
	out(IER_DLM, 0x00);
	CHECK_EQ(in(IER_DLM), 0x00);
}

TEST(iir_reports_no_interrupt_and_fifo_state)
{
	fresh();
	CHECK_EQ(in(IIR_FCR), IIR_NO_INT);
	print("x"); /* IER off: no THR-empty interrupt */
	CHECK_EQ(in(IIR_FCR), IIR_NO_INT);
	out(IIR_FCR, 0x01); /* FIFO on */
	CHECK_EQ(in(IIR_FCR), IIR_FIFO | IIR_NO_INT);
	out(IIR_FCR, 0xc7); /* with trigger level and clears */
	CHECK_EQ(in(IIR_FCR), IIR_FIFO | IIR_NO_INT);
	out(IIR_FCR, 0x00);
	CHECK_EQ(in(IIR_FCR), IIR_NO_INT);
}

/* The tty layer waits for THR-empty: each write owes one, read once. */
TEST(thr_empty_interrupt_identified_once_per_byte)
{
	fresh();
	out(IIR_FCR, 0x01);
	out(IER_DLM, IER_THRI); /* enabling it: THR is empty now */
	CHECK_EQ(in(IIR_FCR), IIR_FIFO | IIR_THRI);
	CHECK_EQ(in(IIR_FCR), IIR_FIFO | IIR_NO_INT); /* reading cleared it */
	print("ab");
	CHECK_EQ(in(IIR_FCR), IIR_FIFO | IIR_THRI);
	CHECK_EQ(in(IIR_FCR), IIR_FIFO | IIR_NO_INT);
	/* written in loopback too: the byte still left THR */
	out(MCR, MCR_LOOP);
	print("c");
	CHECK_EQ(in(IIR_FCR), IIR_FIFO | IIR_THRI);
	CHECK_EQ(in(IIR_FCR), IIR_FIFO | IIR_NO_INT);
}

/* The 8250 probe: in loopback the modem inputs follow the outputs. */
TEST(loopback_mirrors_modem_lines_and_mutes_the_console)
{
	char buf[16];

	fresh();
	CHECK_EQ(in(MCR), MCR_OUT2); /* the power-on value */
	CHECK_EQ(in(MSR), MSR_DCD | MSR_DSR | MSR_CTS);
	out(MCR, MCR_LOOP);
	CHECK_EQ(in(MSR), 0);
	out(MCR, MCR_LOOP | MCR_DTR);
	CHECK_EQ(in(MSR), MSR_DSR);
	out(MCR, MCR_LOOP | MCR_RTS);
	CHECK_EQ(in(MSR), MSR_CTS);
	out(MCR, MCR_LOOP | MCR_OUT1);
	CHECK_EQ(in(MSR), MSR_RI);
	out(MCR, MCR_LOOP | MCR_OUT2);
	CHECK_EQ(in(MSR), MSR_DCD);
	out(MCR, 0xff); /* five bits exist */
	CHECK_EQ(in(MCR), 0x1f);
	CHECK_EQ(in(MSR), MSR_DCD | MSR_RI | MSR_DSR | MSR_CTS);
	print("probe\n");
	serial_flush(s);
	CHECK_EQ(console_read(buf, sizeof(buf)), 0);
	out(MCR, MCR_OUT2);
	print("ok\n");
	console_read(buf, sizeof(buf));
	CHECK_STR(buf, "ok\n");
}

/* Registers as the driver reads them (IIR last: reading it clears). */
static void regs(uint8_t r[9])
{
	uint8_t lcr = in(LCR);

	r[0] = in(IER_DLM);
	r[1] = lcr;
	r[2] = in(MCR);
	r[3] = in(SCR);
	out(LCR, lcr | LCR_DLAB);
	r[4] = in(THR_RBR_DLL);
	r[5] = in(IER_DLM);
	out(LCR, lcr);
	r[6] = in(MSR);
	r[7] = in(LSR);
	r[8] = in(IIR_FCR);
}

TEST(save_restore_round_trip_keeps_the_registers)
{
	struct sm_buf rec = {0}, again = {0};
	uint8_t before[9], after[9];

	fresh();
	out(LCR, LCR_DLAB | 0x1b);
	out(THR_RBR_DLL, 0x03);
	out(IER_DLM, 0x01);
	out(LCR, 0x1b);
	out(MCR, MCR_LOOP | MCR_RTS);
	out(SCR, 0x5a);
	out(IIR_FCR, 0x01);
	out(IER_DLM, IER_THRI | 0x01); /* a THR-empty interrupt pending */
	CHECK_EQ(serial_save(s, &rec), 0);
	CHECK_EQ(rec.len, 8);
	regs(before);
	CHECK_EQ(before[8], IIR_FIFO | IIR_THRI);

	fresh();
	CHECK_EQ(serial_restore(s, rec.data, rec.len), 0);
	CHECK_EQ(serial_save(s, &again), 0);
	CHECK(again.len == rec.len && !memcmp(again.data, rec.data, rec.len));
	regs(after);
	CHECK_EQ(memcmp(before, after, sizeof(before)), 0);
	CHECK_EQ(in(IIR_FCR), IIR_FIFO | IIR_NO_INT);
	sm_buf_free(&rec);
	sm_buf_free(&again);
}

TEST(restore_refuses_a_record_of_another_length)
{
	uint8_t rec[9] = {0};

	fresh();
	CHECK_EQ(serial_restore(s, rec, 7), -EINVAL);
	CHECK_EQ(serial_restore(s, rec, 9), -EINVAL);
	CHECK_EQ(serial_restore(s, rec, 0), -EINVAL);
	CHECK_EQ(serial_restore(s, rec, 8), 0);
}

/*
 * A console nobody reads any more: each failed write drops the bytes
 * (main() ignores SIGPIPE, so the write fails with EPIPE) and the guest's
 * next bytes are taken as before, never a retry loop.
 */
TEST(closed_console_does_not_stop_the_guest)
{
	fresh();
	close(console[0]);
	console[0] = open("/dev/null", O_RDONLY); /* for fresh() to close */
	for (int i = 0; i < 10000; i++)
		out(THR_RBR_DLL, i % 80 ? 'z' : '\n');
	CHECK_EQ(in(LSR), LSR_THRE | LSR_TEMT);
	serial_destroy(s);
	s = serial_create(&vm, 4, -1); /* and no console at all */
	print("nowhere\n");
	CHECK_EQ(in(SCR), 0);
}

int main(void)
{
	/* a closed console: EPIPE, not the end of this test program */
	signal(SIGPIPE, SIG_IGN);
	RUN(thr_bytes_reach_the_console_a_line_at_a_time);
	RUN(long_line_flushed_when_the_buffer_fills);
	RUN(rbr_empty_and_lsr_always_ready_to_send);
	RUN(dlab_puts_the_divisor_latch_at_offsets_0_and_1);
	RUN(scratch_register_holds_what_was_written);
	RUN(ier_keeps_its_four_interrupt_bits);
	RUN(iir_reports_no_interrupt_and_fifo_state);
	RUN(thr_empty_interrupt_identified_once_per_byte);
	RUN(loopback_mirrors_modem_lines_and_mutes_the_console);
	RUN(save_restore_round_trip_keeps_the_registers);
	RUN(restore_refuses_a_record_of_another_length);
	RUN(closed_console_does_not_stop_the_guest);
	serial_destroy(s);
	return test_summary();
}
