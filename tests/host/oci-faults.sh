#!/usr/bin/env bash
# Network faults between us and a real registry (through a fault proxy):
# broken downloads resume or restart, 5xx and 429 are retried, a corrupt
# blob fails the pull and leaves nothing in the store.
. "$(dirname "$0")/../oci/lib.sh"
start_registry || { echo "FAIL oci-faults-setup: no registry"; exit 1; }
L=$T/layout
mkdir -p $T/src && head -c 300000 /dev/urandom >$T/src/blob.bin
new_image $L v1
add_layer $L v1 $T/src
push $L v1 f:v1
sum=$(sha256sum $T/src/blob.bin | cut -d' ' -f1)

# through MODE: starts the proxy, pulls with a fresh store; sets out, rc
through() {
	local port
	port=$(free_port)
	: >$T/log.$1
	python3 "$SM_TOP/tests/oci/faultproxy.py" $port $REG $1 $T/log.$1 &
	PIDS+=($!)
	wait_port $port
	export SUPERMACHINE_ROOT=$T/store.$1
	start=$(date +%s.%N)
	out=$("$SM" pull "127.0.0.1:$port/f:v1" 2>&1)
	rc=$?
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	R=$SUPERMACHINE_ROOT/images/*/rootfs
}
intact() { [ "$(sha256sum $R/blob.bin | cut -d' ' -f1)" = $sum ]; }
empty_store() {
	[ -z "$(ls -A $SUPERMACHINE_ROOT/images)" ] &&
		[ -z "$(ls -A $SUPERMACHINE_ROOT/tmp)" ] &&
		! ls $SUPERMACHINE_ROOT/blobs/sha256 | grep -q "${1#sha256:}"
}

through drop
ok fault-drop-resumes '[ $rc = 0 ] && intact && grep -q "bytes=" $T/log.drop'
through norange
ok fault-drop-restarts '[ $rc = 0 ] && intact && [ $(wc -l <$T/log.norange) -ge 2 ]'
through 500
ok fault-500-retried '[ $rc = 0 ] && intact && [ $(wc -l <$T/log.500) -ge 3 ]'
through 429
ok fault-429-retry-after '[ $rc = 0 ] && intact && [ $(echo "$secs >= 1" | bc) = 1 ]'
through corrupt
layer=$(echo "$out" | grep -o 'blob sha256:[0-9a-f]*' | head -1 | cut -d' ' -f2)
ok fault-corrupt-fails '[ $rc = 125 ] && echo "$out" | grep -q "digest mismatch" && [ -n "$layer" ] && empty_store $layer && ! "$SM" images | grep -q f'
[ "${VERBOSE:-}" ] && echo "$out"

# Layers unpack while later ones download: a multi-layer image whose last
# layer arrives late (1 s) and corrupt. The first layers are unpacked by
# then; the pull must still fail, name the blob, and leave no image, no
# temporaries and no copy of that blob.
L2=$T/layout2
new_image $L2 v1
for i in 1 2 3; do
	mkdir -p $T/m$i && head -c 100000 /dev/urandom >$T/m$i/f$i
	add_layer $L2 v1 $T/m$i
done
push $L2 v1 m:v1
mf=$(skopeo inspect --raw --tls-verify=false docker://$REG/m:v1)
first=$(echo "$mf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
last=$(echo "$mf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][-1]["digest"])')
port=$(free_port)
: >$T/log.late
FAULTPROXY_ONLY=$last FAULTPROXY_DELAY=1 python3 "$SM_TOP/tests/oci/faultproxy.py" \
	$port $REG corrupt $T/log.late &
PIDS+=($!)
wait_port $port
export SUPERMACHINE_ROOT=$T/store.late
out=$("$SM" pull "127.0.0.1:$port/m:v1" 2>&1)
rc=$?
ok fault-late-layer-overlap 'echo "$out" | grep -q "^${first:7:12}: Pull complete"'
ok fault-late-layer-fails '[ $rc = 125 ] && echo "$out" | grep -q "blob $last.*digest mismatch" && empty_store $last'
[ "${VERBOSE:-}" ] && { echo "$out"; cat $T/log.late; }
finish
