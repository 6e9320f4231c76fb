#!/usr/bin/env bash
# Escape attempts through a host FUSE mount of our server: device nodes
# cannot be made on the host, and a directory swapped for a symlink to an
# outside directory behind the client's back does not lead the server out
# of the share (names resolve below the inode the client looked up).
set -u
top=${SM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SM_BUILD:-$top/build}
tool=$build/tools/fuse-mount

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	echo "SKIP fuse-escape: needs root and /dev/fuse"
	exit 0
fi
if [ ! -x "$tool" ]; then
	echo "FAIL fuse-escape: $tool is not built (make tools)"
	exit 1
fi

work=$(mktemp -d /tmp/fuse-escape.XXXXXX)
src=$work/src mnt=$work/mnt out=$work/outside
mkdir -p "$src" "$mnt" "$out"
cleanup() {
	umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
failed=0
pass() { echo "PASS fuse-escape-$1"; }
fail() {
	echo "FAIL fuse-escape-$1: $2"
	failed=1
}

# long cache validity: the client keeps its dentries across the swap
if ! "$tool" --background --timeout 600000 "$src" "$mnt"; then
	echo "FAIL fuse-escape-mount: fuse-mount failed"
	exit 1
fi

# refused with EPERM (not by a broken mount), nothing on the host
blk=$(mknod "$mnt/sda" b 8 0 2>&1) && blk="worked"
chr=$(mknod "$mnt/mem" c 1 1 2>&1) && chr="worked"
if [ "$blk" != "mknod: $mnt/sda: Operation not permitted" ] ||
	[ "$chr" != "mknod: $mnt/mem: Operation not permitted" ]; then
	fail device-nodes "mknod of a device node: '$blk', '$chr'"
elif [ -e "$src/sda" ] || [ -e "$src/mem" ]; then
	fail device-nodes "a device node appeared on the host"
else
	pass device-nodes
fi

# a FIFO on the host would block a host program that opens it: refused
# without the embedder's allow_fifos (docs/security.md, "Shares")
fifo=$(mkfifo "$mnt/fifo" 2>&1) && fifo="worked"
if [ "$fifo" != "mkfifo: cannot create fifo '$mnt/fifo': Operation not permitted" ]; then
	fail fifo-refused "mkfifo through the mount: '$fifo'"
elif [ -e "$src/fifo" ]; then
	fail fifo-refused "a FIFO appeared on the host"
else
	pass fifo-refused
fi

echo SECRET > "$out/f"
echo SECRET > "$out/g"
mkdir "$src/d"
echo inside > "$src/d/f"
cat "$mnt/d/f" >/dev/null # the client now holds d and d/f
mv "$src/d" "$src/d.old"
ln -s "$out" "$src/d"
got=$(cat "$mnt/d/f" 2>&1)
if [ "$got" = inside ]; then pass swapped-dir-open; else fail swapped-dir-open "read '$got'"; fi
# a new name resolves below the directory the client holds (d.old): no g
got=$(cat "$mnt/d/g" 2>&1)
if [ "$got" = "cat: $mnt/d/g: No such file or directory" ]; then
	pass swapped-dir-lookup
else
	fail swapped-dir-lookup "read '$got' (want ENOENT)"
fi
got=$(ls -A "$mnt/d/" 2>&1)
if [ "$got" = f ]; then
	pass swapped-dir-readdir
else
	fail swapped-dir-readdir "listing is '$(echo $got)', want 'f' (the directory the client holds)"
fi

# a symlink made through the mount stays a symlink on the host
ln -s /etc/shadow "$mnt/l"
if [ "$(readlink "$src/l")" = /etc/shadow ] && [ -L "$src/l" ]; then
	pass symlink-inert
else
	fail symlink-inert "unexpected host object"
fi
exit $failed
