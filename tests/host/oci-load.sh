#!/usr/bin/env bash
# load: docker-archive and oci-archive files written by skopeo, and OCI
# layout directories written by umoci.
. "$(dirname "$0")/../oci/lib.sh"
L=$T/layout
mkdir -p $T/src/etc && echo loaded >$T/src/etc/msg
new_image $L v1
add_layer $L v1 $T/src
mutate $L v1 'echo two >etc/two'

# Every load is run through sm_load: OUT is what it printed, RC its status.
# Success is status 0; a failure is status 125 (docs/errors.md) and one
# "supermachine: load PATH: ..." line.
sm_load() {
	out=$("$SM" load "$@" 2>&1)
	rc=$?
}

skopeo copy -q oci:$L:v1 docker-archive:$T/d.tar:localhost/dl:v1 >/dev/null
sm_load -i $T/d.tar
ok load-docker-archive '[ $rc = 0 ] && [ "$out" = "Loaded image: localhost/dl:v1" ] &&
	[ "$(cat $(rootfs_of localhost/dl:v1)/etc/msg)" = loaded ] &&
	[ "$(cat $(rootfs_of localhost/dl:v1)/etc/two)" = two ]'
ok load-docker-config '"$SM" inspect localhost/dl:v1 | grep -q "\"WorkingDir\": \"/work\""'

skopeo copy -q oci:$L:v1 oci-archive:$T/o.tar:localhost/ol:v1 >/dev/null
sm_load -i $T/o.tar
ok load-oci-archive '[ $rc = 0 ] && [ "$out" = "Loaded image: localhost/ol:v1" ] &&
	[ "$(cat $(rootfs_of localhost/ol:v1)/etc/two)" = two ]'

# images REPOSITORY[:TAG]: docker's filter (the store now holds
# localhost/dl:v1 and localhost/ol:v1)
ok images-filter-repo '[ "$("$SM" images localhost/dl | tail -n +2 | awk "{print \$1\":\"\$2}")" = localhost/dl:v1 ]'
ok images-filter-tag '[ "$("$SM" images -q localhost/ol:v1 | wc -l)" = 1 ] &&
	[ -z "$("$SM" images -q localhost/ol:v2)" ] && [ -z "$("$SM" images -q nosuch)" ]'

skopeo copy -q oci:$L:v1 oci:$T/single:v1 >/dev/null
sm_load -i $T/single -t mine:1
ok load-oci-dir '[ $rc = 0 ] && [ "$out" = "Loaded image: docker.io/library/mine:1" ] &&
	[ "$(cat $(rootfs_of mine:1)/etc/msg)" = loaded ]'
sm_load -i $T/single
ok load-unnamed '[ $rc = 0 ] && echo "$out" | grep -qx "Loaded image ID: sha256:[0-9a-f]\{64\}"'

# a tampered blob in a layout is refused and leaves nothing behind
skopeo copy -q oci:$L:v1 oci:$T/bad:v1 >/dev/null
export SUPERMACHINE_ROOT=$T/store2
big=$(ls -S $T/bad/blobs/sha256 | head -1)
printf 'x' | dd of=$T/bad/blobs/sha256/$big bs=1 seek=10 conv=notrunc 2>/dev/null
sm_load -i $T/bad -t bad:1
ok load-tampered '[ $rc = 125 ] &&
	echo "$out" | grep -qx "supermachine: load $T/bad: blob sha256:$big: digest mismatch (got sha256:[0-9a-f]\{64\})" &&
	[ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ] && [ -z "$(ls -A $SUPERMACHINE_ROOT/tmp)" ] &&
	! ls $SUPERMACHINE_ROOT/blobs/sha256 | grep -qx $big'
# an oci-archive whose layer member was swapped for another valid layer:
# the member's name is its digest, so it is refused, nothing kept
mkdir -p $T/ox $T/evil/etc && tar -xf $T/o.tar -C $T/ox
big=$(ls -S $T/ox/blobs/sha256 | head -1)
echo evil >$T/evil/etc/msg
tar -cz -C $T/evil etc >$T/ox/blobs/sha256/$big
tar -cf $T/ot.tar -C $T/ox .
sm_load -i $T/ot.tar
ok load-tampered-archive '[ $rc = 125 ] &&
	echo "$out" | grep -qx "supermachine: load $T/ot.tar: blobs/sha256/$big: digest mismatch (got sha256:[0-9a-f]\{64\})" &&
	[ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ] && [ -z "$(ls -A $SUPERMACHINE_ROOT/tmp)" ]'
echo garbage >$T/junk.tar
sm_load -i $T/junk.tar
ok load-junk '[ $rc = 125 ] &&
	[ "$out" = "supermachine: load $T/junk.tar: $T/junk.tar: Unrecognized archive format" ] &&
	[ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ]'
sm_load -i $T/nonexistent
ok load-missing-file '[ $rc = 125 ] &&
	[ "$out" = "supermachine: load $T/nonexistent: $T/nonexistent: No such file or directory" ]'
# a tar that is neither format
tar -cf $T/other.tar -C $T/src etc
sm_load -i $T/other.tar
ok load-not-an-image '[ $rc = 125 ] &&
	[ "$out" = "supermachine: load $T/other.tar: not a docker-archive or OCI archive (no manifest.json or index.json)" ]'
sm_load
ok load-usage '[ $rc = 125 ] && [ "$out" = "supermachine: required flag(s) \"input\" not set
See '"'"'supermachine load --help'"'"'." ]'

# --platform picks one image of a multi-platform OCI archive (an index of
# linux/amd64 and linux/arm64, each with a file naming its architecture);
# without it, the host's (amd64 here); a platform not there is refused and
# the name keeps its image
export SUPERMACHINE_ROOT=$T/store-plat
M=$T/multi
for a in amd64 arm64; do
	new_image $M $a
	umoci config --image $M:$a --architecture $a
	mkdir -p $T/$a && echo $a >$T/$a/arch
	add_layer $M $a $T/$a
done
make_index $M both amd64:linux/amd64 arm64:linux/arm64
skopeo copy -q --all oci:$M:both oci-archive:$T/m.tar:localhost/multi:v1 >/dev/null
sm_load -i $T/m.tar --platform linux/arm64
ok load-platform '[ $rc = 0 ] && [ "$out" = "Loaded image: localhost/multi:v1" ] &&
	[ "$(cat $(rootfs_of localhost/multi:v1)/arch)" = arm64 ] &&
	"$SM" images | grep -q "^localhost/multi  *v1 .* linux/arm64$"'
sm_load -i $T/m.tar
ok load-platform-host '[ $rc = 0 ] && [ "$(cat $(rootfs_of localhost/multi:v1)/arch)" = amd64 ]'
sm_load -i $T/m.tar --platform linux/s390x
ok load-platform-missing '[ $rc = 125 ] &&
	[ "$out" = "supermachine: load $T/m.tar: no image for platform linux/s390x (available: linux/amd64, linux/arm64)" ] &&
	[ "$(cat $(rootfs_of localhost/multi:v1)/arch)" = amd64 ]'

# rmi by image ID prefix (docs/images.md, Store): the ID `images` shows and
# `load` prints (the config digest); a prefix removes every name of the
# image. A store of its own, so that no other image shares the prefixes.
export SUPERMACHINE_ROOT=$T/store-rmi
"$SM" load -i $T/single -t one:1 >/dev/null 2>&1
"$SM" load -i $T/single -t two:1 >/dev/null 2>&1
id=$("$SM" images -q | head -1)
out=$("$SM" rmi "${id:0:12}" 2>&1)
rc=$?
ok rmi-id-prefix '[ $rc = 0 ] && [ "$out" = "Untagged: ${id:0:12}" ] && [ ${#id} = 12 ] &&
	[ -z "$("$SM" images -q)" ] && [ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ]'
# two images whose IDs start with the same 4 digits (tests/oci/layout.py
# id-twin), loaded unnamed: that prefix is refused, both stay; a longer
# one removes one image
cp -a $L $T/tw
python3 "$SM_TOP/tests/oci/layout.py" id-twin $T/tw v1 twin 4
sm_load -i $T/tw
ids=$(echo "$out" | sed -n 's/^Loaded image ID: sha256://p')
p4=${ids:0:4}
out=$("$SM" rmi $p4 2>&1)
rc=$?
ok rmi-id-ambiguous '[ $(echo "$ids" | wc -l) = 2 ] && [ $(echo "$ids" | cut -c1-4 | sort -u) = $p4 ] &&
	[ $rc = 1 ] && [ "$out" = "supermachine: remove $p4: $p4: ambiguous image ID prefix" ] &&
	[ $(ls $SUPERMACHINE_ROOT/images | wc -l) = 2 ]'
first=$(echo "$ids" | head -1)
"$SM" rmi sha256:${first:0:16} >/dev/null 2>&1
rc=$?
ok rmi-id-longer-prefix '[ $rc = 0 ] && [ $(ls $SUPERMACHINE_ROOT/images | wc -l) = 1 ] &&
	[ "$("$SM" images -q)" = "$(echo "$ids" | tail -1 | cut -c1-12)" ]'
out=$("$SM" rmi deadbeef0000 2>&1)
rc=$?
ok rmi-id-unknown '[ $rc = 1 ] && [ "$out" = "supermachine: remove deadbeef0000: no such image: deadbeef0000" ] &&
	[ $(ls $SUPERMACHINE_ROOT/images | wc -l) = 1 ]'
finish
