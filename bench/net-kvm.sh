#!/usr/bin/env bash
# The KVM part of bench/net.sh (run it through that script):
#   net-kvm.sh IMAGE
set -uo pipefail
img=${1:?usage: net-kvm.sh IMAGE}
SM=${SM_BUILD:?}/supermachine
KERNEL=${SM_TOP:?}/build/guest/vmlinux
INITRD=$SM_TOP/build/guest/initramfs.cpio
MIB=${BENCH_MIB:-16} SECS=${BENCH_SECS:-10} ROUNDS=${BENCH_ROUNDS:-3}
CMDLINE="console=ttyS0 reboot=k panic=-1 io_delay=none no_timer_check quiet"
PY=/usr/bin/python3
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
# the emulated host boots with lo down; the published ports live on it
ip link set lo up 2>/dev/null || /bin/busybox ip link set lo up

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
hexcmd() { printf '%s\0' "$@" | od -An -v -tx1 | tr -d ' \n'; }

# The guest side, the same for both: a MiB-sized file and an index page
# served by httpd on 80, a loop of `nc -l` draining port 81.
# (Separate lines: "a && b && (loop) &" would put the whole chain in the
# background and start httpd before /www exists.)
SERVE="mkdir -p /www && echo hello >/www/index.html &&
dd if=/dev/zero of=/www/big bs=1048576 count=$MIB 2>/dev/null || exit 1
(while true; do nc -l -p 81 >/dev/null; done) &
exec httpd -f -p 80 -h /www"
# QEMU's guest runs from the initramfs and configures eth0 as our init does.
QNET="ip link set lo up && ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up &&
ip route add default via 10.0.2.2 || exit 1
$SERVE"

# measure NAME HTTP_PORT NC_PORT: waits for the server, then prints results.
measure() {
	local name=$1 hp=$2 np=$3 rate
	$PY - "$hp" "$np" "$MIB" "$name" <<'PYEOF' || { echo "$name transfer FAILED (its error is above)"; return 1; }
import socket, sys, time, urllib.request
hp, np, mib, name = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
deadline = time.time() + 240
while True:
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/index.html" % hp, timeout=5).read()
        break
    except Exception as e:
        if time.time() > deadline:
            sys.exit("%s: the guest's server did not answer in 240 s: %s" % (name, e))
        time.sleep(0.5)
t0 = time.time()
n = len(urllib.request.urlopen("http://127.0.0.1:%d/big" % hp, timeout=300).read())
t1 = time.time()
assert n == mib << 20, n
down = mib / (t1 - t0)
chunk = b"x" * 65536
s = socket.create_connection(("127.0.0.1", np), timeout=300)
t0 = time.time()
for _ in range(mib * 16):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
t1 = time.time()
up = mib / (t1 - t0)
print("%s host->guest %.1f MiB/s" % (name, up))
print("%s guest->host %.1f MiB/s" % (name, down))
PYEOF
	# a wrk that fails or reports errors is a failed measurement, not 0
	local w rate
	w=$(wrk -t1 -c8 -d"${SECS}s" "http://127.0.0.1:$hp/index.html" 2>&1)
	rate=$(printf '%s\n' "$w" | sed -n 's/^Requests\/sec: *//p')
	if [ -z "$rate" ] || printf '%s\n' "$w" | grep -q "Socket errors\|Non-2xx"; then
		echo "$name http FAILED: $(printf '%s' "$w" | tail -n 3 | tr '\n' ' ')"
		return 1
	fi
	echo "$name http $rate req/s"
}

out=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-net.XXXXXX")
trap 'rm -rf "$out"' EXIT

run_ours() {
	local hp np pid
	hp=$(free_port) np=$(free_port)
	"$SM" run --pull never -p "$hp:80" -p "$np:81" "$img" sh -c "$SERVE" \
		</dev/null >/dev/null 2>"$out/sm.err" &
	pid=$!
	measure supermachine "$hp" "$np" | tee -a "$out/sm" || cat "$out/sm.err"
	# the server runs until stopped: gone already means it failed
	kill -0 "$pid" 2>/dev/null ||
		echo "supermachine: the VM ended during the run: $(tail -n 3 "$out/sm.err")"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# QEMU, same kernel and initramfs, libslirp user networking. The guest
# needs a console device: with -serial none its init has no stdio and the
# server never comes up.
run_qemu() {
	local hp np qpid
	hp=$(free_port) np=$(free_port)
	qemu-system-x86_64 -M microvm,acpi=off,x-option-roms=off -accel kvm \
		-cpu host -m 512 -smp 1 -nodefaults -no-user-config -display none \
		-serial "file:$out/q.console" -no-reboot \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-netdev "user,id=n,hostfwd=tcp:127.0.0.1:$hp-:80,hostfwd=tcp:127.0.0.1:$np-:81" \
		-device virtio-net-device,netdev=n \
		-append "$CMDLINE sm.cmd=$(hexcmd sh -c "$QNET")" \
		</dev/null >/dev/null 2>"$out/q.err" &
	qpid=$!
	measure qemu "$hp" "$np" | tee -a "$out/q" || cat "$out/q.err" "$out/q.console"
	kill -0 "$qpid" 2>/dev/null || echo "qemu: the VM ended during the run"
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
}

# Alternate the two, ROUNDS times: the emulated host's speed drifts.
for r in $(seq "$ROUNDS"); do
	echo "# round $r of $ROUNDS"
	run_ours
	run_qemu
done

# runs NAME METRIC FILE: how many rounds gave this measurement
runs() { grep -c "^$1 $2 [0-9.]" "$out/$3"; }
# median NAME METRIC FILE
median() {
	sed -n "s/^$1 $2 \([0-9.]*\).*/\1/p" "$out/$3" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
echo "medians of $ROUNDS rounds ($MIB MiB transfers, ${SECS}s of wrk):"
for m in host-\>guest guest-\>host http; do
	a=$(median supermachine "$m" sm) b=$(median qemu "$m" q)
	printf '  %-12s supermachine %-8s (%d of %d rounds) qemu %-8s (%d of %d rounds)' \
		"$m" "${a:--}" "$(runs supermachine "$m" sm)" "$ROUNDS" "${b:--}" "$(runs qemu "$m" q)" "$ROUNDS"
	if [ -n "$a" ] && [ -n "$b" ] && [ "$b" != 0 ]; then
		printf ' ratio supermachine / qemu %.2f' "$(echo "$a / $b" | bc -l)"
	fi
	echo
done
