/*
 * i8042: Linux with reboot=k (and panic=-1 after a panic) resets the
 * machine by pulsing the CPU reset line through command 0xfe. That reset
 * ends the VM; the VMM tells a panic from a reboot by the console.
 */
#include <string.h>

#include "devices/platform.h"
#include "vmm/vm.h"

#define I8042_CMD_RESET 0xfe

void i8042_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	/* Status: input buffer empty, no data: the reboot code may write. */
	memset(data, 0, len);
}

void i8042_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	(void)len;
	if (off == 4 && data[0] == I8042_CMD_RESET)
		vm_guest_reset(opaque);
}
