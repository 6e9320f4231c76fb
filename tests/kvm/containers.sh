#!/usr/bin/env bash
# Containers: `run -d`, ps, logs, exec, kill, stop (StopSignal, timeout),
# rm, --rm, --name, and `snapshot` of a detached VM, on the images that
# tests/kvm/prepare built (SM_TEST_IMAGES, set by tests/run).
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail containers_images_prepared "SM_TEST_IMAGES/images.env missing: run tests/kvm/prepare DIR on the host (tests/run does)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
IMG_BBOX=${IMG_BBOX:-not-prepared/bbox} IMG_STOPSIG=${IMG_STOPSIG:-not-prepared/stopsig}
IMG_EP=${IMG_EP:-not-prepared/ep}
# container records hold unix sockets: a tmpfs, never the 9p share
export SUPERMACHINE_RUNTIME=$(mktemp -d /run/sm-ctr.XXXXXX)
trap 'for c in $("$SM" ps -aq 2>/dev/null); do "$SM" rm -f "$c" >/dev/null 2>&1; done; rm -rf "$SUPERMACHINE_RUNTIME" "$TMP"' EXIT

# sm ARGS...: stdout in $TMP/out, stderr in $TMP/err, status in $rc.
# A command still there 10 s after the TERM at 300 s is killed: a hang
# shows as its check's FAIL, not as the script's silence.
sm() {
	timeout -k 10 300 "$SM" "$@" <"${SM_IN:-/dev/null}" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
state_of() { "$SM" ps -a | awk -v n="$1" '$NF == n' ; }

# ---- run -d: an id, a record, logs ----
sm run -d --pull never --name web1 "$IMG_BBOX" sh -c \
	'trap "echo got-usr1" USR1; echo started; echo to-stderr >&2; while :; do date +%s >/tmp/alive.new && mv /tmp/alive.new /tmp/alive; sleep 0.2; done'
id=$(cat "$TMP/out")
expect ctr_run_detached_prints_id '[ $rc = 0 ] && [[ $id =~ ^[0-9a-f]{64}$ ]]' "expected a 64-hex id"
wait_for 120 '"$SM" logs web1 2>/dev/null | grep -q started'
expect ctr_logs_stdout '"$SM" logs web1 2>/dev/null | grep -qx started' "stdout log lacks 'started'"
expect ctr_logs_stderr_separate '[ "$("$SM" logs web1 2>&1 >/dev/null)" = to-stderr ]' "stderr log is not just 'to-stderr'"
wait_for 20 'state_of web1 | grep -q " Up "'
expect ctr_ps_running 'state_of web1 | grep -q " Up "' "ps does not show web1 Up: $("$SM" ps -a; cat "$SUPERMACHINE_RUNTIME"/containers/*/state)"
expect ctr_ps_quiet_id_prefix '"$SM" ps -q | grep -qx "${id:0:12}"' "ps -q lacks ${id:0:12}"
# ---- ps's COMMAND: the image's entrypoint and cmd when the user gave
# none (docker's), the user's command after the image's entrypoint ----
sm run -d --pull never --name imgcmd "$IMG_EP"
sm run -d --pull never --name usercmd "$IMG_EP" x
wait_for 120 'state_of imgcmd | grep -q Exited && state_of usercmd | grep -q Exited'
expect ctr_ps_shows_the_images_command 'state_of imgcmd | grep -qF "\"/bin/echo ep c1 c2\"" &&
	state_of usercmd | grep -qF "\"/bin/echo ep x\""' "ps: $(state_of imgcmd); $(state_of usercmd)"
"$SM" rm imgcmd usercmd >/dev/null 2>&1

sm run -d --pull never --name web1 "$IMG_BBOX" true
expect ctr_name_in_use_125 '[ $rc = 125 ] && grep -q "already in use" "$TMP/err"' "a second web1 was not refused"

# ---- run -dit with a stdin that is not a terminal: docker skips the tty
# check with -d; the shell gets a pty of its own and waits on it ----
sm run -dit --pull never --name dit "$IMG_BBOX" sh
expect ctr_run_dit_without_terminal '[ $rc = 0 ] && [[ $(cat "$TMP/out") =~ ^[0-9a-f]{64}$ ]]' \
	"run -dit from a non-tty refused ($rc): $(head -c 200 "$TMP/err")"
wait_for 60 'state_of dit | grep -q " Up "'
sleep 3
sm exec dit sh -c 'for p in /proc/[0-9]*; do [ "$(cat $p/comm)" = sh ] && readlink $p/fd/0; done'
expect ctr_run_dit_stays_up 'state_of dit | grep -q " Up " && grep -q "^/dev/pts/" "$TMP/out"' \
	"run -dit sh did not stay up on a pty ($rc): $(state_of dit) $(head -c 200 "$TMP/out" "$TMP/err")"
sm rm -f dit

# ---- exec ----
sm exec web1 cat /tmp/alive
expect ctr_exec_sees_running_process '[ $rc = 0 ] && grep -Eq "^[0-9]+$" "$TMP/out"' "exec did not read the main process's file"
sm exec web1 sh -c 'exit 7'
expect ctr_exec_exit_status '[ $rc = 7 ]' "expected 7"
sm exec web1 no-such-command
expect ctr_exec_not_found_127 '[ $rc = 127 ] && grep -q "not found" "$TMP/err"' "expected 127 and a message"
sm exec web1 /etc/passwd
expect ctr_exec_not_executable_126 '[ $rc = 126 ] && [ -s "$TMP/err" ]' "expected 126 and a message for a file without exec permission"
sm exec -e X=1 -w /tmp -u 1234:5678 web1 sh -c 'echo $X $(pwd) $(id -u):$(id -g)'
expect ctr_exec_env_workdir_user '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = "1 /tmp 1234:5678" ]' "expected '1 /tmp 1234:5678'"
printf 'line1\nline2\n' >"$TMP/in"
SM_IN=$TMP/in sm exec -i web1 sh -c 'cat; echo eof'
expect ctr_exec_stdin_to_eof '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = "$(printf "line1\nline2\neof")" ]' "stdin not relayed to EOF"
sm exec -t web1 sh -c 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys'
expect ctr_exec_tty '[ $rc = 0 ] && grep -q "^/dev/pts/[0-9]" "$TMP/out" && grep -q "^all-ttys" "$TMP/out"' "exec -t: not every stdio on a pty"
"$SM" exec web1 sh -c 'sleep 1; echo a' >"$TMP/a" 2>&1 &
"$SM" exec web1 sh -c 'sleep 1; echo b' >"$TMP/b" 2>&1
bounded_wait 120 $!
expect ctr_exec_concurrent '[ "$(cat "$TMP/a")" = a ] && [ "$(cat "$TMP/b")" = b ]' "two execs at once: $(cat "$TMP/a" "$TMP/b")"
"$SM" exec web1 sh -c 'trap "echo trapped; exit 5" INT; echo ready; while :; do sleep 0.1; done' >"$TMP/sig" 2>&1 &
epid=$!
wait_for 60 'grep -q ready "$TMP/sig"'
kill -INT $epid
bounded_wait 120 $epid
rc=$?
expect ctr_exec_signal_forwarded '[ $rc = 5 ] && grep -q trapped "$TMP/sig"' "SIGINT did not reach the exec'd process (status $rc: $(cat "$TMP/sig"))"
# exec -d: back once the process started, which runs on without us (its
# file appears seconds after); one that cannot start is 127 at once
sm exec -d web1 sh -c 'sleep 8; echo detached >/tmp/exec-d'
drc=$rc dout=$(cat "$TMP/out" "$TMP/err")
"$SM" exec web1 cat /tmp/exec-d >"$TMP/d0" 2>/dev/null
wait_for 60 '"$SM" exec web1 cat /tmp/exec-d 2>/dev/null | grep -qx detached'
expect ctr_exec_detach '[ $drc = 0 ] && [ -z "$dout" ] && [ ! -s "$TMP/d0" ] &&
	"$SM" exec web1 cat /tmp/exec-d | grep -qx detached' \
	"exec -d: status $drc, output '$dout', file at return '$(cat "$TMP/d0")'"
sm exec -d web1 nosuchbin
expect ctr_exec_detach_not_found_127 '[ $rc = 127 ]' "exec -d nosuchbin: $rc $(head -c 200 "$TMP/err")"
# ---- attach: the output from now on, each stream to its own, until the
# end; its status; a stopped container refused as docker's ----
sm run -d --pull never --name att "$IMG_BBOX" sh -c 'echo before; sleep 12; echo after; echo err-after >&2; exit 7'
wait_for 60 '"$SM" logs att 2>/dev/null | grep -q before'
sm attach att
expect ctr_attach_follows_to_the_end '[ $rc = 7 ] && [ "$(cat "$TMP/out")" = after ] && [ "$(cat "$TMP/err")" = err-after ]' \
	"attach: status $rc, out '$(head -c 200 "$TMP/out")', err '$(head -c 200 "$TMP/err")'"
sm attach att
expect ctr_attach_stopped_1 '[ $rc = 1 ] && grep -q "cannot attach to a stopped container" "$TMP/err"' \
	"attach to a stopped one: $rc $(head -c 200 "$TMP/err")"
"$SM" rm att >/dev/null 2>&1

# ---- kill, stop ----
sm kill -s USR1 web1
wait_for 60 '"$SM" logs web1 2>/dev/null | grep -q got-usr1'
expect ctr_kill_signal '[ $rc = 0 ] && "$SM" logs web1 2>/dev/null | grep -q got-usr1' "USR1 not delivered"
sm stop web1
expect ctr_stop_sigterm '[ $rc = 0 ] && state_of web1 | grep -q "Exited (143)"' "expected Exited (143): $(state_of web1)"
sm exec web1 true
expect ctr_exec_stopped_refused '[ $rc = 1 ] && grep -qx "supermachine: container web1 is not running" "$TMP/err"' \
	"exec into a stopped container: status $rc, $(cat "$TMP/err")"
sm kill web1
expect ctr_kill_stopped_1 '[ $rc = 1 ] && grep -q "not running" "$TMP/err"' "status $rc, $(cat "$TMP/err")"
sm port web1
expect ctr_port_stopped_1 '[ $rc = 1 ] && grep -q "not running" "$TMP/err"' "status $rc, $(cat "$TMP/err")"

sm run -d --pull never --name sig "$IMG_STOPSIG" sh -c 'trap "echo got-usr1; exit 3" USR1; echo up; while :; do sleep 0.1; done'
wait_for 120 '"$SM" logs sig 2>/dev/null | grep -q up'
sm stop sig
expect ctr_stop_image_stopsignal 'state_of sig | grep -q "Exited (3)" && "$SM" logs sig 2>/dev/null | grep -q got-usr1' \
	"the image's StopSignal (USR1) was not used: $(state_of sig)"

sm run -d --pull never --name stubborn --stop-timeout 2 "$IMG_BBOX" sh -c 'trap "" TERM; echo up; while :; do sleep 0.1; done'
wait_for 120 '"$SM" logs stubborn 2>/dev/null | grep -q up'
t0=$SECONDS
sm stop stubborn
expect ctr_stop_timeout_then_kill '[ $rc = 0 ] && [ $((SECONDS - t0)) -ge 2 ] && state_of stubborn | grep -q "Exited (137)"' \
	"expected SIGKILL after 2 s: $(state_of stubborn)"

# ---- an image a running container uses (issue 20, docs/images.md "In
# use"): loaded from the pull layout into a store of its own on a tmpfs
# (the shared store is on 9p, whose server takes flock as a no-op); its
# first run is a cold boot, so the snapshot right after `run -d` waits
# for the init ----
shared_root=$SUPERMACHINE_ROOT
export SUPERMACHINE_ROOT=$(mktemp -d /run/sm-store.XXXXXX)
if [ -n "${PULL_LAYOUT:-}" ] && command -v skopeo >/dev/null &&
	skopeo copy -q "oci:$PULL_LAYOUT:v1" "oci:$TMP/one:v1" >/dev/null 2>&1 &&
	"$SM" load -i "$TMP/one" -t ctr/inuse:1 >/dev/null 2>&1; then
	rootfs=$("$SM" inspect ctr/inuse:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"])')
	# a foreground run's record says "Up" from its VM's start, while
	# the guest boots (cold: --no-snapshot); a snapshot then waits
	timeout -k 10 300 "$SM" run --pull never --no-snapshot --name early \
		ctr/inuse:1 sleep 1000 </dev/null >/dev/null 2>&1 &
	early_pid=$!
	for _ in $(seq 600); do state_of early | grep -q Up && break; sleep 0.1; done
	sm snapshot early "$TMP/early-snap"
	expect ctr_snapshot_waits_for_boot '[ $rc = 0 ] && [ -s "$TMP/early-snap/state" ]' \
		"snapshot during the boot: status $rc, $(cat "$TMP/err")"
	"$SM" rm -f early >/dev/null 2>&1
	wait $early_pid
	sm run -d --pull never --name inuse ctr/inuse:1 sleep 1000
	sm rmi ctr/inuse:1
	expect ctr_rmi_in_use_conflict '[ $rc = 1 ] && grep -q "conflict: unable to remove repository reference" "$TMP/err" &&
		"$SM" images | grep -q ctr/inuse' "status $rc, $(cat "$TMP/err")"
	sm rmi -f ctr/inuse:1
	rmi_rc=$rc
	sm exec inuse cat /etc/marker
	expect ctr_rmi_force_untags_keeps_rootfs '[ $rmi_rc = 0 ] && ! "$SM" images | grep -q ctr/inuse &&
		[ $rc = 0 ] && grep -qx pull-v1 "$TMP/out" && [ -d "$rootfs" ]' \
		"rmi -f: status $rmi_rc; exec: status $rc, $(cat "$TMP/out" "$TMP/err")"
	sm rm -f inuse
	# the next removal (of another image) collects the nameless one
	skopeo copy -q "oci:$PULL_LAYOUT:v2" "oci:$TMP/two:v2" >/dev/null 2>&1
	"$SM" load -i "$TMP/two" -t ctr/other:2 >/dev/null 2>&1
	"$SM" rmi ctr/other:2 >/dev/null 2>&1
	expect ctr_rmi_collects_after_container '[ -n "$rootfs" ] && [ ! -e "$rootfs" ]' "$rootfs is still there"
else
	for t in ctr_snapshot_waits_for_boot ctr_rmi_in_use_conflict ctr_rmi_force_untags_keeps_rootfs ctr_rmi_collects_after_container; do
		fail $t "no PULL_LAYOUT from tests/kvm/prepare, or no skopeo, or the load failed"
	done
fi
rm -rf "$SUPERMACHINE_ROOT"
export SUPERMACHINE_ROOT=$shared_root

# ---- rm ----
sm run -d --pull never --name busy "$IMG_BBOX" sleep 1000
sm rm busy
expect ctr_rm_running_refused '[ $rc != 0 ] && grep -q "running" "$TMP/err"' "rm of a running container was not refused"
sm rm -f busy
expect ctr_rm_force '[ $rc = 0 ] && [ -z "$(state_of busy)" ]' "rm -f left busy behind"
sm rm web1 sig stubborn
expect ctr_rm_exited '[ $rc = 0 ] && [ -z "$(state_of web1)$(state_of sig)$(state_of stubborn)" ]' "rm of exited containers failed: $(cat "$TMP/err")"
sm run -d --rm --pull never --name gone "$IMG_BBOX" sh -c 'echo ran >/dev/null'
gone_rc=$rc gone_id=$(cat "$TMP/out")
wait_for 120 '[ -z "$(state_of gone)" ]'
expect ctr_rm_flag_removes_record '[ $gone_rc = 0 ] && [[ $gone_id =~ ^[0-9a-f]{64}$ ]] && [ -z "$(state_of gone)" ] &&
	[ ! -e "$SUPERMACHINE_RUNTIME/containers/$gone_id" ]' "run -d --rm: status $gone_rc, id '$gone_id', record: $(state_of gone)"

# ---- run -d that fails leaves no record; names made up when not given ----
before=$("$SM" ps -aq | sort)
sm run -d --pull never no-such/image:here true
expect ctr_run_detached_failure_no_record '[ $rc = 125 ] && [ "$("$SM" ps -aq | sort)" = "$before" ]' \
	"a failed run -d: status $rc, records before '$before' after '$("$SM" ps -aq | sort)'"
# docker's run -d of a command that cannot start: its status, no ID
sm run -d --pull never --entrypoint nosuchbin "$IMG_BBOX"
expect ctr_run_detached_missing_command_127 '[ $rc = 127 ] && grep -q "nosuchbin.*not found" "$TMP/err" &&
	[ ! -s "$TMP/out" ] && [ "$("$SM" ps -aq | sort)" = "$before" ]' \
	"status $rc, out '$(cat "$TMP/out")', err $(head -c 300 "$TMP/err")"
sm run -d --pull never "$IMG_BBOX" sleep 1000
anon_id=$(cat "$TMP/out")
anon_name=$("$SM" ps -a --no-trunc 2>/dev/null | awk -v i="$anon_id" '$1 == i || index(i, $1) == 1 { print $NF }' | head -1)
expect ctr_generated_name '[ $rc = 0 ] && [[ $anon_name =~ ^[a-z]+_[a-z]+[0-9]*$ ]]' "no generated name: '$anon_name' ($("$SM" ps -a))"

# ---- kill: SIGKILL by default (docker's rule), even for a process that
# ignores SIGTERM; --stop-signal; stop -t ----
sm kill "${anon_id:0:12}"
wait_for 60 '"$SM" ps -a | grep "^${anon_id:0:12}" | grep -q "Exited (137)"'
expect ctr_kill_default_sigkill '[ $rc = 0 ] && "$SM" ps -a | grep "^${anon_id:0:12}" | grep -q "Exited (137)"' \
	"kill without -s: $("$SM" ps -a | grep "^${anon_id:0:12}")"
sm rm "${anon_id:0:12}"
sm run -d --pull never --name stopsig --stop-signal USR2 "$IMG_BBOX" sh -c 'trap "echo got-usr2; exit 4" USR2; trap "" TERM; echo up; while :; do sleep 0.1; done'
wait_for 120 '"$SM" logs stopsig 2>/dev/null | grep -q up'
sm stop -t 30 stopsig
expect ctr_stop_signal_flag '[ $rc = 0 ] && state_of stopsig | grep -q "Exited (4)" && "$SM" logs stopsig 2>/dev/null | grep -q got-usr2' \
	"--stop-signal USR2 was not used: $(state_of stopsig)"
sm run -d --pull never --name deaf "$IMG_BBOX" sh -c 'trap "" TERM; echo up; while :; do sleep 0.1; done'
wait_for 120 '"$SM" logs deaf 2>/dev/null | grep -q up'
t0=$SECONDS
sm stop -t 1 deaf
expect ctr_stop_t_then_sigkill '[ $rc = 0 ] && [ $((SECONDS - t0)) -ge 1 ] && state_of deaf | grep -q "Exited (137)"' \
	"stop -t 1 on a process that ignores SIGTERM: $(state_of deaf)"

# ---- logs -f follows until the container ends ----
sm run -d --pull never --name talker "$IMG_BBOX" sh -c 'sleep 2; for i in 1 2 3; do echo line$i; sleep 1; done'
timeout 120 "$SM" logs -f talker >"$TMP/follow" 2>&1
frc=$?
expect ctr_logs_follow '[ $frc = 0 ] && [ "$(cat "$TMP/follow")" = "$(printf "line1\nline2\nline3")" ]' \
	"logs -f: status $frc (124: it did not end with the container), output '$(head -c 200 "$TMP/follow")'"
sm rm -f stopsig deaf talker

# ---- published ports: 0.0.0.0, a range, and ps shows them ----
# free_ports N: the first of N consecutive free TCP ports on this host
free_ports() {
	/usr/bin/python3 - "$1" <<'PYEOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 40000)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); s.bind(("0.0.0.0", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PYEOF
}
pa=$(free_ports 1) pb=$(free_ports 2)
sm run -d --pull never --name pub -p "0.0.0.0:$pa:80" -p "$pb-$((pb + 1)):81-82" "$IMG_BBOX" sh -c \
	'mkdir -p /www && echo hi >/www/index.html && httpd -p 80 -h /www && httpd -p 81 -h /www && exec httpd -f -p 82 -h /www'
get() { /usr/bin/python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())' "$1" 2>/dev/null; }
wait_for 120 '[ "$(get "http://127.0.0.1:$pa/")" = hi ]'
expect ctr_publish_all_addresses_and_range '[ $rc = 0 ] && [ "$(get "http://127.0.0.1:$pa/")" = hi ] &&
	[ "$(get "http://127.0.0.1:$pb/")" = hi ] && [ "$(get "http://127.0.0.1:$((pb + 1))/")" = hi ]' \
	"0.0.0.0:$pa->80 and $pb-$((pb + 1))->81-82 did not all answer 'hi'"
expect ctr_ps_shows_ports 'line=$(state_of pub); [[ $line == *"0.0.0.0:$pa->80/tcp"* ]] &&
	[[ $line == *"127.0.0.1:$pb->81/tcp"* ]] && [[ $line == *"127.0.0.1:$((pb + 1))->82/tcp"* ]]' \
	"ps: $(state_of pub)"
sm rm -f pub

# ---- snapshot a detached container, restore it twice ----
sm run -d --pull never --name counter "$IMG_BBOX" sh -c \
	'echo counting; i=0; while [ $i -lt 150 ]; do i=$((i+1)); echo $i >/tmp/i; sleep 0.1; done; echo "counted $i from $(cat /tmp/i)"'
wait_for 120 '"$SM" logs counter 2>/dev/null | grep -q counting'
sm snapshot counter "$TMP/snap"
# the machine's configuration is a record of the state file (format 1.1)
CONF=$SM_BUILD/tools/snapshot-conf
"$CONF" get "$TMP/snap" >"$TMP/snap.conf" 2>&1
expect ctr_snapshot_cli '[ $rc = 0 ] && [ -f "$TMP/snap/state" ] && [ ! -e "$TMP/snap/vm.conf" ] && grep -q "^version 2" "$TMP/snap.conf"' \
	"snapshot failed: $(cat "$TMP/err"); $(ls "$TMP/snap"); $(head -c 200 "$TMP/snap.conf")"
"$SM" restore "$TMP/snap" >"$TMP/r1" 2>&1 &
r1=$!
"$SM" restore "$TMP/snap" >"$TMP/r2" 2>&1
rc2=$?
bounded_wait 300 $r1
rc1=$?
expect ctr_snapshot_keeps_exec_base 'grep -q "^env PATH=" "$TMP/snap.conf" && grep -q "^cwd /" "$TMP/snap.conf"' \
	"the configuration lacks the process's env/cwd: $(head -c 300 "$TMP/snap.conf")"
expect ctr_snapshot_restores_continue '[ $rc1 = 0 ] && [ $rc2 = 0 ] && grep -qx "counted 150 from 150" "$TMP/r1" && grep -qx "counted 150 from 150" "$TMP/r2"' \
	"restores did not finish the count ($rc1 $rc2): $(cat "$TMP/r1" "$TMP/r2" | head -c 400)"
# The snapshot can land between the counter's truncate of /tmp/i and its
# write (or before its first write); the resumed counter rewrites it
# within 0.1 s, so CMD waits up to 5 s for it. A VM that is not the
# resumed one never gets the file and fails the check.
# The file is read once per try (a test for size then a second read can
# land between the counter's truncate and its write: seen once in CI).
sm restore "$TMP/snap" sh -c 'n=0; v=; while [ -z "$v" ] && [ $n -lt 50 ]; do v=$(cat /tmp/i 2>/dev/null); n=$((n+1)); [ -n "$v" ] || sleep 0.1; done; echo "i=$v path=$PATH"; exit 9'
expect ctr_restore_with_command '[ $rc = 9 ] && grep -Eq "^i=[0-9]+ path=.*/usr/bin" "$TMP/out"' \
	"restore DIR CMD did not run CMD in the resumed VM ($rc): $(cat "$TMP/out" "$TMP/err" | head -c 300)"
# restore -i DIR CMD: CMD reads this stdin; without -i it reads nothing.
printf 'to-restored\n' >"$TMP/rin"
SM_IN=$TMP/rin sm restore -i "$TMP/snap" sh -c 'cat; echo end'
irc=$rc iout=$(cat "$TMP/out")
SM_IN=$TMP/rin sm restore "$TMP/snap" sh -c 'cat; echo end'
expect ctr_restore_interactive_stdin '[ $irc = 0 ] && [ "$iout" = "$(printf "to-restored\nend")" ] && [ $rc = 0 ] && [ "$(cat "$TMP/out")" = end ]' \
	"restore -i: status $irc, out '$iout'; without -i: status $rc, out '$(head -c 100 "$TMP/out")'"
# ---- each clone its own identity (README): hostname, HOSTNAME of an
# exec, machine-id and RNG differ between two restores of one snapshot;
# -h names the clone ----
ident='echo "h=$(hostname) e=$HOSTNAME m=$(cat /etc/machine-id) r=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")"'
sm restore "$TMP/snap" sh -c "$ident"; cp "$TMP/out" "$TMP/id1"; idrc=$rc
sm restore "$TMP/snap" sh -c "$ident"; cp "$TMP/out" "$TMP/id2"; idrc=$idrc$rc
sm restore -h given.example "$TMP/snap" sh -c "$ident"; idrc=$idrc$rc
idf() { sed -n "s/.*\(^\| \)$1=\([^ ]*\).*/\2/p" "$2"; }
expect ctr_clones_have_their_own_identity '[ $idrc = 000 ] &&
	[ -n "$(idf h "$TMP/id1")" ] && [ "$(idf h "$TMP/id1")" != "$(idf h "$TMP/id2")" ] &&
	[ "$(idf e "$TMP/id1")" = "$(idf h "$TMP/id1")" ] &&
	[ -n "$(idf m "$TMP/id1")" ] && [ "$(idf m "$TMP/id1")" != "$(idf m "$TMP/id2")" ] &&
	[ -n "$(idf r "$TMP/id1")" ] && [ "$(idf r "$TMP/id1")" != "$(idf r "$TMP/id2")" ] &&
	grep -q "^h=given.example e=given.example m=" "$TMP/out"' \
	"($idrc) $(cat "$TMP/id1" "$TMP/id2" "$TMP/out" "$TMP/err" | head -c 600)"
# a --hostname given to run goes with the snapshot: its clones keep it
sm run -d --pull never --name hn --hostname kept.example "$IMG_BBOX" sleep 600
sm snapshot hn "$TMP/hnsnap"
snap_rc=$rc
sm restore "$TMP/hnsnap" sh -c 'echo "h=$(hostname) e=$HOSTNAME"'
expect ctr_run_hostname_kept_by_clones '[ $snap_rc = 0 ] && [ $rc = 0 ] && grep -qx "h=kept.example e=kept.example" "$TMP/out"' \
	"snapshot $snap_rc, restore $rc: $(cat "$TMP/out" "$TMP/err" | head -c 300)"
"$SM" rm -f hn >/dev/null 2>&1
sm restore -d --name clone "$TMP/snap"
wait_for 60 'state_of clone | grep -q " Up "'
sm exec clone sh -c 'cat /tmp/i; echo $PATH'
expect ctr_exec_into_restored_clone '[ $rc = 0 ] && head -1 "$TMP/out" | grep -Eq "^[0-9]+$" && grep -q /usr/bin "$TMP/out"' \
	"exec into a restored container failed ($rc): $(cat "$TMP/out" "$TMP/err" | head -c 300)"
sm stop -t 1 clone
expect ctr_stop_restored_clone '[ $rc = 0 ] && state_of clone | grep -q "Exited"' "stop of the clone: $(state_of clone)"
sm rm -f counter clone

# ---- a snapshot directory is untrusted (docs/snapshot.md, "Trust"):
# its volumes are bound only to the restorer's -v, never to a host path
# stored in it; a hostile vm.conf is refused ----
mkdir -p "$TMP/vsrc" "$TMP/vother"
echo from-src >"$TMP/vsrc/f"
echo from-other >"$TMP/vother/f"
sm run -d --pull never --name vsnap -v "$TMP/vsrc:/data" "$IMG_BBOX" sh -c 'echo up; sleep 600'
wait_for 120 '"$SM" logs vsnap 2>/dev/null | grep -q up'
sm snapshot vsnap "$TMP/vsnap"
sm rm -f vsnap
"$CONF" get "$TMP/vsnap" >"$TMP/vsnap.conf" 2>&1
expect ctr_snapshot_stores_no_host_path '! grep -q "$TMP" "$TMP/vsnap.conf" && ! grep -q "$TMP" "$TMP/vsnap/state" &&
	grep -qx "slot0 rw /data" "$TMP/vsnap.conf"' "configuration: $(head -c 400 "$TMP/vsnap.conf")"
sm restore "$TMP/vsnap" cat /data/f
expect ctr_restore_needs_the_volume '[ $rc = 125 ] && grep -q "give its directory (-v HOST:/data)" "$TMP/err"' \
	"restore without -v: $rc, $(head -c 300 "$TMP/err")"
sm restore -v "$TMP/vother:/data" "$TMP/vsnap" cat /data/f
expect ctr_restore_binds_the_restorers_volume '[ $rc = 0 ] && grep -qx from-other "$TMP/out"' \
	"restore -v other: $rc, $(cat "$TMP/out" "$TMP/err" | head -c 300)"
# the state is what changes; the memory (the guest's size) is linked, as a
# copy of it takes minutes under the emulated host
mkdir -p "$TMP/vhostile" && cp "$TMP/vsnap/state" "$TMP/vhostile/state" &&
	{ ln "$TMP/vsnap/memory" "$TMP/vhostile/memory" 2>/dev/null ||
		cp "$TMP/vsnap/memory" "$TMP/vhostile/memory"; }
sed 's/^cpus .*/cpus 4294967297/' "$TMP/vsnap.conf" | "$CONF" put "$TMP/vhostile"
sm restore -v "$TMP/vother:/data" "$TMP/vhostile" true
expect ctr_restore_refuses_hostile_vm_conf '[ $rc = 125 ] && grep -q "vm.conf: line [0-9]*: cpus: not in 1..64" "$TMP/err"' \
	"hostile cpus: $rc, $(head -c 300 "$TMP/err")"

# ---- the jail (issue 15, docs/security.md "Jail"): a detached VMM's
# process, looked at from the host ----
field() { awk -v k="$1:" '$1 == k { print $2 }' "$2" 2>/dev/null; }
echo marker >"$TMP/inherited-marker"
sm run -d --pull never --name jailed "$IMG_BBOX" sh -c 'echo up; sleep 600' 9<"$TMP/inherited-marker"
wait_for 120 '"$SM" logs jailed 2>/dev/null | grep -q up'
jpid=$(grep -o '"pid": *[0-9]*' "$SUPERMACHINE_RUNTIME"/containers/$(cat "$TMP/out")/state | grep -o '[0-9]*$')
jst=/proc/$jpid/status
expect ctr_jail_main_thread '[ -n "$jpid" ] && [ "$(field Seccomp $jst)" = 2 ] && [ "$(field NoNewPrivs $jst)" = 1 ] &&
	[ "$(field CapEff $jst)" = 0000000000000000 ] && [ "$(field Uid $jst)" != 0 ] && [ "$(readlink /proc/$jpid/root)" != / ]' \
	"pid $jpid: $(grep -E "^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):" $jst | tr '\t\n' ' ') root=$(readlink /proc/$jpid/root)"
# every thread: filtered, no_new_privs, not root, its own root; no
# capability but the FUSE workers' file ones (chown, dac_override,
# dac_read_search, fowner, fsetid), each worker chrooted to its share;
# an empty bounding set in each (dropped once by the VMM's first thread,
# inherited by the others)
jbad= jfuse=0
for t in /proc/$jpid/task/*; do
	uid=$(field Uid $t/status) cap=$(field CapEff $t/status) root=$(readlink $t/root)
	[ "$(field Seccomp $t/status)" = 2 ] && [ "$(field NoNewPrivs $t/status)" = 1 ] || jbad="$jbad ${t##*/}:filter"
	[ "$uid" != 0 ] && [ -n "$uid" ] && [ "$root" != / ] || jbad="$jbad ${t##*/}:uid=$uid,root=$root"
	[ "$(field CapBnd $t/status)" = 0000000000000000 ] || jbad="$jbad ${t##*/}:bnd=$(field CapBnd $t/status)"
	case $cap in
	0000000000000000) ;;
	000000000000001f) jfuse=$((jfuse + 1)) ;;
	*) jbad="$jbad ${t##*/}:cap=$cap" ;;
	esac
done
expect ctr_jail_no_inherited_fds '[ -d /proc/$jpid/fd ] && ! ls -l /proc/$jpid/fd | grep -q inherited-marker' \
	"the VMM holds the caller's fd 9: $(ls -l /proc/$jpid/fd 2>&1 | grep inherited)"
expect ctr_jail_every_thread '[ -d /proc/$jpid/task ] && [ -z "$jbad" ] && [ $jfuse -ge 1 ]' \
	"threads out of their jail:$jbad; $jfuse with the file capabilities"
sm exec jailed sh -c 'echo in-jail'
expect ctr_jail_exec_works '[ $rc = 0 ] && grep -qx in-jail "$TMP/out"' "exec: $rc $(head -c 200 "$TMP/err")"
sm snapshot jailed "$TMP/jsnap"
expect ctr_jail_snapshot_works '[ $rc = 0 ] && [ -f "$TMP/jsnap/state" ] && [ "$(stat -c %u "$TMP/jsnap/state")" = "$(id -u)" ] &&
	[ -z "$(ls -A "$TMP/jsnap" | grep staging)" ]' "snapshot: $rc $(head -c 200 "$TMP/err"); $(ls -la "$TMP/jsnap" 2>&1 | head -c 300)"
sm restore "$TMP/jsnap" echo restored
expect ctr_jail_snapshot_restores '[ $rc = 0 ] && grep -qx restored "$TMP/out"' "restore: $rc $(head -c 200 "$TMP/err")"
sm stop -t 1 jailed
expect ctr_jail_stop_records_exit '[ $rc = 0 ] && state_of jailed | grep -q "Exited"' \
	"stop: $rc; $(state_of jailed)"
sm rm jailed
nvols() { ls "$SUPERMACHINE_ROOT/volumes" 2>/dev/null | wc -l; }
vols_before=$(nvols)
sm run -d --pull never --rm --name jailrm -v /anon "$IMG_BBOX" sh -c 'echo up; touch /anon/x; sleep 2'
jrm_id=$(cat "$TMP/out")
wait_for 120 '[ ! -e "$SUPERMACHINE_RUNTIME/containers/$jrm_id" ]'
expect ctr_jail_rm_removes_record_and_volume '[ -n "$jrm_id" ] && [ ! -e "$SUPERMACHINE_RUNTIME/containers/$jrm_id" ] &&
	[ "$(nvols)" = "$vols_before" ]' \
	"--rm left records: $(ls "$SUPERMACHINE_RUNTIME/containers" 2>&1 | head -c 200); volumes $vols_before before, $(nvols) after"
sm run -d --pull never --security-opt jail=off --name unjailed "$IMG_BBOX" sh -c 'echo up; sleep 600'
wait_for 120 '"$SM" logs unjailed 2>/dev/null | grep -q up'
upid=$(grep -o '"pid": *[0-9]*' "$SUPERMACHINE_RUNTIME"/containers/$(cat "$TMP/out")/state | grep -o '[0-9]*$')
expect ctr_jail_off_keeps_root '[ -n "$upid" ] && [ "$(field Uid /proc/$upid/status)" = 0 ] && [ "$(readlink /proc/$upid/root)" = / ]' \
	"jail=off: $(grep -E "^(Uid|CapEff):" /proc/$upid/status 2>&1 | tr '\t\n' ' ')"
sm rm -f unjailed

# ---- a foreground run: the VMM is a process of its own under the `run`
# process (its keeper), jailed like a detached one; it dies with its keeper ----
record_pid() { # NAME: the pid in that container's record
	local m; m=$(grep -l "\"$1\"" "$SUPERMACHINE_RUNTIME"/containers/*/meta 2>/dev/null | head -1)
	[ -n "$m" ] && grep -o '"pid": *[0-9]*' "${m%/meta}/state" 2>/dev/null | grep -o '[0-9]*$'
}
fg_start() { # NAME: a foreground run in the background; $fgkeeper, $fpid
	"$SM" run --pull never --name "$1" "$IMG_BBOX" sh -c 'echo up; sleep 600' \
		</dev/null >"$TMP/fg.out" 2>"$TMP/fg.err" &
	fgkeeper=$!
	wait_for 120 'grep -qx up "$TMP/fg.out" || ! kill -0 $fgkeeper 2>/dev/null'
	fgname=$1
	wait_for 20 '[ -n "$(record_pid "$fgname")" ]'
	fpid=$(record_pid "$fgname")
}
fg_start fgjail
fst=/proc/$fpid/status
expect ctr_jail_foreground_vmm '[ -n "$fpid" ] && [ "$fpid" != "$fgkeeper" ] && [ "$(field PPid $fst)" = "$fgkeeper" ] &&
	[ "$(field Seccomp $fst)" = 2 ] && [ "$(field NoNewPrivs $fst)" = 1 ] && [ "$(field CapEff $fst)" = 0000000000000000 ] &&
	[ "$(field Uid $fst)" != 0 ] && [ "$(readlink /proc/$fpid/root)" != / ]' \
	"keeper $fgkeeper, vmm $fpid: $(grep -E "^(PPid|Uid|CapEff|NoNewPrivs|Seccomp):" $fst 2>&1 | tr '\t\n' ' ') root=$(readlink /proc/$fpid/root); $(head -c 300 "$TMP/fg.err")"
sm exec fgjail echo in-foreground-jail
expect ctr_jail_foreground_exec '[ $rc = 0 ] && grep -qx in-foreground-jail "$TMP/out"' "exec: $rc $(head -c 200 "$TMP/err")"
{ kill -KILL $fgkeeper; wait $fgkeeper; } 2>/dev/null
wait_for 30 '! kill -0 $fpid 2>/dev/null'
expect ctr_jail_foreground_dies_with_keeper '[ -n "$fpid" ] && ! kill -0 $fpid 2>/dev/null' \
	"the VMM $fpid outlived its keeper: $(grep -E "^(State|PPid):" /proc/$fpid/status 2>&1 | tr '\t\n' ' ')"
"$SM" rm -f fgjail >/dev/null 2>&1

# ---- cgroup v2 limits of the VMM (issue 15): --pids-limit, --cpu-shares,
# and memory.max from the guest's memory; the cgroup goes with the VMM.
# The emulated host mounts no cgroup file system: mount cgroup2 there ----
[ -f /sys/fs/cgroup/cgroup.controllers ] || mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	sm run -d --pull never --name cg --pids-limit 64 --cpu-shares 512 -m 256m "$IMG_BBOX" sh -c 'echo up; sleep 600'
	cid=$(cat "$TMP/out")
	wait_for 120 '"$SM" logs cg 2>/dev/null | grep -q up'
	cpid=$(grep -o '"pid": *[0-9]*' "$SUPERMACHINE_RUNTIME/containers/$cid/state" 2>/dev/null | grep -o '[0-9]*$')
	cg=/sys/fs/cgroup/supermachine/$cid
	expect ctr_cgroup_limits '[ -n "$cid" ] && [ "$(cat /proc/$cpid/cgroup)" = "0::/supermachine/$cid" ] &&
		[ "$(cat $cg/pids.max)" = 64 ] && [ "$(cat $cg/cpu.weight)" = 20 ] &&
		[ "$(cat $cg/memory.max)" = $(((256 + 64 + 128) << 20)) ]' \
		"status $rc $(head -c 200 "$TMP/err"); pid $cpid in $(cat /proc/$cpid/cgroup 2>&1); pids.max $(cat $cg/pids.max 2>&1) cpu.weight $(cat $cg/cpu.weight 2>&1) memory.max $(cat $cg/memory.max 2>&1)"
	sm exec cg echo in-cgroup
	expect ctr_cgroup_exec_works '[ $rc = 0 ] && grep -qx in-cgroup "$TMP/out"' "exec: $rc $(head -c 200 "$TMP/err")"
	sm rm -f cg
	wait_for 30 '[ ! -d "$cg" ]'
	expect ctr_cgroup_removed_with_the_vmm '[ ! -d "$cg" ]' "$cg is left: $(cat $cg/cgroup.procs 2>&1)"
	sm run --pull never --pids-limit 64 "$IMG_BBOX" sh -c 'echo fg'
	cgdirs() { find /sys/fs/cgroup/supermachine -mindepth 1 -maxdepth 1 -type d 2>&1; }
	expect ctr_cgroup_foreground '[ $rc = 0 ] && grep -qx fg "$TMP/out" && [ -z "$(cgdirs)" ]' \
		"status $rc $(head -c 200 "$TMP/err"); left: $(cgdirs)"
else
	for t in ctr_cgroup_limits ctr_cgroup_exec_works ctr_cgroup_removed_with_the_vmm ctr_cgroup_foreground; do
		skip $t "no cgroup v2 at /sys/fs/cgroup here (a hybrid host)"
	done
fi
sm run --pull never --pids-limit 0 "$IMG_BBOX" true
expect ctr_cgroup_bad_limit_125 '[ $rc = 125 ] && grep -q "want a positive number" "$TMP/err"' "status $rc"
exit 0
