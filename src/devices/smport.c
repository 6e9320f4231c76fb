/* supermachine's paravirtual exit and marker ports (see platform.h). */
#include <stdio.h>
#include <string.h>

#include "devices/platform.h"
#include "vmm/vm.h"

void smport_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vm *vm = opaque;
	uint32_t status = 0;

	if (off == 0) {
		memcpy(&status, data, len < 4 ? len : 4);
		vm_stop(vm, SM_EXIT_GUEST, (int)(status & 0xff), NULL);
	} else if (off == 1) {
		vm_marker(vm, data[0]);
	}
}
