#!/usr/bin/env bash
# The sandbox's cost (issue 15): `supermachine run IMAGE true`, warm
# (restored from the template) and cold (--no-snapshot), each with the
# sandbox (seccomp filters and the jail, the default) and without it
# (--security-opt seccomp=unconfined --security-opt jail=off), the four
# alternating, BENCH_RUNS times, in one tools/with-kvm session. Prints
# every run, the medians, the two ratios (sandbox / none; goal <= 1.05)
# and the number of system calls each role allows.
#
#   bench/sandbox.sh        BENCH_RUNS (7)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export SM_BUILD=${SM_BUILD:-$TOP/build} SM_TOP=${SM_TOP:-$TOP}
export BENCH_RUNS=${BENCH_RUNS:-7}
SM=$SM_BUILD/supermachine
for f in "$SM" "$SM_TOP/build/guest/vmlinux" "$SM_TOP/build/guest/initramfs.cpio"; do
	[ -e "$f" ] || { echo "sandbox.sh: $f missing: build first" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-sandbox.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SUPERMACHINE_ROOT=$work/store
. "$TOP/bench/lib.sh"
bench_busybox_image "$work" bench/bbox:1
for r in vcpu fuse slirp tap vsock control; do
	printf 'role %-8s allows %3d system calls\n' "$r" \
		"$("$SM" seccomp "$r" | grep -v '^#' | awk '{print $1}' | sort -u | wc -l)"
done
"$TOP/tools/with-kvm" "$TOP/bench/sandbox-kvm.sh" bench/bbox:1
