#!/usr/bin/env bash
# The KVM part of bench/run.sh (run it through that script):
#   run-kvm.sh IMAGE ROOTFS
# times `supermachine run --pull never IMAGE true` (warm: restored from the
# image's warm-start template; cold: --no-snapshot) and QEMU microvm (same
# kernel, initramfs, 1 vCPU, 512 MiB) mounting ROOTFS over 9p and running
# `chroot /mnt true`; BENCH_RUNS of each, alternating. Prints how many
# runs of each side succeeded; a failed run is reported, never timed.
# The one ratio is cold / QEMU cold (like with like).
set -uo pipefail
img=${1:?usage: run-kvm.sh IMAGE ROOTFS} rootfs=${2:?}
SM=${SM_BUILD:?}/supermachine
KERNEL=${SM_TOP:?}/build/guest/vmlinux
INITRD=$SM_TOP/build/guest/initramfs.cpio
RUNS=${BENCH_RUNS:-5}
CMDLINE="console=ttyS0 reboot=k panic=-1 io_delay=none no_timer_check quiet"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD

hexcmd() { printf '%s\0' "$@" | od -An -v -tx1 | tr -d ' \n'; }
QCMD=$(hexcmd sh -c 'mkdir -p /mnt && mount -t 9p -o trans=virtio,version=9p2000.L data /mnt && chroot /mnt true')

# -v: the run's own phase split ("supermachine: timing: ..." on stderr)
ours() { timeout -k 5 300 "$SM" -v run --pull never "$img" true; }
cold() { timeout -k 5 300 "$SM" -v run --pull never --no-snapshot "$img" true; }
# isa-debug-exit: QEMU exits with (status << 1) | 1, so `true` gives 1.
qemu() {
	timeout -k 5 300 qemu-system-x86_64 -M microvm,acpi=off,x-option-roms=off -accel kvm \
		-cpu host -m 512 -smp 1 -nodefaults -no-user-config -display none \
		-serial none -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=1 \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-fsdev "local,id=f,path=$rootfs,security_model=none,readonly=on" \
		-device virtio-9p-device,fsdev=f,mount_tag=data \
		-append "$CMDLINE sm.cmd=$QCMD"
}

# timed NAME WANT CMD: appends the wall seconds to $NAME (global array);
# a run that fails is reported and counted in ${NAME}_failed, never timed.
ours_t=() cold_t=() qemu_t=()
ours_failed=0 cold_failed=0 qemu_failed=0
timed() {
	local name=$1 want=$2 t0 t1 rc
	shift 2
	t0=$EPOCHREALTIME
	"$@" </dev/null >/dev/null 2>"$errf"
	rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" != "$want" ]; then
		echo "$name run $i FAILED: status $rc, expected $want: $(head -c 300 "$errf")"
		eval "${name}_failed=\$((${name}_failed + 1))"
		return 1
	fi
	local s
	s=$(echo "$t1 - $t0" | bc)
	eval "${name}_t+=($s)"
	printf '%-5s run %d: %6.3f s\n' "$name" "$i" "$s"
	grep -h "supermachine: timing:" "$errf" | sed "s/^/$name /" >>"$phases" || true
}

errf=$(mktemp "${TMPDIR:-/tmp}/sm-bench-err.XXXXXX")
phases=$(mktemp "${TMPDIR:-/tmp}/sm-bench-phases.XXXXXX")
trap 'rm -f "$errf" "$phases"' EXIT
# one untimed run each: page cache warm for both
ours >/dev/null 2>&1 </dev/null
qemu >/dev/null 2>&1 </dev/null
for i in $(seq "$RUNS"); do
	timed ours 0 ours
	timed cold 0 cold
	timed qemu 1 qemu
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# summary LABEL NAME: the median of the runs that succeeded, and how many.
summary() {
	local -n t=${2}_t
	local failed=${2}_failed
	if [ ${#t[@]} = 0 ]; then
		printf '%-40s no successful run (%d failed)\n' "$1:" "${!failed}"
		return
	fi
	printf '%-40s median %.3f s, %d of %d runs succeeded\n' "$1:" "$(median "${t[@]}")" "${#t[@]}" "$RUNS"
}
echo
summary "supermachine run (warm start)" ours
summary "supermachine run --no-snapshot (cold)" cold
summary "qemu microvm + 9p, chroot true (cold)" qemu
# Like with like only: our cold boot against QEMU's cold boot. Our warm
# start is a snapshot restore; its peer is a QEMU restore (-incoming),
# which this script does not run, so no warm ratio is printed.
if [ ${#cold_t[@]} -gt 0 ] && [ ${#qemu_t[@]} -gt 0 ]; then
	printf 'ratio cold / qemu cold: %.2f\n' "$(echo "$(median "${cold_t[@]}") / $(median "${qemu_t[@]}")" | bc -l)"
else
	echo "ratio cold / qemu cold: not computed (a side has no successful run)"
fi
echo "warm start: no like-for-like peer here (a QEMU restore); see bench/warm.sh"

# The phase split of our runs (medians): VMM start, kernel boot (or
# restore), init until the spec went out, the process until its exit.
echo
echo "phases (medians, ms): vmm | boot or restore | init to spec | process | total (in-process)"
for name in ours cold; do
	grep "^$name " "$phases" | sed 's/.*timing: //; s/[a-z()]* *//g; s/ms//g' >"$errf"
	[ -s "$errf" ] || continue
	printf '%-5s' "$name"
	for col in 1 2 3 4 5; do
		printf ' %8.1f' "$(median $(cut -d, -f$col "$errf"))"
	done
	echo
done
# Failed runs were printed above; the status says whether there were any.
[ $((ours_failed + cold_failed + qemu_failed)) = 0 ]
