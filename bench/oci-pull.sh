#!/usr/bin/env bash
# Pull + unpack benchmark: supermachine vs `skopeo copy` + `umoci unpack`.
#
# The image: a Debian bookworm minbase (debootstrap, slimmed like the
# -slim images: no apt lists, locales, man pages or docs) plus python3,
# split with umoci into three gzip layers: the base system, /usr/share, and
# python's standard library. It is built once and kept, with its rootfs,
# under ${SUPERMACHINE_CACHE:-$HOME/.cache/supermachine}/bench/ (building
# needs root and Debian's archive; re-runs reuse it).
#
# Each run pushes nothing: the image is pushed once to a loopback
# docker-registry, then, RUNS times (default 3), in turns:
#   cold  supermachine: empty store; skopeo: empty OCI layout
#   warm  the blobs are already there, the unpacked rootfs is not
# Both tools write the same bytes to the same disk; before each timed step
# the page cache is written back (sync) so one tool's writes are not billed
# to the next. Prints medians and the ratio theirs/ours (> 1: ours faster).
#
# usage: bench/oci-pull.sh     (RUNS=N, SM_BUILD=DIR, KEEP=1 to keep scratch)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${SUPERMACHINE_CACHE:-$HOME/.cache/supermachine}/bench
img=$cache/oci-pull-image
runs=${RUNS:-3}
. "$top/tests/oci/lib.sh"
[ "${KEEP:-}" ] && trap 'for p in "${PIDS[@]}"; do kill $p; done; echo "scratch: $T"' EXIT

die() { echo "oci-pull: $*" >&2; exit 1; }
for t in skopeo umoci docker-registry; do
	command -v $t >/dev/null || die "needs $t (tools/setup)"
done
[ -x "$SM" ] || die "no $SM: make cli first"

# split ROOTFS LAYOUT: three layers from a finished rootfs.
split_layers() {
	local rfs=$1 l=$2 b=$cache/bundle
	umoci init --layout "$l.tmp"
	umoci new --image "$l.tmp:bench"
	umoci config --image "$l.tmp:bench" --config.cmd /bin/bash \
		--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	for step in base share python; do
		rm -rf "$b"
		umoci unpack --image "$l.tmp:bench" "$b" >/dev/null || return 1
		case $step in
		base) tar -C "$rfs" --exclude=./usr/share \
			--exclude=./usr/lib/python3.11 -cf - . |
			tar -C "$b/rootfs" -xpf - ;;
		share) tar -C "$rfs" -cf - ./usr/share | tar -C "$b/rootfs" -xpf - ;;
		python) tar -C "$rfs" -cf - ./usr/lib/python3.11 |
			tar -C "$b/rootfs" -xpf - ;;
		esac
		umoci repack --image "$l.tmp:bench" "$b" >/dev/null || return 1
	done
	rm -rf "$b"
	umoci gc --layout "$l.tmp"
	mv "$l.tmp" "$l"
}

build_image() {
	local rfs=$cache/rootfs
	[ "$(id -u)" = 0 ] || die "building the image needs root (debootstrap)"
	command -v debootstrap >/dev/null || die "needs debootstrap (tools/setup)"
	mkdir -p "$cache"
	if [ ! -e "$rfs.done" ]; then
		rm -rf "$rfs"
		echo "building the image: debootstrap (a few minutes, once)..." >&2
		debootstrap --variant=minbase \
			--include=python3-minimal,libpython3.11-stdlib \
			bookworm "$rfs" http://deb.debian.org/debian \
			>"$cache/debootstrap.log" 2>&1 ||
			die "debootstrap failed, see $cache/debootstrap.log"
		rm -rf "$rfs"/var/cache/apt/* "$rfs"/var/lib/apt/lists/* \
			"$rfs"/usr/share/locale "$rfs"/usr/share/man \
			"$rfs"/usr/share/doc "$rfs"/var/log/*
		touch "$rfs.done"
	fi
	rm -rf "$img" "$img.tmp"
	split_layers "$rfs" "$img" || die "umoci failed"
}

[ -e "$img/index.json" ] || build_image

start_registry || die "no registry"
skopeo copy -q --dest-tls-verify=false "oci:$img:bench" \
	"docker://$REG/bench:v1" >/dev/null || die "push failed"
ref=$REG/bench:v1

# timed CMD...: runs CMD, sets SECS; fails the benchmark if CMD fails.
timed() {
	local t0
	sync
	t0=$EPOCHREALTIME
	"$@" >"$T/out" 2>&1 || { cat "$T/out"; die "failed: $*"; }
	SECS=$(python3 -c "print(f'{$EPOCHREALTIME - $t0:.3f}')")
}

sm_pull() { SUPERMACHINE_ROOT=$T/sm "$SM" pull -q "$ref"; }
sk_copy() { skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$T/sk:bench"; }
um_unpack() { umoci unpack --image "$T/sk:bench" "$T/bundle"; }
# umoci unpack also hashes the whole rootfs into an mtree manifest (for a
# later repack); "raw unpack" does not: timed too, as a reference
um_raw() { umoci raw unpack --image "$T/sk:bench" "$T/raw"; }
# theirs KIND: both steps, timed apart (the sync between them is not billed)
theirs() {
	timed sk_copy && res[sk_$1]+="$SECS " && local a=$SECS &&
		timed um_unpack && res[um_$1]+="$SECS " &&
		res[th_$1]+="$(python3 -c "print($a + $SECS)") "
}
clear_sm() { chmod -R u+rwx "$T/sm" 2>/dev/null; rm -rf "$T/sm"; }
clear_sm_image() { rm -rf "$T"/sm/images/* "$T"/sm/tmp/*; }
clear_theirs() { rm -rf "$T/sk" "$T/bundle" "$T/raw"; }

declare -A res
load0=$(cut -d' ' -f1 /proc/loadavg)
for i in $(seq "$runs"); do
	clear_sm
	timed sm_pull && res[sm_cold]+="$SECS "
	clear_sm_image
	timed sm_pull && res[sm_warm]+="$SECS "
	clear_sm
	clear_theirs
	theirs cold
	rm -rf "$T/bundle"
	theirs warm
	timed um_raw && res[raw]+="$SECS "
	clear_theirs
done

# the same rootfs either way (file count and bytes, ownership kept)
clear_sm
sm_pull >/dev/null && sk_copy >/dev/null && um_unpack >/dev/null ||
	die "final pulls failed"
R=$(SUPERMACHINE_ROOT=$T/sm rootfs_of "$ref")
n_sm=$(find "$R" | wc -l)
n_th=$(find "$T/bundle/rootfs" | wc -l)
size=$(du -sm --apparent-size "$R" | cut -f1)
gz=$(du -cm "$T"/sm/blobs/sha256/* | tail -1 | cut -f1)
layers=$(python3 -c "import json; print(len(json.load(open('$R/../manifest.json'))['layers']))")

echo "load average: $load0 before, $(cut -d' ' -f1 /proc/loadavg) after ($(nproc) CPUs)"
python3 - "$runs" "$size" "$gz" "$layers" "$n_sm" "$n_th" \
	"${res[sm_cold]}" "${res[th_cold]}" "${res[sm_warm]}" "${res[th_warm]}" \
	"${res[sk_cold]}" "${res[um_cold]}" "${res[sk_warm]}" "${res[um_warm]}" \
	"${res[raw]}" <<'EOP'
import statistics, sys
runs, size, gz, layers, n_sm, n_th = sys.argv[1:7]
sm_c, th_c, sm_w, th_w, sk_c, um_c, sk_w, um_w, raw = (
    [float(x) for x in a.split()] for a in sys.argv[7:16])
med = statistics.median
print(f"image: Debian bookworm minbase + python3, {layers} gzip layers, "
      f"{gz} MB compressed, {size} MB unpacked, {n_sm} entries "
      f"(umoci: {n_th})")
print(f"runs: {runs} each, medians (all runs in parentheses), seconds")
print(f"{'':6} {'supermachine':>14} {'skopeo+umoci':>14} {'ratio':>7}")
for name, a, b in (("cold", sm_c, th_c), ("warm", sm_w, th_w)):
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{name:6} {ma:14.3f} {mb:14.3f} {mb / ma:6.2f}x"
          f"   ({' '.join(f'{x:.2f}' for x in a)} | "
          f"{' '.join(f'{x:.2f}' for x in b)})")
for name, a, b in (("cold", sk_c, um_c), ("warm", sk_w, um_w)):
    print(f"{name}: skopeo copy {med(a):.3f} s + umoci unpack {med(b):.3f} s")
print(f"reference: umoci raw unpack (no mtree manifest) {med(raw):.3f} s")
print("ratio = skopeo+umoci time / supermachine time (> 1: supermachine faster)")
EOP
