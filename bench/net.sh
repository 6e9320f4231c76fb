#!/usr/bin/env bash
# Networking throughput and HTTP rate: supermachine (virtio-net + libslirp,
# published ports) against QEMU microvm with -netdev user,hostfwd=...
# (also libslirp) booting the same kernel and initramfs, in one
# tools/with-kvm session.
#
#   bench/net.sh        BENCH_MIB (16) per transfer, BENCH_SECS (10) of wrk,
#                       BENCH_ROUNDS (3) of each, alternating; medians
#
# Measures, through a published port on 127.0.0.1:
#   host -> guest: MiB/s sending BENCH_MIB to `nc -l` in the guest
#   guest -> host: MiB/s fetching a BENCH_MIB file from busybox httpd
#   HTTP rate:     requests/s of busybox httpd, wrk -t1 -c8 from the host
# On the host: builds a busybox image into a scratch store (as bench/run.sh),
# then runs bench/net-kvm.sh under tools/with-kvm.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export SM_BUILD=${SM_BUILD:-$TOP/build} SM_TOP=${SM_TOP:-$TOP}
export BENCH_MIB=${BENCH_MIB:-16} BENCH_SECS=${BENCH_SECS:-10} BENCH_ROUNDS=${BENCH_ROUNDS:-3}
SM=$SM_BUILD/supermachine
for f in "$SM" "$SM_TOP/build/guest/vmlinux" "$SM_TOP/build/guest/initramfs.cpio"; do
	[ -e "$f" ] || { echo "net.sh: $f missing: build first" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "net.sh: wrk missing (tools/setup installs it)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-net.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SUPERMACHINE_ROOT=$work/store
. "$TOP/bench/lib.sh"
bench_busybox_image "$work" bench/bbox:1
"$TOP/tools/with-kvm" "$TOP/bench/net-kvm.sh" bench/bbox:1
