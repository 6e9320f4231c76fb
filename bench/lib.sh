# Sourced by the bench scripts that need a small image.
#
# bench_busybox_image WORK TAG: builds a busybox image with umoci (the
# guest initramfs's busybox and applets, /etc/passwd and /etc/group, CMD
# /bin/sh) in WORK/layout and `supermachine load`s it as TAG into the
# store $SUPERMACHINE_ROOT. Needs $SM, $SM_TOP and a built guest.
bench_busybox_image() {
	local lay=$1/layout b=$1/bundle
	umoci init --layout "$lay"
	umoci new --image "$lay:bbox"
	umoci unpack --image "$lay:bbox" "$b" >/dev/null
	cp -a "$SM_TOP/build/guest/initramfs/bin" "$b/rootfs/"
	mkdir -p "$b/rootfs/etc" "$b/rootfs/tmp"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$b/rootfs/etc/passwd"
	echo 'root:x:0:' >"$b/rootfs/etc/group"
	umoci repack --image "$lay:bbox" "$b" >/dev/null
	umoci config --image "$lay:bbox" --config.cmd /bin/sh >/dev/null
	"$SM" load -i "$lay" -t "$2" >/dev/null
}
