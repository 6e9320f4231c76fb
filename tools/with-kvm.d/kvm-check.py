#!/usr/bin/env python3
"""Checks that /dev/kvm works.

usage: kvm-check.py api    KVM_GET_API_VERSION answers 12
       kvm-check.py run    also creates a VM with one vCPU and runs real-mode
                           code: "mov al,42; out 0x10,al; hlt" must exit to
                           us with the port write, then with HLT.
Exit status 0 on success; otherwise 1 and a reason on stderr.
"""
import ctypes
import fcntl
import mmap
import os
import struct
import sys

KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_GET_VCPU_MMAP_SIZE = 0xAE04
KVM_CREATE_VCPU = 0xAE41
KVM_SET_USER_MEMORY_REGION = 0x4020AE46  # _IOW(0xAE, 0x46, 32 bytes)
KVM_RUN = 0xAE80
KVM_GET_REGS = 0x8090AE81  # _IOR(0xAE, 0x81, 144 bytes)
KVM_SET_REGS = 0x4090AE82
KVM_GET_SREGS = 0x8138AE83  # _IOR(0xAE, 0x83, 312 bytes)
KVM_SET_SREGS = 0x4138AE84
KVM_EXIT_IO = 2
KVM_EXIT_HLT = 5

CODE_ADDR = 0x1000
CODE = bytes([0xB0, 42, 0xE6, 0x10, 0xF4])  # mov al,42; out 0x10,al; hlt


def fail(msg):
    print("kvm-check: " + msg, file=sys.stderr)
    sys.exit(1)


def run_guest(kvm):
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    mem = mmap.mmap(-1, 0x10000)
    mem[CODE_ADDR:CODE_ADDR + len(CODE)] = CODE
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    region = struct.pack("IIQQQ", 0, 0, 0, len(mem), addr)
    fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION, region)
    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    size = fcntl.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)
    run = mmap.mmap(vcpu, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)

    # Real mode, CS base 0: kvm_segment cs is first in kvm_sregs
    # (base u64 at 0, selector u16 at 12).
    sregs = bytearray(312)
    fcntl.ioctl(vcpu, KVM_GET_SREGS, sregs, True)
    struct.pack_into("Q", sregs, 0, 0)
    struct.pack_into("H", sregs, 12, 0)
    fcntl.ioctl(vcpu, KVM_SET_SREGS, bytes(sregs))
    regs = bytearray(144)
    fcntl.ioctl(vcpu, KVM_GET_REGS, regs, True)
    struct.pack_into("QQ", regs, 16 * 8, CODE_ADDR, 2)  # rip, rflags
    fcntl.ioctl(vcpu, KVM_SET_REGS, bytes(regs))

    fcntl.ioctl(vcpu, KVM_RUN, 0)
    reason = struct.unpack_from("I", run, 8)[0]
    if reason != KVM_EXIT_IO:
        fail("first exit reason %d, expected KVM_EXIT_IO" % reason)
    direction, width, port, count, off = struct.unpack_from("BBHIQ", run, 32)
    value = run[off]
    if (direction, width, port, count, value) != (1, 1, 0x10, 1, 42):
        fail("unexpected port I/O: dir %d size %d port %#x count %d value %d"
             % (direction, width, port, count, value))
    fcntl.ioctl(vcpu, KVM_RUN, 0)
    reason = struct.unpack_from("I", run, 8)[0]
    if reason != KVM_EXIT_HLT:
        fail("second exit reason %d, expected KVM_EXIT_HLT" % reason)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "api"
    try:
        kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        api = fcntl.ioctl(kvm, KVM_GET_API_VERSION, 0)
        if api != 12:
            fail("KVM_GET_API_VERSION is %d, expected 12" % api)
        if what == "run":
            run_guest(kvm)
    except OSError as e:
        fail(str(e))
    print("kvm-check: %s ok" % what)


if __name__ == "__main__":
    main()
