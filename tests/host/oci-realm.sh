#!/usr/bin/env bash
# Where registry credentials go in the Bearer token flow
# (docs/images.md, "Auth"): a docker-registry in token mode whose realm is
# tests/oci/realm.py, a hostile token server that logs whether each request
# carried an Authorization header.
#   foreign-http  realm on plain http on another loopback host (127.0.0.2):
#                 asked anonymously, never given the Basic credentials
#   same-host     the control: the same server on the registry's host (another
#                 port) does get them, so the log would show a leak
#   bad-scheme    a registry whose challenge names an ftp: realm: refused
#                 before any request
#   long-realm    a realm over 1024 bytes: the challenge is refused
. "$(dirname "$0")/../oci/lib.sh"
L=$T/layout
mkdir -p $T/src && echo secret >$T/src/s
new_image $L v1
add_layer $L v1 $T/src
start_registry || { echo "FAIL oci-realm-setup: no registry"; exit 1; }
push $L v1 tok:v1 || { echo "FAIL oci-realm-setup: push"; exit 1; }
kill "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout $T/key.pem -out $T/cert.pem \
	-days 1 -subj /CN=token >/dev/null 2>&1
mkdir -p $HOME/.docker

wait_addr() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# pull_via_realm NAME ADDR: realm.py on ADDR as the registry's token realm
# (the registry keeps its data), then a pull with credentials for the
# registry; sets rc, out; the realm's log is $T/realm.NAME
pull_via_realm() {
	local rp=$(free_port)
	: >$T/realm.$1
	python3 "$SM_TOP/tests/oci/realm.py" $2 $rp $T/realm.$1 &
	PIDS+=($!)
	wait_addr $2 $rp || return 1
	start_registry "auth:
  token:
    realm: http://$2:$rp/token
    service: test-registry
    issuer: test-issuer
    rootcertbundle: $T/cert.pem" || return 1
	echo "{\"auths\":{\"$REG\":{\"username\":\"bob\",\"password\":\"builder\"}}}" \
		>$HOME/.docker/config.json
	out=$(SUPERMACHINE_ROOT=$T/store.$1 "$SM" pull "$REG/tok:v1" 2>&1)
	rc=$?
	kill "${PIDS[-1]}" "${PIDS[-2]}"
}
# requests the realm got: all, and those with an Authorization header
asked() { grep -c '^GET /token?' $T/realm.$1; }
given() { grep -vc ' -$' $T/realm.$1; }

if pull_via_realm foreign 127.0.0.2; then
	ok realm-foreign-http-anonymous '[ $rc = 125 ] && [ $(asked foreign) -ge 1 ] &&
		[ $(given foreign) = 0 ] && echo "$out" | grep -q "credentials withheld"'
else echo "FAIL realm-foreign-http-anonymous: setup"; fi
if pull_via_realm same 127.0.0.1; then
	ok realm-same-host-gets-creds '[ $rc = 125 ] && [ $(asked same) -ge 1 ] &&
		[ $(given same) = $(asked same) ] && grep -q " Basic$" $T/realm.same'
else echo "FAIL realm-same-host-gets-creds: setup"; fi
[ "${VERBOSE:-}" ] && cat $T/realm.foreign $T/realm.same

# a registry face whose challenge is hostile; what it is asked is logged
# in $T/face.NAME (the long realm names the face itself: a request for
# /aaaa... would be a fetch of it, whole or cut short)
# hostile_face NAME PORT CHALLENGE
hostile_face() {
	local fp=$2
	: >$T/face.$1
	python3 "$SM_TOP/tests/oci/realm.py" 127.0.0.1 $fp $T/face.$1 "$3" &
	PIDS+=($!)
	wait_addr 127.0.0.1 $fp || return 1
	echo "{\"auths\":{\"127.0.0.1:$fp\":{\"username\":\"bob\",\"password\":\"builder\"}}}" \
		>$HOME/.docker/config.json
	out=$(SUPERMACHINE_ROOT=$T/store.$1 "$SM" pull "127.0.0.1:$fp/tok:v1" 2>&1)
	rc=$?
	kill "${PIDS[-1]}"
}
fp=$(free_port)
if hostile_face scheme $fp "Bearer realm=\"ftp://127.0.0.1:$fp/token\",service=x"; then
	ok realm-bad-scheme-refused '[ $rc = 125 ] && echo "$out" | grep -q "token realm refused: not an http(s) URL"'
else echo "FAIL realm-bad-scheme-refused: setup"; fi
fp=$(free_port)
if hostile_face long $fp "Bearer realm=\"http://127.0.0.1:$fp/$(head -c 1100 /dev/zero | tr '\0' a)\""; then
	ok realm-long-refused '[ $rc = 125 ] && echo "$out" | grep -q "challenge over" &&
		! grep -q "^GET /aaaa" $T/face.long'
else echo "FAIL realm-long-refused: setup"; fi
finish
