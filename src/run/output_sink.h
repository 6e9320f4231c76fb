/*
 * Library-internal: where a VM's output goes besides its fds (a
 * container's log, src/container/logs.c). Not in supermachine.h: the
 * sink runs on the VM's session thread, under its seccomp filter.
 */
#ifndef SM_RUN_OUTPUT_SINK_H
#define SM_RUN_OUTPUT_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"

typedef void run_output_sink(void *opaque, int stream, const uint8_t *data,
			     size_t len);

/* Before sm_vm_start(): each piece of the main process's output (stream
 * 1 or 2) and the guest's error lines also go to fn, in the order the
 * VMM got them. Exec's output does not (as docker's logs). */
void run_set_output_sink(struct sm_vm *vm, run_output_sink *fn, void *opaque);

#endif
