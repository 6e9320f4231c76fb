#!/usr/bin/env bash
# A VMM started without root (issue 15, docs/security.md "Rootless"): an
# unprivileged user loads an image and runs it; the VMM takes a user
# namespace of its own and jails its threads as a root VMM does. Looked
# at from the host: its uid, no capability (bounding set empty), filters,
# roots of their own, a user namespace whose uid 0 is the user's.
. "$(dirname "$0")/lib.sh"
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail rootless_images_prepared "SM_TEST_IMAGES/images.env missing: run tests/kvm/prepare DIR on the host (tests/run does)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
U=4242 # no such user: ids only
# everything the user needs, where it can reach it (the tree may sit
# under a directory it cannot enter)
chmod 711 "$TMP"
home=$TMP/home
mkdir -p "$home/bin"
cp "$SM" "$KERNEL" "$INITRD" "$home/bin/"
cp -r "$PULL_LAYOUT" "$home/layout"
run_dir=$(mktemp -d /run/sm-rootless.XXXXXX) # sockets: a tmpfs
chown -R $U:$U "$home" "$run_dir"
# /dev/kvm for the user: its group when that is not root's, else o+rw
# until the end
kvm_mode=$(stat -c %a /dev/kvm) kvm_gid=$(stat -c %g /dev/kvm)
groups=--clear-groups
if [ "$kvm_gid" != 0 ] && [ $((${kvm_mode: -2:1} & 6)) = 6 ]; then
	groups=--groups=$kvm_gid
else
	chmod o+rw /dev/kvm
fi
trap 'chmod "$kvm_mode" /dev/kvm; as_user "$home/bin/supermachine" rm -f rl >/dev/null 2>&1; rm -rf "$TMP" "$run_dir"' EXIT

as_user() {
	setpriv --reuid=$U --regid=$U $groups env HOME="$home" \
		SUPERMACHINE_ROOT="$home/store" SUPERMACHINE_RUNTIME="$run_dir" \
		SUPERMACHINE_KERNEL="$home/bin/vmlinux" \
		SUPERMACHINE_INITRD="$home/bin/initramfs.cpio" "$@"
}
usm() {
	as_user timeout 300 "$home/bin/supermachine" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
field() { awk -v k="$1:" '$1 == k { print $2 }' "$2" 2>/dev/null; }
# record_pid NAME: the pid in that container's record (foreground runs
# keep theirs too, so not just any record's)
record_pid() {
	local m; m=$(grep -l "\"name\": *\"$1\"" "$run_dir"/containers/*/meta 2>/dev/null | head -1)
	[ -n "$m" ] && grep -o '"pid": *[0-9]*' "$(dirname "$m")/state" 2>/dev/null | grep -o '[0-9]*$'
}

usm load -i "$home/layout" -t rootless/img:1
expect rootless_load '[ $rc = 0 ]' "load as uid $U"

mkdir -p "$home/vol" && chown $U:$U "$home/vol"
usm run --pull never -v "$home/vol:/v" rootless/img:1 sh -c 'echo hi; echo in-vol >/v/f; mkdir /v/d'
expect rootless_run '[ $rc = 0 ] && grep -qx hi "$TMP/out"' "run as uid $U"
expect rootless_volume_files_are_the_users '[ "$(stat -c %u:%g "$home/vol/f" "$home/vol/d" | sort -u)" = "$U:$U" ]' \
	"$(ls -ln "$home/vol" 2>&1)"

usm run -d --pull never --name rl rootless/img:1 sh -c 'echo up; sleep 600'
wait_for 120 'as_user "$home/bin/supermachine" logs rl 2>/dev/null | grep -q up'
pid=$(record_pid rl)
st=/proc/$pid/status
expect rootless_vmm_confined '[ -n "$pid" ] && [ "$(field Uid $st)" = $U ] && [ "$(field CapEff $st)" = 0000000000000000 ] &&
	[ "$(field CapBnd $st)" = 0000000000000000 ] && [ "$(field NoNewPrivs $st)" = 1 ] && [ "$(field Seccomp $st)" = 2 ] &&
	[ "$(readlink /proc/$pid/root)" != / ]' \
	"pid $pid: $(grep -E "^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):" $st 2>&1 | tr '\t\n' ' ') root=$(readlink /proc/$pid/root)"
expect rootless_vmm_user_namespace '[ -n "$pid" ] && [ "$(readlink /proc/$pid/ns/user)" != "$(readlink /proc/self/ns/user)" ] &&
	[ "$(tr -s " " </proc/$pid/uid_map)" = " 0 $U 1" ]' \
	"ns $(readlink /proc/$pid/ns/user) (ours $(readlink /proc/self/ns/user)), uid_map $(cat /proc/$pid/uid_map 2>&1)"
# every thread: filtered, its own root, no capability but a FUSE
# worker's file ones (in the namespace only), each worker in its share
bad= fuse=0
for t in /proc/$pid/task/*; do
	cap=$(field CapEff $t/status) root=$(readlink $t/root)
	[ "$(field Seccomp $t/status)" = 2 ] || bad="$bad ${t##*/}:filter"
	[ -n "$root" ] && [ "$root" != / ] || bad="$bad ${t##*/}:root=$root"
	case $cap in
	0000000000000000) ;;
	000000000000001f) fuse=$((fuse + 1)) ;;
	*) bad="$bad ${t##*/}:cap=$cap" ;;
	esac
done
expect rootless_every_thread '[ -d /proc/$pid/task ] && [ -z "$bad" ] && [ $fuse -ge 1 ]' \
	"threads out of their jail:$bad; $fuse with the file capabilities"
usm exec rl echo in-rootless
expect rootless_exec '[ $rc = 0 ] && grep -qx in-rootless "$TMP/out"' "exec"
usm snapshot rl "$home/snap"
expect rootless_snapshot '[ $rc = 0 ] && [ "$(stat -c %u "$home/snap/state")" = $U ]' "snapshot: $(ls -ln "$home/snap" 2>&1 | tr '\n' ' ')"
usm restore "$home/snap" echo restored
expect rootless_restore '[ $rc = 0 ] && grep -qx restored "$TMP/out"' "restore DIR CMD"
usm rm -f rl

usm run -d --pull never --name rloff --security-opt jail=off rootless/img:1 sh -c 'echo up; sleep 600'
wait_for 120 'as_user "$home/bin/supermachine" logs rloff 2>/dev/null | grep -q up'
opid=$(record_pid rloff)
expect rootless_jail_off_no_namespace '[ -n "$opid" ] && [ "$(readlink /proc/$opid/ns/user)" = "$(readlink /proc/self/ns/user)" ]' \
	"jail=off: ns $(readlink /proc/$opid/ns/user 2>&1)"
usm rm -f rloff
