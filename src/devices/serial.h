/* 16550A UART on COM1: the guest console. Output only (for now). */
#ifndef SM_DEVICES_SERIAL_H
#define SM_DEVICES_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

struct vm_device_ops;

struct vm;

/* out_fd: where console bytes go (-1: nowhere). */
struct serial *serial_create(struct vm *vm, unsigned irq, int out_fd);
void serial_destroy(struct serial *s);
void serial_flush(struct serial *s);

/* The bus callbacks (port offsets 0..7 from COM1). */
void serial_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
void serial_write(void *opaque, uint64_t off, const uint8_t *data,
		  uint32_t len);

/*
 * Whether the console showed a kernel panic; its line if so, as the guest
 * wrote it (unescaped: quote it with sm_escape_guest_text() to show it).
 */
bool serial_saw_panic(struct serial *s, char *line, size_t size);

int serial_save(struct serial *s, struct sm_buf *out);
int serial_restore(struct serial *s, const void *data, size_t len);
/* Its entry in a VM's device table (vm_add_device). */
extern const struct vm_device_ops serial_device_ops;

#endif
