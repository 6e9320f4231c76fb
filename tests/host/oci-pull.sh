#!/usr/bin/env bash
# Pull from a real loopback registry (docker-registry) images built with
# umoci and pushed with skopeo: layers, whiteouts, links, indexes, formats.
. "$(dirname "$0")/../oci/lib.sh"
# schema1: the registry must accept the schema 1 image pushed for
# schema1-refused (docker-registry 2.8 refuses them by default)
start_registry "compatibility:
  schema1:
    enabled: true" || { echo "FAIL oci-pull-setup: no registry"; exit 1; }
L=$T/layout
src=$T/src
mkdir -p $src/bin $src/etc $src/opq/old $src/gone
echo hello >$src/etc/hello
ln -s ../etc/hello $src/bin/link
echo data >$src/etc/a
ln $src/etc/a $src/etc/hard
echo old >$src/opq/old/f
echo bye >$src/gone/x
chmod 4755 $src/etc/a
chown 123:456 $src/etc/hello
new_image $L v1
add_layer $L v1 $src
# layer 2: whiteout (rm), a directory removed and made again (umoci writes
# opq/.wh.old, not an opaque whiteout: see opaque-whiteout), new file
mutate $L v1 'rm -rf gone opq && mkdir opq && echo new >opq/n && echo 2 >two'
push $L v1 multi:v1

out=$("$SM" pull "$REG/multi:v1" 2>&1)
check pull-multi-layer [ $? = 0 ]
R=$(rootfs_of "$REG/multi:v1")
ok content '[ "$(cat $R/etc/hello)" = hello ] && [ "$(cat $R/two)" = 2 ]'
check symlink [ "$(readlink $R/bin/link)" = ../etc/hello ]
check hardlink [ "$(stat -c %i $R/etc/a)" = "$(stat -c %i $R/etc/hard)" ]
check whiteout [ ! -e $R/gone ]
ok dir-replaced '[ ! -e $R/opq/old ] && [ -f $R/opq/n ]'
check owner [ "$(stat -c %u:%g $R/etc/hello)" = 123:456 ]
check setuid [ "$(stat -c %a $R/etc/a)" = 4755 ]
cfg=$("$SM" inspect "$REG/multi:v1")
ok config 'echo "$cfg" | grep -q "\"WorkingDir\": \"/work\"" &&
	echo "$cfg" | grep -q "\"StopSignal\": \"SIGTERM\"" &&
	echo "$cfg" | grep -q "\"org.test\": \"yes\"" &&
	echo "$cfg" | grep -q "\"80/tcp\"" && echo "$cfg" | grep -q "\"/data\""'
ok images-lists '"$SM" images | grep -q "$REG/multi *v1"'

# Docker schema 1 (skopeo converts and signs it; the registry serves it as
# application/vnd.docker.distribution.manifest.v1+prettyjws) is refused,
# and nothing is stored
push $L v1 old:v1 --format v2s1
out=$(SUPERMACHINE_ROOT=$T/s1 "$SM" pull "$REG/old:v1" 2>&1)
rc=$?
ok schema1-refused '[ $rc = 125 ] &&
	[ "$out" = "supermachine: pull $REG/old:v1: manifest: Docker schema 1 images are not supported (deprecated format; re-push the image with a current client)" ] &&
	[ -z "$(ls -A $T/s1/images)" ]'

# Docker schema 2 manifest
push $L v1 dock:v1 --format v2s2
ok dock-is-v2s2 'skopeo inspect --raw --tls-verify=false docker://$REG/dock:v1 | grep -q "application/vnd.docker.distribution.manifest.v2+json"'
ddg=$(registry_digest dock:v1)
out=$("$SM" pull -q "$REG/dock:v1" 2>&1)
rc=$?
R=$(rootfs_of "$REG/dock:v1")
ok pull-docker-v2s2 '[ $rc = 0 ] && [ "$out" = "$REG/dock:v1" ] &&
	[ "$(field_of $REG/dock:v1 Digest)" = "$ddg" ] && stored_manifest_ok "$ddg" &&
	[ "$(cat $R/etc/hello)" = hello ] && [ "$(cat $R/two)" = 2 ] && [ ! -e $R/gone ] &&
	"$SM" inspect "$REG/dock:v1" | grep -q "\"WorkingDir\": \"/work\""'
# by digest, into an empty store: the content and the digest are the pinned ones
dg=$(registry_digest multi:v1)
out=$(SUPERMACHINE_ROOT=$T/store-dg "$SM" pull -q "$REG/multi@$dg" 2>&1)
rc=$?
ok pull-by-digest '[ $rc = 0 ] && [ "$out" = "$REG/multi@$dg" ] && (
	export SUPERMACHINE_ROOT=$T/store-dg && [ "$(field_of $REG/multi@$dg Digest)" = "$dg" ] &&
	stored_manifest_ok "$dg" && R=$(rootfs_of $REG/multi@$dg) &&
	[ "$(cat $R/etc/hello)" = hello ] && [ "$(cat $R/two)" = 2 ] && [ ! -e $R/gone ])'
# a registry that answers a digest with other bytes: refused, nothing kept
pp=$(free_port)
FAULTPROXY_MANIFEST=space python3 "$SM_TOP/tests/oci/faultproxy.py" $pp $REG pass $T/proxy.log &
PIDS+=($!)
wait_port $pp
out=$(SUPERMACHINE_ROOT=$T/store-dgbad "$SM" pull -q "127.0.0.1:$pp/multi@$dg" 2>&1)
rc=$?
ok pull-by-digest-mismatch '[ $rc = 125 ] &&
	echo "$out" | grep -qx "supermachine: pull 127.0.0.1:$pp/multi@$dg: manifest $dg: digest mismatch (got sha256:[0-9a-f]\{64\})" &&
	[ -z "$(ls -A $T/store-dgbad/images)" ]'
# the same proxy by tag: nothing pinned, the pull works (the proxy itself does)
out=$(SUPERMACHINE_ROOT=$T/store-dgbad "$SM" pull -q "127.0.0.1:$pp/multi:v1" 2>&1)
ok pull-by-tag-through-proxy '[ $? = 0 ] && [ "$out" = "127.0.0.1:$pp/multi:v1" ]'

# zstd layer
python3 -c "
import tarfile, io
t = tarfile.open('$T/z.tar', 'w'); d = b'zstd!\n'; i = tarfile.TarInfo('zfile')
i.size = len(d); t.addfile(i, io.BytesIO(d)); t.close()"
python3 "$SM_TOP/tests/oci/layout.py" add-layer $L v1 $T/z.tar zstd
push $L v1 zst:v1
ok zstd-is-zstd 'skopeo inspect --raw --tls-verify=false docker://$REG/zst:v1 | grep -q "tar+zstd"'
check pull-zstd "$SM" pull -q "$REG/zst:v1"
R=$(rootfs_of "$REG/zst:v1")
ok zstd-content '[ "$(cat $R/opq/n)" = new ] && [ "$(cat $R/zfile)" = "zstd!" ]'

# A real opaque whiteout (umoci writes plain whiteouts): layer 1 has
# o/old and o/sub/f, layer 2 has o/kept (before its marker), o/.wh..wh..opq
# and o/late. The marker hides the lower layers' o/ entries only.
mkdir -p $T/o1/o/sub && echo old >$T/o1/o/old && echo f >$T/o1/o/sub/f
new_image $L opq
add_layer $L opq $T/o1
python3 -c "
import tarfile, io
t = tarfile.open('$T/opq.tar', 'w')
def add(name, data=None):
    i = tarfile.TarInfo(name)
    if data is None:
        i.type, i.mode = tarfile.DIRTYPE, 0o755
        t.addfile(i)
    else:
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
add('o')
add('o/kept', b'kept\\n')
add('o/.wh..wh..opq', b'')
add('o/late', b'late\\n')
t.close()"
python3 "$SM_TOP/tests/oci/layout.py" add-layer $L opq $T/opq.tar gzip
push $L opq opq:v1
out=$("$SM" pull -q "$REG/opq:v1" 2>&1)
rc=$?
R=$(rootfs_of "$REG/opq:v1")
[ "${VERBOSE:-}" ] && { echo "$out"; ls -lAR $R/o; }
ok opaque-whiteout '[ $rc = 0 ] && [ "$(ls -A $R/o | tr "\n" " ")" = "kept late " ] &&
	[ "$(cat $R/o/kept)" = kept ] && [ "$(cat $R/o/late)" = late ]'

# multi-arch index: amd64, arm64, arm/v7
for a in amd64 arm64 armv7; do
	new_image $L $a
	umoci config --image $L:$a --architecture ${a%v7}
	mkdir -p $T/$a && echo $a >$T/$a/arch
	add_layer $L $a $T/$a
done
make_index $L multi-arch amd64:linux/amd64 arm64:linux/arm64 armv7:linux/arm/v7
push $L multi-arch idx:v1 --all
"$SM" pull -q "$REG/idx:v1" >/dev/null 2>&1
rc=$?
ok index-host-platform '[ $rc = 0 ] && [ "$(cat $(rootfs_of $REG/idx:v1)/arch)" = amd64 ]'
"$SM" pull -q --platform linux/arm64 "$REG/idx:v1" >/dev/null 2>&1
rc=$?
ok index-platform-override '[ $rc = 0 ] && [ "$(cat $(rootfs_of $REG/idx:v1)/arch)" = arm64 ]'
"$SM" pull -q --platform linux/arm/v8 "$REG/idx:v1" >/dev/null 2>&1
rc=$?
ok index-variant-fallback '[ $rc = 0 ] && [ "$(cat $(rootfs_of $REG/idx:v1)/arch)" = armv7 ]'
# ARM v6 cannot run the v7 image: refused, the name keeps its image
err=$("$SM" pull --platform linux/arm/v6 "$REG/idx:v1" 2>&1)
rc=$?
ok index-variant-no-newer '[ $rc = 125 ] && echo "$err" | grep -q "^supermachine: pull $REG/idx:v1: .*no image for platform linux/arm/v6" &&
	[ "$(cat $(rootfs_of $REG/idx:v1)/arch)" = armv7 ]'
err=$("$SM" pull --platform linux/s390x "$REG/idx:v1" 2>&1)
rc=$?
ok index-no-platform '[ $rc = 125 ] && echo "$err" | grep -q "^supermachine: pull $REG/idx:v1: .*no image for platform linux/s390x" &&
	[ "$(cat $(rootfs_of $REG/idx:v1)/arch)" = armv7 ]'
# Docker manifest list
push $L multi-arch dlist:v1 --all --format v2s2
ok dlist-is-docker 'skopeo inspect --raw --tls-verify=false docker://$REG/dlist:v1 | grep -q manifest.list.v2'
"$SM" pull -q --platform linux/arm64 "$REG/dlist:v1" >/dev/null 2>&1
rc=$?
ok pull-docker-list '[ $rc = 0 ] && [ "$(cat $(rootfs_of $REG/dlist:v1)/arch)" = arm64 ]'

# errors
err=$("$SM" pull "$REG/nope:v1" 2>&1)
rc=$?
ok missing-image '[ $rc = 125 ] && echo "$err" | grep -qx "supermachine: pull $REG/nope:v1: manifest v1: HTTP 404.*" &&
	! "$SM" images | grep -q nope'
err=$("$SM" pull "Bad/Name" 2>&1)
rc=$?
ok invalid-ref '[ $rc = 125 ] && [ "$err" = "supermachine: invalid reference \"Bad/Name\": repository name must be lowercase" ]'

# two processes pulling the same image: both succeed, blobs stored once
push $L v1 conc:v1
export SUPERMACHINE_ROOT=$T/store2
"$SM" pull -q "$REG/conc:v1" >$T/p1 2>&1 &
p1=$!
"$SM" pull -q "$REG/conc:v1" >$T/p2 2>&1
r2=$?
wait $p1
r1=$?
ok concurrent-pulls '[ $r1 = 0 ] && [ $r2 = 0 ]'
check no-temporaries [ -z "$(ls -A $SUPERMACHINE_ROOT/tmp)" ]

# rmi removes names, images and unshared blobs
nb=$(ls $SUPERMACHINE_ROOT/blobs/sha256 | wc -l)
check rmi "$SM" rmi "$REG/conc:v1"
ok rmi-gc '[ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ] && [ -z "$(ls -A $SUPERMACHINE_ROOT/blobs/sha256)" ] && [ "$nb" -gt 0 ]'
out=$("$SM" rmi nothing:here 2>&1)
rc=$?
ok rmi-unknown '[ $rc = 1 ] && [ "$out" = "supermachine: remove nothing:here: no such image: nothing:here" ]'

# without root: ownership and mode recorded in the user.supermachine.owner
# xattr (here forced; the store picks it by itself when not root)
export SUPERMACHINE_ROOT=$T/store3
SUPERMACHINE_ROOTLESS=1 "$SM" pull -q "$REG/multi:v1" >/dev/null
R=$(rootfs_of "$REG/multi:v1")
ok rootless-owner-xattr '[ "$(python3 -c "import os; print(os.getxattr(\"$R/etc/hello\", \"user.supermachine.owner\").decode())")" = "123:456:0100644" ]'
ok rootless-setuid-xattr '[ "$(python3 -c "import os; print(os.getxattr(\"$R/etc/a\", \"user.supermachine.owner\").decode())")" = "0:0:0104755" ]'
ok rootless-inspect '"$SM" inspect "$REG/multi:v1" | grep -q "\"Ownership\": \"xattr\""'
finish
