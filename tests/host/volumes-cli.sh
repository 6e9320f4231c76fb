#!/usr/bin/env bash
# docker's volume commands (docs/volumes.md, "Volume commands") where no
# VM is needed: create, ls, inspect, rm, prune; docker's name rule and
# words; exit statuses; a volume a container record names is in use
# (records written as a container's process writes them); names from a
# record never leave ROOT/volumes. tests/kvm/volumes-cmd.sh has the cases
# that need a VM.
. "$(dirname "$0")/../oci/lib.sh"
export SUPERMACHINE_RUNTIME=$T/runtime
V=$SUPERMACHINE_ROOT/volumes

# ---- create, ls, inspect ----
out=$("$SM" volume create data1 2>&1); rc=$?
ok volume-create-named '[ $rc = 0 ] && [ "$out" = data1 ] && [ -d "$V/data1/_data" ]'
out=$("$SM" volume create data1 2>&1); rc=$?
ok volume-create-existing-is-fine '[ $rc = 0 ] && [ "$out" = data1 ]'
out=$("$SM" volume create 2>&1); rc=$?
anon=$out
ok volume-create-random-name '[ $rc = 0 ] && [[ $out =~ ^[0-9a-f]{64}$ ]] && [ -d "$V/$out/_data" ]'
out=$("$SM" volume create --name data2 2>&1); rc=$?
ok volume-create-name-flag '[ $rc = 0 ] && [ "$out" = data2 ]'
out=$("$SM" volume ls 2>&1); rc=$?
ok volume-ls-columns '[ $rc = 0 ] && [ "$(echo "$out" | head -1)" = "DRIVER    VOLUME NAME" ] &&
	echo "$out" | grep -qx "local     data1" && echo "$out" | grep -qx "local     $anon" &&
	[ "$(echo "$out" | wc -l)" = 4 ]'
out=$("$SM" volume ls -q 2>&1); rc=$?
ok volume-ls-quiet-sorted '[ $rc = 0 ] && [ "$out" = "$(printf "%s\n" "$anon" data1 data2 | LC_ALL=C sort)" ]'
out=$("$SM" volume inspect data1 2>&1); rc=$?
ok volume-inspect-json '[ $rc = 0 ] && echo "$out" | python3 -c "
import json, sys, datetime
v = json.load(sys.stdin)
assert len(v) == 1, v
v = v[0]
assert v[\"Name\"] == \"data1\" and v[\"Driver\"] == \"local\" and v[\"Scope\"] == \"local\", v
assert v[\"Mountpoint\"] == \"$V/data1/_data\", v
assert v[\"Labels\"] == {} and v[\"Options\"] == {}, v
t = datetime.datetime.fromisoformat(v[\"CreatedAt\"].replace(\"Z\", \"+00:00\"))
assert abs(t.timestamp() - $(date +%s)) < 120, t
"'
out=$("$SM" volume inspect data1 nosuch 2>"$T/err"); rc=$?
ok volume-inspect-missing '[ $rc = 1 ] && [ "$(cat "$T/err")" = "Error: No such volume: nosuch" ] &&
	echo "$out" | python3 -c "import json,sys; assert [v[\"Name\"] for v in json.load(sys.stdin)] == [\"data1\"]"'
out=$("$SM" volume inspect nosuch 2>/dev/null); rc=$?
ok volume-inspect-none-found '[ $rc = 1 ] && [ "$out" = "[]" ]'

# ---- docker's name rule and words; exit 1, nothing made ----
out=$("$SM" volume create a 2>&1); rc=$?
ok volume-create-too-short '[ $rc = 1 ] && echo "$out" | grep -q "volume name is too short, names should be at least two alphanumeric characters" && [ ! -e "$V/a" ]'
for bad in ../evil 'a/b' .hidden -dash 'sp ace'; do
	out=$("$SM" volume create -- "$bad" 2>&1); rc=$?
	ok "volume-create-invalid-${bad//[^a-z]/_}" '[ $rc = 1 ] && echo "$out" | grep -qF "includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed" &&
		[ ! -e "$SUPERMACHINE_ROOT/evil" ] && [ ! -e "$V/a/b" ] && [ ! -e "$V/.hidden" ]'
done
out=$("$SM" volume create "$(printf 'x%.0s' $(seq 129))" 2>&1); rc=$?
ok volume-create-too-long '[ $rc = 1 ] && echo "$out" | grep -q "too long"'
out=$("$SM" volume create one two 2>&1); rc=$?
ok volume-create-two-names-usage '[ $rc = 1 ] && echo "$out" | grep -qx "\"supermachine volume create\" requires at most 1 argument." &&
	echo "$out" | grep -q "^usage: supermachine volume create"'
out=$("$SM" volume create -d nfs x1 2>&1); rc=$?
ok volume-create-other-driver '[ $rc = 125 ] && echo "$out" | grep -q "only \"local\"" && [ ! -e "$V/x1" ]'

# ---- flags and usage, docker's style ----
out=$("$SM" volume ls --bogus 2>&1); rc=$?
ok volume-flag-unknown '[ $rc = 125 ] && [ "$out" = "supermachine: unknown flag: --bogus
See '"'"'supermachine volume ls --help'"'"'." ]'
out=$("$SM" volume rm 2>&1); rc=$?
ok volume-rm-needs-a-name '[ $rc = 1 ] && echo "$out" | grep -qx "\"supermachine volume rm\" requires at least 1 argument." &&
	echo "$out" | grep -q "^usage: supermachine volume rm"'
out=$("$SM" volume frob 2>&1); rc=$?
ok volume-unknown-subcommand '[ $rc = 125 ] && echo "$out" | grep -q "unknown command .volume frob."'
out=$("$SM" --help 2>&1); rc=$?
ok volume-in-usage '[ $rc = 0 ] && echo "$out" | grep -q "^  volume "'

# ---- a container record that names volumes: in use (records written as
# the container's process writes them, docs/volumes.md) ----
record() { # record ID STATUS VDIR VOLUMES_JSON
	mkdir -p "$SUPERMACHINE_RUNTIME/containers/$1"
	printf '{"id":"%s","name":"c%s","image":"x","cmd":["true"],"created_ns":%s,"volumes_dir":"%s","volumes":%s}' \
		"$1" "${1:0:6}" "$(date +%s%N)" "$3" "$4" >"$SUPERMACHINE_RUNTIME/containers/$1/meta"
	printf '{"status":"%s","pid":%s,"exit_code":0,"time_ns":%s}' "$2" "$$" "$(date +%s%N)" \
		>"$SUPERMACHINE_RUNTIME/containers/$1/state"
}
idr=$(printf 'a%.0s' $(seq 64)); ide=$(printf 'e%.0s' $(seq 64))
"$SM" volume create used1 >/dev/null; "$SM" volume create used2 >/dev/null
echo bytes >"$V/data2/_data/f"
Vreal=$(realpath "$V")
record "$idr" running "$Vreal" '[{"name":"used1","anonymous":false}]'
record "$ide" exited "$Vreal" '[{"name":"used2","anonymous":false},{"name":"used1","anonymous":false}]'
out=$("$SM" volume rm used1 2>&1); rc=$?
# every record that names it, newest first
ok volume-rm-in-use-running '[ $rc = 1 ] && [ "$out" = "supermachine: remove used1: volume is in use - [$ide, $idr]" ] && [ -d "$V/used1/_data" ]'
out=$("$SM" volume rm -f used2 2>&1); rc=$?
ok volume-rm-in-use-exited-even-forced '[ $rc = 1 ] && [ "$out" = "supermachine: remove used2: volume is in use - [$ide]" ] && [ -d "$V/used2/_data" ]'
out=$("$SM" volume ls -q -f dangling=true 2>&1); rc=$?
ok volume-ls-dangling '[ $rc = 0 ] && ! echo "$out" | grep -q used && echo "$out" | grep -qx data1'
# another store's record of a volume of the same name does not count
record "$(printf 'c%.0s' $(seq 64))" exited /elsewhere/volumes '[{"name":"data1","anonymous":false}]'

# ---- rm: deletes the volume; several names; missing: docker's words ----
out=$("$SM" volume rm data1 nosuch "$anon" 2>"$T/err"); rc=$?
ok volume-rm-several '[ $rc = 1 ] && [ "$out" = "data1
$anon" ] && [ "$(cat "$T/err")" = "Error: No such volume: nosuch" ] && [ ! -e "$V/data1" ] && [ ! -e "$V/$anon" ]'
out=$("$SM" volume rm -f nosuch 2>&1); rc=$?
ok volume-rm-force-missing '[ $rc = 0 ] && [ "$out" = nosuch ]'
out=$("$SM" volume rm ../store 2>&1); rc=$?
ok volume-rm-traversal-refused '[ $rc = 1 ] && [ "$out" = "Error: No such volume: ../store" ] && [ -d "$SUPERMACHINE_ROOT" ]'
# a volume whose files a guest made unreadable (chmod 0) still goes
"$SM" volume create locked >/dev/null
mkdir -p "$V/locked/_data/d/e" && echo x >"$V/locked/_data/d/e/f" && chmod 0 "$V/locked/_data/d/e" "$V/locked/_data/d"
out=$("$SM" volume rm locked 2>&1); rc=$?
ok volume-rm-unreadable-dirs '[ $rc = 0 ] && [ ! -e "$V/locked" ] && [ -z "$(ls -A "$V" | grep "^\.rm-")" ]'

# ---- prune: asks (docker 20.10: a line from stdin, only y goes on) ----
out=$(echo n | "$SM" volume prune 2>&1); rc=$?
ok volume-prune-declined '[ $rc = 0 ] && echo "$out" | grep -q "^WARNING! This will remove all local volumes not used by at least one container.$" &&
	echo "$out" | grep -q "Total reclaimed space: 0B$" && [ -d "$V/data2" ]'
out=$("$SM" volume prune </dev/null 2>&1); rc=$?
ok volume-prune-no-input-keeps '[ $rc = 0 ] && [ -d "$V/data2" ]'
out=$(echo y | "$SM" volume prune 2>&1); rc=$?
ok volume-prune-removes-unused '[ $rc = 0 ] && echo "$out" | grep -q "\[y/N\] Deleted Volumes:$" && echo "$out" | grep -qx data2 &&
	echo "$out" | grep -qx "Total reclaimed space: 6B" && [ ! -e "$V/data2" ] && [ -d "$V/used1/_data" ] && [ -d "$V/used2/_data" ]'
out=$("$SM" volume prune -f 2>&1); rc=$?
ok volume-prune-force-nothing-left '[ $rc = 0 ] && [ "$out" = "Total reclaimed space: 0B" ]'
# the record goes: its volumes are free (a volume that is a container's
# anonymous one is pruned like any other, as docker 20.10's)
rm -rf "$SUPERMACHINE_RUNTIME/containers/$ide"
out=$("$SM" volume prune -f 2>&1); rc=$?
ok volume-prune-after-record-gone '[ $rc = 0 ] && echo "$out" | grep -qx used2 && [ ! -e "$V/used2" ] && [ -d "$V/used1" ]'

# ---- rm keeps a container's anonymous volumes, rm -v deletes them (not
# a named one, nor one another record names too) ----
"$SM" volume create anonk >/dev/null; "$SM" volume create anonv >/dev/null
"$SM" volume create anonshared >/dev/null; "$SM" volume create namedv >/dev/null
idk=$(printf '1%.0s' $(seq 64)); idv=$(printf '2%.0s' $(seq 64)); ids=$(printf '3%.0s' $(seq 64))
record "$idk" exited "$Vreal" '[{"name":"anonk","anonymous":true}]'
record "$idv" exited "$Vreal" '[{"name":"anonv","anonymous":true},{"name":"namedv","anonymous":false},{"name":"anonshared","anonymous":true}]'
record "$ids" exited "$Vreal" '[{"name":"anonshared","anonymous":true}]'
out=$("$SM" rm "c${idk:0:6}" 2>&1); rc=$?
ok rm-keeps-anonymous-volumes '[ $rc = 0 ] && [ -d "$V/anonk/_data" ] && [ ! -e "$SUPERMACHINE_RUNTIME/containers/$idk" ]'
out=$("$SM" rm -v "c${idv:0:6}" 2>&1); rc=$?
ok rm-v-removes-anonymous-volumes '[ $rc = 0 ] && [ "$out" = "c${idv:0:6}" ] && [ ! -e "$V/anonv" ] && [ -d "$V/namedv/_data" ] &&
	[ -d "$V/anonshared/_data" ] && [ ! -e "$SUPERMACHINE_RUNTIME/containers/$idv" ]'
finish
