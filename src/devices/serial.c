/*
 * 16550A UART, enough of it for Linux's 8250 driver: divisor latch,
 * scratch and loopback (probed at boot), THR-empty interrupts (the tty
 * layer waits for them), and a console sink that also watches for a
 * kernel panic so the VMM can report it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/serial.h"
#include "util/error.h"
#include "vmm/vm.h"

#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_FIFO 0xc0
#define UART_FCR_ENABLE 0x01
#define UART_LCR_DLAB 0x80
#define UART_MCR_LOOP 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_DCD 0x80

#define PANIC_MARK "Kernel panic - not syncing"

struct serial {
	struct vm *vm;
	unsigned irq;
	int out_fd;
	pthread_mutex_t lock;
	/* registers (the guest-visible state, saved in snapshots) */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri_pending;
	/* console sink */
	char obuf[4096];
	size_t olen;
	char line[256];
	size_t line_len;
	bool panic;
	char panic_line[256];
};

struct serial *serial_create(struct vm *vm, unsigned irq, int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vm = vm;
	s->irq = irq;
	s->out_fd = out_fd;
	s->dll = 12; /* 9600 baud, the power-on default */
	s->mcr = 0x08;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

static void flush_locked(struct serial *s)
{
	size_t off = 0;

	while (s->out_fd >= 0 && off < s->olen) {
		ssize_t n = write(s->out_fd, s->obuf + off, s->olen - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* a closed console must not stop the guest */
		off += (size_t)n;
	}
	s->olen = 0;
}

void serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	flush_locked(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	serial_flush(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void watch_line(struct serial *s, char c)
{
	if (c != '\n') {
		if (s->line_len < sizeof(s->line) - 1)
			s->line[s->line_len++] = c;
		return;
	}
	/* the console ends its lines with "\r\n": the CR is not the text */
	if (s->line_len && s->line[s->line_len - 1] == '\r')
		s->line_len--;
	s->line[s->line_len] = '\0';
	if (!s->panic && strstr(s->line, PANIC_MARK)) {
		s->panic = true;
		memcpy(s->panic_line, s->line, sizeof(s->panic_line));
	}
	s->line_len = 0;
}

static void emit(struct serial *s, uint8_t c)
{
	s->obuf[s->olen++] = (char)c;
	watch_line(s, (char)c);
	if (c == '\n' || s->olen == sizeof(s->obuf))
		flush_locked(s);
}

static uint8_t modem_status(const struct serial *s)
{
	/* In loopback, the modem inputs mirror the outputs (8250 probe). */
	if (s->mcr & UART_MCR_LOOP)
		return (
		    uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
			     ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
	return UART_MSR_DCD | 0x30; /* DCD, DSR, CTS */
}

void serial_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;
	uint8_t v = 0;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case 0:
		v = (s->lcr & UART_LCR_DLAB) ? s->dll : 0; /* no input yet */
		break;
	case 1:
		v = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case 2:
		v = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;
		if (s->thri_pending) {
			v |= UART_IIR_THRI;
			s->thri_pending = false; /* reading IIR clears it */
		} else {
			v |= UART_IIR_NO_INT;
		}
		break;
	case 3:
		v = s->lcr;
		break;
	case 4:
		v = s->mcr;
		break;
	case 5:
		v = UART_LSR_THRE | UART_LSR_TEMT; /* always ready to send */
		break;
	case 6:
		v = modem_status(s);
		break;
	case 7:
		v = s->scr;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	data[0] = v;
}

void serial_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;
	bool irq = false;
	uint8_t v = data[0];

	(void)len;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case 0:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = v;
		} else {
			if (!(s->mcr & UART_MCR_LOOP))
				emit(s, v);
			if (s->ier & UART_IER_THRI)
				s->thri_pending = irq = true;
		}
		break;
	case 1:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = v;
		} else {
			s->ier = v & 0x0f;
			if (s->ier & UART_IER_THRI)
				s->thri_pending = irq = true;
		}
		break;
	case 2:
		s->fcr = v;
		break;
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v & 0x1f;
		break;
	case 7:
		s->scr = v;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	if (irq)
		vm_irq_pulse(s->vm, s->irq);
}

bool serial_saw_panic(struct serial *s, char *line, size_t size)
{
	bool panic;

	pthread_mutex_lock(&s->lock);
	panic = s->panic;
	if (panic && size) {
		strncpy(line, s->panic_line, size - 1);
		line[size - 1] = '\0';
	}
	pthread_mutex_unlock(&s->lock);
	return panic;
}

int serial_save(struct serial *s, struct sm_buf *out)
{
	pthread_mutex_lock(&s->lock);
	sm_buf_put_u8(out, s->ier);
	sm_buf_put_u8(out, s->lcr);
	sm_buf_put_u8(out, s->mcr);
	sm_buf_put_u8(out, s->scr);
	sm_buf_put_u8(out, s->dll);
	sm_buf_put_u8(out, s->dlm);
	sm_buf_put_u8(out, s->fcr);
	sm_buf_put_u8(out, s->thri_pending);
	pthread_mutex_unlock(&s->lock);
	return out->oom ? -ENOMEM : 0;
}

/* The 8 saved registers: all or nothing, checked before any is set. */
static int restore_checked(struct serial *s, const void *data, size_t len,
			   struct sm_error *err)
{
	uint8_t v[8];
	struct sm_reader r;

	sm_reader_init(&r, data, len);
	for (size_t i = 0; i < sizeof(v); i++)
		v[i] = sm_get_u8(&r);
	if (r.bad || r.left)
		return sm_err(err, -EINVAL,
			      "%zu bytes of UART state, expected %zu", len,
			      sizeof(v));
	if (v[7] > 1)
		return sm_err(err, -EINVAL,
			      "THR interrupt pending flag %u (0 or 1)", v[7]);
	pthread_mutex_lock(&s->lock);
	s->ier = v[0];
	s->lcr = v[1];
	s->mcr = v[2];
	s->scr = v[3];
	s->dll = v[4];
	s->dlm = v[5];
	s->fcr = v[6];
	s->thri_pending = v[7];
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int serial_restore(struct serial *s, const void *data, size_t len)
{
	return restore_checked(s, data, len, NULL);
}

static int dev_save(void *dev, struct sm_buf *out)
{
	return serial_save(dev, out);
}

static int dev_restore(void *dev, const void *data, size_t len,
		       struct sm_error *err)
{
	return restore_checked(dev, data, len, err);
}

const struct vm_device_ops serial_device_ops = {
    .name = "serial port (8250)",
    .save = dev_save,
    .restore = dev_restore,
};
