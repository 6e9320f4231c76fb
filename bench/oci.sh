#!/usr/bin/env bash
# The price of a VM per container under an engine (issue 18): `podman run
# --rm IMAGE true` and `podman run --rm IMAGE echo x` with supermachine-oci
# and with Debian's crun, then `docker run --rm` with supermachine-oci and
# with Debian's runc (dockerd's default), BENCH_RUNS (5) each,
# alternating, in one tools/with-kvm session (a busybox image imported
# into each engine). Prints every run, the medians and the ratios
# supermachine-oci / crun and / runc (times under the emulated host are
# inflated and vary between sessions: only the ratios of one run compare).
#
#   bench/oci.sh
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export SM_BUILD=${SM_BUILD:-$TOP/build} SM_TOP=${SM_TOP:-$TOP}
if [ -n "${SM_BENCH_IN_KVM:-}" ] && [ -z "${SM_BENCH_NS:-}" ]; then
	# dockerd writes /etc/docker/key.json: a tmpfs there, in a mount
	# namespace of our own
	SM_BENCH_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
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
trap 'kill ${DOCKERD:-} 2>/dev/null; wait ${DOCKERD:-} 2>/dev/null; rm -rf "$P"' EXIT
mount -t tmpfs tmpfs /etc/docker
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
. "$SM_TOP/tests/kvm/engines-lib.sh"
podman_scratch "$P"
busybox_rootfs "$P/rootfs"
tar -C "$P/rootfs" -cf "$P/rootfs.tar" .
"${PODMAN[@]}" import "$P/rootfs.tar" localhost/bench-bb >/dev/null || exit 1

ms() { echo $(($(date +%s%N) / 1000000)); }
# one ENGINE_ARRAY_NAME RUNTIME CMD...: wall ms of an engine's run --rm, or "fail"
one() {
	local -n e=$1
	local rt=$2 t0 out
	shift 2
	t0=$(ms)
	out=$(timeout -k 5 300 "${e[@]}" run --rm --network none --runtime "$rt" localhost/bench-bb "$@" 2>&1) ||
		{ echo "fail ($(echo "$out" | tail -1))"; return; }
	echo $(($(ms) - t0))
}
median() { sort -n | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : "n/a"}'; }

# compare ENGINE_ARRAY_NAME PEER_RUNTIME OUR_RUNTIME
compare() {
	local -n eng=$1
	local peer=$2 ours=$3 cmd s c sm cr ratio
	for cmd in true "echo x"; do
		: >"$P/sm" && : >"$P/peer"
		for i in $(seq "$RUNS"); do
			s=$(one "$1" "$ours" $cmd)
			c=$(one "$1" "$peer" $cmd)
			echo "run $i ${eng[0]##*/} '$cmd': supermachine-oci $s ms, $peer $c ms"
			case $s in fail*) ;; *) echo "$s" >>"$P/sm" ;; esac
			case $c in fail*) ;; *) echo "$c" >>"$P/peer" ;; esac
		done
		sm=$(median <"$P/sm") cr=$(median <"$P/peer")
		ratio=$(awk -v a="$sm" -v b="$cr" 'BEGIN {print (a + 0 > 0 && b + 0 > 0) ? sprintf("%.1f", a / b) : "n/a"}')
		echo "oci ${eng[0]##*/} '$cmd': supermachine-oci median ${sm} ms ($(wc -l <"$P/sm")/$RUNS ok), $peer median ${cr} ms ($(wc -l <"$P/peer")/$RUNS ok), ratio $ratio"
	done
}

compare PODMAN crun supermachine-oci
mkdir -p "$P/docker"
docker_scratch "$P/docker"
for i in $(seq 150); do "${DOCKER[@]}" info >/dev/null 2>&1 && break; sleep 0.2; done
docker_archive "$P/rootfs" "$P/image.tar" localhost/bench-bb:latest
"${DOCKER[@]}" load -i "$P/image.tar" >/dev/null || exit 1
compare DOCKER runc supermachine
