#!/usr/bin/env bash
# Redirects: a registry that needs credentials answers blob GETs with a 307
# to another server (another port: another origin), as registries do to
# hand blobs to their storage. The pull follows them (the product's own
# redirect handling in src/oci/registry.c, not the proxy's), and the
# Authorization header must not reach the redirect target
# (docs/images.md, "Redirects").
. "$(dirname "$0")/../oci/lib.sh"
L=$T/layout
mkdir -p $T/src && echo moved >$T/src/m
new_image $L v1
add_layer $L v1 $T/src
mutate $L v1 'echo two >two'

htpasswd -Bbn alice wonderland >$T/htpasswd 2>/dev/null
start_registry "auth:
  htpasswd:
    realm: test
    path: $T/htpasswd" || { echo "FAIL oci-redirect-setup: no registry"; exit 1; }
push $L v1 priv:v1 --dest-creds alice:wonderland

# front: the registry's face, redirecting blobs; target: serves them from
# the layout umoci wrote (the same bytes the registry holds)
fp=$(free_port) tp=$(free_port)
python3 "$SM_TOP/tests/oci/redirect.py" target $tp $L/blobs/sha256 $T/target.log &
PIDS+=($!)
python3 "$SM_TOP/tests/oci/redirect.py" front $fp $REG 127.0.0.1:$tp $T/front.log &
PIDS+=($!)
wait_port $tp && wait_port $fp || { echo "FAIL oci-redirect-setup: no servers"; exit 1; }
touch $T/front.log $T/target.log
echo "{\"auths\":{\"127.0.0.1:$fp\":{\"auth\":\"$(printf alice:wonderland | base64)\"}}}" >$T/config.json
export DOCKER_CONFIG=$T

out=$("$SM" pull -q "127.0.0.1:$fp/priv:v1" 2>&1)
rc=$?
# the image's blobs (config and 2 layers) all came from the target
nblobs=$(skopeo inspect --raw --tls-verify=false --creds alice:wonderland "docker://$REG/priv:v1" |
	python3 -c 'import json,sys; m=json.load(sys.stdin); print(1 + len(m["layers"]))')
ok redirect-followed '[ $rc = 0 ] && [ "$(cat $(rootfs_of 127.0.0.1:$fp/priv:v1)/m)" = moved ] &&
	[ "$(cat $(rootfs_of 127.0.0.1:$fp/priv:v1)/two)" = two ] &&
	[ "$(grep -c "^GET /blobs/sha256:[0-9a-f]\{64\} " $T/target.log)" = "$nblobs" ]'
# the registry got the credentials on each blob GET it redirected, the
# target never (so the check sees a header that could have leaked)
ok redirect-no-auth '[ "$(grep -c "^GET /v2/priv/blobs/.* Basic$" $T/front.log)" -ge "$nblobs" ] &&
	[ "$(grep -c " -$" $T/target.log)" -ge "$nblobs" ] && ! grep -qv " -$" $T/target.log'
[ "${VERBOSE:-}" ] && { echo "$out"; cat $T/front.log $T/target.log; }
finish
