#!/usr/bin/env bash
# `supermachine run IMAGE true` (image cached) against QEMU microvm booting
# the same kernel and initramfs and running `true` in the same rootfs over
# 9p. Wall time from command start to exit, BENCH_RUNS times each,
# alternating, in one tools/with-kvm session (ours warm and cold); prints
# every run, how many of each side succeeded, the medians and the one
# like-for-like ratio, cold / QEMU cold (the warm start's peer, a QEMU
# restore, is in bench/warm.sh).
#
#   bench/run.sh            BENCH_RUNS (5)
#
# On the host: builds a busybox image (umoci) and `supermachine load`s it
# into a scratch store in $TMPDIR; then bench/run-kvm.sh does the timing
# under tools/with-kvm (directly where /dev/kvm works).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export SM_BUILD=${SM_BUILD:-$TOP/build} SM_TOP=${SM_TOP:-$TOP}
export BENCH_RUNS=${BENCH_RUNS:-5}
SM=$SM_BUILD/supermachine
for f in "$SM" "$SM_TOP/build/guest/vmlinux" "$SM_TOP/build/guest/initramfs.cpio"; do
	[ -e "$f" ] || { echo "run.sh: $f missing: build first" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SUPERMACHINE_ROOT=$work/store
. "$TOP/bench/lib.sh"
bench_busybox_image "$work" bench/bbox:1
rootfs=$("$SM" inspect bench/bbox:1 | sed -n 's/.*"RootFS": *"\([^"]*\)".*/\1/p')
[ -d "$rootfs" ] || { echo "run.sh: no rootfs for bench/bbox:1" >&2; exit 1; }
"$TOP/tools/with-kvm" "$TOP/bench/run-kvm.sh" bench/bbox:1 "$rootfs"
