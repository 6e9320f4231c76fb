#!/usr/bin/env python3
"""Boot-time benchmark: supermachine vs QEMU microvm, same kernel + initramfs.

For each VMM, N runs of the guest command `true`:
  to_init  - process start until the init's first console line
             ("supermachine-init: started") reaches the host
  total    - process start until the process exits
For supermachine also the VMM's own view (marker port written by init's
first instructions) and its RSS beyond guest memory (RssAnon + RssFile,
sampled while the guest sleeps; guest RAM is a memfd, counted in RssShmem).

Run it where /dev/kvm works (tools/with-kvm bench/boot.py).
"""
import os, re, statistics, subprocess, sys, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("SM_BUILD", os.path.join(TOP, "build"))
SM = os.path.join(BUILD, "supermachine")
KERNEL = os.path.join(TOP, "build/guest/vmlinux")
INITRD = os.path.join(TOP, "build/guest/initramfs.cpio")
RUNS = int(os.environ.get("RUNS", "5"))
MEM_MIB = 256  # both sides get the same guest
MARK = b"supermachine-init: started"
CMDLINE = "console=ttyS0 reboot=k panic=-1 io_delay=none no_timer_check quiet"


def hexcmd(argv):
    return "sm.cmd=" + "".join(a.encode().hex() + "00" for a in argv)


def timed(cmd):
    """Returns (seconds to marker line, seconds to exit, exit status)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    to_init, buf = None, b""
    while True:
        chunk = p.stdout.read1(4096)
        if not chunk:
            break
        buf += chunk
        if to_init is None and MARK in buf:
            to_init = time.monotonic() - t0
    p.wait()
    return to_init, time.monotonic() - t0, p.returncode, p.stderr.read()


def ours(argv=("true",)):
    cmd = [SM, "boot", "--kernel", KERNEL, "--initrd", INITRD, "--timing",
           "--memory", str(MEM_MIB), "--cpus", "1", "--"] + list(argv)
    to_init, total, rc, err = timed(cmd)
    m = re.search(rb"boot_to_init_ms=([0-9.]+)", err)
    return to_init, total, rc, float(m.group(1)) / 1000 if m else None


def qemu():
    cmd = ["qemu-system-x86_64", "-M", "microvm,acpi=off,x-option-roms=off",
           "-accel", "kvm", "-cpu", "host", "-m", str(MEM_MIB), "-smp", "1",
           "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=1", "-no-reboot",
           "-kernel", KERNEL, "-initrd", INITRD,
           "-append", CMDLINE + " " + hexcmd(["true"])]
    to_init, total, rc, err = timed(cmd)
    # isa-debug-exit makes QEMU exit with (status << 1) | 1
    return to_init, total, rc, err


def rss_beyond_guest():
    p = subprocess.Popen([SM, "boot", "--kernel", KERNEL, "--initrd", INITRD,
                          "--", "sleep", "20"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    best = last = None
    deadline = time.monotonic() + 120
    while p.poll() is None and time.monotonic() < deadline:
        try:
            st = open(f"/proc/{p.pid}/status").read()
        except OSError:
            break
        f = {k: int(v.split()[0]) for k, v in re.findall(r"^(Rss\w+):\s+(.*)$", st, re.M)}
        if f:
            own = f.get("RssAnon", 0) + f.get("RssFile", 0)
            best = own if best is None else max(best, own)
            last = (f.get("RssAnon", 0), f.get("RssFile", 0))
        time.sleep(0.1)
    p.communicate()
    return best, last


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def main():
    for path in (SM, KERNEL, INITRD):
        if not os.path.exists(path):
            sys.exit(f"boot.py: {path} missing: run make first")
    # alternate the two sides: the host's speed drifts (emulated host)
    o, q = [], []
    for _ in range(RUNS):
        o.append(ours())
        q.append(qemu())
    obad = [r for r in o if r[2] != 0]
    qbad = [r for r in q if r[2] != 1]  # isa-debug-exit: `true` gives 1
    for r in obad:
        print(f"supermachine run FAILED (status {r[2]})")
    for r in qbad:
        print(f"qemu run FAILED (status {r[2]}): {r[3][-300:]!r}")
    o = [r for r in o if r[2] == 0]
    q = [r for r in q if r[2] == 1]
    print(f"same guest both sides: {MEM_MIB} MiB, 1 vCPU, same kernel and initramfs; "
          f"succeeded: supermachine {len(o)} of {RUNS}, qemu {len(q)} of {RUNS} (medians of those)")
    if not o or not q:
        print("no ratio: a side has no successful run")
        sys.exit(1)
    o_init, o_total, o_port = med([r[0] for r in o]), med([r[1] for r in o]), med([r[3] for r in o])
    q_init, q_total = med([r[0] for r in q]), med([r[1] for r in q])
    print(f"supermachine: to_init {o_init*1000:8.1f} ms  total {o_total*1000:8.1f} ms  (init marker port: {o_port*1000:.1f} ms)")
    print(f"qemu microvm: to_init {q_init*1000:8.1f} ms  total {q_total*1000:8.1f} ms")
    print(f"ratio qemu/supermachine: to_init {q_init/o_init:.2f}x  total {q_total/o_total:.2f}x")
    peak, last = rss_beyond_guest()
    if peak is None or last is None:
        print("supermachine RSS: not measured (the VM ended too soon)")
        return
    print(f"supermachine RSS beyond guest memory: peak {peak/1024:.2f} MiB (RssAnon+RssFile, "
          f"includes the kernel image mapped while loading); while the guest runs: "
          f"RssAnon {last[0]/1024:.2f} MiB + RssFile {last[1]/1024:.2f} MiB (shared library pages)")


if __name__ == "__main__":
    main()
