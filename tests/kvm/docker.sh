#!/usr/bin/env bash
# docker with supermachine-oci as a runtime of daemon.json's `runtimes`
# (issue 18, docs/oci-runtime.md): Debian's dockerd 20.10 started here on a
# scratch data root (no iptables, no bridge: the emulated host has no
# netfilter or bridge modules; vfs storage), a busybox image loaded as a
# docker archive made here, and `docker run --runtime supermachine`: the
# guest kernel's uname -r, exit status, both streams, -d with exec,
# stop, rm.
# dockerd writes /etc/docker/key.json, read-only in the emulated host:
# a mount namespace of this script's own with a tmpfs there
if [ -z "${SM_DOCKER_NS:-}" ]; then
	SM_DOCKER_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
mkdir -p /etc/docker 2>/dev/null
mount -t tmpfs tmpfs /etc/docker
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engines-lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
OCI=$SM_BUILD/supermachine-oci
checks="docker_load docker_run_uname docker_run_status docker_run_streams docker_exec docker_stop docker_rm"
if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ]; then
	for c in $checks; do fail "$c" "docker.io is not installed (tools/setup)"; done
	exit 1
fi
# the daemon's sockets, containerd's and the records': a tmpfs
D=$(mktemp -d /run/sm-docker.XXXXXX)
export SUPERMACHINE_RUNTIME=$D/records
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
docker_scratch "$D"
trap 'kill $DOCKERD 2>/dev/null; wait $DOCKERD 2>/dev/null; rm -rf "$D" "$TMP"' EXIT
# d ARGS...: docker's stdout in $TMP/out, stderr in $TMP/err, $rc
d() {
	timeout -k 10 300 "${DOCKER[@]}" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
kernel_release=$(grep -a -m1 -o "Linux version [^ ]*" "$KERNEL" | cut -d" " -f3)

busybox_rootfs "$TMP/rootfs"
docker_archive "$TMP/rootfs" "$TMP/image.tar" localhost/smbb:latest
wait_for 60 '[ -S "$D/docker.sock" ] && "${DOCKER[@]}" info >/dev/null 2>&1'
d load -i "$TMP/image.tar"
expect docker_load '[ $rc = 0 ]' "docker load (dockerd: $(tail -c 400 "$D/dockerd.log"))"
RUN=(run --rm --runtime supermachine --network none localhost/smbb)

d "${RUN[@]}" uname -r
expect docker_run_uname '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = "$kernel_release" ] && [ "$kernel_release" != "$(uname -r)" ]' \
	"docker run --runtime supermachine: uname -r must be the guest kernel's ($kernel_release)"
d "${RUN[@]}" sh -c 'exit 7'
expect docker_run_status '[ $rc = 7 ]' "the process's status (7)"
d "${RUN[@]}" sh -c 'echo to-out; echo to-err >&2'
expect docker_run_streams '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = to-out ] && [ "$(cat "$TMP/err")" = to-err ]' "stdout and stderr apart"
d run -d --name smd --runtime supermachine --network none localhost/smbb sleep 1000
running_state=$(find "$D/exec" -name state.json -path '*runtime*' 2>/dev/null | head -1)
d exec smd sh -c 'echo in-exec; uname -r'
expect docker_exec '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = "$(printf "in-exec\n%s" "$kernel_release")" ]' "docker exec in the running VM"
d stop -t 5 smd
d inspect --format '{{.State.ExitCode}}' smd
expect docker_stop '[ "$(cat "$TMP/out")" = 143 ]' "docker stop: SIGTERM ends sleep (143)"
d rm smd
expect docker_rm '[ $rc = 0 ] && [ -n "$running_state" ] && [ ! -e "$running_state" ]' \
	"docker rm: the runtime's state (while running: ${running_state:-none found}) goes"
