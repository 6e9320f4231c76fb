#!/usr/bin/env bash
# Registry auth: Basic (docker-registry's htpasswd mode) and the Bearer
# token flow (docker-registry's token mode with tests/oci/tokenserver.py),
# credentials from ~/.docker/config.json or given explicitly.
. "$(dirname "$0")/../oci/lib.sh"
L=$T/layout
mkdir -p $T/src && echo secret >$T/src/s
new_image $L v1
add_layer $L v1 $T/src
mkdir -p $HOME/.docker

# --- Basic
htpasswd -Bbn alice wonderland >$T/htpasswd 2>/dev/null
start_registry "auth:
  htpasswd:
    realm: test
    path: $T/htpasswd" || { echo "FAIL oci-auth-setup: no registry"; exit 1; }
push $L v1 priv:v1 --dest-creds alice:wonderland
out=$("$SM" pull "$REG/priv:v1" 2>&1)
rc=$?
ok basic-anonymous-refused '[ $rc = 125 ] && echo "$out" | grep -q "^supermachine: pull $REG/priv:v1: .*authentication required" &&
	[ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ]'
echo "{\"auths\":{\"$REG\":{\"auth\":\"$(printf alice:wonderland | base64)\"}}}" >$HOME/.docker/config.json
ok basic-docker-config '"$SM" pull -q "$REG/priv:v1" && [ "$(cat $(rootfs_of $REG/priv:v1)/s)" = secret ]'
echo "{\"auths\":{\"http://$REG\":{\"auth\":\"$(printf alice:wrong | base64)\"}}}" >$HOME/.docker/config.json
out=$(SUPERMACHINE_ROOT=$T/s2 "$SM" pull "$REG/priv:v1" 2>&1)
rc=$?
ok basic-bad-password '[ $rc = 125 ] && echo "$out" | grep -q "^supermachine: pull $REG/priv:v1: .*HTTP 401" &&
	[ -z "$(ls -A $T/s2/images)" ]'
# $DOCKER_CONFIG/config.json is read instead of ~/.docker/config.json
# (which still holds the wrong password: the pull fails if that is used)
mkdir -p $T/dc
echo "{\"auths\":{\"$REG\":{\"auth\":\"$(printf alice:wonderland | base64)\"}}}" >$T/dc/config.json
out=$(DOCKER_CONFIG=$T/dc SUPERMACHINE_ROOT=$T/s4 "$SM" pull -q "$REG/priv:v1" 2>&1)
rc=$?
ok basic-docker-config-env '[ $rc = 0 ] && [ "$(cat $(SUPERMACHINE_ROOT=$T/s4 rootfs_of $REG/priv:v1)/s)" = secret ]'
rm -f $HOME/.docker/config.json
kill "${PIDS[-1]}"

# --- Bearer
openssl req -x509 -newkey rsa:2048 -nodes -keyout $T/key.pem -out $T/cert.pem \
	-days 1 -subj /CN=token >/dev/null 2>&1
tp=$(free_port)
python3 "$SM_TOP/tests/oci/tokenserver.py" $tp $T/key.pem $T/cert.pem bob:builder 2 $T/tokens.log &
PIDS+=($!)
wait_port $tp
start_registry "auth:
  token:
    realm: http://127.0.0.1:$tp/token
    service: test-registry
    issuer: test-issuer
    rootcertbundle: $T/cert.pem" || { echo "FAIL oci-auth-setup: no registry"; exit 1; }
# the image: many small layers, so the 2 s tokens expire mid-pull
for i in 1 2 3 4 5 6; do mutate $L v1 "echo $i >f$i"; done
push $L v1 tok:v1 --dest-creds bob:builder
export SUPERMACHINE_ROOT=$T/s3
out=$("$SM" pull "$REG/tok:v1" 2>&1)
rc=$?
ok bearer-no-creds '[ $rc = 125 ] && echo "$out" | grep -q "^supermachine: pull $REG/tok:v1: .*token.*401" &&
	[ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ]'
echo "{\"auths\":{\"$REG\":{\"username\":\"bob\",\"password\":\"builder\"}}}" >$HOME/.docker/config.json
: >$T/tokens.log
out=$("$SM" pull "$REG/tok:v1" 2>&1)
rc=$?
ok bearer-pull '[ $rc = 0 ] && [ "$(cat $(rootfs_of $REG/tok:v1)/f6)" = 6 ] && grep -q "^ok repository:tok:pull" $T/tokens.log'
[ "${VERBOSE:-}" ] && { echo "$out"; cat $T/tokens.log; }
finish
