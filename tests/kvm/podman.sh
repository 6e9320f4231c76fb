#!/usr/bin/env bash
# podman with supermachine-oci as its runtime (issue 18, docs/oci-runtime.md):
# a busybox image imported into a scratch podman store, then podman's own
# commands — run --rm with exit codes and both streams, -t through the
# console socket, -v, -d with exec, kill with a signal the process traps,
# stop, rm — each container a VM (uname -r is the guest kernel's, not the
# host's). podman is Debian's (4.3); its state lives on a tmpfs.
# conmon binds its console socket in /tmp (podman passes it no TMPDIR),
# and the emulated host's /tmp is 9p, which refuses sockets: this script
# runs in a mount namespace of its own with a tmpfs on /tmp, /tmp's
# directories bound back into it
if [ -z "${SM_PODMAN_NS:-}" ] && [ "$(stat -f -c %T /tmp)" != tmpfs ]; then
	SM_PODMAN_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
if [ -n "${SM_PODMAN_NS:-}" ]; then
	orig_tmp=$(mktemp -d /run/sm-tmp.XXXXXX)
	mount --bind /tmp "$orig_tmp" && mount -t tmpfs tmpfs /tmp
	for d in "$orig_tmp"/*/ "$orig_tmp"/.[!.]*/; do
		[ -d "$d" ] || continue
		n=$(basename "$d")
		mkdir -p "/tmp/$n" && mount --bind "$d" "/tmp/$n"
	done
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engines-lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
OCI=$SM_BUILD/supermachine-oci
if ! command -v podman >/dev/null; then
	for c in podman_import podman_run_uname podman_run_status podman_run_streams podman_tty podman_volume podman_detach_exec podman_exec_tty podman_runtime_pid podman_kill_signal podman_stop podman_rm; do
		fail "$c" "podman is not installed (tools/setup)"
	done
	exit 1
fi
# podman's state and the VMs' records hold sockets: a tmpfs
P=$(mktemp -d /run/sm-podman.XXXXXX)
export SUPERMACHINE_RUNTIME=$P/records TMPDIR=$P/tmp
mkdir -p "$TMPDIR" "$SUPERMACHINE_RUNTIME"
trap 'timeout 120 "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1; rm -rf "$P" "$TMP"' EXIT
# cgroup v2 where the host mounted none (podman's cgroupfs manager wants one)
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
podman_scratch "$P" default
# pm ARGS...: podman's stdout in $TMP/out, stderr in $TMP/err, $rc
pm() {
	timeout -k 10 300 "${PODMAN[@]}" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

busybox_rootfs "$TMP/rootfs"
tar -C "$TMP/rootfs" -cf "$TMP/rootfs.tar" .
pm import "$TMP/rootfs.tar" localhost/smbb:latest
expect podman_import '[ $rc = 0 ]' "podman import"
IMG=localhost/smbb:latest
host_release=$(uname -r)

pm run --rm --network none $IMG uname -r
guest_release=$(cat "$TMP/out")
kernel_release=$(grep -a -m1 -o "Linux version [^ ]*" "$KERNEL" | cut -d" " -f3)
expect podman_run_uname '[ $rc = 0 ] && [ "$guest_release" = "$kernel_release" ] && [ "$guest_release" != "$host_release" ]' \
	"the container's uname -r ($guest_release) must be the guest kernel's ($kernel_release), not the host's ($host_release)"

pm run --rm --network none $IMG sh -c 'exit 7'
expect podman_run_status '[ $rc = 7 ]' "podman run's status must be the process's (7)"

pm run --rm --network none $IMG sh -c 'echo to-out; echo to-err >&2; echo "host=$(cat /etc/hostname)"'
expect podman_run_streams '[ $rc = 0 ] && grep -qx to-out "$TMP/out" && grep -qx to-err "$TMP/err" && grep -qx "host=[0-9a-f]\{12\}" "$TMP/out" && [ $(wc -l <"$TMP/out") = 2 ]' \
	"stdout and stderr apart, and podman's /etc/hostname bind"

# -t: conmon's console socket gets our pty's master
pm run --rm -t --network none $IMG sh -c 'tty; stty size'
expect podman_tty '[ $rc = 0 ] && grep -q "^/dev/pts/" "$TMP/out"' "-t: the process must have a terminal"

mkdir -p "$TMP/vol"
echo from-host >"$TMP/vol/in"
pm run --rm --network none -v "$TMP/vol:/data" $IMG sh -c 'cat /data/in; echo from-guest >/data/out'
expect podman_volume '[ $rc = 0 ] && grep -qx from-host "$TMP/out" && [ "$(cat "$TMP/vol/out" 2>/dev/null)" = from-guest ]' \
	"-v: the guest reads the host's file and its write lands on the host"

pm run -d --name smd --network none $IMG sh -c 'trap "echo got-usr1; exit 3" USR1; while :; do sleep 1; done'
pm exec smd sh -c 'echo in-exec; uname -r'
expect podman_detach_exec '[ $rc = 0 ] && grep -qx in-exec "$TMP/out" && grep -qx "$guest_release" "$TMP/out"' \
	"exec in a detached container's VM"
pm exec -t smd tty
expect podman_exec_tty '[ $rc = 0 ] && grep -q "^/dev/pts/" "$TMP/out"' "exec -t: a terminal through the console socket"
pm inspect --format '{{.State.Pid}}' smd
podman_pid=$(cat "$TMP/out")
expect podman_runtime_pid '[ -n "$podman_pid" ] && [ -r "/proc/$podman_pid/comm" ] && grep -q supermachine "/proc/$podman_pid/comm"' \
	"the pid podman holds must be the VM's process (supermachine-oci), is $podman_pid ($(cat /proc/$podman_pid/comm 2>/dev/null))"
sleep 1
pm kill -s USR1 smd
pm wait smd
status=$(cat "$TMP/out")
pm logs smd
expect podman_kill_signal '[ "$status" = 3 ] && grep -qx got-usr1 "$TMP/out"' \
	"podman kill -s USR1 must reach the process's trap (status $status)"

pm run -d --name sms --network none $IMG sleep 1000
pm stop -t 5 sms
pm inspect --format '{{.State.ExitCode}}' sms
expect podman_stop '[ "$(cat "$TMP/out")" = 143 ]' "podman stop: SIGTERM ends sleep (143)"
pm rm smd sms
expect podman_rm '[ $rc = 0 ] && [ -z "$(ls /run/supermachine-oci 2>/dev/null)" ]' \
	"podman rm: the runtime's state goes ($(ls /run/supermachine-oci 2>/dev/null))"
