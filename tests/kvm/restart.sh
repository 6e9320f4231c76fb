#!/usr/bin/env bash
# start and restart (docs/containers.md, "Start and restart"): an exited
# container runs again under its id and name with the options it was
# created with (-e K's value at create, relative binds from the creator's
# directory), its anonymous volumes and log kept, its ports published
# again; start -a; restart of a running one; a start that fails leaves
# the record saying why; logs --since/--until split the runs.
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail restart_images_prepared "SM_TEST_IMAGES/images.env missing: run tests/kvm/prepare DIR on the host (tests/run does)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
IMG_BBOX=${IMG_BBOX:-not-prepared/bbox}
# container records hold unix sockets: a tmpfs, never the 9p share
export SUPERMACHINE_RUNTIME=$(mktemp -d /run/sm-restart.XXXXXX)
trap 'for c in $("$SM" ps -aq 2>/dev/null); do "$SM" rm -fv "$c" >/dev/null 2>&1; done; rm -rf "$SUPERMACHINE_RUNTIME" "$TMP"' EXIT

# sm ARGS...: stdout in $TMP/out, stderr in $TMP/err, status in $rc.
sm() {
	timeout -k 10 300 "$SM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
state_of() { "$SM" ps -a | awk -v n="$1" '$NF == n'; }
id_of() { "$SM" ps -aq --no-trunc -f "name=^$1\$"; }
pid_of() { "$SM" inspect "$1" 2>/dev/null | sed -n 's/.*"Pid": *\([0-9]*\).*/\1/p' | head -1; }
exited() { state_of "$1" | grep -q Exited; }
running() { state_of "$1" | grep -q Up; }

# ---- start: an exited container runs again, as it was created ----
mkdir -p "$TMP/wd"
(
	cd "$TMP/wd" || exit 1
	SM_RESTART_HOST=at-create timeout -k 10 300 "$SM" run -d --pull never \
		--name again -e SM_RESTART_HOST -e FIXED=yes -w /srv \
		-v ./shared:/shared "$IMG_BBOX" sh -c \
		'echo "run $FIXED $SM_RESTART_HOST $(pwd)"; echo x >>/shared/runs' \
		</dev/null >"$TMP/first" 2>&1
)
wait_for 120 'exited again'
id1=$(id_of again)
t_between=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
sleep 1
# from elsewhere, with another value of the variable
(cd / && SM_RESTART_HOST=at-start sm start again; echo "$rc" >"$TMP/start_rc")
cp "$TMP/out" "$TMP/start_out"
wait_for 120 'exited again'
timeout 60 "$SM" logs again >"$TMP/logs" 2>&1
expect restart_start_runs_again '[ "$(cat "$TMP/start_rc")" = 0 ] && [ "$(cat "$TMP/start_out")" = again ] &&
	[ "$(grep -c "^run yes at-create /srv\$" "$TMP/logs")" = 2 ] && [ "$(id_of again)" = "$id1" ]' \
	"start rc $(cat "$TMP/start_rc") out '$(cat "$TMP/start_out")'; logs '$(tr '\n' '|' <"$TMP/logs" | head -c 300)'; id $id1 -> $(id_of again)"
expect restart_relative_bind_from_creator '[ "$(cat "$TMP/wd/shared/runs" 2>/dev/null | wc -l)" = 2 ] && [ ! -e /shared ]' \
	"$TMP/wd/shared/runs: '$(tr '\n' '|' <"$TMP/wd/shared/runs" 2>/dev/null)'"
timeout 60 "$SM" logs --since "$t_between" again >"$TMP/since" 2>&1
timeout 60 "$SM" logs --until "$t_between" again >"$TMP/until" 2>&1
expect restart_logs_since_until '[ "$(wc -l <"$TMP/since")" = 1 ] && [ "$(wc -l <"$TMP/until")" = 1 ] &&
	grep -q "^run yes" "$TMP/since" && grep -q "^run yes" "$TMP/until"' \
	"since: '$(tr '\n' '|' <"$TMP/since")' until: '$(tr '\n' '|' <"$TMP/until")'"
sm logs --since yesterday again
expect restart_logs_since_refuses_nonsense '[ $rc = 125 ] && grep -q "not a time" "$TMP/err"' "rc $rc: $(head -c 200 "$TMP/err")"

# ---- start -a: its output from this start, and its status ----
sm run -d --pull never --name att "$IMG_BBOX" sh -c 'echo "out $$"; echo err >&2; exit 7'
wait_for 120 'exited att'
# (one CI run saw this hang after the output, once: on a hang, what
# each process was doing and what the record said, for the next look)
timeout -k 10 120 "$SM" start -a att </dev/null >"$TMP/out" 2>"$TMP/err" &
att_pid=$!
for _ in $(seq 550); do kill -0 $att_pid 2>/dev/null || break; sleep 0.2; done
kill -0 $att_pid 2>/dev/null &&
	{ ps -eo pid,ppid,stat,etimes,wchan:24,args | grep -v ' \['
	  cat "$SUPERMACHINE_RUNTIME"/containers/*/state; echo; } >"$TMP/hang" 2>&1
wait $att_pid
rc=$?
expect restart_start_attach '[ $rc = 7 ] && [ "$(grep -c "^out " "$TMP/out")" = 1 ] && grep -qx err "$TMP/err"' \
	"rc $rc out '$(tr '\n' '|' <"$TMP/out")' err '$(head -c 200 "$TMP/err")' $(tr '\n' '|' <"$TMP/hang" 2>/dev/null | head -c 3000)"

# ---- restart of a running one: a new VM, its anonymous volume kept ----
sm run -d --pull never --name up -v /data -p 127.0.0.1:18391:80 "$IMG_BBOX" sh -c \
	'echo boot >>/data/boots; exec sleep 1000'
wait_for 120 'running up'
pid1=$(pid_of up)
nvol1=$("$SM" volume ls -q | wc -l)
sm start up # running already: nothing happens
pid_same=$(pid_of up)
expect restart_start_running_is_a_no_op '[ $rc = 0 ] && [ "$pid_same" = "$pid1" ]' "rc $rc pid $pid1 -> $pid_same"
sm restart -t 1 up
restart_rc=$rc
restart_out=$(cat "$TMP/out")
wait_for 120 'running up'
wait_for 60 '[ "$(timeout 60 "$SM" exec up cat /data/boots 2>/dev/null | wc -l)" = 2 ]'
boots=$(timeout 60 "$SM" exec up cat /data/boots 2>&1 | tr '\n' '|')
expect restart_running_container '[ $restart_rc = 0 ] && [ "$restart_out" = up ] && running up && [ "$(pid_of up)" != "$pid1" ]' \
	"rc $restart_rc out '$restart_out' $(head -c 200 "$TMP/err"); ps '$(state_of up)'; pid $pid1 -> $(pid_of up)"
expect restart_keeps_anonymous_volume '[ "$boots" = "boot|boot|" ] && [ "$("$SM" volume ls -q | wc -l)" = "$nvol1" ]' \
	"/data/boots '$boots'; volumes $nvol1 -> $("$SM" volume ls -q | wc -l)"
sm port up
expect restart_ports_again '[ $rc = 0 ] && grep -q "127.0.0.1:18391" "$TMP/out"' "rc $rc: '$(tr '\n' '|' <"$TMP/out")' $(head -c 200 "$TMP/err")"
sm rm -fv up
expect restart_rm_v_removes_reused_volume '[ $rc = 0 ] && [ "$("$SM" volume ls -q | wc -l)" = $((nvol1 - 1)) ]' \
	"rc $rc; volumes $nvol1 -> $("$SM" volume ls -q | wc -l)"

# ---- a start that cannot run: the record stays, saying why ----
echo "E=1" >"$TMP/envf"
sm run -d --pull never --name bad --env-file "$TMP/envf" "$IMG_BBOX" true
wait_for 120 'exited bad'
rm -f "$TMP/envf"
sm start bad
expect restart_failed_start_kept '[ $rc = 125 ] && grep -q envf "$TMP/err" && exited bad &&
	"$SM" inspect bad | grep -q envf' \
	"rc $rc: $(head -c 200 "$TMP/err"); ps '$(state_of bad)'"

# ---- --rm: refused, it goes when it stops; missing: docker's status ----
sm run -d --rm --pull never --name tmp1 "$IMG_BBOX" sleep 1000
wait_for 120 'running tmp1'
sm restart tmp1
expect restart_rm_refused '[ $rc != 0 ] && grep -q -- "--rm" "$TMP/err" && running tmp1' "rc $rc: $(head -c 200 "$TMP/err")"
sm rm -f tmp1
sm restart nosuch
r1=$rc
sm start nosuch
expect restart_missing_container '[ $r1 = 1 ] && [ $rc = 1 ] && grep -qi "no such container" "$TMP/err"' "restart $r1, start $rc: $(head -c 200 "$TMP/err")"
