#!/usr/bin/env bash
# Bearer tokens that expire mid-pull, against docker-registry's token mode
# and tests/oci/tokenserver.py, with tests/oci/faultproxy.py holding each
# blob answer so that the pull outlives its token:
#   client-expiry  the token server says expires_in=1: we must fetch a new
#                  token before using the old one again (no 401 on blobs)
#   server-expiry  the token server says expires_in=300, but the JWT dies
#                  at the registry after ~2 s: blobs get a 401, we must
#                  answer it with a fresh token and carry on
. "$(dirname "$0")/../oci/lib.sh"
L=$T/layout
new_image $L v1
for i in 1 2 3 4; do
	mkdir -p $T/l$i && head -c 20000 /dev/urandom >$T/l$i/f$i
	add_layer $L v1 $T/l$i
done
# pushed once, without auth: a push with 2 s tokens could outlive them
start_registry || { echo "FAIL token-setup: no registry"; exit 1; }
push $L v1 tok:v1 || { echo "FAIL token-setup: push"; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout $T/key.pem -out $T/cert.pem \
	-days 1 -subj /CN=token >/dev/null 2>&1

# with_tokens NAME EXPIRES_IN [EXP]: token server + registry + slow proxy,
# then a pull through the proxy; sets rc, out, P (proxy address)
with_tokens() {
	local tp pp p
	for p in "${PIDS[@]}"; do kill $p && wait $p; done 2>/dev/null
	PIDS=()
	tp=$(free_port)
	: >$T/tokens.$1
	python3 "$SM_TOP/tests/oci/tokenserver.py" $tp $T/key.pem $T/cert.pem \
		bob:builder "$2" $T/tokens.$1 ${3:-} &
	PIDS+=($!)
	wait_port $tp || return 1
	start_registry "auth:
  token:
    realm: http://127.0.0.1:$tp/token
    service: test-registry
    issuer: test-issuer
    rootcertbundle: $T/cert.pem" || return 1
	pp=$(free_port)
	: >$T/proxy.$1
	FAULTPROXY_DELAY=1.5 python3 "$SM_TOP/tests/oci/faultproxy.py" $pp $REG \
		pass $T/proxy.$1 &
	PIDS+=($!)
	wait_port $pp || return 1
	P=127.0.0.1:$pp
	echo "{\"auths\":{\"$P\":{\"username\":\"bob\",\"password\":\"builder\"}}}" \
		>$HOME/.docker/config.json
	export SUPERMACHINE_ROOT=$T/store.$1
	out=$("$SM" pull -j 1 "$P/tok:v1" 2>&1)
	rc=$?
}
mkdir -p $HOME/.docker
# tokens fetched; blob answers that were 200 and 401
hits() { grep -c '^ok ' $T/tokens.$1; }
blobs() { awk -v s=$2 '$4 == s' $T/proxy.$1 | wc -l; }
content() { [ "$(cat "$(rootfs_of $P/tok:v1)/f4")" = "$(cat $T/l4/f4)" ]; }

if with_tokens client 1; then
ok token-client-expiry-pull '[ $rc = 0 ] && content'
ok token-client-expiry-refreshed '[ $(hits client) -ge 2 ] && [ $(blobs client 200) = 5 ] && [ $(blobs client 401) = 0 ]'
[ "${VERBOSE:-}" ] && { echo "$out"; cat $T/tokens.client $T/proxy.client; }
else echo "FAIL token-setup: client-expiry"; fi

# EXP -57: the registry allows 60 s of clock skew, so the JWT lives 2-3 s
if with_tokens server 300 -57; then
ok token-server-expiry-pull '[ $rc = 0 ] && content'
ok token-server-expiry-refreshed '[ $(hits server) -ge 2 ] && [ $(blobs server 200) = 5 ] && [ $(blobs server 401) -ge 1 ]'
[ "${VERBOSE:-}" ] && { echo "$out"; cat $T/tokens.server $T/proxy.server; }
else echo "FAIL token-setup: server-expiry"; fi
finish
