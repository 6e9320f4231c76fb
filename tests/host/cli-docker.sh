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
