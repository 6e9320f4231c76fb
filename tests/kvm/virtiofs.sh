#!/usr/bin/env bash
# virtio-fs inside a VM: our in-VMM FUSE server serving host directories.
. "$(dirname "$0")/lib.sh"

share=$TMP/share
mkdir -p "$share"
head -c 3000000 /dev/urandom >"$share/blob"
want=$(sha256sum "$share/blob" | cut -d' ' -f1)

for mode in plain dax; do
	opt=; mflags=
	if [ $mode = dax ]; then opt=,dax; mflags="-o dax"; fi
	boot --share "data=$share$opt" -- sh -c "mkdir -p /mnt && mount -t virtiofs data /mnt $mflags && sha256sum /mnt/blob && grep -c ' /mnt virtiofs' /proc/mounts && echo written-by-guest >/mnt/from-guest-$mode"
	got=$(grep /mnt/blob "$TMP/out" | cut -d' ' -f1)
	expect "virtiofs_${mode}_read_matches_host" '[ $rc = 0 ] && [ "$got" = "$want" ]' \
		"sha256 ${got:-none} != $want"
	expect "virtiofs_${mode}_write_reaches_host" '[ "$(cat "$share/from-guest-$mode" 2>/dev/null)" = written-by-guest ]' \
		"file written in the guest not on the host"
done

boot --share "data=$share,dax" -- sh -c 'mkdir -p /mnt && mount -t virtiofs data /mnt -o dax && grep " /mnt " /proc/mounts'
expect virtiofs_dax_option_active 'grep -q "dax" "$TMP/out"' "mount does not show dax"

boot --share "data=$share,ro" -- sh -c 'mkdir -p /mnt && mount -t virtiofs data /mnt && cat /mnt/blob >/dev/null && if echo x >/mnt/nope; then echo WROTE; else echo REFUSED; fi; rm /mnt/blob && echo REMOVED; exit 0'
expect virtiofs_readonly_refuses_writes 'grep -q REFUSED "$TMP/out" && ! grep -q -e WROTE -e REMOVED "$TMP/out" && [ ! -e "$share/nope" ] && [ -e "$share/blob" ]' \
	"a read-only share accepted a write"

# The share as the command's root (what `run` does with an image rootfs),
# with a tmpfs overlay so the share itself is never written.
root=$TMP/rootfs
cp -a "$GUEST/initramfs/." "$root/"
echo image-file >"$root/etc-marker"
boot --share "rootfs=$root,dax" --cmdline "sm.root=rootfs sm.rootflags=dax sm.overlay=1" -- \
	sh -c 'cat /etc-marker && echo changed >/etc-marker && cat /etc-marker && grep " / " /proc/mounts | head -1; ls /bin/busybox'
expect virtiofs_as_root_with_overlay '[ $rc = 0 ] && grep -q changed "$TMP/out" && [ "$(cat "$root/etc-marker")" = image-file ]' \
	"root over virtio-fs failed or the write reached the host"
exit 0
