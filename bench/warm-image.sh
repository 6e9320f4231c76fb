#!/usr/bin/env bash
# usage: bench/warm-image.sh WORKDIR NAME:TAG
# Builds a busybox image from Debian's busybox-static (as tools/demo does:
# no public registry is reachable here) and writes WORKDIR/image.tar, a
# docker-archive for `supermachine load`.
set -euo pipefail
work=$1 ref=$2
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
cp /bin/busybox "$rootfs/bin/busybox"
for a in $(/bin/busybox --list); do
	[ -e "$rootfs/bin/$a" ] || ln -s busybox "$rootfs/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
umoci init --layout "$work/oci" >/dev/null
umoci new --image "$work/oci:latest" >/dev/null
umoci unpack --image "$work/oci:latest" "$work/bundle" >/dev/null
cp -a "$rootfs/." "$work/bundle/rootfs/"
umoci repack --image "$work/oci:latest" "$work/bundle" >/dev/null
umoci config --image "$work/oci:latest" --config.cmd /bin/sh >/dev/null
skopeo copy -q "oci:$work/oci:latest" "docker-archive:$work/image.tar:$ref"
