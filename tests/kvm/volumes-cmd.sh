#!/usr/bin/env bash
# docker's volume commands with real containers (docs/volumes.md, "Volume
# commands"): a named volume a container wrote shows in `volume ls`; a
# run's anonymous volume stays after a plain `rm` (and goes with `volume
# prune`), goes with `rm -v` and with `run --rm`; a volume a running
# container uses is refused by `volume rm` and kept by prune.
# tests/host/volumes-cli.sh has what needs no VM.
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail vcmd_images_prepared "SM_TEST_IMAGES/images.env missing (tests/run runs tests/kvm/prepare)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
IMG=${IMG_BBOX:-not-prepared/bbox}
# prune takes every unused volume of a store: a store of this test's own,
# its images those of the prepared one (other tests' volumes stay theirs)
S=$SM_TEST_IMAGES/store
export SUPERMACHINE_ROOT=$TMP/store
mkdir -p "$SUPERMACHINE_ROOT"
for e in blobs images; do ln -s "$S/$e" "$SUPERMACHINE_ROOT/$e"; done
cp "$S/refs.json" "$SUPERMACHINE_ROOT/refs.json"
V=$SUPERMACHINE_ROOT/volumes
# container records hold unix sockets: a tmpfs, never the 9p share
export SUPERMACHINE_RUNTIME=$(mktemp -d /run/sm-vcmd.XXXXXX)
trap 'for c in $("$SM" ps -aq 2>/dev/null); do "$SM" rm -f "$c" >/dev/null 2>&1; done; rm -rf "$SUPERMACHINE_RUNTIME" "$TMP"' EXIT

# sm ARGS...: stdout in $TMP/out, stderr in $TMP/err, status in $rc.
sm() {
	timeout -k 10 300 "$SM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
state_of() { "$SM" ps -a | awk -v n="$1" '$NF == n'; }
# the volumes that are there now, one a line
vols() { "$SM" volume ls -q 2>/dev/null; }
# the volumes there now that were not when `mark` ran (files: the
# emulated host has no /dev/fd for <(...))
mark() { vols >"$TMP/before"; }
new_vols() { vols | grep -vxF -f "$TMP/before"; }

# ---- a named volume written by a container: listed, its files there ----
sm run --rm --pull never -v vcmdnamed:/d "$IMG" sh -c 'echo written >/d/f'
sm volume inspect vcmdnamed
mp=$(sed -n 's/.*"Mountpoint": "\(.*\)",$/\1/p' "$TMP/out")
expect vcmd_named_volume_listed 'vols | grep -qx vcmdnamed && [ "$(cat "$mp/f" 2>/dev/null)" = written ] &&
	[ "$mp" = "$(realpath "$V")/vcmdnamed/_data" ]' "volume ls/inspect: $(vols) mountpoint $mp"

# ---- plain rm keeps a run's anonymous volume (docker's); prune takes it ----
mark
sm run -d --pull never --name vanon1 -v /scratch "$IMG" sh -c 'echo a >/scratch/a'
wait_for 120 'state_of vanon1 | grep -q Exited'
a1=$(new_vols | head -1)
sm volume inspect "$a1"
expect vcmd_anonymous_volume_labelled '[ -n "$a1" ] && [[ $a1 =~ ^[0-9a-f]{64}$ ]] && grep -q "com.docker.volume.anonymous" "$TMP/out"' \
	"no new anonymous volume ($a1)"
sm volume rm "$a1"
expect vcmd_exited_container_volume_in_use '[ $rc = 1 ] && grep -q "volume is in use - \[[0-9a-f]\{64\}\]" "$TMP/err" && [ -d "$V/$a1" ]' \
	"volume rm of an exited container's volume not refused"
sm rm vanon1
expect vcmd_rm_keeps_anonymous '[ $rc = 0 ] && vols | grep -qx "$a1" && [ -f "$V/$a1/_data/a" ]' "rm took the anonymous volume"

# ---- a volume a running container uses: refused by rm, kept by prune ----
sm run -d --pull never --name vbusy -v vcmdbusy:/d "$IMG" sleep 600
busy=$(cat "$TMP/out")
wait_for 120 'state_of vbusy | grep -q " Up "'
sm volume rm vcmdbusy
expect vcmd_volume_rm_in_use_refused '[ $rc = 1 ] && grep -qx "supermachine: remove vcmdbusy: volume is in use - \[$busy\]" "$TMP/err" && [ -d "$V/vcmdbusy/_data" ]' \
	"volume rm of a running container's volume not refused"
sm volume prune -f
expect vcmd_prune_keeps_in_use_takes_unused '[ $rc = 0 ] && grep -qx "$a1" "$TMP/out" && grep -qx vcmdnamed "$TMP/out" &&
	! grep -q vcmdbusy "$TMP/out" && [ -d "$V/vcmdbusy/_data" ] && [ ! -e "$V/$a1" ] && [ ! -e "$V/vcmdnamed" ]' \
	"prune: $(cat "$TMP/out")"
sm rm -f vbusy
sm volume rm vcmdbusy
expect vcmd_volume_rm_after_container_rm '[ $rc = 0 ] && [ ! -e "$V/vcmdbusy" ]' "volume rm after rm -f refused"

# ---- rm -v: the anonymous volumes go, a named one stays ----
mark
sm run -d --pull never --name vanon2 -v /scratch -v vcmdkeep:/k "$IMG" sh -c 'echo b >/scratch/b'
wait_for 120 'state_of vanon2 | grep -q Exited'
a2=$(new_vols | grep -vx vcmdkeep | head -1)
sm rm -v vanon2
expect vcmd_rm_v_removes_anonymous_keeps_named '[ $rc = 0 ] && [ -n "$a2" ] && [ ! -e "$V/$a2" ] && vols | grep -qx vcmdkeep' \
	"rm -v: anonymous $a2, volumes now $(vols | tr '\n' ' ')"

# ---- run --rm: its anonymous volumes go with it (docker's) ----
mark
sm run --rm --pull never -v /scratch "$IMG" sh -c 'echo c >/scratch/c'
expect vcmd_run_rm_removes_anonymous '[ $rc = 0 ] && [ -z "$(new_vols)" ]' "run --rm left $(new_vols)"
