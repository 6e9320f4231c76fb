#!/usr/bin/env bash
# Volumes (docs/volumes.md): bind mounts (-v, --mount), :ro enforced by
# the guest mount and by the server, symlinks in a volume never followed
# on the host, named volumes that persist, --tmpfs, anonymous volumes for
# an image VOLUME (with --rm), and warm starts: the template is taken
# before any volume is mounted, so runs with different volumes share it.
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail volumes_images_prepared "SM_TEST_IMAGES/images.env missing (tests/run runs tests/kvm/prepare)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
IMG=${IMG_BBOX:?}
# No other test uses a 160 MiB guest: the first run here boots cold.
SHAPE="-m 160m"

# vrun NAME ARGS...: stdout in $TMP/NAME.out, stderr in $TMP/NAME.err,
# status in $TMP/NAME.rc and $rc.
vrun() {
	local n=$1
	shift
	"$SM" -v run --pull never --timeout 300 $SHAPE "$@" </dev/null \
		>"$TMP/$n.out" 2>"$TMP/$n.err"
	rc=$?
	echo $rc >"$TMP/$n.rc"
	cp "$TMP/$n.out" "$TMP/out"
	cp "$TMP/$n.err" "$TMP/err"
}
has() { grep -Fqx -- "$1" "$TMP/out"; }

B=$TMP/bind
mkdir -p "$B" "$TMP/outside"
chmod 0777 "$B"
echo host-secret >"$TMP/outside/hostsecret"
ln -s "$TMP/outside" "$B/link"

# ---- bind mount, cold boot: a file written by uid 1000 reaches the host ----
vrun cold -u 1000 -v "$B:/mnt/b" "$IMG" sh -c \
	'echo hello >/mnt/b/f && chmod 640 /mnt/b/f && echo "link=$(readlink /mnt/b/link)"; cat /mnt/b/link/hostsecret 2>/dev/null || echo no-secret; grep " /mnt/b " /proc/mounts'
expect volumes_bind_write_reaches_host '[ $rc = 0 ] && [ "$(cat "$B/f" 2>/dev/null)" = hello ]' \
	"file written in the guest not on the host"
expect volumes_bind_owner_and_mode '[ "$(stat -c "%u:%g %a" "$B/f" 2>/dev/null)" = "1000:1000 640" ]' \
	"host file is $(stat -c "%u:%g %a" "$B/f" 2>&1), expected 1000:1000 640"
expect volumes_symlink_not_followed_on_host 'has "link=$TMP/outside" && has no-secret && ! grep -q host-secret "$TMP/out"' \
	"a symlink in the volume reached the host path"
expect volumes_bind_is_virtiofs 'grep -q "^smvol0 /mnt/b virtiofs rw" "$TMP/out"' "no virtiofs smvol0 at /mnt/b"
expect volumes_first_run_cold 'grep -q "cold boot" "$TMP/err" && grep -q "saved warm-start template" "$TMP/err"' \
	"expected a cold boot that saved a template"
tpl=$(sed -n 's/.*saved warm-start template \([^ ]*\) .*/\1/p' "$TMP/cold.err")

# ---- :ro, warm start with other volumes: the guest mount is read-only,
# and a guest that remounts it read-write still gets EROFS from the server
echo keep >"$B/ro-probe"
vrun ro -v "$B:/mnt/r:ro" --mount "type=bind,src=$TMP/outside,dst=/mnt/o" "$IMG" sh -c \
	'echo x >/mnt/r/g; echo "st1=$?"; mount -o remount,rw /mnt/r && echo remounted; echo x >/mnt/r/g2; echo "st2=$?"; rm /mnt/r/ro-probe; cat /mnt/o/hostsecret'
expect volumes_ro_refused_by_guest_mount 'has "st1=1" && grep -q "Read-only file system" "$TMP/err" && [ ! -e "$B/g" ]' \
	"write on a :ro volume not refused with EROFS"
expect volumes_ro_enforced_by_server 'has remounted && has "st2=1" && [ ! -e "$B/g2" ] && [ -e "$B/ro-probe" ]' \
	"after a guest remount rw the server let a write through"
expect volumes_mount_bind_option 'has host-secret' "--mount type=bind not mounted"
expect volumes_warm_start_with_volumes 'grep -q "warm start: restored $tpl" "$TMP/err"' \
	"second run with other volumes did not restore the first run's template ($tpl)"

# ---- named volume: created, persists between runs ----
vrun named1 -v smtestvol:/data2 "$IMG" sh -c 'echo persist >/data2/p'
vrun named2 -v smtestvol:/data2 "$IMG" cat /data2/p
expect volumes_named_persists '[ $rc = 0 ] && has persist && [ -f "$SUPERMACHINE_ROOT/volumes/smtestvol/_data/p" ]' \
	"named volume content not kept"

# ---- an unused slot: what a guest that mounts it finds (an empty
# read-only root made of no host file, src/fuse/empty.c; it used to be
# the image's rootfs) ----
vrun unused "$IMG" sh -c 'mkdir -p /m && mount -t virtiofs smvol5 /m && echo "entries $(ls -A /m | wc -l)"; touch /m/x 2>/dev/null && echo wrote; stat -c %a /m'
expect volumes_unused_slot_is_empty '[ $rc = 0 ] && has "entries 0" && ! has wrote && has 555' \
	"status $rc: $(head -c 300 "$TMP/out" "$TMP/err")"

# ---- tmpfs ----
vrun tmpfs --tmpfs /scratch:size=8m,mode=1770 "$IMG" sh -c 'grep " /scratch " /proc/mounts; stat -c %a /scratch'
expect volumes_tmpfs '[ $rc = 0 ] && grep -q "^tmpfs /scratch tmpfs rw,nosuid,nodev,noexec.*size=8192k" "$TMP/out" && has 1770' \
	"--tmpfs not a tmpfs with the options"

# ---- image VOLUME: an anonymous volume, filled from the image ----
if [ -n "${IMG_VOL:-}" ]; then
	before=$(ls "$SUPERMACHINE_ROOT/volumes" 2>/dev/null | wc -l)
	vrun anon "$IMG_VOL" sh -c 'cat /data/seed; grep -c " /data virtiofs " /proc/mounts; echo w >/data/w'
	after=$(ls "$SUPERMACHINE_ROOT/volumes" | wc -l)
	expect volumes_image_volume_anonymous '[ $rc = 0 ] && has image-seed && has 1 && [ $after = $((before + 1)) ] && ls "$SUPERMACHINE_ROOT"/volumes/*/_data/w >/dev/null' \
		"image VOLUME /data not an anonymous volume with the image's content"
	vrun anonrm --rm "$IMG_VOL" sh -c 'echo w >/data/w'
	expect volumes_rm_removes_anonymous '[ $rc = 0 ] && [ "$(ls "$SUPERMACHINE_ROOT/volumes" | wc -l)" = $after ]' \
		"--rm left the anonymous volume"
else
	fail volumes_image_volume_anonymous "IMG_VOL not prepared"
fi

# ---- a new named volume on an image path gets the image's files, unless
# nocopy (-v ...:nocopy, --mount volume-nocopy); --mount type=volume and
# type=tmpfs end to end ----
V=$SUPERMACHINE_ROOT/volumes
# new means new: a store kept from an earlier run may hold them
rm -rf "$V/smcpvol" "$V/smncvol" "$V/smmvol"
if [ -n "${IMG_VOL:-}" ]; then
	vrun cp1 -v smcpvol:/data "$IMG_VOL" sh -c 'cat /data/seed'
	expect volumes_named_filled_from_image '[ $rc = 0 ] && has image-seed && [ -f "$V/smcpvol/_data/seed" ]' \
		"a new named volume on /data did not get the image's /data/seed"
	vrun nc1 -v smncvol:/data:nocopy "$IMG_VOL" sh -c 'ls -A /data | wc -l'
	expect volumes_nocopy '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = 0 ] && [ -d "$V/smncvol/_data" ] && [ -z "$(ls -A "$V/smncvol/_data")" ]' \
		"-v NAME:/data:nocopy copied the image's files: $(cat "$TMP/out")"
	vrun mv1 --mount type=volume,src=smmvol,dst=/data,volume-nocopy=true "$IMG_VOL" sh -c 'ls -A /data | wc -l; echo w >/data/w'
	expect volumes_mount_type_volume '[ $rc = 0 ] && [ "$(cat "$TMP/out")" = 0 ] && [ "$(cat "$V/smmvol/_data/w" 2>/dev/null)" = w ]' \
		"--mount type=volume,volume-nocopy=true: $(cat "$TMP/out") $(ls -A "$V/smmvol/_data" 2>&1)"
else
	for t in volumes_named_filled_from_image volumes_nocopy volumes_mount_type_volume; do
		fail $t "IMG_VOL not prepared"
	done
fi
vrun mt1 --mount type=tmpfs,dst=/t,tmpfs-size=4194304,tmpfs-mode=1700 "$IMG" sh -c 'grep " /t " /proc/mounts; stat -c %a /t'
expect volumes_mount_type_tmpfs '[ $rc = 0 ] && grep -q "^tmpfs /t tmpfs .*size=4096k" "$TMP/out" && has 1700' \
	"--mount type=tmpfs not a tmpfs with size and mode: $(cat "$TMP/out" "$TMP/err" | head -c 300)"

# ---- as uid 65534 in the guest, a root-owned 0644 file moves from one
# 0777 directory of a share to another: Linux allows it (rename needs write
# on both directories, not on the file), so must the share ----
mkdir -p "$TMP/ren/a" "$TMP/ren/b" && chmod 0777 "$TMP/ren/a" "$TMP/ren/b"
echo x >"$TMP/ren/a/f" && chmod 0644 "$TMP/ren/a/f"
vrun ren -u 65534 -v "$TMP/ren:/ren" "$IMG" sh -c 'mv /ren/a/f /ren/b/f && echo moved'
expect volumes_rename_as_nobody '[ $rc = 0 ] && has moved && [ -f "$TMP/ren/b/f" ] && [ ! -e "$TMP/ren/a/f" ]' \
	"rename of a root-owned file between 0777 directories as uid 65534: $(cat "$TMP/out" "$TMP/err" | head -c 300)"

# ---- errors: clear, status 125 ----
vrun e1 -v "$B:rel" "$IMG" true
expect volumes_relative_target_125 '[ $rc = 125 ] && grep -q "not an absolute path" "$TMP/err"' "relative guest path accepted"
vrun e2 --mount "type=bind,src=$TMP/nonexistent,dst=/x" "$IMG" true
expect volumes_mount_missing_source_125 '[ $rc = 125 ] && grep -q "bind source path" "$TMP/err" && [ ! -e "$TMP/nonexistent" ]' \
	"--mount with a missing source not refused"
vrun e3 -v "$TMP/created:/x" "$IMG" true
expect volumes_v_creates_source '[ $rc = 0 ] && [ -d "$TMP/created" ]' "-v did not create its missing source"
vrun e4 -v /a -v /b -v /c -v /d -v /e -v /f -v /g "$IMG" true
expect volumes_too_many_125 '[ $rc = 125 ] && grep -q "too many volumes" "$TMP/err"' "7 volumes accepted"
vrun e5 -v "$B:/etc/marker" "$IMG" true
expect volumes_mount_failure_125 '[ $rc = 125 ] && grep -q "mount $B on /etc/marker" "$TMP/err" &&
	! grep -q smvol "$TMP/err"' \
	"a failing guest mount is not a start error naming its host directory: $(cat "$TMP/err")"

# ---- --guest-limit share-files=N (issue 14, docs/security.md "Resource
# caps"): past the cap the guest's open() fails with EMFILE; the VM and
# its other files go on; without it the default (far higher) holds ----
mkdir -p "$TMP/caps" && echo capped >"$TMP/caps/f"
OPENS='my @f; for my $i (1..100) { open(my $h, "<", "/d/f") or do { print "fail $i $!\n"; last }; push @f, $h } print "opened ", scalar(@f), "\n"; open(my $g, "<", "/etc/hostname") and print "still ok\n";'
SHAPE= vrun capped --guest-limit share-files=64 -v "$TMP/caps:/d" "${IMG_DEBIAN:-not-prepared/debian}" perl -e "$OPENS"
expect volumes_guest_limit_share_files '[ $rc = 0 ] && grep -Eq "^fail [0-9]+ Too many open files$" "$TMP/out" &&
	[ "$(sed -n "s/^fail \([0-9]*\) .*/\1/p" "$TMP/out")" -le 65 ] && grep -qx "still ok" "$TMP/out"' \
	"status $rc: $(head -c 300 "$TMP/out" "$TMP/err")"
SHAPE= vrun uncapped -v "$TMP/caps:/d" "${IMG_DEBIAN:-not-prepared/debian}" perl -e "$OPENS"
expect volumes_guest_limit_default '[ $rc = 0 ] && grep -qx "opened 100" "$TMP/out"' \
	"status $rc: $(head -c 300 "$TMP/out" "$TMP/err")"
vrun badlimit --guest-limit share-files=0 "$IMG" true
expect volumes_guest_limit_refused '[ $rc = 125 ] && grep -q "want a positive number" "$TMP/err"' "status $rc"
