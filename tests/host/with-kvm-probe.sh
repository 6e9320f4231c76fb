#!/usr/bin/env bash
# Tests tools/with-kvm's decision (with-kvm.d/probe.sh): the direct path
# only where /dev/kvm boots our guest to its init and back.
#   - a probe VMM that brings the guest's status back: direct, cached;
#   - one that names a hypervisor failure: emulated host, the reason on
#     stderr in one line, cached;
#   - one that times out: emulated host, not cached;
#   - the real build on this host: kvm-pvm (no vmx/svm) goes to the
#     emulated host and `boot ... exit 7` exits 7; hardware virtualisation
#     goes direct;
#   - forced direct on kvm-pvm: the VMM's error names the cause.
set -u
top=${SM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SM_BUILD:-$top/build}
wk=$top/tools/with-kvm
scratch=$(mktemp -d "${TMPDIR:-/tmp}/with-kvm-probe.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
unset WITH_KVM_DIRECT WITH_KVM_EMULATE

pass() { echo "PASS with-kvm-probe/$1"; }
fail() { echo "FAIL with-kvm-probe/$1: $2"; }
skip() { echo "SKIP with-kvm-probe/$1: $2"; }
check() { # check NAME WHY COMMAND...
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}
has() { grep -q -- "$2" "$1"; }

if [ ! -c /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	for n in fake-direct fake-cached fake-failure fake-failure-cached \
		fake-timeout real-verdict real-exit-status forced-direct; do
		skip $n "no usable /dev/kvm here"
	done
	exit 0
fi

# A fake VMM for the probe: logs each call, then acts as $FAKE_MODE says.
fake=$scratch/fake-vmm
cat >"$fake" <<'EOS'
#!/bin/sh
echo call >>"$FAKE_LOG"
case $FAKE_MODE in
ok) exit 7 ;;
hvfail) echo "supermachine: the VM stopped: hypervisor failed to run vCPU 0: KVM internal error 1: test" >&2; exit 125 ;;
slow) exit 124 ;; # what timeout(1) returns when the probe's bound expires
esac
EOS
chmod +x "$fake"
: >"$scratch/kernel"
: >"$scratch/initrd"
export WITH_KVM_PROBE_VMM=$fake WITH_KVM_PROBE_KERNEL=$scratch/kernel \
	WITH_KVM_PROBE_INITRD=$scratch/initrd FAKE_LOG=$scratch/calls
host_boot=$(cat /proc/sys/kernel/random/boot_id)
# where: CMD prints the boot id of the kernel it runs on.
where='cat /proc/sys/kernel/random/boot_id; exit 3'
calls() { [ -f "$FAKE_LOG" ] && wc -l <"$FAKE_LOG" || echo 0; }

# 1. The guest's status comes back: direct, no line on stderr.
export WITH_KVM_PROBE_CACHE=$scratch/cache1
FAKE_MODE=ok "$wk" sh -c "$where" >"$scratch/o1" 2>"$scratch/e1"
rc=$?
check fake-direct "status $rc, stdout '$(cat "$scratch/o1")', stderr '$(cat "$scratch/e1")'" \
	test "$rc:$(cat "$scratch/o1"):$(cat "$scratch/e1")" = "3:$host_boot:"
FAKE_MODE=ok "$wk" sh -c "$where" >"$scratch/o1" 2>"$scratch/e1"
rc=$?
check fake-cached "status $rc, the probe ran $(calls) times (want 1)" \
	test "$rc:$(cat "$scratch/o1"):$(calls)" = "3:$host_boot:1"

# 2. A named hypervisor failure: the emulated host (cut at once by the
# timeout: only the decision is tested here), the reason on stderr.
export WITH_KVM_PROBE_CACHE=$scratch/cache2
: >"$FAKE_LOG"
FAKE_MODE=hvfail WITH_KVM_TIMEOUT=1 "$wk" sh -c "touch $scratch/ran-direct" \
	>"$scratch/o2" 2>"$scratch/e2"
rc=$?
check fake-failure "status $rc (want 124), CMD ran here: $([ -e "$scratch/ran-direct" ] && echo yes || echo no), stderr: $(head -c 400 "$scratch/e2")" \
	eval 'test "$rc" = 124 && ! test -e "$scratch/ran-direct" &&
	test "$(grep -c "^with-kvm: using the emulated KVM host: " "$scratch/e2")" = 1 &&
	has "$scratch/e2" "does not run on /dev/kvm (status 125): .*hypervisor failed to run vCPU 0"'
FAKE_MODE=ok WITH_KVM_TIMEOUT=1 "$wk" true >/dev/null 2>"$scratch/e2b"
check fake-failure-cached "the probe ran $(calls) times (want 1), stderr: $(head -c 300 "$scratch/e2b")" \
	eval 'test "$(calls)" = 1 && has "$scratch/e2b" "(cached: "'

# 3. A probe that does not finish: emulated host this time, asked again
# next time.
export WITH_KVM_PROBE_CACHE=$scratch/cache3
: >"$FAKE_LOG"
FAKE_MODE=slow WITH_KVM_TIMEOUT=1 "$wk" true >/dev/null 2>"$scratch/e3"
FAKE_MODE=ok "$wk" sh -c "$where" >"$scratch/o3" 2>/dev/null
rc=$?
check fake-timeout "stderr: $(head -c 300 "$scratch/e3"); then status $rc, probe calls $(calls) (want 2)" \
	eval 'has "$scratch/e3" "did not finish booting" && test "$rc:$(calls)" = "3:2"'

# 4. The real build, the real /dev/kvm. (The KVM tests need it built.)
unset WITH_KVM_PROBE_VMM WITH_KVM_PROBE_KERNEL WITH_KVM_PROBE_INITRD
export WITH_KVM_PROBE_CACHE=$scratch/cache4
sm=$build/supermachine
# the guest is built once, in build/guest, also for a sanitizer build
guest=("$sm" boot --kernel "$top/build/guest/vmlinux" --initrd "$top/build/guest/initramfs.cpio")
pvm=0
[ -d /sys/module/kvm_pvm ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo && pvm=1
if [ ! -x "$sm" ] || [ ! -f "$top/build/guest/vmlinux" ]; then
	fail real-verdict "$sm or the guest kernel is not built"
elif [ $pvm = 1 ]; then
	WITH_KVM_TIMEOUT=600 "$wk" "${guest[@]}" -- sh -c 'exit 7' >"$scratch/o4" 2>"$scratch/e4"
	rc=$?
	check real-verdict "kvm-pvm host, stderr: $(head -c 600 "$scratch/e4")" \
		has "$scratch/e4" "^with-kvm: using the emulated KVM host: our guest kernel does not run on /dev/kvm.*kvm-pvm"
	check real-exit-status "status $rc (want 7), stderr: $(tail -c 400 "$scratch/e4")" test "$rc" = 7
else
	"$wk" sh -c "$where" >"$scratch/o4" 2>"$scratch/e4"
	rc=$?
	if grep -qwE 'vmx|svm' /proc/cpuinfo; then
		check real-verdict "status $rc, stderr: $(head -c 400 "$scratch/e4")" \
			test "$rc:$(cat "$scratch/o4")" = "3:$host_boot"
	else
		skip real-verdict "neither kvm-pvm nor vmx/svm here: no known verdict"
	fi
	skip real-exit-status "covered by the KVM tests on this host"
fi

# 5. Forced direct on kvm-pvm: the VMM itself says what is wrong.
if [ $pvm = 1 ] && [ -x "$sm" ]; then
	WITH_KVM_DIRECT=1 "$wk" "${guest[@]}" -- sh -c 'exit 7' >/dev/null 2>"$scratch/e5"
	rc=$?
	check forced-direct "status $rc (want 125), stderr: $(head -c 600 "$scratch/e5")" \
		eval 'test "$rc" = 125 && has "$scratch/e5" "hypervisor failed to run vCPU 0: KVM internal error" &&
		has "$scratch/e5" "kvm-pvm" && has "$scratch/e5" "rip 0x"'
else
	skip forced-direct "this host's KVM is not kvm-pvm"
fi
