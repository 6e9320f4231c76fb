#!/usr/bin/env bash
# Nothing lost on a crash or a full disk (issue 16 item 6), the VM side:
# kill -9 at random points of a warm-start template save, a snapshot and
# a container create, then the next command works and what is on disk is
# whole or cleanly gone; a template or a snapshot on a full file system
# fails cleanly. The pull side is tests/host/oci-crash.sh.
#
# SM_CRASH_TRIALS kills of each kind (tests/run: 5; make check-long: 20).
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail crash_images_prepared "SM_TEST_IMAGES/images.env missing (tests/run runs tests/kvm/prepare)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
export SUPERMACHINE_RUNTIME=$(mktemp -d /run/sm-crash.XXXXXX)
N=${SM_CRASH_TRIALS:-5}
IMG=${IMG_BBOX:?}
CONF=$SM_BUILD/tools/snapshot-conf
MNT=()
trap 'for c in $("$SM" ps -aq 2>/dev/null); do "$SM" rm -f "$c" >/dev/null 2>&1; done
	for m in "${MNT[@]}"; do umount "$m" 2>/dev/null; done
	rm -rf "$SUPERMACHINE_RUNTIME" "$TMP"' EXIT

sm() {
	timeout 300 "$SM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
# a random delay in [0, $1) seconds, to a tenth
rand_delay() { echo "$((RANDOM % ($1 * 10) / 10)).$((RANDOM % 10))"; }
templates() { ls -d "$SUPERMACHINE_ROOT"/images/*/templates 2>/dev/null; }
# kill_after SECONDS CMD...: starts CMD in its own process group, kills
# the whole group with SIGKILL after SECONDS (if still running)
kill_after() {
	local d=$1 p
	shift
	setsid "$@" </dev/null >/dev/null 2>&1 &
	p=$!
	sleep "$d"
	kill -KILL -- -"$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# ---- a warm-start template save, killed ----
# (-m 96m: a shape no other test uses, so these templates are ours)
bad=""
for i in $(seq "$N"); do
	for t in $(templates); do rm -rf "$t"/*; done
	kill_after "$(rand_delay 8)" "$SM" run --pull never -m 96m "$IMG" true
	sm run --pull never -m 96m "$IMG" echo ok
	[ $rc = 0 ] && [ "$(cat "$TMP/out")" = ok ] || bad="$bad trial $i: rc $rc $(head -c 150 "$TMP/err" | tr '\n' ' ');"
done
expect crash_template_kill_next_run_works '[ -z "$bad" ]' "$bad"
# every template left is whole: state and memory; no save of a dead
# process left behind (the next save removed it)
partial=""
for t in $(templates); do
	for d in "$t"/*; do
		[ -e "$d" ] || continue
		case $d in
		*.tmp-*) partial="$partial $d" ;;
		*) [ -f "$d/state" ] && [ -f "$d/memory" ] || partial="$partial $d" ;;
		esac
	done
done
expect crash_template_whole_or_gone '[ -z "$partial" ]' "left:$partial"

# ---- a template save on a full file system: the run goes on ----
# the templates directory of $IMG: the one the last run saved into
tdir=$(dirname "$(ls -dt "$SUPERMACHINE_ROOT"/images/*/templates/*/ 2>/dev/null | head -1)" 2>/dev/null)
if [ -n "$tdir" ] && mount -t tmpfs -o size=4m tmpfs "$tdir"; then
	MNT+=("$tdir")
	"$SM" -v run --pull never -m 96m "$IMG" echo full </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	expect crash_template_enospc_run_goes_on '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = full ] &&
		grep -q "no warm-start template: .*No space left on device" "$TMP/err" && [ -z "$(ls -A "$tdir")" ]' \
		"left: $(ls -A "$tdir" | head -c 200)"
	umount "$tdir"
else
	fail crash_template_enospc_run_goes_on "no template directory to fill ($tdir)"
fi

# ---- a snapshot, killed: the container goes on, DIR is whole or empty ----
sm run -d --pull never --name crashsnap "$IMG" sh -c 'echo up; while :; do sleep 1; done'
wait_for 120 '"$SM" logs crashsnap 2>/dev/null | grep -q up'
bad=""
for i in $(seq "$N"); do
	kill_after "$(rand_delay 3)" "$SM" snapshot crashsnap "$TMP/snap$i"
	d=$TMP/snap$i
	if [ -e "$d/state" ] && ! { [ -f "$d/memory" ] && "$CONF" get "$d" >/dev/null 2>&1; }; then
		bad="$bad trial $i: a state without its memory or a bad record;"
	fi
	"$SM" ps | grep -q " crashsnap$" || bad="$bad trial $i: the container is gone;"
done
sm snapshot crashsnap "$TMP/snapok"
expect crash_snapshot_kill_leaves_whole_or_none '[ -z "$bad" ] && [ $rc = 0 ]' "$bad snapshot after: $(head -c 200 "$TMP/err")"
sm restore "$TMP/snapok" echo restored
expect crash_snapshot_after_kills_restores '[ $rc = 0 ] && grep -qx restored "$TMP/out"' "restore: $rc"

# ---- a snapshot on a full file system ----
mkdir -p "$TMP/full"
if mount -t tmpfs -o size=8m tmpfs "$TMP/full"; then
	MNT+=("$TMP/full")
	sm snapshot crashsnap "$TMP/full/s"
	expect crash_snapshot_enospc_clean '[ $rc = 125 ] && grep -q "No space left on device" "$TMP/err" &&
		[ -z "$(ls -A "$TMP/full/s" 2>/dev/null)" ]' "left: $(ls -A "$TMP/full/s" 2>&1 | head -c 200)"
	umount "$TMP/full"
else
	fail crash_snapshot_enospc_clean "cannot mount a tmpfs"
fi
sm rm -f crashsnap

# ---- a container create, killed: ps works, the name is usable ----
# the template part's foreground runs, killed with their keeper, could
# not remove their records: they show as Exited (-1), as a killed `docker
# run` leaves its container
before=$(ls "$SUPERMACHINE_RUNTIME/containers" 2>/dev/null | sort)
[ -z "$before" ] || echo "# records of the killed foreground runs: $(echo $before)"
bad=""
for i in $(seq "$N"); do
	kill_after "$(rand_delay 4)" "$SM" run -d --pull never --name "crash$i" "$IMG" sleep 300
	"$SM" ps -a >"$TMP/ps" 2>"$TMP/pserr" || bad="$bad trial $i: ps failed: $(head -c 100 "$TMP/pserr");"
	# a record is listed whole (an id and a status) or not at all
	awk 'NR > 1 && NF < 3' "$TMP/ps" | grep -q . && bad="$bad trial $i: a broken ps line;"
	sm rm -f "crash$i"
	sm run -d --pull never --name "crash$i" "$IMG" sleep 300
	[ $rc = 0 ] || bad="$bad trial $i: the name stays taken: $(head -c 150 "$TMP/err");"
	sm rm -f "crash$i"
done
expect crash_create_kill_name_usable '[ -z "$bad" ]' "$bad"
# no record of these creates stays, visible or not (a create killed before
# its meta is removed by the next create or ps)
left=$(comm -13 <(echo "$before") <(ls "$SUPERMACHINE_RUNTIME/containers" 2>/dev/null | sort))
expect crash_create_no_record_left '[ -z "$left" ]' \
	"left: $(for d in $left; do echo "$d: $(ls "$SUPERMACHINE_RUNTIME/containers/$d" | tr '\n' ' ') $(head -c 200 "$SUPERMACHINE_RUNTIME/containers/$d/meta" 2>/dev/null)"; done | tr '\n' ';')"
