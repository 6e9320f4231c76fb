#!/usr/bin/env bash
# supermachine-oci, called as engines call runc (issue 18,
# docs/oci-runtime.md): bundles made here (a busybox root and a
# config.json), the lifecycle create → state → start → exec → kill →
# delete with runtime-spec's states, run's exit status, the root written
# through, readonly root, binds, hostname/memory/cpus from the config,
# a new network namespace as no network, the console socket's pty, and
# errors in --log's JSON.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engines-lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
OCI=$SM_BUILD/supermachine-oci
# the runtime's state and the records hold fifos and sockets: a tmpfs
R=$(mktemp -d /run/sm-oci.XXXXXX)
export SUPERMACHINE_RUNTIME=$R/records
LOG=$TMP/oci.log
trap 'for d in "$R"/state/*/; do [ -d "$d" ] && "$OCI" --root "$R/state" delete --force "$(basename "$d")" >/dev/null 2>&1; done; rm -rf "$R" "$TMP"' EXIT
oci() { timeout -k 10 300 "$OCI" --root "$R/state" --log "$LOG" --log-format json "$@"; }
# o ARGS...: stdout in $TMP/out, stderr in $TMP/err, status in $rc
o() {
	oci "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
status_of() { oci state "$1" 2>/dev/null | jq -r .status; }
kernel_release=$(grep -a -m1 -o "Linux version [^ ]*" "$KERNEL" | cut -d" " -f3)

busybox_rootfs "$TMP/base"

# bundle NAME ARGS_JSON [JQ_FILTER]: $TMP/NAME with its own root and a
# config.json (jq's filter applied to the base one)
bundle() {
	local b=$TMP/$1
	mkdir -p "$b"
	cp -a "$TMP/base" "$b/rootfs"
	jq -n --argjson args "$2" '{ociVersion: "1.0.2",
		process: {terminal: false, user: {uid: 0, gid: 0}, args: $args,
			env: ["PATH=/bin", "TERM=xterm"], cwd: "/"},
		root: {path: "rootfs"}, hostname: "ocitest",
		mounts: [{destination: "/proc", type: "proc", source: "proc"},
			{destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"]}],
		linux: {namespaces: [{type: "pid"}, {type: "mount"}], seccomp: {defaultAction: "SCMP_ACT_ALLOW"}},
		annotations: {"org.example": "yes"}}' | jq "${3:-.}" >"$b/config.json"
}

# ---- lifecycle ----
bundle life '["sh", "-c", "echo started >/marker; uname -r; exec sleep 1000"]'
oci create --bundle "$TMP/life" --pid-file "$TMP/life.pid" life </dev/null >"$TMP/life.out" 2>"$TMP/life.err"
rc=$?
pid=$(cat "$TMP/life.pid" 2>/dev/null)
o state life
expect oci_create_created '[ $rc = 0 ] && [ "$(jq -r .status "$TMP/out")" = created ] && [ "$(jq -r .pid "$TMP/out")" = "$pid" ] && [ "$(jq -r ".annotations[\"org.example\"]" "$TMP/out")" = yes ] && [ "$(jq -r .bundle "$TMP/out")" = "$TMP/life" ] && kill -0 "$pid"' \
	"create: state created, the pid file's pid, the bundle's annotations"
o create --bundle "$TMP/life" life
expect oci_create_duplicate '[ $rc = 1 ] && grep -q "exists" "$TMP/err"' "a second create of one id"
o start life
wait_for 180 'grep -qx "$kernel_release" "$TMP/life.out"'
expect oci_start_running '[ $rc = 0 ] && [ "$(status_of life)" = running ] && grep -qx "$kernel_release" "$TMP/life.out"' \
	"start: running, the guest kernel's release on the engine's stdout ($(cat "$TMP/life.out" "$TMP/life.err" | head -c 300))"
expect oci_rootfs_written '[ "$(cat "$TMP/life/rootfs/marker" 2>/dev/null)" = started ]' \
	"the guest's write to / lands in the bundle's root"
o start life
expect oci_start_twice '[ $rc = 1 ]' "start of a running container"
o exec life sh -c 'echo in-exec; cat /marker; hostname'
expect oci_exec '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = "$(printf "in-exec\nstarted\nocitest")" ]' "exec in the running VM, hostname from config.json"
echo '{"args": ["sh", "-c", "echo $FROMFILE; exit 5"], "env": ["PATH=/bin", "FROMFILE=via-process"], "cwd": "/bin", "user": {"uid": 0, "gid": 0}}' >"$TMP/proc.json"
o exec --process "$TMP/proc.json" life
expect oci_exec_process_file '[ $rc = 5 ] && grep -qx via-process "$TMP/out"' "exec --process FILE: its args, env and status"
o exec --detach --pid-file "$TMP/exec.pid" life sleep 3
epid=$(cat "$TMP/exec.pid" 2>/dev/null)
expect oci_exec_detach '[ $rc = 0 ] && [ -n "$epid" ] && kill -0 "$epid"' "exec --detach: returns, its process's pid in the pid file"
o kill life TERM
wait_for 120 '[ "$(status_of life)" = stopped ]'
expect oci_kill_stopped '[ $rc = 0 ] && [ "$(status_of life)" = stopped ] && ! kill -0 "$pid" 2>/dev/null' "kill TERM: the process ends, the state is stopped"
o kill life KILL
expect oci_kill_stopped_refused '[ $rc = 1 ]' "kill of a stopped container"
o delete life
o2=$rc
o state life
expect oci_delete '[ $o2 = 0 ] && [ $rc = 1 ] && [ ! -e "$R/state/life" ]' "delete: the state goes"

# ---- delete: a created one is killed; a running one needs --force ----
bundle idle '["sleep", "1000"]'
o create --bundle "$TMP/idle" --pid-file "$TMP/idle.pid" idle
ipid=$(cat "$TMP/idle.pid" 2>/dev/null)
o delete idle
expect oci_delete_created '[ $rc = 0 ] && [ -n "$ipid" ] && ! kill -0 "$ipid" 2>/dev/null && [ ! -e "$R/state/idle" ]' "delete of a created container kills its process"
o create --bundle "$TMP/idle" --pid-file "$TMP/idle.pid" idle2
o start idle2
# at once, while the VM boots: exec waits for the container's record
o exec idle2 echo right-after-start
expect oci_exec_right_after_start '[ $rc = 0 ] && grep -qx right-after-start "$TMP/out"' "exec at once after start"
wait_for 120 '[ "$(status_of idle2)" = running ]'
o delete idle2
d1=$rc
o delete --force idle2
expect oci_delete_force '[ $d1 = 1 ] && [ $rc = 0 ] && [ ! -e "$R/state/idle2" ]' "delete of a running container: refused, then --force"

# ---- run: the process's status; config.json's size and root ----
bundle sized '["sh", "-c", "hostname; nproc; grep MemTotal /proc/meminfo; exit 7"]' \
	'.linux.resources = {memory: {limit: 268435456}, cpu: {quota: 200000, period: 100000}} | .hostname = "sized-host"'
o run --bundle "$TMP/sized" sized
mem_kib=$(awk '/MemTotal/ {print $2}' "$TMP/out")
expect oci_run_status_size '[ $rc = 7 ] && grep -qx sized-host "$TMP/out" && grep -qx 2 "$TMP/out" && [ "${mem_kib:-0}" -gt 150000 ] && [ "${mem_kib:-0}" -lt 270000 ]' \
	"run: status 7, hostname, 2 vCPUs from the CPU quota, 256 MiB from the memory limit"
bundle ann '["sh", "-c", "nproc; grep MemTotal /proc/meminfo"]' \
	'.annotations["io.supermachine.cpus"] = "3" | .annotations["io.supermachine.memory"] = "384"'
o run --bundle "$TMP/ann" ann
mem_kib=$(awk '/MemTotal/ {print $2}' "$TMP/out")
expect oci_annotations_size '[ $rc = 0 ] && grep -qx 3 "$TMP/out" && [ "${mem_kib:-0}" -gt 300000 ] && [ "${mem_kib:-0}" -lt 400000 ]' \
	"annotations io.supermachine.cpus/memory size the VM"
bundle ro '["sh", "-c", "echo x >/rofile; echo st=$?"]' '.root.readonly = true'
o run --bundle "$TMP/ro" ro
expect oci_readonly_root '[ $rc = 0 ] && grep -q "st=1" "$TMP/out" && [ ! -e "$TMP/ro/rootfs/rofile" ]' "root.readonly: the guest cannot write the root"
mkdir -p "$TMP/shared"
echo host-data >"$TMP/shared/in"
bundle bind '["sh", "-c", "cat /mnt/shared/in; echo guest-data >/mnt/shared/out"]' \
	".mounts += [{destination: \"/mnt/shared\", type: \"bind\", source: \"$TMP/shared\", options: [\"rbind\", \"rw\"]}]"
o run --bundle "$TMP/bind" bind
expect oci_bind_mount '[ $rc = 0 ] && grep -qx host-data "$TMP/out" && [ "$(cat "$TMP/shared/out" 2>/dev/null)" = guest-data ]' "a bind mount: read and written through"
bundle net '["ls", "/sys/class/net"]'
o run --bundle "$TMP/net" net
with_net=$(cat "$TMP/out" | tr '\n' ' ')
bundle nonet '["ls", "/sys/class/net"]' '.linux.namespaces += [{type: "network"}]'
o run --bundle "$TMP/nonet" nonet
expect oci_new_netns_no_network '[ $rc = 0 ] && grep -qx lo "$TMP/out" && ! grep -qx eth0 "$TMP/out" && echo "$with_net" | grep -q eth0' \
	"a new network namespace: the VM has no network interface ($(cat "$TMP/out" | tr '\n' ' ')), without one it has ($with_net)"

# (busybox 1.35 wget -T crashes, status 139: timeout(1) bounds it)
# an existing network namespace (the engine's): the VM's network is made
# in it, so an address only that namespace has is reached
ns=smoci$$
mkdir -p "$TMP/www"
echo in-netns >"$TMP/www/f"
ip netns add $ns && ip netns exec $ns ip link set lo up &&
	ip netns exec $ns ip addr add 192.0.2.1/32 dev lo
ip netns exec $ns /bin/busybox httpd -f -p 192.0.2.1:8080 -h "$TMP/www" &
httpd=$!
fetch='["sh", "-c", "timeout 15 wget -q -O - http://192.0.2.1:8080/f; echo st=$?"]'
bundle outside "$fetch"
o run --bundle "$TMP/outside" outside
outside=$(tr '\n' ' ' <"$TMP/out")
bundle netns "$fetch" ".linux.namespaces += [{type: \"network\", path: \"/run/netns/$ns\"}]"
o run --bundle "$TMP/netns" netns
expect oci_engine_netns '[ $rc = 0 ] && grep -qx in-netns "$TMP/out" && ! echo "$outside" | grep -q in-netns' \
	"a network namespace path: the VM's network is the namespace's (fetched $(tr '\n' ' ' <"$TMP/out"); outside it: $outside)"
kill $httpd 2>/dev/null
ip netns del $ns 2>/dev/null

# the engine's namespace with a veth on the host's side, as podman's
# bridge gives one: the VM takes the interface's place (tc redirects to
# its tap), so the host reaches a server in the guest at the address the
# "engine" gave, and the guest reaches the host through its gateway
ns=smveth$$
ip netns add $ns && ip link add smv$$h type veth peer name smv$$c &&
	ip link set smv$$c netns $ns && ip addr add 10.99.0.1/24 dev smv$$h &&
	ip link set smv$$h up && ip netns exec $ns ip link set lo up &&
	ip netns exec $ns ip addr add 10.99.0.2/24 dev smv$$c &&
	ip netns exec $ns ip link set smv$$c up &&
	ip netns exec $ns ip route add default via 10.99.0.1
ns_mac=$(ip netns exec $ns cat /sys/class/net/smv$$c/address)
echo from-host >"$TMP/www/g"
/bin/busybox httpd -f -p 10.99.0.1:8081 -h "$TMP/www" &
httpd=$!
bundle veth '["sh", "-c", "mkdir -p /www && echo from-guest >/www/h && cat /sys/class/net/eth0/address && exec httpd -f -p 8080 -h /www"]' \
	".linux.namespaces += [{type: \"network\", path: \"/run/netns/$ns\"}]"
oci create --bundle "$TMP/veth" veth </dev/null >"$TMP/veth.out" 2>"$TMP/veth.err"
oci start veth
wait_for 180 'grep -q : "$TMP/veth.out"'
# the MAC is printed just before httpd listens: until it answers
for i in $(seq 30); do
	in=$(timeout 20 /bin/busybox wget -q -O - http://10.99.0.2:8080/h 2>&1) && break
	sleep 1
done
expect oci_netns_inbound '[ "$in" = from-guest ] && [ "$(head -1 "$TMP/veth.out")" = "$ns_mac" ]' \
	"the host fetches from the guest at the namespace's address (got: $in; guest MAC $(head -1 "$TMP/veth.out"), the interface's $ns_mac; $(tail -c 300 "$LOG"))"
o exec veth sh -c 'timeout 15 wget -q -O - http://10.99.0.1:8081/g; ip addr show eth0 | grep -o "inet [0-9./]*"'
expect oci_netns_outbound '[ $rc = 0 ] && grep -qx from-host "$TMP/out" && grep -qx "inet 10.99.0.2/24" "$TMP/out"' \
	"the guest (10.99.0.2/24) reaches the host through the namespace's gateway"
o delete --force veth
kill $httpd 2>/dev/null
ip netns del $ns 2>/dev/null
ip link del smv$$h 2>/dev/null

# ---- the console socket: the pty's master goes to the engine ----
bundle tty '["sh", "-c", "tty; stty size"]' '.process.terminal = true | .process.consoleSize = {height: 30, width: 100}'
python3 - "$R/console.sock" >"$TMP/console.out" 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(200)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 256, 1)
out = b""
while True:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
EOF
py=$!
wait_for 20 '[ -S "$R/console.sock" ]'
o run --console-socket "$R/console.sock" --bundle "$TMP/tty" tty
bounded_wait 60 $py
expect oci_console_socket '[ $rc = 0 ] && grep -q "^/dev/pts/" "$TMP/console.out" && grep -q "^30 100" "$TMP/console.out"' \
	"terminal: the process's tty is the pty whose master the socket got, sized by consoleSize ($(tr '\r\n' '  ' <"$TMP/console.out"))"

# ---- errors, --log's JSON, features, --version ----
bundle bad '[]'
o create --bundle "$TMP/bad" bad
expect oci_error_log_json '[ $rc = 1 ] && grep -q "process.args: empty" "$TMP/err" && tail -1 "$LOG" | jq -e "select(.level == \"error\") | .msg | test(\"process.args: empty\")" >/dev/null && [ ! -e "$R/state/bad" ]' \
	"a bad config: status 1, the error on stderr and as --log's JSON, no state left"
o start nosuch
expect oci_start_missing '[ $rc = 1 ] && grep -q "does not exist" "$TMP/err"' "start of a container that does not exist"
o features
f=$rc
o2=$(oci --version)
expect oci_features_version '[ $f = 0 ] && jq -e ".ociVersionMax == \"1.0.2\"" "$TMP/out" >/dev/null && echo "$o2" | grep -q "^spec: 1.0.2"' "features is JSON; --version names the spec"
