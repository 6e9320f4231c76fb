#!/usr/bin/env python3
"""Warm-start benchmark, the measuring half of bench/warm.sh.

Runs where /dev/kvm works (bench/warm.sh puts it under tools/with-kvm) and
measures, all in this one process:
  1. `run --no-snapshot IMAGE true` (cold) vs `run IMAGE true` (warm):
     wall time from process start to exit;
  2. restore-to-first-output: `run -m SIZE IMAGE echo x` from process start
     to the first byte on its stdout (a pipe), for each SIZE;
  3. the VMM's RSS while a warm guest runs `sleep 2`;
  4. QEMU (microvm, same kernel and initramfs) saved with `migrate` to a
     file and restored with `-incoming`, timed to the guest's first output;
  5. (bench/counts.sh's peer row) the same QEMU restore counted instead of
     timed: KVM exits (all, page faults, to userspace: perf's kvm
     tracepoints), QEMU's host page faults and its syscalls (strace -f -c).
Every run goes with -v, so that each can be checked to be the kind it
claims (cold boot / warm start) and the VMM's own timings are shown.

usage: warm.py --sm BIN --image REF --work DIR [--runs N] [--mems LIST]
       [--qemu-mems LIST] [--kernel K --initrd I]
SUPERMACHINE_ROOT must name the store the image is in.
"""
import argparse, glob, json, os, re, resource, select, socket, statistics
import subprocess
import sys, tempfile, time

NOTE_RESTORED = re.compile(rb"warm start: restored (\S+) in ([0-9.]+) ms")
NOTE_TIMES = re.compile(
    rb"guest connected at ([0-9.]+) ms, ready at ([0-9.]+) ms, done at ([0-9.]+) ms")


def dbg(msg):
    if os.environ.get("WARM_DEBUG"):
        print(f"[{time.monotonic():.3f}] {msg}", file=sys.stderr, flush=True)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def ms(s):
    return f"{s * 1000:8.1f} ms"


def fail(msg):
    print(f"warm.py: {msg}", file=sys.stderr)
    sys.exit(1)


class Run:
    """One `supermachine -v run ...`: wall time, first stdout byte, notes."""

    def __init__(self, sm, args, sample_rss=False):
        self.stdout, self.stderr, self.rss = b"", b"", []
        t0 = time.monotonic()
        p = subprocess.Popen([sm, "-v", "run"] + args, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.first = None
        open_fds = {p.stdout.fileno(): "out", p.stderr.fileno(): "err"}
        while open_fds:
            r, _, _ = select.select(list(open_fds), [], [],
                                    0.02 if sample_rss else None)
            if sample_rss:
                self.sample(p.pid)
            for fd in r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    del open_fds[fd]
                elif open_fds[fd] == "out":
                    if self.first is None:
                        self.first = time.monotonic() - t0
                    self.stdout += chunk
                else:
                    self.stderr += chunk
        p.wait()
        self.wall = time.monotonic() - t0
        self.rc = p.returncode
        self.restored = NOTE_RESTORED.search(self.stderr)
        self.cold = b"cold boot" in self.stderr
        t = NOTE_TIMES.search(self.stderr)
        self.times = [float(x) / 1000 for x in t.groups()] if t else None

    def sample(self, pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                st = f.read()
        except OSError:
            return
        fields = dict(re.findall(r"^(VmRSS|RssAnon|RssFile|RssShmem):\s+(\d+)",
                                 st, re.M))
        if len(fields) == 4:
            self.rss.append({k: int(v) for k, v in fields.items()})

    def check(self, what, want_warm, want_out=None):
        if self.rc != 0:
            fail(f"{what}: exit status {self.rc}: {self.stderr[-600:]!r}")
        if want_warm and not self.restored:
            fail(f"{what}: expected a warm start: {self.stderr[-600:]!r}")
        if not want_warm and not self.cold:
            fail(f"{what}: expected a cold boot: {self.stderr[-600:]!r}")
        if want_out is not None and self.stdout != want_out:
            fail(f"{what}: output {self.stdout!r}, expected {want_out!r}")
        return self

    def restore_ms(self):
        return float(self.restored.group(2)) / 1000 if self.restored else None


def part1(a):
    print(f"== 1. run {a.image} true: cold (--no-snapshot) vs warm, "
          f"{a.runs} runs each, default memory")
    prime = Run(a.sm, [a.image, "true"])  # makes the template if missing
    if prime.rc:
        fail(f"priming run failed: {prime.stderr[-600:]!r}")
    # Interleaved, so that the emulated host's load drift hits both alike.
    cold, warm = [], []
    for _ in range(a.runs):
        cold.append(Run(a.sm, ["--no-snapshot", a.image, "true"]).check("cold", False))
        warm.append(Run(a.sm, [a.image, "true"]).check("warm", True))
    c, w = med([r.wall for r in cold]), med([r.wall for r in warm])
    print("   cold walls: " + " ".join(f"{r.wall * 1000:.0f}" for r in cold) + " ms")
    print("   warm walls: " + " ".join(f"{r.wall * 1000:.0f}" for r in warm) + " ms")
    print(f"   cold  median wall {ms(c)}   (VMM: guest ready at "
          f"{med([r.times[1] for r in cold if r.times]) * 1000:.1f} ms)")
    print(f"   warm  median wall {ms(w)}   (VMM: restore done at "
          f"{med([r.restore_ms() for r in warm]) * 1000:.1f} ms, guest ready at "
          f"{med([r.times[1] for r in warm if r.times]) * 1000:.1f} ms)")
    print(f"   ratio cold/warm: {c / w:.2f}x (medians), "
          f"{min(r.wall for r in cold) / min(r.wall for r in warm):.2f}x (minimums)")
    return w


def template_file(root, mib):
    """The memory file of the template whose size is MIB, for its disk use."""
    for f in glob.glob(os.path.join(root, "images/*/templates/*/memory")):
        st = os.stat(f)
        if st.st_size == mib << 20:
            return st
    return None


def part2(a):
    print(f"== 2. restore to first output: run -m SIZE {a.image} echo x, "
          f"{a.runs} warm runs per size (process start to first stdout byte)")
    res, all_runs = {}, {size: [] for size in a.mems}
    for size in a.mems:
        prime = Run(a.sm, ["-m", size, a.image, "echo", "x"])
        if prime.rc:
            fail(f"-m {size}: priming run failed: {prime.stderr[-600:]!r}")
    for _ in range(a.runs):  # round robin over the sizes, as in part 1
        for size in a.mems:
            all_runs[size].append(Run(a.sm, ["-m", size, a.image, "echo", "x"])
                                  .check(f"-m {size}", True, b"x\n"))
    for size in a.mems:
        mib, runs = parse_mib(size), all_runs[size]
        first = med([r.first for r in runs])
        st = template_file(a.root, mib)
        disk = f"{st.st_blocks * 512 / 2**20:.1f} MiB on disk" if st else "?"
        print(f"   {size:>5}: first byte median {ms(first)} min {ms(min(r.first for r in runs))}  "
              f"[{' '.join(f'{r.first * 1000:.0f}' for r in runs)}]  "
              f"restore {med([r.restore_ms() for r in runs]) * 1000:6.1f} ms  "
              f"wall {ms(med([r.wall for r in runs]))}  memory file "
              f"{mib} MiB, {disk}")
        res[mib] = (first, med([r.restore_ms() for r in runs]))
    lo, hi = res[min(res)], res[max(res)]
    grow = hi[0] / lo[0]
    verdict = "FLAT" if grow < 1.25 else "NOT FLAT"
    print(f"   {verdict}: first byte at {max(res)} MiB / {min(res)} MiB = "
          f"{grow:.2f}x (restore step alone {hi[1] / lo[1]:.2f}x); "
          f"flat means under 1.25x")
    return res


def part3(a):
    print("== 3. VMM RSS while a warm guest runs `sleep 2` "
          "(/proc/PID/status, sampled every 20 ms; the sample with the largest VmRSS)")
    for size in a.rss_mems:
        r = Run(a.sm, ["-m", size, a.image, "sleep", "2"], sample_rss=True)
        r.check(f"sleep -m {size}", True)
        if not r.rss:
            fail("no RSS samples")
        top = max(r.rss, key=lambda s: s["VmRSS"])
        last = r.rss[len(r.rss) // 2]
        f = lambda s: "  ".join(f"{k} {s[k] / 1024:7.1f} MiB" for k in
                                ("VmRSS", "RssAnon", "RssFile", "RssShmem"))
        print(f"   -m {size:>4} peak: {f(top)}")
        print(f"   -m {size:>4} mid : {f(last)}   ({len(r.rss)} samples)")


# ---- QEMU ----

CMDLINE = "console=ttyS0 reboot=k panic=-1 io_delay=none no_timer_check quiet"
GUEST_SH = "echo ready; read x; echo restored"


def hexcmd(argv):
    return "sm.cmd=" + "".join(x.encode().hex() + "00" for x in argv)


def qemu_cmd(a, mib, qmp, extra=()):
    return ["qemu-system-x86_64", "-M", "microvm,acpi=off,x-option-roms=off",
            "-accel", "kvm", "-cpu", "host", "-m", str(mib), "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
            "-no-reboot", "-kernel", a.kernel, "-initrd", a.initrd,
            "-append", CMDLINE + " " + hexcmd(["sh", "-c", GUEST_SH]),
            "-qmp", f"unix:{qmp},server=on,wait=off"] + list(extra)


class Qmp:
    def __init__(self, path, deadline):
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                self.s.settimeout(max(deadline - time.monotonic(), 5))
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"QMP socket {path} never answered")
                time.sleep(0.005)
        self.f = self.s.makefile("rb")
        self.events = []
        self.read()  # greeting
        self.cmd("qmp_capabilities")

    def read(self):
        line = self.f.readline()
        dbg(f"qmp <- {line[:200]!r}")
        if not line:
            raise RuntimeError("QMP: QEMU closed the connection")
        return json.loads(line)

    def cmd(self, name, **args):
        self.s.sendall(json.dumps({"execute": name, "arguments": args}).encode())
        while True:
            m = self.read()
            if "event" in m:
                self.events.append(m["event"])
            elif "error" in m:
                raise RuntimeError(f"QMP {name}: {m['error']}")
            elif "return" in m:
                return m["return"]


def read_until(p, marker, deadline, buf=b""):
    fd = p.stdout.fileno()
    while marker not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or p.poll() is not None and not select.select([fd], [], [], 0)[0]:
            raise RuntimeError(f"no {marker!r} from the guest; got {buf[-300:]!r}")
        if select.select([fd], [], [], min(left, 0.5))[0]:
            chunk = os.read(fd, 65536)
            if not chunk and p.poll() is not None:
                raise RuntimeError(f"QEMU exited ({p.returncode}); got {buf[-300:]!r}")
            buf += chunk
    return buf


def stop_qemu(p, qmp=None):
    try:
        if qmp:
            qmp.cmd("quit")
    except (RuntimeError, OSError):
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def qemu_save(a, mib, state):
    qmp_path = os.path.join(a.sockdir, f"qmp-save-{mib}")
    p = subprocess.Popen(qemu_cmd(a, mib, qmp_path), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    qmp = None
    try:
        read_until(p, b"ready", time.monotonic() + 300)
        time.sleep(0.3)  # let the shell reach read(2)
        qmp = Qmp(qmp_path, time.monotonic() + 10)
        qmp.cmd("stop")
        qmp.cmd("migrate", uri=f"exec:cat > {state}")
        deadline = time.monotonic() + 300
        while True:
            st = qmp.cmd("query-migrate").get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled") or time.monotonic() > deadline:
                raise RuntimeError(f"migrate to file: {st}")
            time.sleep(0.05)
    finally:
        stop_qemu(p, qmp)
        err = p.stderr.read()
        if err.strip():
            print(f"   (qemu save stderr: {err[-300:]!r})")


def qemu_restore(a, mib, state, wrap=()):
    """(seconds to running, seconds to the guest's first output); wrap: a
    command QEMU runs under (perf stat, strace)."""
    qmp_path = os.path.join(a.sockdir, f"qmp-restore-{mib}")
    t0 = time.monotonic()
    p = subprocess.Popen(list(wrap) + qemu_cmd(a, mib, qmp_path,
                                               ["-incoming", f"exec:cat {state}"]),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    qmp = None
    try:
        deadline = t0 + 120
        qmp = Qmp(qmp_path, deadline)
        up = time.monotonic() - t0
        # The state was saved stopped, so the loaded VM stays paused (QEMU
        # keeps the source's run state): poll until loaded, then `cont`.
        while True:
            st = qmp.cmd("query-status").get("status")
            if st != "inmigrate":
                break
            if time.monotonic() > deadline:
                raise RuntimeError("incoming migration never finished")
            time.sleep(0.002)
        if st != "running":
            mig = qmp.cmd("query-migrate").get("status")
            if mig != "completed":
                raise RuntimeError(f"incoming migration: {mig}, VM {st}")
            qmp.cmd("cont")
        running = time.monotonic() - t0
        # The guest's shell waits in read(2) on the console: wake it.
        p.stdin.write(b"\n")
        p.stdin.flush()
        read_until(p, b"restored", deadline)
        out = time.monotonic() - t0
    finally:
        stop_qemu(p, qmp)
        p.stderr.read()
    return running, out, up


def part4(a, ours):
    print(f"== 4. QEMU microvm restore (-incoming exec:cat FILE), same kernel "
          f"and initramfs, guest `sh -c '{GUEST_SH}'`, {a.runs} runs")
    try:
        ver = subprocess.run(["qemu-system-x86_64", "--version"],
                             capture_output=True, text=True).stdout.split("\n")[0]
        print(f"   {ver}")
    except OSError as e:
        print(f"   QEMU part NOT DONE: {e}")
        return
    # A unix socket cannot be bound on 9p (the emulated host's $TMPDIR).
    a.sockdir = tempfile.mkdtemp(prefix="sm-warm-qmp.",
                                 dir="/run" if os.access("/run", os.W_OK) else None)
    for mib in a.qemu_mems:
        state = os.path.join(a.work, f"qemu-{mib}.state")
        try:
            t = time.monotonic()
            qemu_save(a, mib, state)
            print(f"   {mib} MiB: booted and saved in {time.monotonic() - t:.1f} s, "
                  f"state file {os.path.getsize(state) / 2**20:.1f} MiB")
            rs = [qemu_restore(a, mib, state) for _ in range(a.runs)]
        except (RuntimeError, OSError) as e:
            print(f"   {mib} MiB: QEMU part FAILED: {e}")
            continue
        run_m, out_m = med([r[0] for r in rs]), med([r[1] for r in rs])
        print(f"   {mib} MiB: QMP up at {ms(med([r[2] for r in rs]))}, running "
              f"(after cont) at {ms(run_m)}, first output at {ms(out_m)}  "
              f"[{' '.join(f'{r[1] * 1000:.0f}' for r in rs)}]")
        if mib in ours:
            print(f"   ratio QEMU/ours (restore to first output, {mib} MiB): "
                  f"{out_m / ours[mib][0]:.2f}x  (ours {ours[mib][0] * 1000:.1f} ms)")
        os.unlink(state)


PERF_EVENTS = ("kvm:kvm_exit", "kvm:kvm_page_fault", "kvm:kvm_userspace_exit")


def perf_counts(path):
    """perf stat -x, output: {event: count}."""
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) > 2 and parts[2] in PERF_EVENTS and parts[0].isdigit():
                counts[parts[2]] = int(parts[0])
    return counts


def strace_total(path):
    with open(path) as f:
        for line in f:
            cols = line.split()
            if cols and cols[-1] == "total":
                return int(cols[3])
    raise RuntimeError(f"no total in {path}")


def part5(a):
    """A QEMU restore to the guest's first output and QEMU's exit, counted
    as bench/counts-kvm.sh counts ours: every exit over the (emulated)
    host with perf, QEMU's host faults (getrusage of it, a reaped child)
    and its syscalls (strace -f -c, a run of its own). Medians."""
    mib = a.qemu_mems[0]
    a.sockdir = tempfile.mkdtemp(prefix="sm-counts-qmp.",
                                 dir="/run" if os.access("/run", os.W_OK) else None)
    state = os.path.join(a.work, f"qemu-{mib}.state")
    perf_out = os.path.join(a.work, "qemu.perf")
    strace_out = os.path.join(a.work, "qemu.strace")
    perf = ["perf", "stat", "-a", "-x,", "-o", perf_out]
    for e in PERF_EVENTS:
        perf += ["-e", e]
    rows = {"exits": [], "nopf": [], "user": [], "faults": [], "sys": []}
    try:
        qemu_save(a, mib, state)
        for _ in range(a.runs):
            qemu_restore(a, mib, state, perf + ["--"])
            c = perf_counts(perf_out)
            rows["exits"].append(c["kvm:kvm_exit"])
            rows["nopf"].append(c["kvm:kvm_exit"] - c["kvm:kvm_page_fault"])
            rows["user"].append(c["kvm:kvm_userspace_exit"])
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            qemu_restore(a, mib, state)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            rows["faults"].append(after.ru_minflt + after.ru_majflt -
                                  before.ru_minflt - before.ru_majflt)
            qemu_restore(a, mib, state, ["strace", "-f", "-c", "-o", strace_out])
            rows["sys"].append(strace_total(strace_out))
    except (RuntimeError, OSError, KeyError, ValueError) as e:
        print(f"counts qemu-restore: not measured: {e}")
        return
    m = {k: int(med(v)) for k, v in rows.items()}
    print(f"{'qemu restore':<22} {m['exits']:>9} {m['nopf']:>9} {m['user']:>9} "
          f"{m['faults']:>9} {m['sys']:>9}")
    print(f"counts qemu-restore exits={m['nopf']} userspace_exits={m['user']} "
          f"host_faults={m['faults']} syscalls={m['sys']}")


def parse_mib(s):
    m = re.fullmatch(r"(\d+)([mMgG]?)", s)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s}")
    return int(m.group(1)) << (10 if m.group(2) in "gG" and m.group(2) else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sm", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mems", default="128m,1g,4g")
    ap.add_argument("--rss-mems", default="512m,4g")
    ap.add_argument("--qemu-mems", default="128")
    ap.add_argument("--parts", default="1234")
    a = ap.parse_args()
    a.mems = a.mems.split(",")
    a.rss_mems = a.rss_mems.split(",")
    a.qemu_mems = [int(x) for x in a.qemu_mems.split(",") if x]
    a.root = os.environ["SUPERMACHINE_ROOT"]
    ours = {}
    if "1" in a.parts:
        part1(a)
    if "2" in a.parts:
        ours = part2(a)
    if "3" in a.parts:
        part3(a)
    if "4" in a.parts:
        part4(a, ours)
    if "5" in a.parts:
        part5(a)


if __name__ == "__main__":
    main()
