#!/usr/bin/env bash
# The price of a VM per container under an engine (issue 18): `podman run
# --rm IMAGE true` and `podman run --rm IMAGE echo x` with supermachine-oci
# and with Debian's crun, BENCH_RUNS (5) each, alternating, in one
# tools/with-kvm session and one podman store (a busybox image imported
# there). Prints every run, the medians and the ratios supermachine-oci /
# crun (times under the emulated host are inflated and vary between
# sessions: only the ratios of one run compare).
#
#   bench/oci.sh
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export SM_BUILD=${SM_BUILD:-$TOP/build} SM_TOP=${SM_TOP:-$TOP}
if [ -z "${SM_BENCH_IN_KVM:-}" ]; then
	for f in "$SM_BUILD/supermachine-oci" "$SM_TOP/build/guest/vmlinux"; do
		[ -e "$f" ] || { echo "oci.sh: $f missing: build first" >&2; exit 2; }
	done
	SM_BENCH_IN_KVM=1 exec "$TOP/tools/with-kvm" "$0" "$@"
fi
RUNS=${BENCH_RUNS:-5}
export SUPERMACHINE_KERNEL=$SM_TOP/build/guest/vmlinux SUPERMACHINE_INITRD=$SM_TOP/build/guest/initramfs.cpio
P=$(mktemp -d /run/sm-bench-oci.XXXXXX)
export SUPERMACHINE_RUNTIME=$P/records TMPDIR=$P/tmp
mkdir -p "$TMPDIR"
trap 'rm -rf "$P"' EXIT
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
. "$SM_TOP/tests/kvm/engines-lib.sh"
podman_scratch "$P"
busybox_rootfs "$P/rootfs"
tar -C "$P/rootfs" -cf "$P/rootfs.tar" .
"${PODMAN[@]}" import "$P/rootfs.tar" localhost/bench-bb >/dev/null || exit 1

ms() { echo $(($(date +%s%N) / 1000000)); }
# one RUNTIME CMD...: wall ms of a podman run, or "fail"
one() {
	local rt=$1 t0 out
	shift
	t0=$(ms)
	out=$(timeout -k 5 300 "${PODMAN[@]}" run --rm --network none --runtime "$rt" localhost/bench-bb "$@" 2>&1) ||
		{ echo "fail ($(echo "$out" | tail -1))"; return; }
	echo $(($(ms) - t0))
}
median() { sort -n | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : "n/a"}'; }

for cmd in true "echo x"; do
	: >"$P/sm" && : >"$P/crun"
	for i in $(seq "$RUNS"); do
		s=$(one supermachine-oci $cmd)
		c=$(one crun $cmd)
		echo "run $i '$cmd': supermachine-oci $s ms, crun $c ms"
		case $s in fail*) ;; *) echo "$s" >>"$P/sm" ;; esac
		case $c in fail*) ;; *) echo "$c" >>"$P/crun" ;; esac
	done
	sm=$(median <"$P/sm") cr=$(median <"$P/crun")
	ratio=$(awk -v a="$sm" -v b="$cr" 'BEGIN {print (a + 0 > 0 && b + 0 > 0) ? sprintf("%.1f", a / b) : "n/a"}')
	echo "oci '$cmd': supermachine-oci median ${sm} ms ($(wc -l <"$P/sm")/$RUNS ok), crun median ${cr} ms ($(wc -l <"$P/crun")/$RUNS ok), ratio $ratio"
done
