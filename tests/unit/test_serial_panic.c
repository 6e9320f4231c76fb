/*
 * A kernel panic line from the guest console (src/devices/serial.c) as the
 * VM's stop detail (vm_guest_reset() in src/vmm/vm.c): the text the user
 * sees as "the VM stopped: guest kernel panic: ...", without a real guest.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/serial.h"
#include "test.h"
#include "vmm/vm.h"

/* A VM with no vCPUs and only a console: enough for vm_guest_reset(). */
static struct vm *console_vm(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->stop_efd = -1;
	vm->serial = serial_create(vm, 4, -1);
	if (!vm->serial) {
		free(vm);
		return NULL;
	}
	return vm;
}

static void free_vm(struct vm *vm)
{
	serial_destroy(vm->serial);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

/* What the guest writes to the console's data register, byte by byte. */
static void console_print(struct vm *vm, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		serial_write(vm->serial, 0, (const uint8_t *)text + i, 1);
}

/*
 * The guest prints console, then stops: checks the VM's stop reason and
 * detail (reported as "got:" on stderr when it differs).
 */
static void check_panic(const char *console, size_t len, const char *want)
{
	struct vm *vm = console_vm();

	CHECK(vm != NULL);
	if (!vm)
		return;
	console_print(vm, console, len);
	vm_guest_reset(vm);
	CHECK_EQ(vm->reason, SM_EXIT_PANIC);
	CHECK(strcmp(vm->detail, want) == 0);
	CHECK(!strchr(vm->detail, '\x1b') && !strchr(vm->detail, '\r') &&
	      !strchr(vm->detail, '\n'));
	if (strcmp(vm->detail, want))
		fprintf(stderr, "got: %s\n", vm->detail);
	free_vm(vm);
}

TEST(panic_line_is_quoted_without_its_cr)
{
	static const char c[] = "boot\r\nKernel panic - not syncing: "
				"VFS: Unable to mount root fs\r\n";

	check_panic(c, sizeof(c) - 1,
		    "guest kernel panic: \"Kernel panic - not syncing: "
		    "VFS: Unable to mount root fs\"");
}

/* A guest-made "panic" line that would clear the screen, fake a line. */
TEST(hostile_panic_line_is_escaped)
{
	static const char c[] = "\x1b[2J\x1b[HKernel panic - not syncing: x\r"
				"supermachine: ok\x07\xc2\x9b\n";

	check_panic(c, sizeof(c) - 1,
		    "guest kernel panic: \"\\x1b[2J\\x1b[HKernel panic - "
		    "not syncing: x\\rsupermachine: ok\\x07\\u009b\"");
}

int main(void)
{
	RUN(panic_line_is_quoted_without_its_cr);
	RUN(hostile_panic_line_is_escaped);
	return test_summary();
}
