/* A VM's output sink (output_sink.h). */
#include "run/output_sink.h"
#include "run/handle.h"

void run_set_output_sink(struct sm_vm *vm, run_output_sink *fn, void *opaque)
{
	if (!vm)
		return;
	vm->io.sink = fn;
	vm->io.sink_opaque = opaque;
}
