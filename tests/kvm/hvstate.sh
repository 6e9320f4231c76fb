#!/usr/bin/env bash
# Hypervisor state save/restore (hv_vcpu_save/restore, hv_vm_save/restore)
# on a real KVM: a counting guest saved mid-loop carries on in a second VM;
# damaged state is refused. See tools/src/hvstate-test.c.
set -u
bin=${SM_BUILD:?}/tools/hvstate-test
if [ ! -x "$bin" ]; then
	echo "FAIL hvstate: $bin not built (make tools)"
	exit 1
fi
exec "$bin"
