# Sourced by tools/with-kvm: the cached kernel and initramfs of the emulated
# KVM host, under $cache (.../supermachine/kvm-host):
#   kernel-PKG/vmlinuz, vmlinux, modules/NAME.ko, modules/order, version,
#              layout   from Debian's package PKG
#   initramfs-KEY.cpio   KEY: hash of PKG, busybox, /init and the modules
#   kernel-pkg           "STAMP PKG": PKG resolved while apt's lists had STAMP
# Builds are serialised by a lock and land by rename, so concurrent callers
# never see a half-built entry.

# Bumped when the kernel directory's contents change: older ones are
# fetched again.
wk_layout=4

# Modules the emulated host loads; their dependencies are added in order.
# tun: tests/kvm/net.sh runs a guest on a tap device (--network tap:NAME).
# veth, sch_ingress, cls_matchall, act_mirred: tests/kvm/oci.sh gives a
# network namespace a veth as an engine does, and supermachine-oci joins
# it to the VM's tap with tc redirects (docs/oci-runtime.md).
wk_modules="kvm-amd virtio_pci 9pnet_virtio 9p tun veth sch_ingress cls_matchall act_mirred"

# apt_stamp: changes whenever apt's package lists do.
apt_stamp() {
	stat -c %Y /var/lib/apt/lists/*Packages* 2>/dev/null | sort -n | tail -n 1
}

# resolve_pkg: prints the kernel package to use. apt-cache takes seconds
# here, so its answer is kept until apt's lists change.
resolve_pkg() {
	local stamp line pkg
	if [ -n "${WITH_KVM_KERNEL_PKG:-}" ]; then
		echo "$WITH_KVM_KERNEL_PKG"
		return
	fi
	stamp=$(apt_stamp)
	if [ -n "$stamp" ] && read -r line pkg 2>/dev/null <"$cache/kernel-pkg" &&
		[ "$line" = "$stamp" ] && [ -n "$pkg" ]; then
		echo "$pkg"
		return
	fi
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.[^ ]*-amd64\)$/\1/p' | head -n 1)
	if [ -z "$pkg" ]; then
		# Newest 6.1 kernel apt knows about.
		pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
			cut -d' ' -f1 | sort -V | tail -n 1)
	fi
	if [ -z "$pkg" ]; then
		# No apt lists: fall back on a kernel fetched before.
		pkg=$(cd "$cache" && ls -d kernel-linux-image-*/ 2>/dev/null | sed 's,^kernel-,,; s,/$,,' |
			sort -V | tail -n 1)
		[ -n "$pkg" ] || die "cannot find a linux-image-6.1 package (apt-get update?)"
		echo "$pkg"
		return
	fi
	[ -n "$stamp" ] && echo "$stamp $pkg" >"$cache/kernel-pkg.$$" &&
		mv -f "$cache/kernel-pkg.$$" "$cache/kernel-pkg"
	echo "$pkg"
}

# mod_depends FILE: the module names FILE depends on, one a line.
mod_depends() {
	tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | tr ',' '\n' | sed '/^$/d'
}

# add_module NAME STAGE: appends NAME after its dependencies to STAGE/order;
# modules in STAGE/all/NAME.ko, names with '_' for '-'.
add_module() {
	local m=${1//-/_} d
	grep -qx "$m" "$2/order" && return 0
	[ -f "$2/all/$m.ko" ] || { echo "module $m not in the package" >&2; return 1; }
	for d in $(mod_depends "$2/all/$m.ko"); do
		add_module "$d" "$2" || return 1
	done
	echo "$m" >>"$2/order"
}

# extract_vmlinux BZIMAGE OUT: the uncompressed ELF kernel inside an XZ
# bzImage. QEMU boots it through its PVH entry point, which spares the
# emulated CPU the decompression: about 4 s of each boot under TCG.
extract_vmlinux() {
	local off
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | head -n 1 | cut -d: -f1)
	[ -n "$off" ] || return 0
	tail -c +$((off + 1)) "$1" | xz -dcq >"$2.tmp" 2>/dev/null
	# xz complains about the bytes after the stream; what counts is an ELF.
	if [ "$(head -c 4 "$2.tmp" | od -An -c | tr -d ' ')" = 177ELF ]; then
		mv "$2.tmp" "$2"
	else
		rm -f "$2.tmp"
	fi
}

# fetch_kernel PKG DEST: downloads PKG and keeps its vmlinuz and our modules
# (decompressed: busybox insmod takes plain .ko files) in DEST.
fetch_kernel() {
	local pkg=$1 dest=$2 tmp f n m
	tmp=$(mktemp -d "$cache/fetch.XXXXXX") || return 1
	echo "with-kvm: fetching $pkg for the emulated KVM host" >&2
	# apt's _apt user must be able to write the download directory.
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -q "$pkg") >"$tmp/apt.log" 2>&1 ||
		{ cat "$tmp/apt.log" >&2; rm -rf "$tmp"; return 1; }
	# Like dpkg-deb -x, but only the kernel and the module directories we
	# take from: the whole package unpacks to 400 MB.
	mkdir -p "$tmp/x"
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp/x" --wildcards './boot/*' \
		'*/kernel/arch/x86/kvm/*' '*/kernel/virt/*' '*/kernel/drivers/virtio/*' \
		'*/kernel/drivers/crypto/ccp/*' '*/kernel/net/9p/*' '*/kernel/fs/9p/*' \
		'*/kernel/fs/netfs/*' '*/kernel/fs/fscache/*' '*/kernel/drivers/net/tun.ko*' \
		'*/kernel/drivers/net/veth.ko*' '*/kernel/net/sched/*' || { rm -rf "$tmp"; return 1; }
	mkdir -p "$tmp/out/modules" "$tmp/stage/all"
	: >"$tmp/stage/order"
	cp "$tmp"/x/boot/vmlinuz-* "$tmp/out/vmlinuz" || { rm -rf "$tmp"; return 1; }
	grep -qx CONFIG_PVH=y "$tmp"/x/boot/config-* && extract_vmlinux "$tmp/out/vmlinuz" "$tmp/out/vmlinux"
	while IFS= read -r f; do
		n=$(basename "$f")
		n=${n%%.ko*}
		n=${n//-/_}
		case "$f" in
		*.ko) cp "$f" "$tmp/stage/all/$n.ko" ;;
		*.ko.xz) xz -dc "$f" >"$tmp/stage/all/$n.ko" ;;
		*.ko.zst) zstd -qdc "$f" >"$tmp/stage/all/$n.ko" ;;
		esac
	done < <(find "$tmp/x" \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \))
	for m in $wk_modules; do
		add_module "$m" "$tmp/stage" || { rm -rf "$tmp"; return 1; }
	done
	while read -r m; do
		cp "$tmp/stage/all/$m.ko" "$tmp/out/modules/"
	done <"$tmp/stage/order"
	cp "$tmp/stage/order" "$tmp/out/modules/order"
	dpkg-deb -f "$tmp"/*.deb Version >"$tmp/out/version"
	echo "$wk_layout" >"$tmp/out/layout"
	rm -rf "$dest"
	mv "$tmp/out" "$dest" && rm -rf "$tmp"
}

# build_initramfs KDIR OUT: busybox, /init and the modules, as a newc cpio.
build_initramfs() {
	local tmp
	tmp=$(mktemp -d "$cache/initramfs.XXXXXX") || return 1
	mkdir -p "$tmp/root/bin" "$tmp/root/proc" "$tmp/root/sys" "$tmp/root/dev" \
		"$tmp/root/wk/tmp" "$tmp/root/newroot"
	cp "$(command -v busybox)" "$tmp/root/bin/busybox"
	cp "$aux/init" "$tmp/root/init"
	chmod 755 "$tmp/root/init" "$tmp/root/bin/busybox"
	cp -r "$1/modules" "$tmp/root/modules"
	(cd "$tmp/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/initramfs.cpio" &&
		mv -f "$tmp/initramfs.cpio" "$2"
	local rc=$?
	rm -rf "$tmp"
	return $rc
}

# prepare_host: sets kernel and initrd, building what the cache lacks.
prepare_host() {
	local pkg kdir key
	pkg=$(resolve_pkg) || exit 125
	kdir=$cache/kernel-$pkg
	exec 8>"$cache/lock"
	if [ "$(cat "$kdir/layout" 2>/dev/null)" != "$wk_layout" ]; then
		flock 8
		[ "$(cat "$kdir/layout" 2>/dev/null)" = "$wk_layout" ] || fetch_kernel "$pkg" "$kdir" ||
			die "cannot fetch the kernel package $pkg"
	fi
	# The modules follow from the package, busybox from its size and time.
	key=$( {
		echo "$pkg $wk_layout"
		stat -L -c '%s %Y' "$(command -v busybox)"
		cat "$aux/init" "$kdir/modules/order"
	} | sha256sum | cut -c1-16)
	initrd=$cache/initramfs-$key.cpio
	if [ ! -f "$initrd" ]; then
		flock 8
		[ -f "$initrd" ] || build_initramfs "$kdir" "$initrd" ||
			die "cannot build the initramfs"
	fi
	exec 8>&-
	kernel=$kdir/vmlinuz
	[ -f "$kdir/vmlinux" ] && kernel=$kdir/vmlinux
}
