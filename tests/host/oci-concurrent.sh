#!/usr/bin/env bash
# Two processes pulling the same image into the same store at the same time
# download each blob once: tests/oci/faultproxy.py, in front of a real
# registry, counts the blob GETs and holds each answer so the pulls overlap.
# The control (two different stores) shows that the count sees duplicates.
. "$(dirname "$0")/../oci/lib.sh"
start_registry || { echo "FAIL oci-concurrent-setup: no registry"; exit 1; }
L=$T/layout
new_image $L v1
for i in 1 2 3 4; do
	mkdir -p $T/l$i && head -c 100000 /dev/urandom >$T/l$i/f$i
	add_layer $L v1 $T/l$i
done
push $L v1 c:v1
pp=$(free_port)
: >$T/proxy.log
FAULTPROXY_DELAY=0.5 python3 "$SM_TOP/tests/oci/faultproxy.py" $pp $REG pass \
	$T/proxy.log &
PIDS+=($!)
wait_port $pp || { echo "FAIL oci-concurrent-setup: no proxy"; exit 1; }
ref=127.0.0.1:$pp/c:v1
nblobs=5 # config + 4 layers

# both STORE1 STORE2: two pulls started together; sets r1 r2, t (seconds)
both() {
	local p1 t0=$EPOCHREALTIME
	: >$T/proxy.log
	SUPERMACHINE_ROOT=$1 "$SM" pull -q "$ref" >$T/p1 2>&1 &
	p1=$!
	SUPERMACHINE_ROOT=$2 "$SM" pull -q "$ref" >$T/p2 2>&1
	r2=$?
	wait $p1
	r1=$?
	t=$(python3 -c "print(int($EPOCHREALTIME - $t0))")
}
gets() { awk '$3 == "GET" && $4 == 200' $T/proxy.log | wc -l; }
dups() { awk '$3 == "GET" && $4 == 200 { print $5 }' $T/proxy.log | sort | uniq -d | wc -l; }
same() { diff -r "$(SUPERMACHINE_ROOT=$1 rootfs_of $ref)" "$(SUPERMACHINE_ROOT=$2 rootfs_of $ref)"; }

both $T/s1 $T/s2
ok concurrent-control-downloads-twice '[ $r1 = 0 ] && [ $r2 = 0 ] && [ $(gets) = $((2 * nblobs)) ] && [ $(dups) = $nblobs ]'

both $T/shared $T/shared
ok concurrent-pulls-succeed '[ $r1 = 0 ] && [ $r2 = 0 ] && same $T/shared $T/s1'
ok concurrent-each-blob-once '[ $(gets) = $nblobs ] && [ $(dups) = 0 ]'
ok concurrent-store-clean '[ -z "$(ls -A $T/shared/tmp)" ] && [ $(ls $T/shared/images | wc -l) = 1 ] && "$SM" --root $T/shared images | grep -q "c *v1"'
[ "${VERBOSE:-}" ] && { cat $T/p1 $T/p2 $T/proxy.log; }
finish
