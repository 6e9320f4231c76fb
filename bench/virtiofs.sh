#!/usr/bin/env bash
# virtio-fs benchmark (issue 4): the same guest kernel and initramfs read
# the same tree over our virtio-fs (without and with DAX) and over QEMU's
# 9p share, inside the guest:
#   seqread  sequential read of one big file (cat >/dev/null)
#   find     find over a tree of many small files
#   smallcat cat of a subset of those files (xargs cat >/dev/null)
# Every workload starts with cold guest caches (drop_caches 3).
#
# This part runs on the host: it generates the tree in $TMPDIR (fast, not
# emulated), then runs bench/virtiofs-run.sh in ONE tools/with-kvm
# session (directly where /dev/kvm works). Sizes, by environment (the
# issue asks for a 20000-file tree and thousands of small-file reads, but
# 9p under the emulated KVM host takes 45-85 ms per file found and ~170 ms
# per small file read: with 2000/400 one run took 13 min, so the defaults
# are scaled down to stay under 10 min; set them back where KVM is real):
#   BENCH_BIG_MIB      size of the big file, MiB              (256)
#   BENCH_TREE_FILES   files in the tree                      (1000)
#   BENCH_SMALL_FILES  files read by smallcat                 (300)
#   BENCH_RUNS         runs of each workload per boot; the table shows
#                      the fastest                            (1)
#   BENCH_DAX_WINDOW   DAX window, MiB                        (1024)
#   BENCH_9P_CACHE     9p cache modes to compare, one boot each
#                      ("none": the default; "none loose")    (none)
#   BENCH_TIMEOUT      seconds per boot                       (600)
#   BENCH_KEEP=1       keep the generated tree
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
export SM_BUILD=${SM_BUILD:-$TOP/build} SM_TOP=${SM_TOP:-$TOP}
export BENCH_BIG_MIB=${BENCH_BIG_MIB:-256}
export BENCH_TREE_FILES=${BENCH_TREE_FILES:-1000}
export BENCH_SMALL_FILES=${BENCH_SMALL_FILES:-300}
export BENCH_RUNS=${BENCH_RUNS:-1}
export BENCH_DAX_WINDOW=${BENCH_DAX_WINDOW:-1024}
export BENCH_9P_CACHE=${BENCH_9P_CACHE:-none}

for f in "$SM_BUILD/supermachine" "$SM_TOP/build/guest/vmlinux" \
	"$SM_TOP/build/guest/initramfs.cpio"; do
	[ -e "$f" ] || { echo "virtiofs.sh: $f missing: build first" >&2; exit 2; }
done
[ "$BENCH_SMALL_FILES" -le "$BENCH_TREE_FILES" ] || {
	echo "virtiofs.sh: BENCH_SMALL_FILES > BENCH_TREE_FILES" >&2
	exit 2
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-vfs.XXXXXX")
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT

t0=$(date +%s.%N)
mkdir "$dir/share"
/usr/bin/python3 "$TOP/bench/virtiofs-gen.py" "$dir/share" "$BENCH_BIG_MIB" \
	"$BENCH_TREE_FILES" "$BENCH_SMALL_FILES" || exit 1
cp "$TOP/bench/virtiofs-guest.sh" "$dir/share/guest.sh" || exit 1
# One archive: unpacking it in the emulated host is 10x faster than
# copying the files one by one over its 9p mount.
tar -C "$dir/share" -cf "$dir/tree.tar" . || exit 1
echo "tree generated in $dir/share ($(du -sm "$dir/share" | cut -f1) MiB) in" \
	"$(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"

"$TOP/tools/with-kvm" "$TOP/bench/virtiofs-run.sh" "$dir"
rc=$?
echo "total $(echo "$(date +%s.%N) - $t0" | bc | cut -d. -f1) s"
exit $rc
