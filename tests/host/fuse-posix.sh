#!/usr/bin/env bash
# POSIX semantics through our FUSE server: mounts a temp dir with
# tools/fuse-mount (build/tools/fuse-mount) and checks permissions, renames,
# links, sparse and large files, xattrs, big directories, concurrent
# writers, then a --ro mount. Always unmounts. Needs root and /dev/fuse.
set -u
top=${SM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SM_BUILD:-$top/build}
tool=$build/tools/fuse-mount

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	echo "SKIP fuse-posix: needs root and /dev/fuse"
	exit 0
fi
if [ ! -x "$tool" ]; then
	echo "FAIL fuse-posix: $tool is not built (make tools)"
	exit 1
fi

work=$(mktemp -d /tmp/fuse-posix.XXXXXX)
src=$work/src mnt=$work/mnt
mkdir -p "$src" "$mnt"
chmod 755 "$work" "$src"
cleanup() {
	umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

failed=0
# check NAME SNIPPET: runs SNIPPET in bash with $src and $mnt set.
check() {
	local name=$1 out
	# "fails CMD": CMD must fail (a bare "! CMD" would not stop set -e)
	local prelude='fails() { if "$@"; then echo "worked: $*"; return 1; fi; }'
	if out=$(src=$src mnt=$mnt bash -euo pipefail -c "$prelude
$2" 2>&1); then
		echo "PASS fuse-$name"
	else
		echo "FAIL fuse-$name: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		failed=1
	fi
}

if ! "$tool" --background "$src" "$mnt"; then
	echo "FAIL fuse-posix-mount: fuse-mount failed"
	exit 1
fi

check basic-io '
	echo hello > $mnt/a
	[ "$(cat $mnt/a)" = hello ]
	[ "$(cat $src/a)" = hello ]
	echo more >> $mnt/a
	[ "$(wc -l < $src/a)" = 2 ]
	stat -c %s $mnt/a | grep -qx 11'

check permissions '
	echo secret > $mnt/private
	chmod 600 $mnt/private
	[ "$(stat -c %a $src/private)" = 600 ]
	fails setpriv --reuid=65534 --regid=65534 --clear-groups cat $mnt/private 2>/dev/null
	mkdir $mnt/pub
	chmod 1777 $mnt/pub
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo x > $mnt/pub/theirs"
	[ "$(stat -c %u:%g $src/pub/theirs)" = 65534:65534 ]
	fails setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo y >> $mnt/a" 2>/dev/null
	fails setpriv --reuid=65534 --regid=65534 --clear-groups rm -f $mnt/a 2>/dev/null
	[ -e $src/a ]'

check setuid-dropped-on-write '
	echo x > $mnt/suid
	chmod 4755 $mnt/suid
	chown 65534 $mnt/suid
	chmod 4777 $mnt/suid
	[ "$(stat -c %a $src/suid)" = 4777 ]
	setpriv --reuid=1000 --regid=1000 --clear-groups sh -c "echo y >> $mnt/suid"
	[ "$(stat -c %a $src/suid)" = 777 ]
	chmod 4755 $mnt/suid
	chown 0 $mnt/suid
	[ "$(stat -c %a $src/suid)" = 755 ]'

check rename-over-existing '
	echo 1 > $mnt/r1
	echo 2 > $mnt/r2
	mv -f $mnt/r1 $mnt/r2
	[ "$(cat $mnt/r2)" = 1 ]
	[ ! -e $mnt/r1 ]
	[ ! -e $src/r1 ]
	mkdir -p $mnt/d1 $mnt/d2
	touch $mnt/d1/x
	python3 -c "import os; os.rename(\"$mnt/d1\", \"$mnt/d2\")"
	[ -e $mnt/d2/x ]
	[ ! -e $mnt/d1 ]
	[ -e $src/d2/x ]
	mkdir $mnt/d3
	touch $mnt/d3/y
	fails python3 -c "import os; os.rename(\"$mnt/d3\", \"$mnt/d2\")" 2>/dev/null
	fails mv -T $mnt/r2 $mnt/d2 2>/dev/null
	python3 -c "import os; os.rename(\"$mnt/d3/y\", \"$mnt/d2/y\")"
	[ -e $src/d2/y ]'

# Renames as uid 65534 (issue 14): each case is set up as root on a host
# directory and on the mount, then tried as 65534 on both; the errno the
# host kernel gives (0, EACCES, EPERM) is the expected one. Cases: a
# root-owned 0644 file between 0777 directories, over an existing
# root-owned file, from and to a 0755 directory, sticky 1777 directories
# (another's file, one's own, replacing another's), a directory (which
# needs write on itself for its '..') and one that is writable, and
# within one directory.
cat > "$work/renames.sh" <<'EOF'
R=$1
as() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
ren() {
	as /usr/bin/python3 -c "
import os, sys
try:
    os.rename(sys.argv[1], sys.argv[2]); print(0)
except OSError as e:
    print(e.errno)" "$R/$1" "$R/$2"
}
d() { mkdir "$R/$1" && chmod "$2" "$R/$1"; }
f() { echo x > "$R/$1" && chmod "${2:-644}" "$R/$1"; }
d a 777; d b 777; d c 755; d s 1777; d t 1777
f a/f; f a/g; f b/g; f c/f; f a/h 666; f s/root; f t/root
as sh -c "echo x > $R/s/mine && echo x > $R/s/mine2"
mkdir "$R/a/d" "$R/a/e" && chmod 755 "$R/a/d" && chmod 777 "$R/a/e"
echo "file-between-0777-dirs $(ren a/f b/f)"
echo "file-over-existing $(ren a/g b/g)"
echo "file-from-0755-dir $(ren c/f a/cf)"
echo "file-to-0755-dir $(ren a/h c/h)"
echo "sticky-others-file $(ren s/root t/x)"
echo "sticky-own-file $(ren s/mine t/mine)"
echo "sticky-replace-others $(ren s/mine2 t/root)"
echo "dir-0755-between-dirs $(ren a/d b/d)"
echo "dir-0777-between-dirs $(ren a/e b/e)"
echo "dir-0755-same-parent $(ren a/d a/d2)"
EOF
check renames-as-kernel '
	mkdir $src/../host $src/ren && chmod 755 $src/../host $src/ren
	host=$(bash $src/../renames.sh $src/../host)
	ours=$(bash $src/../renames.sh $mnt/ren)
	if [ "$host" != "$ours" ]; then
		diff <(echo "$host") <(echo "$ours") | grep "^[<>]"
		exit 1
	fi
	echo "$host" | grep -qx "file-between-0777-dirs 0"
	echo "$host" | grep -qx "dir-0755-between-dirs 13"'

check hardlinks '
	echo data > $mnt/h1
	ln $mnt/h1 $mnt/h2
	[ "$(stat -c %h $mnt/h1)" = 2 ]
	[ "$(stat -c %i $src/h1)" = "$(stat -c %i $src/h2)" ]
	echo more >> $mnt/h2
	[ "$(cat $mnt/h1)" = "$(printf "data\nmore")" ]
	rm $mnt/h1
	[ "$(stat -c %h $mnt/h2)" = 1 ]
	fails ln $mnt/d2 $mnt/dirlink 2>/dev/null'

check symlinks '
	echo target > $mnt/t
	ln -s t $mnt/s
	[ "$(readlink $mnt/s)" = t ]
	[ "$(readlink $src/s)" = t ]
	[ "$(cat $mnt/s)" = target ]
	ln -s /nonexistent/x $mnt/dangling
	[ -L $mnt/dangling ]
	[ ! -e $mnt/dangling ]
	ln -s ../../.. $mnt/up
	[ "$(readlink $src/up)" = ../../.. ]'

check sparse-files '
	truncate -s 1G $mnt/sparse
	[ "$(stat -c %s $mnt/sparse)" = 1073741824 ]
	[ "$(stat -c %b $src/sparse)" -lt 100 ]
	printf tail | dd of=$mnt/sparse bs=1 seek=536870912 conv=notrunc status=none
	python3 -c "
import os
fd = os.open(\"$mnt/sparse\", os.O_RDONLY)
assert os.lseek(fd, 0, os.SEEK_DATA) >= 536870912 - 4096, \"SEEK_DATA\"
assert os.pread(fd, 4, 536870912) == b\"tail\"
assert os.pread(fd, 4, 0) == bytes(4)
"'

check large-files '
	head -c 48M /dev/urandom > $src/../big
	cp $src/../big $mnt/big
	[ "$(sha256sum < $mnt/big)" = "$(sha256sum < $src/../big)" ]
	[ "$(sha256sum < $src/big)" = "$(sha256sum < $src/../big)" ]
	printf x | dd of=$mnt/huge bs=1 seek=5368709120 conv=notrunc status=none
	[ "$(stat -c %s $src/huge)" = 5368709121 ]
	[ "$(dd if=$mnt/huge bs=1 skip=5368709120 count=1 status=none)" = x ]' 2>/dev/null

check xattrs '
	touch $mnt/xa
	python3 -c "
import os
os.setxattr(\"$mnt/xa\", \"user.k\", b\"v1\")
assert os.getxattr(\"$src/xa\", \"user.k\") == b\"v1\"
assert \"user.k\" in os.listxattr(\"$mnt/xa\")
os.setxattr(\"$src/xa\", \"user.host\", b\"h\")
assert os.getxattr(\"$mnt/xa\", \"user.host\") == b\"h\"
os.removexattr(\"$mnt/xa\", \"user.k\")
assert \"user.k\" not in os.listxattr(\"$src/xa\")
"'

check thousands-of-entries '
	mkdir $mnt/many
	python3 -c "
import os
for i in range(3000):
    open(\"$mnt/many/f%05d\" % i, \"w\").close()
"
	[ "$(ls $mnt/many | wc -l)" = 3000 ]
	[ "$(ls $src/many | wc -l)" = 3000 ]
	[ "$(ls -l $mnt/many | grep -c "^-")" = 3000 ]
	rm -rf $mnt/many
	[ ! -e $src/many ]'

check concurrent-writers '
	: > $mnt/shared
	pids=""
	for i in 0 1 2 3 4 5 6 7; do
		( head -c 1M /dev/zero | tr "\0" "$i" |
		  dd of=$mnt/shared bs=64k seek=$((i * 16)) conv=notrunc status=none ) &
		pids="$pids $!"
		head -c 4M /dev/urandom > $mnt/own.$i &
		pids="$pids $!"
	done
	for p in $pids; do wait $p; done
	for i in 0 1 2 3 4 5 6 7; do head -c 1M /dev/zero | tr "\0" "$i"; done > $mnt/../expect
	cmp $src/shared $mnt/../expect
	for i in 0 1 2 3 4 5 6 7; do cmp $mnt/own.$i $src/own.$i; done'

check remove-tree '
	mkdir -p $mnt/tree/a/b/c
	touch $mnt/tree/a/b/c/f
	rm -r $mnt/tree
	[ ! -e $src/tree ]'

umount "$mnt" || umount -l "$mnt"
sleep 0.2

# Read-only: every write fails with EROFS, reads work.
if ! "$tool" --ro --background "$src" "$mnt"; then
	echo "FAIL fuse-ro-mount: fuse-mount --ro failed"
	exit 1
fi
check read-only '
	[ "$(cat $mnt/t)" = target ]
	for cmd in "touch $mnt/new" "echo x >> $mnt/t" "mkdir $mnt/nd" "rm $mnt/t" \
		"mv $mnt/t $mnt/t2" "chmod 777 $mnt/t" "ln -s a $mnt/ls" "ln $mnt/t $mnt/lh" \
		"truncate -s 0 $mnt/t"; do
		out=$(bash -c "$cmd" 2>&1) && { echo "$cmd worked"; exit 1; }
		echo "$out" | grep -q "Read-only file system" || { echo "$cmd: $out"; exit 1; }
	done
	python3 -c "
import errno, os
try:
    os.setxattr(\"$mnt/t\", \"user.x\", b\"1\")
    raise SystemExit(\"setxattr worked\")
except OSError as e:
    assert e.errno == errno.EROFS, e
"
	[ "$(cat $src/t)" = target ]'

exit $failed
