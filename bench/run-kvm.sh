#!/usr/bin/env bash
# The KVM part of bench/run.sh (run it through that script):
#   run-kvm.sh IMAGE ROOTFS
# times `supermachine run --pull never IMAGE true` (warm: restored from the
# image's warm-start template; cold: --no-snapshot) and QEMU microvm (same
# kernel, initramfs, 1 vCPU, 512 MiB) mounting ROOTFS over 9p and running
# `chroot /mnt true`; BENCH_RUNS of each, alternating.
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

# timed NAME WANT CMD: appends the wall seconds to $NAME (global array).
ours_t=() cold_t=() qemu_t=()
timed() {
	local name=$1 want=$2 t0 t1 rc
	shift 2
	t0=$EPOCHREALTIME
	"$@" </dev/null >/dev/null 2>"$errf"
	rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" != "$want" ]; then
		echo "$name: status $rc, expected $want: $(head -c 300 "$errf")" >&2
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
	timed ours 0 ours || exit 1
	timed cold 0 cold || exit 1
	timed qemu 1 qemu || exit 1
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mo=$(median "${ours_t[@]}") mc=$(median "${cold_t[@]}") mq=$(median "${qemu_t[@]}")
echo
printf 'supermachine run (warm start):         median %.3f s of %d\n' "$mo" "$RUNS"
printf 'supermachine run --no-snapshot (cold): median %.3f s of %d\n' "$mc" "$RUNS"
printf 'qemu microvm + 9p, chroot true:        median %.3f s of %d\n' "$mq" "$RUNS"
printf 'ratio supermachine warm / qemu: %.2f\n' "$(echo "$mo / $mq" | bc -l)"
printf 'ratio supermachine cold / qemu: %.2f\n' "$(echo "$mc / $mq" | bc -l)"

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
