#!/usr/bin/env bash
# What a docker user trips on (issue 20), where no VM is needed: exit
# statuses and messages of the container commands for a container that is
# not there, and `run -m` below the minimum. tests/kvm/containers.sh has
# the cases that need a running or stopped container.
. "$(dirname "$0")/../oci/lib.sh"
export SUPERMACHINE_RUNTIME=$T/runtime

# docker's rule: a container that is not there is status 1 for every
# container command, with "No such container"-like words; rm -f is done
for cmd in "stop nosuch" "kill nosuch" "rm nosuch" "logs nosuch" \
	"exec nosuch true" "snapshot nosuch $T/snap" "port nosuch" \
	"start nosuch" "restart nosuch"; do
	out=$("$SM" $cmd 2>&1); rc=$?
	ok "missing-container-1-${cmd%% *}" '[ $rc = 1 ] && [ "$out" = "supermachine: no such container: nosuch" ]'
done
out=$("$SM" rm -f nosuch 2>&1); rc=$?
ok rm-force-missing-is-done '[ $rc = 0 ] && [ -z "$out" ]'

# ps sizes its columns to fit, as docker's: a long image name is whole and
# the next column starts where its header does (a record as a container's
# process writes it, docs/containers.md)
id=$(printf 'b%.0s' $(seq 64))
mkdir -p "$SUPERMACHINE_RUNTIME/containers/$id"
now=$(date +%s%N)
img=registry.example.com:5000/a/rather/long/image/name:tag-1
printf '{"id":"%s","name":"wide","image":"%s","cmd":["sh","-c","echo a long command line"],"created_ns":%s}' \
	"$id" "$img" "$now" >"$SUPERMACHINE_RUNTIME/containers/$id/meta"
printf '{"status":"exited","pid":1,"exit_code":3,"time_ns":%s}' "$now" \
	>"$SUPERMACHINE_RUNTIME/containers/$id/state"
out=$("$SM" ps -a 2>&1); rc=$?
ok ps-columns-fit '[ $rc = 0 ] && echo "$out" | grep -qF "$img" &&
	[ "$(echo "$out" | head -1 | grep -bo COMMAND | cut -d: -f1)" = \
	  "$(echo "$out" | sed -n 2p | grep -bo "\"sh -c" | cut -d: -f1)" ] &&
	echo "$out" | sed -n 2p | grep -q "Exited (3) .* wide$"'
# COMMAND as docker's: cut to 20 characters (never inside one), then
# quoted as Go quotes: a quote, a newline or an escape byte in an image's
# command stays in its cell and never reaches the terminal
ok ps-command-cut-at-20 'echo "$out" | grep -qF "\"sh -c echo a long c…\""' "$out"
id2=$(printf 'd%.0s' $(seq 64))
mkdir -p "$SUPERMACHINE_RUNTIME/containers/$id2"
cat >"$SUPERMACHINE_RUNTIME/containers/$id2/meta" <<JSON
{"id":"$id2","name":"odd","image":"x","cmd":["echo","\"q\"\n\u001b[2J\u009b","ééééééééééééééééééééé"],"created_ns":$now}
JSON
cp "$SUPERMACHINE_RUNTIME/containers/$id/state" "$SUPERMACHINE_RUNTIME/containers/$id2/state"
odd=$("$SM" ps -a --no-trunc -f name=odd 2>&1 | sed -n 2p)
odd_cut=$("$SM" ps -a -f name=odd 2>&1 | sed -n 2p)
ok ps-command-quoted-as-go 'printf "%s" "$odd" | grep -qF "\"echo \\\"q\\\"\\n\\x1b[2J\\u009b ééé" &&
	[ "$("$SM" ps -a --no-trunc -f name=odd | wc -l)" = 2 ] && ! printf "%s" "$odd" | grep -q "$(printf "\033")"' "'$odd'"
ok ps-command-cut-whole-characters 'printf "%s" "$odd_cut" | grep -qF "\"echo \\\"q\\\"\\n\\x1b[2J\\u009b éééé…\""' "'$odd_cut'"
rm -rf "$SUPERMACHINE_RUNTIME/containers/$id2"
# a record from before records kept their create options cannot start
out=$("$SM" start wide 2>&1); rc=$?
ok start-old-record-says-why '[ $rc = 125 ] && echo "$out" | grep -q "older supermachine"'
rm -rf "$SUPERMACHINE_RUNTIME/containers/$id"

# fixture LETTER NAME IMAGE STATUS EXIT PID: a record as a container's
# process writes it; its id is LETTER 64 times
fixture() {
	local id=$(printf "$1%.0s" $(seq 64)) now=$(date +%s%N)
	mkdir -p "$SUPERMACHINE_RUNTIME/containers/$id"
	printf '{"id":"%s","name":"%s","image":"%s","cmd":["sh","-c","exit %s"],"created_ns":%s,"stop_timeout":7}' \
		"$id" "$2" "$3" "$5" "$now" >"$SUPERMACHINE_RUNTIME/containers/$id/meta"
	printf '{"status":"%s","pid":%s,"exit_code":%s,"time_ns":%s,"ports":"127.0.0.1:8080->80/tcp"}' \
		"$4" "$6" "$5" "$now" >"$SUPERMACHINE_RUNTIME/containers/$id/state.new"
	mv "$SUPERMACHINE_RUNTIME/containers/$id/state.new" "$SUPERMACHINE_RUNTIME/containers/$id/state"
}
sleep 300 & alive=$!
fixture a fa reg.example/bbox:1 exited 0 1
fixture b fb other:2 exited 3 1
fixture c fc reg.example/bbox:2 running 0 $alive
ids() { "$SM" ps "$@" -q 2>&1 | cut -c1 | sort | tr -d '\n'; }
ok ps-filter-status-shows-exited '[ "$(ids -f status=exited)" = ab ] && [ "$(ids -f status=running)" = c ]'
ok ps-filter-exited-code '[ "$(ids -a -f exited=3)" = b ] && [ "$(ids -a -f exited=0)" = a ]'
ok ps-filter-ancestor '[ "$(ids -a -f ancestor=reg.example/bbox)" = ac ] && [ "$(ids -a --filter ancestor=other:2)" = b ]'
ok ps-filter-name-regexp-ored '[ "$(ids -a -f name=^fb$)" = b ] && [ "$(ids -a -f name=a -f name=c)" = ac ] &&
	[ "$(ids -a -f name=f -f status=exited -f exited=3)" = b ]'
ok ps-filter-id-prefix '[ "$(ids -a -f id=bbbb)" = b ] && [ -z "$(ids -f id=bbbb)" ]'
out=$("$SM" ps -f bogus=1 2>&1); rc=$?
ok ps-filter-invalid-125 '[ $rc = 125 ] && [ "$out" = "supermachine: invalid filter '"'"'bogus'"'"'" ]'
# inspect CONTAINER: docker's object, from the record
out=$("$SM" inspect fb 2>&1); rc=$?
ok inspect-container '[ $rc = 0 ] && printf "%s" "$out" | python3 -c "
import json, sys
o = json.load(sys.stdin)[0]
assert o[\"Id\"] == \"b\" * 64 and o[\"Name\"] == \"/fb\", o
assert o[\"State\"][\"Status\"] == \"exited\" and o[\"State\"][\"ExitCode\"] == 3, o
assert not o[\"State\"][\"Running\"] and o[\"Path\"] == \"sh\" and o[\"Args\"] == [\"-c\", \"exit 3\"], o
assert o[\"Config\"][\"StopTimeout\"] == 7 and o[\"Image\"] == \"other:2\", o
assert o[\"NetworkSettings\"][\"Ports\"] == {\"80/tcp\": [{\"HostIp\": \"127.0.0.1\", \"HostPort\": \"8080\"}]}, o
assert o[\"Created\"].endswith(\"Z\") and o[\"State\"][\"FinishedAt\"][:2] == \"20\", o
"'
# inspect of neither a container nor an image: docker's words, status 1
out=$("$SM" inspect nosuch 2>&1 >/dev/null); rc=$?
ok inspect-missing-object-1 '[ $rc = 1 ] && [ "$out" = "supermachine: no such object: nosuch" ]' "rc $rc: $out"
# wait: blocks while the record says running, prints the status it ends with
"$SM" wait fc >"$T/wait.out" 2>&1 & wpid=$!
sleep 1
early=$(kill -0 $wpid 2>/dev/null && echo waiting)
fixture c fc reg.example/bbox:2 exited 42 $alive
for _ in $(seq 50); do kill -0 $wpid 2>/dev/null || break; sleep 0.1; done
wait $wpid; rc=$?
ok wait-prints-the-exit-status '[ "$early" = waiting ] && [ $rc = 0 ] && [ "$(cat "$T/wait.out")" = 42 ]'
out=$("$SM" wait fa nosuch 2>&1); rc=$?
ok wait-exited-and-missing '[ $rc = 1 ] && [ "$out" = "0
supermachine: no such container: nosuch" ]'
kill $alive 2>/dev/null
rm -rf "$SUPERMACHINE_RUNTIME/containers"/[abc]*

# -m: below the minimum (64k rounds to 0 MiB, 0 would be the default)
for m in 64k 0 63m; do
	out=$("$SM" run --pull never -m $m no/such:image true 2>&1); rc=$?
	ok "run-memory-below-minimum-$m" '[ $rc = 125 ] && echo "$out" | grep -q "Minimum memory limit allowed is 64MB"'
done
out=$("$SM" run --pull never -m 12q no/such:image true 2>&1); rc=$?
ok run-memory-bad-unit '[ $rc = 125 ] && echo "$out" | grep -q "bad size .12q."'

# an image that is not here, from a registry where nothing listens: docker's
# words first, the registry named, and no retries for a refused connection
port=$(free_port)
out=$("$SM" run 127.0.0.1:$port/none:1 true 2>&1); rc=$?
ok run-unable-to-find-image '[ $rc = 125 ] &&
	echo "$out" | grep -q "^supermachine: Unable to find image .127.0.0.1:$port/none:1. locally; pulling it from 127.0.0.1:$port failed: "'
ok pull-refused-not-retried '[ $rc = 125 ] && echo "$out" | grep -q "connect" && ! echo "$out" | grep -q "retries exhausted"'

# flag errors: one style, docker's, status 125
out=$("$SM" run --bogus x 2>&1); rc=$?
ok flag-unknown-long '[ $rc = 125 ] && [ "$out" = "supermachine: unknown flag: --bogus
See '"'"'supermachine run --help'"'"'." ]'
out=$("$SM" ps -z 2>&1); rc=$?
ok flag-unknown-short '[ $rc = 125 ] && echo "$out" | grep -qx "supermachine: unknown shorthand flag: .z. in -z" &&
	echo "$out" | grep -qx "See .supermachine ps --help.\."'
out=$("$SM" run --name 2>&1); rc=$?
ok flag-needs-argument '[ $rc = 125 ] && echo "$out" | grep -qx "supermachine: flag needs an argument: --name"'
out=$("$SM" --bogus ps 2>&1); rc=$?
ok flag-unknown-global '[ $rc = 125 ] && echo "$out" | grep -qx "See .supermachine --help.\."'
finish
