#!/usr/bin/env bash
# Warm start: the second run of an image restores a template snapshot, and
# behaves exactly like a cold boot; clones of one template are unique;
# broken templates are dropped and rebuilt, never used.
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail snapshot_images_prepared "SM_TEST_IMAGES/images.env missing (tests/run runs tests/kvm/prepare)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
# The store tests/run prepared for this run (fresh each time). No other
# test uses a 128 MiB guest, so the first run here has no template yet.
# (Copying the store instead took over 15 minutes over the emulated
# host's 9p.)
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
IMG=${IMG_BBOX:?}
SHAPE="-m 128m"

# smrun NAME ARGS...: stdout in $TMP/NAME.out, stderr in $TMP/NAME.err
smrun() {
	local n=$1
	shift
	"$SM" -v run --pull never --timeout 300 $SHAPE "$@" </dev/null \
		>"$TMP/$n.out" 2>"$TMP/$n.err"
	echo $? >"$TMP/$n.rc"
}
rc_of() { cat "$TMP/$1.rc"; }

probe=(-e PROBE=1 -u app -w /tmp/wd "$IMG" sh -c 'echo "args:$*"; env | grep -v -e ^HOSTNAME= -e ^HOME= | sort; id; pwd' sh a "b c")
smrun cold --no-snapshot "${probe[@]}"
smrun first "${probe[@]}"
smrun warm "${probe[@]}"
if [ "$(rc_of cold)" = 0 ] && grep -q "cold boot" "$TMP/first.err" && grep -q "saved warm-start template" "$TMP/first.err"; then
	pass snapshot_first_run_boots_and_saves_template
else
	fail snapshot_first_run_boots_and_saves_template "rc $(rc_of first): $(head -c 300 "$TMP/first.err")"
fi
if grep -q "warm start: restored" "$TMP/warm.err" && [ "$(rc_of warm)" = 0 ]; then
	pass snapshot_second_run_is_a_restore
else
	fail snapshot_second_run_is_a_restore "rc $(rc_of warm): $(head -c 300 "$TMP/warm.err")"
fi
if cmp -s "$TMP/cold.out" "$TMP/warm.out" && cmp -s "$TMP/cold.out" "$TMP/first.out" &&
	grep -q "args:a b c" "$TMP/warm.out" && grep -q "uid=1000(app)" "$TMP/warm.out" &&
	grep -qx "/tmp/wd" "$TMP/warm.out" && grep -qx "PROBE=1" "$TMP/warm.out"; then
	pass snapshot_warm_output_equals_cold
else
	fail snapshot_warm_output_equals_cold "$(diff "$TMP/cold.out" "$TMP/warm.out" | head -c 300)"
fi

# -v's counts (issue 17, docs/benchmarks.md "Counts"): KVM's counters and
# the exits to the VMM, per phase; a restore costs far fewer than a boot.
to_vmm() { sed -n 's/.*counts total: .*userspace_exits=\([0-9]*\).*/\1/p' "$TMP/$1.err"; }
pf_taken() { sed -n 's/.*counts total: kvm pf_taken=\([0-9]*\).*/\1/p' "$TMP/$1.err"; }
if [ "$(to_vmm first)" -gt 0 ] && [ "$(to_vmm warm)" -gt 0 ] &&
	[ "$(to_vmm first)" -gt "$(to_vmm warm)" ] && [ "$(pf_taken first)" -gt "$(pf_taken warm)" ] &&
	grep -q "counts restore to spec: kvm pf_taken=" "$TMP/warm.err" && grep -q "counts boot to spec: kvm pf_taken=" "$TMP/first.err" &&
	grep -q "counts process: .*host_faults=[1-9]" "$TMP/warm.err"; then
	pass snapshot_verbose_counts
else
	fail snapshot_verbose_counts "cold: $(grep "counts total" "$TMP/first.err" | head -c 300); warm: $(grep "counts total" "$TMP/warm.err" | head -c 300)"
fi

# Clones of one template: their own entropy, hostname, boot id, clock.
uniq_probe=("$IMG" sh -c 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n"; echo; hostname; cat /proc/sys/kernel/random/boot_id; date +%s; cat /etc/machine-id; grep -c "$(hostname)" /etc/hosts')
smrun c1 "${uniq_probe[@]}" &
smrun c2 "${uniq_probe[@]}" &
# shellcheck disable=SC2046 # one word per job
bounded_wait 400 $(jobs -p)
host_now=$(date +%s)
r1=$(sed -n 1p "$TMP/c1.out") r2=$(sed -n 1p "$TMP/c2.out")
h1=$(sed -n 2p "$TMP/c1.out") h2=$(sed -n 2p "$TMP/c2.out")
b1=$(sed -n 3p "$TMP/c1.out") b2=$(sed -n 3p "$TMP/c2.out")
t1=$(sed -n 4p "$TMP/c1.out")
m1=$(sed -n 5p "$TMP/c1.out") m2=$(sed -n 5p "$TMP/c2.out")
hosts1=$(sed -n 6p "$TMP/c1.out")
if grep -q "warm start" "$TMP/c1.err" && grep -q "warm start" "$TMP/c2.err" &&
	[ ${#r1} = 64 ] && [ ${#r2} = 64 ] && [ "$r1" != "$r2" ]; then
	pass snapshot_clones_have_distinct_randomness
else
	fail snapshot_clones_have_distinct_randomness "r1=$r1 r2=$r2 ($(head -c 200 "$TMP/c1.err"))"
fi
expect_ok() { if eval "$2"; then pass "$1"; else fail "$1" "$3"; fi; }
expect_ok snapshot_clones_have_distinct_hostnames '[ -n "$h1" ] && [ "$h1" != "$h2" ]' "h1=$h1 h2=$h2"
expect_ok snapshot_clones_have_distinct_boot_ids '[ ${#b1} = 36 ] && [ "$b1" != "$b2" ]' "b1=$b1 b2=$b2"
expect_ok snapshot_clones_have_distinct_machine_ids '[ ${#m1} = 32 ] && [ "$m1" != "$m2" ]' "m1=$m1 m2=$m2"
expect_ok snapshot_hosts_names_the_hostname '[ "$hosts1" = 1 ]' "hosts lines with the hostname: $hosts1"
# The runs end seconds before host_now: allow for this emulated host's pace.
expect_ok snapshot_clone_clock_follows_host '[ -n "$t1" ] && [ $((host_now - t1)) -ge -1 ] && [ $((host_now - t1)) -le 30 ]' \
	"guest $t1, host $host_now"

# Broken templates are refused, dropped and rebuilt.
tdir=$(sed -n 's/.*restored \(.*\) in .*/\1/p' "$TMP/warm.err" | head -1)
if [ -n "$tdir" ] && [ -f "$tdir/state" ]; then
	printf '\377' | dd of="$tdir/state" bs=1 seek=40 conv=notrunc status=none
	smrun corrupt_state "${probe[@]}"
	expect_ok snapshot_corrupt_state_is_dropped 'grep -q "template unusable" "$TMP/corrupt_state.err" && cmp -s "$TMP/cold.out" "$TMP/corrupt_state.out"' \
		"$(head -c 300 "$TMP/corrupt_state.err")"
	truncate -s 4096 "$tdir/memory"
	smrun short_memory "${probe[@]}"
	expect_ok snapshot_wrong_memory_size_is_dropped 'grep -q "template unusable" "$TMP/short_memory.err" && cmp -s "$TMP/cold.out" "$TMP/short_memory.out"' \
		"$(head -c 300 "$TMP/short_memory.err")"
	smrun rebuilt "${probe[@]}"
	expect_ok snapshot_template_rebuilt_after_drop 'grep -q "warm start: restored" "$TMP/rebuilt.err" && cmp -s "$TMP/cold.out" "$TMP/rebuilt.out"' \
		"$(head -c 300 "$TMP/rebuilt.err")"
	# The VMM's build is in the key: another build's templates (or one
	# from before builds were recorded) go with this build's next save.
	tparent=$(dirname "$tdir")
	old1=$tparent/0123456789abcdef0123456789abcdef
	old2=$tparent/fedcba9876543210fedcba9876543210
	mkdir -p "$old1" "$old2"
	cp "$tdir/state" "$old1/state"
	echo 0000000000000000 >"$old1/build"
	SHAPE="-m 136m" smrun othershape "${probe[@]}"
	expect_ok snapshot_other_builds_templates_go '[ "$(wc -c <"$tdir/build")" = 16 ] && [ ! -e "$old1" ] && [ ! -e "$old2" ] &&
		[ -f "$tdir/state" ] && grep -q "saved warm-start template" "$TMP/othershape.err" && cmp -s "$TMP/cold.out" "$TMP/othershape.out"' \
		"build '$(cat "$tdir/build" 2>/dev/null)'; left: $(ls "$tparent" | tr '\n' ' '); $(head -c 300 "$TMP/othershape.err")"
else
	fail snapshot_corrupt_state_is_dropped "no template directory in: $(head -c 200 "$TMP/warm.err")"
fi

# A VM snapshotted mid-computation (sm_vm_snapshot), restored twice at
# once (sm_vm_restore): both continue from that point and finish it.
"$SM_BUILD/examples/snapshot_clone" "$IMG" "$TMP/midsnap" 300 >"$TMP/mid.out" 2>"$TMP/mid.err"
expect_ok snapshot_mid_computation_two_clones_finish '[ "$(grep -c "status 0: result=2000" "$TMP/mid.out")" = 3 ]' \
	"$(cat "$TMP/mid.out" "$TMP/mid.err" | tr '\n' '|' | head -c 600)"
# ...and through the CLI, a third time
"$SM" restore "$TMP/midsnap" >"$TMP/mid3.out" 2>"$TMP/mid3.err"
expect_ok snapshot_cli_restore_resumes '[ "$(cat "$TMP/mid3.out")" = result=2000 ]' \
	"$(cat "$TMP/mid3.out" "$TMP/mid3.err" | head -c 300)"

# A user's snapshot on disk is untrusted: corrupt it (one byte of the
# state file flipped, then the file cut short) and restore must refuse it
# with status 125 and the state file's own message, not crash or run.
cp -r "$TMP/midsnap" "$TMP/badsnap"
st=$TMP/badsnap/state
size=$(stat -c %s "$st")
printf '\xff' | dd of="$st" bs=1 seek=$((size / 2)) conv=notrunc status=none
timeout 300 "$SM" restore "$TMP/badsnap" >"$TMP/bad.out" 2>"$TMP/bad.err"
brc=$?
truncate -s $((size / 3)) "$st"
timeout 300 "$SM" restore "$TMP/badsnap" >"$TMP/bad2.out" 2>"$TMP/bad2.err"
brc2=$?
expect_ok snapshot_corrupt_restore_refused '[ $brc = 125 ] && grep -q "bad CRC" "$TMP/bad.err" &&
	[ $brc2 = 125 ] && grep -q "truncated" "$TMP/bad2.err" && [ ! -s "$TMP/bad.out" ]' \
	"flipped byte: status $brc, $(head -c 200 "$TMP/bad.err"); cut short: status $brc2, $(head -c 200 "$TMP/bad2.err")"

# Many clones of one template at once.
# many_round TAG: $n clones at once; sets bad (wrong clones) and
# first_bad. A clone that ends in a guest triple fault is wrong like any
# other: no round is rerun because of a message of the product's.
n=${SM_TEST_CLONES:-16}
many_round() {
	local i t
	for i in $(seq 1 $n); do
		smrun "$1$i" "$IMG" sh -c "echo clone-$i; exit $((i % 7))" &
	done
	# shellcheck disable=SC2046 # one word per job
	bounded_wait 600 $(jobs -p)
	bad=0 first_bad=
	for i in $(seq 1 $n); do
		t=$1$i
		[ "$(cat "$TMP/$t.out")" = "clone-$i" ] && [ "$(rc_of "$t")" = $((i % 7)) ] &&
			grep -q "warm start" "$TMP/$t.err" && continue
		bad=$((bad + 1))
		[ -n "$first_bad" ] || first_bad=$t
	done
}
many_round many
# Say what the first wrong clone printed, so a failure in CI can be read.
why=
[ -z "$first_bad" ] || why="$first_bad: rc $(rc_of "$first_bad"), out '$(head -c 100 "$TMP/$first_bad.out")', err: $(tail -c 600 "$TMP/$first_bad.err")"
expect_ok snapshot_many_clones_at_once '[ $bad = 0 ]' "$bad of $n clones wrong; $why"
exit 0
