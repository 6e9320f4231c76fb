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
	"exec nosuch true" "snapshot nosuch $T/snap" "port nosuch"; do
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
rm -rf "$SUPERMACHINE_RUNTIME/containers/$id"

# -m: below the minimum (64k rounds to 0 MiB, 0 would be the default)
for m in 64k 0 63m; do
	out=$("$SM" run --pull never -m $m no/such:image true 2>&1); rc=$?
	ok "run-memory-below-minimum-$m" '[ $rc = 125 ] && echo "$out" | grep -q "the minimum is 64 MiB"'
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
