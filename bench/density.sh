#!/usr/bin/env bash
# Density (issue 17 item 5, docs/benchmarks.md "Density"): N detached
# clones of one warm template at once, each running `sleep infinity`, for
# each N of DENSITY_NS; what they cost the host. Per N, a row and a line:
#   density clones=N unique_kib_per_clone=K exits_per_idle_clone_per_s=E
# (unique: the private memory of each clone's processes, its VMM and
# keeper, from /proc/PID/smaps_rollup), the last line for the largest N.
# The row also has the PSS per clone, the drop in MemAvailable per clone,
# and how long the Nth clone's `run -d` took (the emulated host inflates
# times: compare rows of one run, not runs).
#
#   bench/density.sh                 DENSITY_NS="1 10 100"
#   DENSITY_NS="1 10 100 1000" WITH_KVM_MEM=20480 bench/density.sh
#
# On the host: builds a busybox image into a scratch store; the clones run
# under tools/with-kvm (bench/density-kvm.sh).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export SM_BUILD=${SM_BUILD:-$TOP/build} SM_TOP=${SM_TOP:-$TOP}
export DENSITY_NS=${DENSITY_NS:-1 10 100}
SM=$SM_BUILD/supermachine
for f in "$SM" "$SM_TOP/build/guest/vmlinux" "$SM_TOP/build/guest/initramfs.cpio"; do
	[ -e "$f" ] || { echo "density.sh: $f missing: build first" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-density.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SUPERMACHINE_ROOT=$work/store
. "$TOP/bench/lib.sh"
bench_busybox_image "$work" bench/bbox:1
"$TOP/tools/with-kvm" "$TOP/bench/density-kvm.sh" bench/bbox:1
