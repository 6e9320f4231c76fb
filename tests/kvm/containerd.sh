#!/usr/bin/env bash
# containerd with supermachine-oci as the runc its shim calls (issue 18,
# docs/oci-runtime.md): Debian's containerd 1.6 started here on a scratch
# root (CRI off), a busybox image imported as a docker archive made here,
# and `ctr run --runc-binary` (the io.containerd.runc.v2 shim, the one a
# Kubernetes RuntimeClass uses with BinaryName): the guest kernel's
# uname -r, exit status, both streams, a detached task with `ctr task
# exec`, `ctr task kill`, and delete leaving no runtime state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engines-lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
OCI=$SM_BUILD/supermachine-oci
checks="ctrd_import ctrd_run_uname ctrd_run_status ctrd_run_streams ctrd_task_exec ctrd_task_kill ctrd_delete_clean"
if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
	for c in $checks; do fail "$c" "containerd is not installed (tools/setup)"; done
	exit 1
fi
# containerd's socket, the shims' and the records' sockets: a tmpfs
C=$(mktemp -d /run/sm-ctrd.XXXXXX)
export SUPERMACHINE_RUNTIME=$C/records
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
cat >"$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C/containerd.sock"
EOF
containerd --config "$C/config.toml" >"$C/containerd.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$C" "$TMP"' EXIT
CTR=(ctr --address "$C/containerd.sock")
# c ARGS...: ctr's stdout in $TMP/out, stderr in $TMP/err, status in $rc
c() {
	timeout -k 10 300 "${CTR[@]}" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
kernel_release=$(grep -a -m1 -o "Linux version [^ ]*" "$KERNEL" | cut -d" " -f3)

busybox_rootfs "$TMP/rootfs"
docker_archive "$TMP/rootfs" "$TMP/image.tar" localhost/smbb:latest
wait_for 30 '[ -S "$C/containerd.sock" ]'
c images import --snapshotter native "$TMP/image.tar"
expect ctrd_import '[ $rc = 0 ]' "ctr images import (containerd log: $(tail -c 300 "$C/containerd.log"))"
IMG=localhost/smbb:latest
RUN=(run --rm --snapshotter native --runc-binary "$OCI" "$IMG")

c "${RUN[@]}" u1 uname -r
expect ctrd_run_uname '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = "$kernel_release" ] && [ "$kernel_release" != "$(uname -r)" ]' \
	"ctr run: uname -r must be the guest kernel's ($kernel_release)"
c "${RUN[@]}" s1 sh -c 'exit 7'
expect ctrd_run_status '[ $rc = 7 ]' "ctr run: the process's status (7)"
c "${RUN[@]}" o1 sh -c 'echo to-out; echo to-err >&2'
expect ctrd_run_streams '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = to-out ] && [ "$(cat "$TMP/err")" = to-err ]' "stdout and stderr apart"

c run -d --snapshotter native --runc-binary "$OCI" "$IMG" d1 sh -c 'trap "exit 3" TERM; while :; do sleep 1; done'
wait_for 120 '"${CTR[@]}" task ls 2>/dev/null | grep -q "^d1 .*RUNNING"'
running_state=$(ls /run/containerd/runc/default 2>/dev/null | tr '\n' ' ')
c task exec --exec-id e1 d1 sh -c 'echo in-exec; uname -r'
expect ctrd_task_exec '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = "$(printf "in-exec\n%s" "$kernel_release")" ]' "ctr task exec in the running VM"
c task kill -s SIGTERM d1
wait_for 120 '"${CTR[@]}" task ls 2>/dev/null | grep -q "^d1 .*STOPPED"'
c task ls
expect ctrd_task_kill 'grep -q "^d1 .*STOPPED" "$TMP/out"' "ctr task kill: the trap ends the process"
c task delete d1
d=$rc
c container delete d1
expect ctrd_delete_clean '[ $d = 0 ] && [ $rc = 0 ] && [ "$running_state" = "d1 " ] && [ -z "$(ls /run/containerd/runc/default 2>/dev/null)" ]' \
	"task and container deleted: the runtime's state (the shim's --root; was: $running_state) goes ($(ls /run/containerd/runc/default 2>/dev/null))"
