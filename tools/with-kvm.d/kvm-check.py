#!/usr/bin/env python3
"""Checks that /dev/kvm works.

usage: kvm-check.py api    KVM_GET_API_VERSION answers 12
       kvm-check.py run    also creates a VM with one vCPU and runs real-mode
                           code: "mov al,42; out 0x10,al; hlt" must exit to
                           us with the port write, then with HLT.
       kvm-check.py exceptions
                           runs 64-bit code that raises #BP (int3), #UD
                           (ud2) and #PF, each with an IDT whose handler
                           reports its vector on port 0x10: what every
                           kernel needs. kvm-pvm fails it (docs/with-kvm.md)
                           although it passes "run".
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
KVM_EXIT_SHUTDOWN = 8
KVM_EXIT_INTERNAL_ERROR = 17

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


# 64-bit layout: page tables at 0x10000 (one 2 MiB identity page), GDT at
# 0x500, IDT at 0x600, one handler stub per vector at 0x3000 + 16 * vector,
# the code under test at 0x1000.
RAISE = {
    3: bytes([0xCC]),                        # int3
    6: bytes([0x0F, 0x0B]),                  # ud2
    14: bytes([0x48, 0xA1]) + struct.pack("Q", 0x300000000),  # load, unmapped
}


def long_mode_vm(kvm, code):
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    mem = mmap.mmap(-1, 0x200000)
    struct.pack_into("QQQ", mem, 0x10000, 0x11000 | 3, 0, 0)
    struct.pack_into("Q", mem, 0x11000, 0x12000 | 3)
    struct.pack_into("Q", mem, 0x12000, 0x83)  # 2 MiB page at 0
    struct.pack_into("QQQ", mem, 0x500, 0, 0x00AF9B000000FFFF,
                     0x00CF93000000FFFF)
    for vec in range(32):
        h = 0x3000 + vec * 16
        low = (h & 0xFFFF) | (0x8 << 16) | (0x8E00 << 32) | \
            (((h >> 16) & 0xFFFF) << 48)
        struct.pack_into("QQ", mem, 0x600 + vec * 16, low, h >> 32)
        mem[h:h + 5] = bytes([0xB0, vec, 0xE6, 0x10, 0xF4])
    mem[0x1000:0x1000 + len(code)] = code
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION,
                struct.pack("IIQQQ", 0, 0, 0, len(mem), addr))
    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    sregs = bytearray(312)
    fcntl.ioctl(vcpu, KVM_GET_SREGS, sregs, True)
    for i in range(6):  # cs, ds, es, fs, gs, ss (struct kvm_segment)
        code_seg = i == 0
        struct.pack_into("QIH10B", sregs, i * 24, 0, 0xFFFFFFFF,
                         0x8 if code_seg else 0x10, 0xB if code_seg else 3,
                         1, 0, 0 if code_seg else 1, 1, int(code_seg), 1,
                         0, 0, 0)
    struct.pack_into("QH", sregs, 192, 0x500, 23)        # gdt
    struct.pack_into("QH", sregs, 208, 0x600, 32 * 16 - 1)  # idt
    # cr0 PE|ET|PG, cr2, cr3, cr4 PAE, cr8, efer LME|LMA
    struct.pack_into("6Q", sregs, 224, 0x80000011, 0, 0x10000, 0x20, 0,
                     0x500)
    fcntl.ioctl(vcpu, KVM_SET_SREGS, bytes(sregs))
    regs = bytearray(144)
    fcntl.ioctl(vcpu, KVM_GET_REGS, regs, True)
    struct.pack_into("Q", regs, 6 * 8, 0x8000)  # rsp
    struct.pack_into("QQ", regs, 16 * 8, 0x1000, 2)  # rip, rflags
    fcntl.ioctl(vcpu, KVM_SET_REGS, bytes(regs))
    return vm, mem, vcpu


def check_exceptions(kvm):
    size = fcntl.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)
    bad = []
    for vec, code in sorted(RAISE.items()):
        _vm, _mem, vcpu = long_mode_vm(kvm, code)
        run = mmap.mmap(vcpu, size, mmap.MAP_SHARED,
                        mmap.PROT_READ | mmap.PROT_WRITE)
        fcntl.ioctl(vcpu, KVM_RUN, 0)
        reason = struct.unpack_from("I", run, 8)[0]
        if reason == KVM_EXIT_IO:
            off = struct.unpack_from("Q", run, 40)[0]
            if run[off] == vec:
                continue
            bad.append("vector %d reached handler %d" % (vec, run[off]))
        elif reason == KVM_EXIT_SHUTDOWN:
            bad.append("vector %d: triple fault" % vec)
        elif reason == KVM_EXIT_INTERNAL_ERROR:
            sub = struct.unpack_from("I", run, 32)[0]
            bad.append("vector %d: KVM internal error %d" % (vec, sub))
        else:
            bad.append("vector %d: exit reason %d" % (vec, reason))
    if bad:
        fail("64-bit exception delivery fails: " + "; ".join(bad))


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "api"
    try:
        kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        api = fcntl.ioctl(kvm, KVM_GET_API_VERSION, 0)
        if api != 12:
            fail("KVM_GET_API_VERSION is %d, expected 12" % api)
        if what == "run":
            run_guest(kvm)
        elif what == "exceptions":
            check_exceptions(kvm)
    except OSError as e:
        fail(str(e))
    print("kvm-check: %s ok" % what)


if __name__ == "__main__":
    main()
