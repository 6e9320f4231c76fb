#!/usr/bin/env bash
# Unpack keeps FIFOs, file mtimes and xattrs (docs/images.md, "Kept":
# xattrs all as root, user.* only rootless). The layer is a tar written by
# tests/oci/layout.py kept-tar, loaded from an OCI layout (the unpack is
# the same for pull and load).
. "$(dirname "$0")/../oci/lib.sh"
L=$T/layout
new_image $L v1
python3 "$SM_TOP/tests/oci/layout.py" kept-tar $T/kept.tar
python3 "$SM_TOP/tests/oci/layout.py" add-layer $L v1 $T/kept.tar gzip

# xattr FILE NAME: the value of the xattr NAME of FILE (python, so the test
# needs no attr package)
xattr() {
	python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$1" "$2"
}

out=$("$SM" load -i $L -t kept:1 2>&1)
rc=$?
R=$(rootfs_of kept:1)
[ "${VERBOSE:-}" ] && { echo "$out"; ls -la --time-style=+%s $R; }
ok unpack-fifo '[ $rc = 0 ] && [ -p $R/fifo ] && [ "$(stat -c %a $R/fifo)" = 640 ]'
ok unpack-mtime '[ "$(stat -c %Y $R/f)" = 1234567890 ] && [ "$(stat -c %Y $R/fifo)" = 1234567890 ]'
ok unpack-xattr-user '[ "$(xattr $R/f user.test)" = hello ]'
ok unpack-xattr-trusted-root '[ "$(xattr $R/f trusted.test)" = root ]'

# rootless: FIFO, mtime and user.* kept, other namespaces not
export SUPERMACHINE_ROOT=$T/store-rootless
out=$(SUPERMACHINE_ROOTLESS=1 "$SM" load -i $L -t kept:1 2>&1)
rc=$?
R=$(rootfs_of kept:1)
ok unpack-rootless '[ $rc = 0 ] && [ -p $R/fifo ] && [ "$(stat -c %Y $R/f)" = 1234567890 ] &&
	[ "$(stat -c %Y $R/fifo)" = 1234567890 ] && [ "$(xattr $R/f user.test)" = hello ] &&
	! xattr $R/f trusted.test'
finish
