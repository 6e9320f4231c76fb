#!/usr/bin/env bash
# Counts, not times (issue 17, docs/benchmarks.md "Counts"): what a cold
# boot and a warm start of `run IMAGE true` and `run IMAGE echo x` cost in
# KVM exits (all, and without page faults), exits to the VMM, host page
# faults and syscalls (the CLI and VMM together, strace -f -c in a run of
# its own). These do not depend on the emulated host's speed. Last lines:
#   counts cold exits=N userspace_exits=N host_faults=N syscalls=N
#   counts warm exits=N userspace_exits=N host_faults=N syscalls=N
#   counts qemu-restore exits=N userspace_exits=N host_faults=N syscalls=N
# (`echo x` runs; exits without the page-fault exits; the peer: the same
# kernel and initramfs restored by QEMU microvm with `-incoming`, to its
# guest's first output, bench/warm.py part 5). Before them: a row and a
# line "counts pool-exec ..." for `echo x` exec'd in a warm pool's VM
# (examples/pool_echo: `make tests` first).
#
#   bench/counts.sh          BENCH_RUNS (3): runs per row, the median kept
#
# On the host: builds a busybox image into a scratch store; the counting
# is done by bench/counts-kvm.sh under tools/with-kvm.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export SM_BUILD=${SM_BUILD:-$TOP/build} SM_TOP=${SM_TOP:-$TOP}
export BENCH_RUNS=${BENCH_RUNS:-3}
SM=$SM_BUILD/supermachine
for f in "$SM" "$SM_TOP/build/guest/vmlinux" "$SM_TOP/build/guest/initramfs.cpio"; do
	[ -e "$f" ] || { echo "counts.sh: $f missing: build first" >&2; exit 2; }
done
command -v strace >/dev/null || { echo "counts.sh: needs strace (apt-get install strace)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-counts.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SUPERMACHINE_ROOT=$work/store
. "$TOP/bench/lib.sh"
bench_busybox_image "$work" bench/bbox:1
"$TOP/tools/with-kvm" "$TOP/bench/counts-kvm.sh" bench/bbox:1
