#!/usr/bin/env bash
# Hostile layers (real tars in real images in a real registry) must be
# refused with a clear error, leave nothing outside the rootfs and no half
# image in the store.
. "$(dirname "$0")/../oci/lib.sh"
start_registry || { echo "FAIL oci-hostile-setup: no registry"; exit 1; }
L=$T/layout
victim=$T/victim
mkdir -p $victim
echo original >$victim/file
export EVIL_TARGET=$victim/file
LP="$SM_TOP/tests/oci/layout.py"

# evil KIND EXPECTED_ERROR [ROOTLESS]
evil() {
	local kind=$1 want=$2 tag=${1}
	new_image $L $tag
	if [ $kind = dir-to-symlink ]; then
		mkdir -p $T/d1/d && echo x >$T/d1/d/keep
		add_layer $L $tag $T/d1
	fi
	python3 "$LP" evil-tar $T/$kind.tar $kind
	python3 "$LP" add-layer $L $tag $T/$kind.tar gzip
	push $L $tag evil:$tag
	out=$(SUPERMACHINE_ROOTLESS=${3:-} "$SM" pull "$REG/evil:$tag" 2>&1)
	rc=$?
	ok "hostile-$kind" '[ $rc = 125 ] && echo "$out" | grep -q "$want" &&
		[ "$(cat $victim/file)" = original ] &&
		[ $(ls $victim | wc -l) = 1 ] &&
		[ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ] &&
		[ -z "$(ls -A $SUPERMACHINE_ROOT/tmp)" ] &&
		! "$SM" images | grep -q evil'
	[ "${VERBOSE:-}" ] && echo "$out"
}

evil dotdot 'path escapes the rootfs'
evil absolute 'path escapes the rootfs'
evil symlink-parent 'outside the rootfs through a symlink'
evil symlink-relative 'outside the rootfs through a symlink'
evil hardlink 'hardlink target escapes the rootfs'
evil hardlink-via-symlink 'hardlink target leads outside the rootfs'
evil dir-to-symlink 'outside the rootfs through a symlink'
evil device 'device node refused without root' 1
evil huge 'file size exceeds the limit'
# the victim is reachable and unchanged (the tests above can fail)
ok victim-intact '[ "$(cat $victim/file)" = original ]'
finish
