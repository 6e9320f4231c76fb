#!/usr/bin/env bash
# rmi of an image a running VM uses (issue 20; docs/images.md, "In use"):
# a VM holds its image with a shared flock on ROOT/images/HEX for its
# life, so here a flock(1) holder stands in for the VM (tests/kvm/
# containers.sh does it with a real one). docker's answers: rmi refuses
# (exit 1, "conflict"), rmi -f untags and the image stays until the last
# holder is gone; a name among several goes freely.
. "$(dirname "$0")/../oci/lib.sh"
L=$T/layout
mkdir -p $T/src/etc && echo used >$T/src/etc/msg
new_image $L v1
add_layer $L v1 $T/src
skopeo copy -q oci:$L:v1 docker-archive:$T/a.tar:localhost/inuse:v1 >/dev/null
"$SM" load -i $T/a.tar >/dev/null
rootfs=$(rootfs_of localhost/inuse:v1)
dir=${rootfs%/rootfs}
(exec 9<"$dir" && flock -s 9 && exec sleep 600) &
holder=$!
PIDS+=($holder)
for _ in $(seq 50); do
	flock -n -x "$dir" true 2>/dev/null || break
	sleep 0.1
done

out=$("$SM" rmi localhost/inuse:v1 2>&1); rc=$?
ok rmi-in-use-conflict '[ $rc = 1 ] && echo "$out" | grep -q "conflict: unable to remove repository reference" &&
	echo "$out" | grep -q "must force"'
ok rmi-in-use-keeps-name '"$SM" images | grep -q "localhost/inuse"'
id=$("$SM" inspect localhost/inuse:v1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"][7:19])')
out=$("$SM" rmi "$id" 2>&1); rc=$?
ok rmi-in-use-by-id-conflict '[ $rc = 1 ] && echo "$out" | grep -q conflict'

# a second name: removing one leaves the image named, so no conflict
skopeo copy -q oci:$L:v1 docker-archive:$T/b.tar:localhost/inuse2:v1 >/dev/null
"$SM" load -i $T/b.tar >/dev/null
out=$("$SM" rmi localhost/inuse2:v1 2>&1); rc=$?
ok rmi-other-name-free '[ $rc = 0 ] && [ "$out" = "Untagged: localhost/inuse2:v1" ]'

out=$("$SM" rmi -f localhost/inuse:v1 2>&1); rc=$?
ok rmi-force-untags '[ $rc = 0 ] && [ "$out" = "Untagged: localhost/inuse:v1" ] &&
	! "$SM" images | grep -q localhost/inuse'
ok rmi-force-keeps-rootfs-in-use '[ "$(cat "$rootfs/etc/msg")" = used ]'

# the holder ends: the next removal collects the nameless image
kill $holder; wait $holder 2>/dev/null
mkdir -p $T/src2 && echo other >$T/src2/x
new_image $L v2
add_layer $L v2 $T/src2
skopeo copy -q oci:$L:v2 docker-archive:$T/c.tar:localhost/other:v2 >/dev/null
"$SM" load -i $T/c.tar >/dev/null
"$SM" rmi localhost/other:v2 >/dev/null 2>&1
ok rmi-collects-after-last-holder '[ ! -e "$dir" ]'
finish
