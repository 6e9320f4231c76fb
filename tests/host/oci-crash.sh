#!/usr/bin/env bash
# Nothing lost on a crash or a full disk (issue 16 item 6): `pull`, `load`
# and `rmi` are killed with SIGKILL at random points (stratified over a
# measured run, so the kills spread from start to finish), and after each
# kill the store must be sound and the next command must work; a store on
# a small tmpfs that fills up must fail the pull or load with "No space
# left on device" and keep nothing half-written.
#
# "Sound" (docs/images.md, Store): `images` exits 0 and each image it
# lists has the right content; every images/HEX, named or not, has
# rootfs/ with the right content, config.json, meta.json and a
# manifest.json hashing to HEX; every blob hashes to its
# name; every name in refs.json has its image; tmp/ and refs.json.tmp.*
# were cleaned by that command (nothing is running). One verdict line per
# check whatever happens; a FAIL names the trials. SEED=N replays the
# kill times.
. "$(dirname "$0")/../oci/lib.sh"
MNT=$T/fs
crash_cleanup() {
	mountpoint -q "$MNT" && umount "$MNT"
	cleanup
}
trap crash_cleanup EXIT
SEED=${SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
N_PULL=24 N_LOAD=8 N_RMI=6
# The checks, in the order they print: a failed setup fails each of them
# at once (so the count holds, and nothing waits on retries to a registry
# that is not there).
CHECKS=(crash-baseline-pull crash-pull-kills-landed
	crash-pull-images-lists-complete crash-pull-store-sound
	crash-pull-again-after-kill crash-live-pull-untouched
	crash-rmi-store-sound crash-rmi-pull-again crash-load-baseline
	crash-load-store-sound crash-load-again-after-kill enospc-pull-download
	enospc-pull-midway enospc-pull-roomier enospc-load-import
	enospc-load-unpack enospc-load-roomier)
setup_failed() {
	for c in "${CHECKS[@]}"; do fail "$c" "setup: $1"; done
	exit 1
}
start_registry || setup_failed "no registry"

# layer DIR TAG...: a layer of random data (one large file, many small
# ones) under DIR/x.$(basename DIR), added to each TAG of the layout $L;
# also copied into $T/want.TAG, the expected rootfs.
L=$T/layout
layer() {
	local d=$1 n
	n=$(basename "$d")
	shift
	mkdir -p "$d/x.$n/many"
	head -c "${BIG:-1000000}" /dev/urandom >"$d/x.$n/big"
	for j in $(seq "${MANY:-100}"); do echo "$n $j" >"$d/x.$n/many/f$j"; done
	tar --owner=0 --group=0 -C "$d" -cf "$d.tar" .
	for t in "$@"; do
		python3 "$SM_TOP/tests/oci/layout.py" add-layer "$L" "$t" "$d.tar" gzip
		mkdir -p "$T/want.$t" && cp -a "$d/." "$T/want.$t/"
	done
}
# keep: a bystander image that shares its first layer with v1 and must
# come through every crash intact; v1: the image that is killed.
new_image "$L" keep >/dev/null
new_image "$L" v1 >/dev/null
BIG=200000 MANY=30 layer "$T/base" keep v1
BIG=100000 MANY=10 layer "$T/own" keep
for i in 1 2 3 4 5; do layer "$T/l$i" v1; done
{ push "$L" keep c:keep && push "$L" v1 c:v1 &&
	skopeo copy -q "oci:$L:v1" "oci-archive:$T/v1.tar:localhost/crash:v1" >/dev/null; } ||
	setup_failed "could not build and push the images"
REF=$REG/c:v1 KEEP=$REG/c:keep LREF=localhost/crash:v1
# manifest digests (pushed and archived as they are in the layout)
hex_of() { jq -r ".manifests[] | select(.annotations[\"org.opencontainers.image.ref.name\"] == \"$1\") | .digest" "$L/index.json" | cut -c8-; }
hex_v1=$(hex_of v1) hex_keep=$(hex_of keep)

# treesum DIR: one digest of the names and contents of DIR's files.
treesum() {
	(cd "$1" 2>/dev/null && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 -r sha256sum | sha256sum | cut -c1-64)
}
want_v1=$(treesum "$T/want.v1") want_keep=$(treesum "$T/want.keep")
# content REF WANT: REF is in the store with that rootfs (inspect's
# RootFS, read without a python per call: the trials call this often).
content() {
	local r
	r=$("$SM" inspect "$1" 2>/dev/null | sed -n 's/^  "RootFS": "\(.*\)",$/\1/p')
	[ -n "$r" ] && [ "$(treesum "$r")" = "$2" ]
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# sleep_ms N
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
# kill_at I N DUR_MS CMD...: starts CMD, SIGKILLs it at a random point of
# the I-th of N equal slices of 1.5 x DUR_MS (a command's time varies on
# a busy machine; the last slices may fall after its end: a finished
# command must leave a sound store too). Sets krc (137: killed), kms
# (when) and left (what tmp/ held right after).
kill_at() {
	local i=$1 n=$2 dur=$3 pid t0
	shift 3
	kms=$(((i * 32768 + RANDOM) * dur * 3 / 2 / (n * 32768)))
	t0=$(now_ms)
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep_ms $kms
	kill -KILL $pid 2>/dev/null
	kms=$(($(now_ms) - t0)) # as it happened (sleep may be late)
	wait $pid 2>/dev/null
	krc=$?
	left=$(ls -A "$SUPERMACHINE_ROOT/tmp" 2>/dev/null | sed 's/-.*//' | sort | uniq -c | tr -s ' \n' ' ')
}

# listed NAME: the last `images` run by sound() ($listing) shows NAME.
listed() { echo "$listing" | grep -q "^${1%:*} *${1##*:} "; }
# sound NAMES...: the store is sound after the command just run (listed
# and image contents checked for the names given as NAME=WANT); prints
# what is wrong, nothing when all is well.
sound() {
	local r=$SUPERMACHINE_ROOT rc d f nv
	listing=$("$SM" images 2>&1)
	rc=$?
	[ $rc = 0 ] || echo "images exited $rc: $listing"
	for nv in "$@"; do
		if listed "${nv%%=*}"; then
			content "${nv%%=*}" "${nv#*=}" || echo "${nv%%=*} listed, content wrong"
		fi
	done
	echo "$listing" | tail -n +2 | grep -v "^$REG/c *\(v1\|keep\) \|^localhost/crash *v1 " | sed 's/^/unknown image listed: /'
	# every image directory, named or not, is whole: a later pull of
	# that image would use it as it is
	for d in "$r"/images/*; do
		[ -e "$d" ] || continue
		for f in rootfs config.json meta.json manifest.json; do
			[ -e "$d/$f" ] || echo "incomplete image ${d##*/} (no $f)"
		done
		stored_manifest_ok "sha256:${d##*/}" || echo "image ${d##*/}: manifest does not hash to its name"
		case ${d##*/} in
		"$hex_v1") [ "$(treesum "$d/rootfs")" = "$want_v1" ] || echo "image ${d##*/} (v1): rootfs not whole" ;;
		"$hex_keep") [ "$(treesum "$d/rootfs")" = "$want_keep" ] || echo "image ${d##*/} (keep): rootfs not whole" ;;
		*) echo "unknown image ${d##*/}" ;;
		esac
	done
	for f in "$r"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum <"$f" | cut -c1-64)" = "${f##*/}" ] || echo "blob ${f##*/} does not hash to its name"
	done
	if [ -e "$r/refs.json" ]; then
		d=$(jq -r '.[].digest' "$r/refs.json") || echo "refs.json does not parse"
		for f in $d; do
			[ -e "$r/images/${f#sha256:}/meta.json" ] || echo "a name's image $f is not in the store"
		done
	fi
	[ -z "$(ls -A "$r/tmp")" ] || echo "tmp/ not cleaned: $(ls -A "$r/tmp" | tr '\n' ' ')"
	for f in "$r"/refs.json.tmp.*; do
		[ -e "$f" ] && echo "${f##*/} left"
	done
}
# note VAR TRIAL TEXT: appends "[TRIAL] TEXT" to VAR when TEXT is set.
note() { [ -z "$3" ] || printf -v "$1" '%s[%s] %s; ' "${!1}" "$2" "$(echo "$3" | tr '\n' ' ')"; }
# verdict NAME WHY: PASS when WHY is empty.
verdict() {
	if [ -z "$2" ]; then pass "$1"; else fail "$1" "$(echo "$2" | head -c 1500) (SEED=$SEED)"; fi
}

# VERBOSE=1: timings, and where the kills landed
say() { [ -z "${VERBOSE:-}" ] || echo "# $SECONDS s: $*"; }
# typical_ms NAME CMD...: how long CMD takes as in the trials (a store
# with the bystander, CMD's image just removed by rmi): the mean of two
# runs, each followed by `rmi NAME` (the first run, cold, is not one).
typical_ms() {
	local name=$1 sum=0 t
	shift
	for _ in 1 2; do
		t=$(now_ms)
		"$@" >/dev/null 2>&1
		sum=$((sum + $(now_ms) - t))
		"$SM" rmi "$name" >/dev/null 2>&1
	done
	echo $((sum / 2 > 100 ? sum / 2 : 100))
}

# --- pull ---------------------------------------------------------------
export SUPERMACHINE_ROOT=$T/store
"$SM" pull -q "$KEEP" >/dev/null 2>&1
"$SM" pull -q "$REF" >/dev/null 2>&1
rc=$?
ok crash-baseline-pull '[ $rc = 0 ] && content $REF $want_v1 && content $KEEP $want_keep && [ -z "$(sound)" ]'
t0=$(now_ms)
"$SM" rmi "$REF" >/dev/null 2>&1
rmi_ms=$(($(now_ms) - t0))
pull_ms=$(typical_ms "$REF" "$SM" pull -q "$REF")
say "SEED=$SEED; pull $pull_ms ms, rmi $rmi_ms ms"

landed="" phases="" bad_listed="" bad_sound="" bad_repull=""
for i in $(seq 0 $((N_PULL - 1))); do
	kill_at "$i" $N_PULL "$pull_ms" "$SM" pull -q "$REF"
	[ $krc = 137 ] && [ -n "$left" ] && landed+=x
	phases+="${kms}ms:${krc}:${left:-none} | "
	sound "$REF=$want_v1" "$KEEP=$want_keep" >"$T/why"
	note bad_listed "$i" "$(grep "listed\|images exited" "$T/why")"
	note bad_sound "$i" "$(grep -v "listed\|images exited" "$T/why")"
	listed "$KEEP" || note bad_listed "$i" "the bystander is not listed"
	content "$KEEP" "$want_keep" || note bad_sound "$i" "the bystander's content changed"
	out=$(timeout 60 "$SM" pull -q "$REF" 2>&1)
	rc=$?
	if [ $rc != 0 ] || ! content "$REF" "$want_v1"; then
		note bad_repull "$i" "pull after the kill: rc=$rc, $out, content ok: $(content "$REF" "$want_v1" && echo yes || echo no)"
	fi
	timeout 60 "$SM" rmi "$REF" >/dev/null 2>&1 || note bad_repull "$i" "rmi failed"
done
# at least a sixth of the kills must hit a pull at work (temporaries
# left), or the kills missed and checked nothing
[ ${#landed} -ge $((N_PULL / 6)) ] || landed_why="only ${#landed} of $N_PULL kills found a pull at work: $phases"
verdict crash-pull-kills-landed "${landed_why:-}"
verdict crash-pull-images-lists-complete "$bad_listed"
verdict crash-pull-store-sound "$bad_sound"
verdict crash-pull-again-after-kill "$bad_repull"
say "pull kills (when:status:tmp/): $phases"

# A pull at work keeps its temporaries while other commands run (they
# clean only what no live pull can own).
"$SM" pull -q "$REF" >"$T/live.out" 2>&1 &
lp=$!
n=0
while kill -0 $lp 2>/dev/null; do "$SM" images >/dev/null 2>&1; n=$((n + 1)); done
wait $lp
rc=$?
ok crash-live-pull-untouched '[ $rc = 0 ] && [ $n -ge 2 ] && content $REF $want_v1 && [ -z "$(sound)" ]'
say "$n commands ran during the live pull"
"$SM" rmi "$REF" >/dev/null 2>&1

# --- rmi: killed while it deletes an image ------------------------------
# (it used to delete images/HEX in place: a kill half-way left a partial
# rootfs that the next pull of that image took as complete)
phases="" bad_sound="" bad_repull=""
for i in $(seq 0 $((N_RMI - 1))); do
	"$SM" pull -q "$REF" >/dev/null 2>&1
	kill_at "$i" $N_RMI $((rmi_ms > 20 ? rmi_ms : 20)) "$SM" rmi "$REF"
	phases+="${kms}ms:${krc}:${left:-none} | "
	note bad_sound "$i" "$(sound "$REF=$want_v1" "$KEEP=$want_keep")"
	out=$(timeout 60 "$SM" pull -q "$REF" 2>&1)
	rc=$?
	{ [ $rc = 0 ] && content "$REF" "$want_v1"; } || note bad_repull "$i" "pull after the kill: rc=$rc, $out"
done
verdict crash-rmi-store-sound "$bad_sound"
verdict crash-rmi-pull-again "$bad_repull"
say "rmi kills (when:status:tmp/): $phases"
"$SM" rmi "$REF" >/dev/null 2>&1

# --- load ---------------------------------------------------------------
out=$("$SM" load -i "$T/v1.tar" 2>&1)
rc=$?
ok crash-load-baseline '[ $rc = 0 ] && content $LREF $want_v1 && [ -z "$(sound)" ]'
"$SM" rmi "$LREF" >/dev/null 2>&1
load_ms=$(typical_ms "$LREF" "$SM" load -i "$T/v1.tar")
say "load $load_ms ms"
# load_trial I N: one load killed at the I-th of N slices of its run time,
# then the store checked and a load after the kill.
load_trial() {
	kill_at "$1" "$2" "$load_ms" "$SM" load -i "$T/v1.tar"
	[ $krc = 137 ] && [ -n "$left" ] && landed+=x
	phases+="${kms}ms:${krc}:${left:-none} | "
	note bad_sound "$1" "$(sound "$LREF=$want_v1" "$KEEP=$want_keep")"
	out=$(timeout 60 "$SM" load -i "$T/v1.tar" 2>&1)
	rc=$?
	{ [ $rc = 0 ] && content "$LREF" "$want_v1"; } || note bad_reload "$1" "load after the kill: rc=$rc, $out"
	timeout 60 "$SM" rmi "$LREF" >/dev/null 2>&1 || note bad_reload "$1" "rmi failed"
}
landed="" phases="" bad_sound="" bad_reload=""
for i in $(seq 0 $((N_LOAD - 1))); do
	load_trial "$i" $N_LOAD
done
# A load's work (tmp/ in use) is a short window of its run; when no
# stratified kill landed in it, more kills at random times until one does
# (bounded), so the verdict does not depend on luck.
extra=0
while [ -z "$landed" ] && [ $extra -lt 24 ]; do
	load_trial $((RANDOM % N_LOAD)) $N_LOAD
	extra=$((extra + 1))
done
[ $extra = 0 ] || say "$extra more load kills to find one at work"
[ -n "$landed" ] || note bad_sound all "no kill found a load at work: $phases"
verdict crash-load-store-sound "$bad_sound"
verdict crash-load-again-after-kill "$bad_reload"
say "load kills (when:status:tmp/): $phases"

# --- a full disk --------------------------------------------------------
# sizes in KiB: the blobs of v1, its unpacked rootfs (as the disk counts
# it: small files take a page each)
blobs_k=$(du -sk --apparent-size "$L/blobs" | cut -f1)
root_k=$(du -sk "$T/want.v1" | cut -f1)
# full_store KIB: an empty store on a tmpfs of that size
full_store() {
	mountpoint -q "$MNT" && umount "$MNT"
	mkdir -p "$MNT" && mount -t tmpfs -o size="${1}k" tmpfs "$MNT"
	export SUPERMACHINE_ROOT=$MNT/store
}
# grow KIB: the same store, more room
grow() { mount -o remount,size="${1}k" "$MNT"; }
# failed_clean: the command just run failed for want of space, said so,
# and left no image, name or temporary
failed_clean() {
	[ $rc = 125 ] && echo "$out" | grep -q "No space left on device" &&
		[ -z "$(ls -A "$SUPERMACHINE_ROOT/images")" ] &&
		[ -z "$(ls -A "$SUPERMACHINE_ROOT/tmp")" ] &&
		[ -z "$(sound)" ] && [ -z "$("$SM" images -q)" ]
}
# too small for any layer: every download fails, nothing is unpacked
full_store 100
out=$("$SM" pull -q "$REF" 2>&1)
rc=$?
ok enospc-pull-download 'failed_clean && echo "$out" | grep -q "blob sha256:[0-9a-f]*: write to the store: No space left on device"'
# room for the blobs, not the rootfs: fails unpacking (or downloading a
# late layer while the early ones unpack)
grow $((blobs_k + root_k / 2))
out=$("$SM" pull -q "$REF" 2>&1)
rc=$?
ok enospc-pull-midway 'failed_clean'
grow $((2 * (blobs_k + root_k) + 1024))
out=$("$SM" pull -q "$REF" 2>&1)
rc=$?
ok enospc-pull-roomier '[ $rc = 0 ] && content $REF $want_v1 && [ -z "$(sound "$REF=$want_v1")" ]'
# load stores every member as a blob first, then unpacks
full_store $((blobs_k / 3))
out=$("$SM" load -i "$T/v1.tar" 2>&1)
rc=$?
ok enospc-load-import 'failed_clean && echo "$out" | grep -q "write blob: No space left on device"'
grow $((blobs_k + root_k / 2))
out=$("$SM" load -i "$T/v1.tar" 2>&1)
rc=$?
ok enospc-load-unpack 'failed_clean && echo "$out" | grep -q "layer sha256:[0-9a-f]*: .*No space left on device"'
grow $((2 * (blobs_k + root_k) + 1024))
out=$("$SM" load -i "$T/v1.tar" 2>&1)
rc=$?
ok enospc-load-roomier '[ $rc = 0 ] && content $LREF $want_v1 && [ -z "$(sound "$LREF=$want_v1")" ]'
say "done"
finish
