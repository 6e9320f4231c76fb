#!/usr/bin/env bash
# load: docker-archive and oci-archive files written by skopeo, and OCI
# layout directories written by umoci.
. "$(dirname "$0")/../oci/lib.sh"
L=$T/layout
mkdir -p $T/src/etc && echo loaded >$T/src/etc/msg
new_image $L v1
add_layer $L v1 $T/src
mutate $L v1 'echo two >etc/two'

skopeo copy -q oci:$L:v1 docker-archive:$T/d.tar:localhost/dl:v1 >/dev/null
out=$("$SM" load -i $T/d.tar 2>&1)
ok load-docker-archive 'echo "$out" | grep -q "Loaded image: localhost/dl:v1" &&
	[ "$(cat $(rootfs_of localhost/dl:v1)/etc/msg)" = loaded ] &&
	[ "$(cat $(rootfs_of localhost/dl:v1)/etc/two)" = two ]'
ok load-docker-config '"$SM" inspect localhost/dl:v1 | grep -q "\"WorkingDir\": \"/work\""'

skopeo copy -q oci:$L:v1 oci-archive:$T/o.tar:localhost/ol:v1 >/dev/null
out=$("$SM" load -i $T/o.tar 2>&1)
ok load-oci-archive 'echo "$out" | grep -q "Loaded image: localhost/ol:v1" &&
	[ "$(cat $(rootfs_of localhost/ol:v1)/etc/two)" = two ]'

skopeo copy -q oci:$L:v1 oci:$T/single:v1 >/dev/null
out=$("$SM" load -i $T/single -t mine:1 2>&1)
ok load-oci-dir 'echo "$out" | grep -q "Loaded image: docker.io/library/mine:1" &&
	[ "$(cat $(rootfs_of mine:1)/etc/msg)" = loaded ]'
out=$("$SM" load -i $T/single 2>&1)
ok load-unnamed 'echo "$out" | grep -q "Loaded image ID: sha256:"'

# a tampered blob in a layout is refused and leaves nothing behind
skopeo copy -q oci:$L:v1 oci:$T/bad:v1 >/dev/null
export SUPERMACHINE_ROOT=$T/store2
big=$(ls -S $T/bad/blobs/sha256 | head -1)
printf 'x' | dd of=$T/bad/blobs/sha256/$big bs=1 seek=10 conv=notrunc 2>/dev/null
out=$("$SM" load -i $T/bad -t bad:1 2>&1)
ok load-tampered '[ $? != 0 ] || true; echo "$out" | grep -q "digest mismatch" &&
	[ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ] && [ -z "$(ls -A $SUPERMACHINE_ROOT/tmp)" ]'
echo garbage >$T/junk.tar
out=$("$SM" load -i $T/junk.tar 2>&1)
ok load-junk 'echo "$out" | grep -q "supermachine: load"'
finish
