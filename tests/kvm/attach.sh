#!/usr/bin/env bash
# attach's stdin (docs/containers.md, "Semantics"): our stdin goes to a
# `run -d -i` container's until our EOF, the container's stdin stays open
# for the next attach; --no-stdin and a container without -i get none;
# with -t and a terminal, the terminal is raw and ctrl-p ctrl-q detaches
# while the container goes on.
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail attach_images_prepared "SM_TEST_IMAGES/images.env missing: run tests/kvm/prepare DIR on the host (tests/run does)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
IMG_BBOX=${IMG_BBOX:-not-prepared/bbox}
# container records hold unix sockets: a tmpfs, never the 9p share
export SUPERMACHINE_RUNTIME=$(mktemp -d /run/sm-attach.XXXXXX)
trap 'for c in $("$SM" ps -aq 2>/dev/null); do "$SM" rm -f "$c" >/dev/null 2>&1; done; rm -rf "$SUPERMACHINE_RUNTIME" "$TMP"' EXIT

state_of() { "$SM" ps -a | awk -v n="$1" '$NF == n'; }
running() { state_of "$1" | grep -q Up; }
logs_have() { timeout 60 "$SM" logs "$1" 2>&1 | grep -qx "$2"; }

# ---- our stdin into its stdin; its output and status back ----
timeout 300 "$SM" run -di --pull never --name lines "$IMG_BBOX" sh -c \
	'for i in 1 2; do read l && echo "got $l"; done; exit 3' </dev/null >/dev/null 2>&1
wait_for 120 'running lines'
printf 'one\ntwo\n' | timeout 120 "$SM" attach lines >"$TMP/a1" 2>"$TMP/e1"
rc=$?
expect attach_stdin_to_container '[ $rc = 3 ] && [ "$(cat "$TMP/a1")" = "$(printf "got one\ngot two")" ]' \
	"rc $rc out '$(tr '\n' '|' <"$TMP/a1")' err '$(head -c 200 "$TMP/e1")'"

# ---- its stdin stays open after our EOF: the next attach goes on ----
timeout 300 "$SM" run -di --pull never --name two "$IMG_BBOX" sh -c \
	'for i in 1 2; do read l && echo "got $l"; done' </dev/null >/dev/null 2>&1
wait_for 120 'running two'
echo first | timeout 200 "$SM" attach two >"$TMP/b1" 2>&1 &
first=$!
wait_for 60 'logs_have two "got first"'
sleep 1
still=$(running two && echo up)
echo second | timeout 120 "$SM" attach two >"$TMP/b2" 2>&1
rc=$?
wait "$first"
rc1=$?
expect attach_stdin_stays_open '[ "$still" = up ] && [ $rc = 0 ] && [ $rc1 = 0 ] && grep -qx "got second" "$TMP/b2" &&
	[ "$(timeout 60 "$SM" logs two)" = "$(printf "got first\ngot second")" ]' \
	"up after the first EOF: '$still'; rc $rc1 $rc; b1 '$(tr '\n' '|' <"$TMP/b1")' b2 '$(tr '\n' '|' <"$TMP/b2")'"

# ---- --no-stdin, and a container run without -i: no stdin from us ----
timeout 300 "$SM" run -di --pull never --name quiet "$IMG_BBOX" sh -c \
	'if read -t 8 l; then echo "got $l"; else echo none; fi' </dev/null >/dev/null 2>&1
wait_for 120 'running quiet'
echo typed | timeout 120 "$SM" attach --no-stdin quiet >"$TMP/c1" 2>&1
rc=$?
expect attach_no_stdin '[ $rc = 0 ] && grep -qx none "$TMP/c1"' "rc $rc out '$(tr '\n' '|' <"$TMP/c1")'"
timeout 300 "$SM" run -d --pull never --name noi "$IMG_BBOX" sh -c \
	'sleep 3; if read -t 3 l; then echo "got $l"; else echo none; fi' </dev/null >/dev/null 2>&1
wait_for 120 'running noi'
echo typed | timeout 120 "$SM" attach noi >"$TMP/d1" 2>&1
rc=$?
expect attach_without_i_sends_nothing '[ $rc = 0 ] && grep -qx none "$TMP/d1" && ! grep -q supermachine: "$TMP/d1"' \
	"rc $rc out '$(tr '\n' '|' <"$TMP/d1")'"

# ---- -t and a terminal: raw keys in, ctrl-p ctrl-q detaches ----
timeout 300 "$SM" run -dit --pull never --name shell "$IMG_BBOX" sh </dev/null >/dev/null 2>&1
wait_for 120 'running shell'
SM_BIN=$SM python3 - "$TMP/pty" <<'EOF' >"$TMP/pty.out" 2>&1
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(os.environ["SM_BIN"], [os.environ["SM_BIN"], "attach", "shell"])
seen = b""
def read_for(secs, want):
    global seen
    end = time.time() + secs
    while time.time() < end and want not in seen:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return want in seen
time.sleep(2)
os.write(fd, b"echo pty-$((40+2))\r")
ok = read_for(60, b"pty-42")
os.write(fd, b"\x10\x11")  # ctrl-p ctrl-q
end = time.time() + 30
status = None
while time.time() < end:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(st)
        break
    read_for(0.5, b"\0never")
print("echoed" if ok else "no-echo", "status", status)
EOF
expect attach_tty_raw_and_detach_keys 'grep -qx "echoed status 0" "$TMP/pty.out" && running shell' \
	"$(tail -c 300 "$TMP/pty.out" | tr '\n' '|'); ps '$(state_of shell)'"
