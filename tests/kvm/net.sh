#!/usr/bin/env bash
# Networking (docs/networking.md): virtio-net + slirp, published ports,
# the guest reaching the host's loopback only with
# --network slirp:allow_host_loopback=true, --network none, warm start,
# port clashes.
# Uses the busybox image from tests/kvm/prepare (httpd, wget, ip).
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail net_images_prepared "SM_TEST_IMAGES/images.env missing: run tests/kvm/prepare DIR on the host (tests/run does)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
IMG=${IMG_BBOX:-not-prepared/bbox}
PY=/usr/bin/python3
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
# The emulated KVM host (tools/with-kvm) boots with lo down; published
# ports and the guest's 10.0.2.2 both go through the host's loopback.
if ! grep -q up /sys/class/net/lo/operstate 2>/dev/null &&
	! ip -4 addr show lo 2>/dev/null | grep -q 127.0.0.1; then
	ip link set lo up 2>/dev/null || /bin/busybox ip link set lo up
fi

run() {
	"$SM" -v run --pull never --timeout 300 "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# A free TCP port on the host loopback.
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# fetch URL [TRIES]: GET from the host, retrying while the guest boots.
fetch() {
	$PY - "$1" "${2:-240}" <<'PYEOF'
import sys, time, urllib.request
url, tries = sys.argv[1], int(sys.argv[2])
for i in range(tries):
    try:
        print(urllib.request.urlopen(url, timeout=5).read().decode(), end="")
        sys.exit(0)
    except Exception as e:
        last = e
        time.sleep(1)
print("fetch failed:", last, file=sys.stderr)
sys.exit(1)
PYEOF
}

# server NAME ARGS...: a background VM serving "hello NAME" with httpd on
# port 80; its stderr in $TMP/NAME.err, pid in $srv_pid.
server() {
	local name=$1
	shift
	"$SM" -v run --pull never --timeout 600 "$@" "$IMG" sh -c \
		"mkdir -p /www && echo hello $name >/www/index.html && exec httpd -f -p 80 -h /www" \
		</dev/null >"$TMP/$name.out" 2>"$TMP/$name.err" &
	srv_pid=$!
	PIDS+=("$srv_pid")
}

stop() {
	kill -TERM "$1" 2>/dev/null
	bounded_wait 120 "$1" 2>/dev/null
}

# ---- the guest's view: eth0, route, resolv.conf; none: lo only ----
run "$IMG" sh -c 'ls /sys/class/net | tr "\n" " "; echo; ip -4 addr show eth0 | grep -o "inet [0-9./]*"; ip route | grep default; cat /etc/resolv.conf; ip -4 addr show lo | grep -o "inet [0-9./]*"'
expect net_guest_eth0_configured '[ $rc = 0 ] && grep -q "^eth0 lo " "$TMP/out" && grep -qx "inet 10.0.2.15/24" "$TMP/out"' \
	"expected eth0 with 10.0.2.15/24"
expect net_guest_default_route 'grep -q "^default via 10.0.2.2 dev eth0" "$TMP/out"' "no default route via 10.0.2.2"
expect net_guest_resolv_conf 'grep -qx "nameserver 10.0.2.3" "$TMP/out"' "resolv.conf lacks nameserver 10.0.2.3"
expect net_guest_lo_up 'grep -qx "inet 127.0.0.1/8" "$TMP/out"' "lo has no 127.0.0.1"

run --network none "$IMG" sh -c 'ls /sys/class/net | tr "\n" " "; echo; ip -4 addr show lo | grep -o "inet [0-9./]*"'
expect net_none_only_lo '[ $rc = 0 ] && grep -q "^lo " "$TMP/out" && ! grep -q eth0 "$TMP/out" && grep -qx "inet 127.0.0.1/8" "$TMP/out"' \
	"--network none: expected lo alone, up"

run --network none -p 8080:80 "$IMG" true
expect net_none_refuses_publish '[ $rc = 125 ] && grep -q "network none" "$TMP/err"' "expected 125"
run -p 80:99999 "$IMG" true
expect net_bad_publish_125 '[ $rc = 125 ] && grep -q "expected \[IP:\]\[HOSTPORT:\]GUESTPORT" "$TMP/err"' "expected 125 and the syntax"

run --network slirp:allow_host_loopback=yes "$IMG" true
expect net_bad_slirp_option_125 '[ $rc = 125 ] && grep -q "bad option .allow_host_loopback=yes." "$TMP/err"' \
	"expected 125 naming the bad slirp option"

# ---- the host's loopback through 10.0.2.2: refused by default (a server
# bound to 127.0.0.1 trusts its callers), reached with the opt-in ----
LOOPBACK=slirp:allow_host_loopback=true
hp=$(free_port)
mkdir -p "$TMP/www" && echo "from-the-host" >"$TMP/www/file"
(cd "$TMP/www" && exec $PY -m http.server --bind 127.0.0.1 "$hp" >/dev/null 2>&1) &
PIDS+=("$!")
fetch "http://127.0.0.1:$hp/file" 60 >/dev/null
# busybox 1.35's `wget -T` crashes (status 139, on any host): the guest's
# timeout(1) bounds it instead, and the check wants wget's own failure
# (1: refused, 143: still waiting when timed out), never a crash
GUEST_WGET='timeout 15 wget -qO- "$1"; echo "wget=$?"'
run "$IMG" sh -c "$GUEST_WGET" sh "http://10.0.2.2:$hp/file"
# the VM ran and wget failed; the opt-in run next is the control
expect net_host_loopback_off_by_default '[ $rc = 0 ] && grep -Eqx "wget=(1|143)" "$TMP/out" && ! grep -q from-the-host "$TMP/out"' \
	"wget http://10.0.2.2:$hp/file reached the host's loopback without the opt-in, or the VM did not run (rc $rc, $(head -c 200 "$TMP/out"))"
run --network "$LOOPBACK" "$IMG" wget -qO- "http://10.0.2.2:$hp/file"
expect net_guest_reaches_host_loopback '[ $rc = 0 ] && grep -qx from-the-host "$TMP/out"' \
	"wget http://10.0.2.2:$hp/file from the guest failed with --network $LOOPBACK"
# the runs before saved or used the template: this one must be warm
run --network "$LOOPBACK" "$IMG" wget -qO- "http://10.0.2.2:$hp/file"
expect net_warm_start_networks '[ $rc = 0 ] && grep -q "warm start: restored" "$TMP/err" && grep -qx from-the-host "$TMP/out"' \
	"warm-started guest did not reach the host"

# ---- outbound UDP: a DNS responder on the host's loopback, asked by the
# guest's nslookup through 10.0.2.2 (busybox has no UDP nc) ----
up=$(free_port)
$PY - "$up" <<'PYEOF' >/dev/null 2>&1 &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    q, peer = s.recvfrom(512)
    i = 12
    while i < len(q) and q[i]:
        i += q[i] + 1
    if len(q) < 12 or i + 5 > len(q):
        continue
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    # an A query gets 10.9.8.7, anything else an empty answer
    ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([10, 9, 8, 7]) if qtype == 1 else b""
    s.sendto(q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1 if ans else 0, 0, 0) + q[12:i + 5] + ans, peer)
PYEOF
PIDS+=("$!")
for i in $(seq 1 100); do
	ss -Huln "sport = :$up" 2>/dev/null | grep -q . && break
	sleep 0.2
done
run --network "$LOOPBACK" "$IMG" nslookup -type=a udp.test "10.0.2.2:$up"
expect net_guest_udp_to_host '[ $rc = 0 ] && grep -q "Address: 10.9.8.7" "$TMP/out"' \
	"nslookup over UDP to 10.0.2.2:$up got no answer"

# ---- published ports: fixed, clash, random, two VMs at once ----
p1=$(free_port)
server one -p "$p1:80"
got=$(fetch "http://127.0.0.1:$p1/")
[ "$got" = "hello one" ] && pass net_publish_host_port ||
	fail net_publish_host_port "GET 127.0.0.1:$p1 gave '$got' ($(head -c 300 "$TMP/one.err"))"

run -p "$p1:80" "$IMG" true
expect net_port_in_use_125 "[ \$rc = 125 ] && grep -q 'port 127.0.0.1:$p1 is already in use' \"\$TMP/err\"" \
	"expected 125 and 'port 127.0.0.1:$p1 is already in use'"

server two -p 80 --name "smnet-two-$$"
for i in $(seq 1 100); do
	p2=$(sed -n 's/.*published 127.0.0.1:\([0-9]*\)->80\/tcp.*/\1/p' "$TMP/two.err")
	[ -n "$p2" ] && break
	sleep 0.2
done
got=$(fetch "http://127.0.0.1:${p2:-0}/")
[ -n "$p2" ] && [ "$got" = "hello two" ] && pass net_publish_random_port ||
	fail net_publish_random_port "port '${p2:-}' gave '$got' ($(head -c 300 "$TMP/two.err"))"

# `port`: what docker's prints, from the running container's record
"$SM" port "smnet-two-$$" >"$TMP/port.all" 2>&1
"$SM" port "smnet-two-$$" 80/tcp >"$TMP/port.one" 2>&1
"$SM" port "smnet-two-$$" 81 >"$TMP/port.none" 2>&1
prc=$?
expect net_port_command "grep -qx '80/tcp -> 127.0.0.1:${p2:-0}' \"\$TMP/port.all\" &&
	grep -qx '127.0.0.1:${p2:-0}' \"\$TMP/port.one\" && [ $prc != 0 ] &&
	grep -q \"no public port '81/tcp'\" \"\$TMP/port.none\"" \
	"port gave '$(cat "$TMP/port.all" "$TMP/port.one" "$TMP/port.none" | tr '\n' '|')'"

# both at once, each its own answer
a=$(fetch "http://127.0.0.1:$p1/" 5) b=$(fetch "http://127.0.0.1:${p2:-0}/" 5)
[ "$a" = "hello one" ] && [ "$b" = "hello two" ] && pass net_two_vms_at_once ||
	fail net_two_vms_at_once "got '$a' and '$b'"

stop "$srv_pid"
# -P: the image's ExposedPorts (80/tcp) on a free loopback port
"$SM" -v run --pull never --timeout 600 -P "${IMG_WEB:-not-prepared/web}" \
	</dev/null >/dev/null 2>"$TMP/web.err" &
web=$!
PIDS+=("$web")
for i in $(seq 1 100); do
	p4=$(sed -n 's/.*published 127.0.0.1:\([0-9]*\)->80\/tcp.*/\1/p' "$TMP/web.err")
	[ -n "$p4" ] && break
	sleep 0.2
done
got=$(fetch "http://127.0.0.1:${p4:-0}/")
[ -n "$p4" ] && [ "$got" = "hello exposed" ] && pass net_publish_all_exposed ||
	fail net_publish_all_exposed "port '${p4:-}' gave '$got' ($(head -c 300 "$TMP/web.err"))"
stop "$web"
# a bigger body both ways through slirp (1 MiB from the guest)
p3=$(free_port)
"$SM" run --pull never --timeout 600 -p "$p3:80" "$IMG" sh -c \
	'mkdir -p /www && dd if=/dev/zero bs=1024 count=1024 2>/dev/null | tr "\0" x >/www/big && exec httpd -f -p 80 -h /www' \
	</dev/null >/dev/null 2>"$TMP/big.err" &
big=$!
PIDS+=("$big")
n=$(fetch "http://127.0.0.1:$p3/big" | wc -c)
[ "$n" = 1048576 ] && pass net_publish_1mib || fail net_publish_1mib "got $n bytes ($(head -c 300 "$TMP/big.err"))"
stop "$big"

# ---- snapshot of a container while the host pulls from it, then the
# restored VM's network: device threads must not move the queues while
# the snapshot is taken (virtio_freeze) ----
ps_=$(free_port)
"$SM" run -d --pull never --name "smnet-snap-$$" -p "$ps_:80" "$IMG" sh -c \
	'mkdir -p /www && dd if=/dev/zero bs=1024 count=512 2>/dev/null >/www/big && exec httpd -f -p 80 -h /www' \
	</dev/null >"$TMP/snapc.out" 2>"$TMP/snapc.err"
fetch "http://127.0.0.1:$ps_/big" >/dev/null
$PY - "$ps_" <<'PYEOF' >/dev/null 2>&1 &
import sys, time, urllib.request
end = time.time() + 120
while time.time() < end:
    try:
        urllib.request.urlopen("http://127.0.0.1:%s/big" % sys.argv[1], timeout=5).read()
    except Exception:
        pass
PYEOF
load=$!
PIDS+=("$load")
sleep 2
"$SM" snapshot "smnet-snap-$$" "$TMP/netsnap" >"$TMP/snap.out" 2>&1
src=$?
stop "$load"
"$SM" rm -f "smnet-snap-$$" >/dev/null 2>&1
run_restore() {
	timeout 300 "$SM" restore --network "$LOOPBACK" "$TMP/netsnap" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
run_restore wget -qO- "http://10.0.2.2:$hp/file"
expect net_snapshot_under_load_restores_networking '[ $src = 0 ] && [ $rc = 0 ] && grep -qx from-the-host "$TMP/out"' \
	"snapshot ($src: $(head -c 200 "$TMP/snap.out")) or the restored VM's wget failed"
# a clone of it published anew: restore -p (the snapshot keeps no port)
pr=$(free_port)
"$SM" restore -d --name "smnet-clone-$$" --network "$LOOPBACK" -p "$pr:80" "$TMP/netsnap" \
	</dev/null >"$TMP/clone.out" 2>"$TMP/clone.err"
crc=$?
n=$(fetch "http://127.0.0.1:$pr/big" | wc -c)
cport=$("$SM" port "smnet-clone-$$" 80 2>&1)
"$SM" rm -f "smnet-clone-$$" >/dev/null 2>&1
expect net_restore_publishes '[ $crc = 0 ] && [ "$n" = 524288 ] && [ "$cport" = "127.0.0.1:$pr" ]' \
	"restore -p: status $crc ($(head -c 200 "$TMP/clone.err")), $n bytes, port '$cport'"
for p in "${PIDS[@]}"; do stop "$p"; done
PIDS=()

# ---- -p HOST:GUEST/udp end to end: a datagram from the host reaches a
# UDP server in the guest (perl in the Debian image; busybox has none), and
# its answer comes back ----
pu=$($PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$SM" run --pull never --timeout 600 -p "$pu:5353/udp" "${IMG_DEBIAN:-not-prepared/debian}" perl -MIO::Socket::INET -e \
	'$s = IO::Socket::INET->new(LocalPort => 5353, Proto => "udp") or die "bind: $!"; $| = 1; print "ready\n"; for (1..3) { $s->recv($m, 100); $s->send("got:$m"); }' \
	</dev/null >"$TMP/udp.out" 2>"$TMP/udp.err" &
udp=$!
PIDS+=("$udp")
wait_for 300 'grep -q ready "$TMP/udp.out" || ! kill -0 $udp 2>/dev/null'
got=$($PY - "$pu" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(30):
    s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recv(100).decode())
        break
    except socket.timeout:
        pass
PYEOF
)
expect net_publish_udp '[ "$got" = got:ping ]' \
	"no UDP answer through -p $pu:5353/udp: '$got' ($(head -c 300 "$TMP/udp.err"))"
stop "$udp"

# ---- DNS from the guest: 10.0.2.3 is slirp's forwarder to the host's
# resolver. A DNS server of this test on the host's 127.0.0.1:53 is that
# resolver (a private mount namespace gives the VMM a resolv.conf naming
# it); the guest resolves a name only it knows ----
cat >"$TMP/dns.py" <<'PYEOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    i = 12
    while q[i]:
        i += q[i] + 1
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    name = q[12:i + 1]
    question = q[12:i + 5]
    known = name == b"\x06smtest\x07example\x00"
    answer = b""
    if known and qtype == 1:
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([10, 1, 2, 3])
    rcode = 0 if known else 3
    hdr = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, 1 if answer else 0, 0, 0)
    s.sendto(hdr + question + answer, peer)
    print("query", name, qtype, flush=True)
PYEOF
echo "nameserver 127.0.0.1" >"$TMP/resolv.conf"
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	fail net_guest_dns "needs root and unshare for a private resolv.conf"
else
	$PY "$TMP/dns.py" >"$TMP/dns.log" 2>&1 &
	PIDS+=("$!")
	wait_for 30 'grep -q ready "$TMP/dns.log"'
	unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
		sh "$TMP/resolv.conf" "$SM" run --pull never --timeout 300 "$IMG" \
		sh -c 'nslookup smtest.example; nslookup nosuch.example >/dev/null 2>&1; echo nx=$?' \
		</dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	expect net_guest_dns '[ $rc = 0 ] && grep -q "10\.1\.2\.3" "$TMP/out" && grep -qx "nx=1" "$TMP/out" && grep -q "query b.\\\\x06smtest" "$TMP/dns.log"' \
		"status $rc: $(head -c 300 "$TMP/out") $(head -c 200 "$TMP/err") server: $(head -c 200 "$TMP/dns.log")"
fi

# ---- --network tap:NAME: a tap this (root) test sets up on the host ----
tap=smtap$$
if [ "$(id -u)" != 0 ]; then
	fail net_tap_backend "needs root to create a tap device"
elif ! ip tuntap add dev "$tap" mode tap 2>"$TMP/tap.err" ||
	! ip addr add 10.0.2.2/24 dev "$tap" || ! ip link set "$tap" up; then
	fail net_tap_backend "cannot set up tap $tap: $(head -c 300 "$TMP/tap.err")"
else
	ht=$(free_port)
	(cd "$TMP/www" && exec $PY -m http.server --bind 10.0.2.2 "$ht" >/dev/null 2>&1) &
	PIDS+=("$!")
	fetch "http://10.0.2.2:$ht/file" 60 >/dev/null
	run --network "tap:$tap" "$IMG" wget -qO- "http://10.0.2.2:$ht/file"
	expect net_tap_backend '[ $rc = 0 ] && grep -qx from-the-host "$TMP/out"' \
		"wget http://10.0.2.2:$ht/file over tap $tap failed"
	run --network "tap:$tap" -p 8080:80 "$IMG" true
	expect net_tap_refuses_publish '[ $rc = 125 ]' "-p with a tap: expected 125"
	run --network tap:smnotatap$$ "$IMG" true
	expect net_tap_missing_device_125 '[ $rc = 125 ] && grep -q "smnotatap" "$TMP/err"' \
		"a tap that is not there: expected 125 naming it"
	ip link del "$tap"
fi
for p in "${PIDS[@]}"; do stop "$p"; done
PIDS=()
# results are the PASS/FAIL lines: a stopped server's status is not one
exit 0
