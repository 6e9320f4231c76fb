#!/usr/bin/env bash
# Single-file binds (docs/volumes.md, "Single files"): -v FILE:TARGET and
# --mount type=bind with a file source. The guest reads the file, writes
# reach the host, :ro is enforced by the guest mount and by the server,
# a missing target and its parents are made, nothing of the share's
# staging is left in the guest, a device or FIFO source is refused
# naming the host path, and a snapshot of a VM with a file bind restores
# with another file at that target (and refuses a directory there).
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail binds_images_prepared "SM_TEST_IMAGES/images.env missing (tests/run runs tests/kvm/prepare)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
IMG=${IMG_BBOX:?}
CONF=$SM_BUILD/tools/snapshot-conf
# container records hold unix sockets: a tmpfs, never the 9p share
export SUPERMACHINE_RUNTIME=$(mktemp -d /run/sm-binds.XXXXXX)
trap 'for c in $("$SM" ps -aq 2>/dev/null); do "$SM" rm -f "$c" >/dev/null 2>&1; done; rm -rf "$SUPERMACHINE_RUNTIME" "$TMP"' EXIT

# sm ARGS...: stdout in $TMP/out, stderr in $TMP/err, status in $rc.
sm() {
	timeout -k 10 300 "$SM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
has() { grep -Fqx -- "$1" "$TMP/out"; }

F=$TMP/cfg/app.conf
mkdir -p "$TMP/cfg"
echo "key=value" >"$F"
echo sibling-secret >"$TMP/cfg/sibling"
chmod 0666 "$F"

# ---- read, write through; the guest sees nothing else of the host (its
# root mounting the slot again finds the one file and cannot add any) and
# no staging is left ----
sm run --pull never -v "$F:/etc/app.conf" "$IMG" sh -c \
	'cat /etc/app.conf; echo appended >>/etc/app.conf; echo "st=$?"; echo "stage=$(ls -a / | grep -c smvol)"; echo "mounts=$(grep -c smvol /proc/mounts)"; stat -c "type=%F" /etc/app.conf; mkdir /m && mount -t virtiofs smvol0 /m && echo "share=$(ls -A /m | tr "\n" " ")"; touch /m/new; echo "st3=$?"; mv /m/file /m/x; echo "st4=$?"'
expect binds_read_file '[ $rc = 0 ] && has "key=value"' "the bound file was not read in the guest"
expect binds_write_reaches_host 'has "st=0" && [ "$(cat "$F")" = "key=value
appended" ]' "host file: $(head -c 100 "$F")"
expect binds_no_staging_left 'has "type=regular file" && has stage=0 && has mounts=1' \
	"expected no staging directory and one smvol mount (the bind)"
expect binds_share_holds_only_the_file 'has "share=file " && has st3=1 && has st4=1 &&
	[ "$(ls -A "$TMP/cfg" | tr "\n" " ")" = "app.conf sibling " ]' \
	"the slot showed or took more than its one file"

# ---- :ro: the guest's bind is read-only, and after a remount read-write
# the server still refuses ----
cp "$F" "$TMP/before"
sm run --pull never -v "$F:/etc/app.conf:ro" "$IMG" sh -c \
	'echo x >>/etc/app.conf; echo "st1=$?"; mount -o remount,rw /etc/app.conf && echo remounted; echo y >>/etc/app.conf; echo "st2=$?"'
expect binds_ro_refused_by_guest 'has "st1=1" && grep -q "Read-only file system" "$TMP/err"' \
	"a write on a :ro file bind was not refused"
expect binds_ro_enforced_by_server 'has remounted && has "st2=1" && cmp -s "$F" "$TMP/before"' \
	"the host file changed through a :ro bind: $(head -c 100 "$F")"

# ---- a missing target and its parents are made (docker's), also with
# --mount type=bind ----
sm run --pull never --mount "type=bind,src=$F,dst=/new/dir/app.conf,readonly" "$IMG" sh -c \
	'cat /new/dir/app.conf; grep " /new/dir/app.conf " /proc/mounts | cut -d" " -f4 | cut -d, -f1'
expect binds_target_parents_made '[ $rc = 0 ] && has "key=value" && has ro' \
	"the file was not bound read-only at /new/dir/app.conf"

# ---- a target that is a directory of the image: a clear error ----
sm run --pull never -v "$F:/etc" "$IMG" true
expect binds_on_directory_125 '[ $rc = 125 ] && grep -q "bind $F on /etc" "$TMP/err"' \
	"a file bound on a directory did not end with 125 naming the file"

# ---- a source that is neither a file nor a directory ----
sm run --pull never -v /dev/null:/x "$IMG" true
expect binds_device_source_refused '[ $rc = 125 ] && grep -q "bind source /dev/null is a character device" "$TMP/err"' \
	"a device source was not refused naming /dev/null"
# (a tmpfs: the emulated KVM host's /tmp is a 9p share without FIFOs)
FIFO=$SUPERMACHINE_RUNTIME/fifo
mkfifo "$FIFO"
sm run --pull never --mount "type=bind,src=$FIFO,dst=/x" "$IMG" true
expect binds_fifo_source_refused '[ $rc = 125 ] && grep -q "bind source $FIFO is a FIFO" "$TMP/err"' \
	"a FIFO source was not refused naming it"

# ---- snapshot: vm.conf marks the slot a file bind; a restore binds the
# restorer's file there (same length: the guest may cache the size), and
# refuses a directory ----
echo from-src >"$TMP/src.conf"
echo from-oth >"$TMP/other.conf"
sm run -d --pull never --name fsnap -v "$TMP/src.conf:/etc/app.conf" "$IMG" sh -c 'echo up; sleep 600'
wait_for 120 '"$SM" logs fsnap 2>/dev/null | grep -q up'
sm snapshot fsnap "$TMP/snap"
snaprc=$rc
sm rm -f fsnap
"$CONF" get "$TMP/snap" >"$TMP/snap.conf" 2>&1
expect binds_snapshot_marks_file_slot '[ $snaprc = 0 ] && grep -qx "slot0 rw,file /etc/app.conf" "$TMP/snap.conf" &&
	! grep -q "$TMP" "$TMP/snap.conf"' "configuration: $(head -c 400 "$TMP/snap.conf")"
sm restore -v "$TMP/other.conf:/etc/app.conf" "$TMP/snap" cat /etc/app.conf
expect binds_restore_with_another_file '[ $rc = 0 ] && has from-oth' \
	"restore -v other file: $rc"
mkdir -p "$TMP/adir"
sm restore -v "$TMP/adir:/etc/app.conf" "$TMP/snap" true
expect binds_restore_refuses_directory '[ $rc = 125 ] && grep -q "/etc/app.conf binds a file in the snapshot, but $TMP/adir is a directory" "$TMP/err"' \
	"restore with a directory for a file slot: $rc"
