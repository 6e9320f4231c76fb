#!/usr/bin/env python3
"""Keeps one idle KVM VM, with an in-kernel irqchip and one vCPU, open
for a whole with-kvm session inside the emulated host.

KVM turns static keys on when the first VM (preempt notifiers) or the
first disabled local APIC appears, and off when the last goes; each turn
rewrites kernel text with int3 breakpoints (text_poke_bp). Under QEMU's
multi-threaded TCG that rewriting has wedged the emulated host: one CPU
stuck on the int3 it placed in finish_task_switch, the other in
asm_exc_int3 / poke_int3_handler, for good. Tests start and stop VMs one
after another, so the keys flipped with every VM. This VM keeps them on.
It never runs. See docs/with-kvm.md, "Wedges and the heartbeat".
"""
import fcntl
import os
import signal

KVM_CREATE_VM = 0xAE01
KVM_CREATE_VCPU = 0xAE41
KVM_CREATE_IRQCHIP = 0xAE60

kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
fcntl.ioctl(vm, KVM_CREATE_IRQCHIP, 0)
vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
signal.pause()
