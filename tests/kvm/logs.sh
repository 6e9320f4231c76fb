#!/usr/bin/env bash
# Container logs (docs/containers.md, "Logs"): one log of both streams in
# the order the guest wrote them, -t, --tail, the cap (--log-opt
# max-size), and a foreground run's record and logs kept until rm.
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail logs_images_prepared "SM_TEST_IMAGES/images.env missing: run tests/kvm/prepare DIR on the host (tests/run does)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
IMG_BBOX=${IMG_BBOX:-not-prepared/bbox}
# container records hold unix sockets: a tmpfs, never the 9p share
export SUPERMACHINE_RUNTIME=$(mktemp -d /run/sm-logs.XXXXXX)
trap 'for c in $("$SM" ps -aq 2>/dev/null); do "$SM" rm -f "$c" >/dev/null 2>&1; done; rm -rf "$SUPERMACHINE_RUNTIME" "$TMP"' EXIT

# sm ARGS...: stdout in $TMP/out, stderr in $TMP/err, status in $rc.
sm() {
	timeout -k 10 300 "$SM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
state_of() { "$SM" ps -a | awk -v n="$1" '$NF == n'; }
record_of() { # NAME: its record's directory, if any
	local m; m=$(grep -l "\"name\": *\"$1\"" "$SUPERMACHINE_RUNTIME"/containers/*/meta 2>/dev/null | head -1)
	[ -n "$m" ] && echo "${m%/meta}"
}

# ---- one log, both streams in the order they were written ----
sm run -d --pull never --name il "$IMG_BBOX" sh -c \
	'echo out1; sleep 0.5; echo err1 >&2; sleep 0.5; echo out2'
wait_for 120 'state_of il | grep -q Exited'
timeout 60 "$SM" logs il >"$TMP/both" 2>&1
expect logs_interleaved '[ "$(cat "$TMP/both")" = "$(printf "out1\nerr1\nout2")" ]' \
	"logs 2>&1: '$(head -c 200 "$TMP/both" | tr '\n' '|')'"
timeout 60 "$SM" logs il >"$TMP/o" 2>"$TMP/e"
expect logs_streams_to_their_fds '[ "$(cat "$TMP/o")" = "$(printf "out1\nout2")" ] && [ "$(cat "$TMP/e")" = err1 ]' \
	"stdout '$(head -c 100 "$TMP/o" | tr '\n' '|')' stderr '$(head -c 100 "$TMP/e" | tr '\n' '|')'"

# ---- -t: docker's RFC3339Nano (UTC) before each line ----
timeout 60 "$SM" logs -t il >"$TMP/ts" 2>&1
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z'
expect logs_timestamps '[ "$(wc -l <"$TMP/ts")" = 3 ] && [ "$(grep -cE "^$ts (out1|err1|out2)\$" "$TMP/ts")" = 3 ] &&
	[ "$(sed "s/ .*//" "$TMP/ts" | sort | tr "\n" " ")" = "$(sed "s/ .*//" "$TMP/ts" | tr "\n" " ")" ]' \
	"logs -t: '$(head -c 300 "$TMP/ts" | tr '\n' '|')'"

# ---- --tail N counts lines of both streams, as docker's ----
timeout 60 "$SM" logs --tail 2 il >"$TMP/tail" 2>&1
timeout 60 "$SM" logs -n 1 il >"$TMP/tail1" 2>&1
expect logs_tail '[ "$(cat "$TMP/tail")" = "$(printf "err1\nout2")" ] && [ "$(cat "$TMP/tail1")" = out2 ]' \
	"--tail 2: '$(tr '\n' '|' <"$TMP/tail")', -n 1: '$(tr '\n' '|' <"$TMP/tail1")'"

# ---- a foreground run keeps its record, its logs, its name until rm ----
sm run --pull never --name fg "$IMG_BBOX" sh -c 'echo fg-out; echo fg-err >&2; exit 3'
fgrc=$rc
cp "$TMP/out" "$TMP/fg.out"
expect logs_foreground_to_terminal '[ $fgrc = 3 ] && [ "$(cat "$TMP/fg.out")" = fg-out ] && grep -qx fg-err "$TMP/err"' \
	"status $fgrc, out '$(head -c 100 "$TMP/fg.out")'"
timeout 60 "$SM" logs fg >"$TMP/fglogs" 2>&1
sm run --pull never --name fg "$IMG_BBOX" true
again=$rc
expect logs_foreground_kept 'state_of fg | grep -q "Exited (3)" && [ "$(cat "$TMP/fglogs")" = "$(printf "fg-out\nfg-err")" ] && [ $again = 125 ]' \
	"ps: '$(state_of fg)', logs '$(tr '\n' '|' <"$TMP/fglogs")', second run --name fg: status $again"
sm rm fg
rmrc=$rc
sm run --pull never --name fg "$IMG_BBOX" true
expect logs_foreground_rm_frees_name '[ $rmrc = 0 ] && [ $rc = 0 ] && state_of fg | grep -q "Exited (0)"' \
	"rm: $rmrc, run again: $rc $(head -c 200 "$TMP/err")"
sm rm fg

# ---- run --rm leaves nothing ----
sm run --rm --pull never --name gone "$IMG_BBOX" sh -c 'echo bye'
expect logs_rm_leaves_nothing '[ $rc = 0 ] && grep -qx bye "$TMP/out" && [ -z "$(state_of gone)" ] && [ -z "$(record_of gone)" ]' \
	"status $rc; ps: '$(state_of gone)'; record: $(record_of gone)"

# ---- the cap: a log never grows past max-size; the newest is kept ----
sm run -d --pull never --name big --log-opt max-size=64k "$IMG_BBOX" sh -c \
	'yes "a line of the log that is long enough to fill it soon" | head -n 6000; echo last-line'
wait_for 240 'state_of big | grep -q Exited'
dir=$(record_of big)
size=$(stat -c %s "$dir/container.log" 2>/dev/null || echo none)
timeout 60 "$SM" logs big >"$TMP/big" 2>&1
expect logs_cap_holds '[ "$size" != none ] && [ "$size" -le 65536 ] && [ "$size" -gt 16384 ] &&
	[ "$(tail -n 1 "$TMP/big")" = last-line ] && [ "$(wc -l <"$TMP/big")" -lt 6000 ] &&
	[ "$(grep -vcx "a line of the log that is long enough to fill it soon" "$TMP/big")" = 1 ]' \
	"size $size; $(wc -l <"$TMP/big") lines, the last '$(tail -n 1 "$TMP/big")'"
sm run -d --pull never --name badopt --log-opt max-file=3 "$IMG_BBOX" true
expect logs_opt_unsupported '[ $rc = 125 ] && grep -q "log-opt" "$TMP/err" && [ -z "$(state_of badopt)" ]' "status $rc"
exit 0
