/* Small legacy/paravirtual port devices of the x86 platform. */
#ifndef SM_DEVICES_PLATFORM_H
#define SM_DEVICES_PLATFORM_H

#include <stdint.h>

/* i8042 keyboard controller: only the reset line (reboot=k). opaque: vm */
void i8042_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
void i8042_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len);

/*
 * supermachine's paravirtual ports, used by the guest init:
 * SM_PORT_EXIT (32-bit write) reports the command's exit status and ends
 * the VM; SM_PORT_MARKER (8-bit write) records boot progress.
 */
void smport_write(void *opaque, uint64_t off, const uint8_t *data,
		  uint32_t len);

#endif
