#!/usr/bin/env bash
# The foundation: boot our kernel + init on KVM and check what the guest sees.
. "$(dirname "$0")/lib.sh"

boot -- true
expect boot_reaches_init 'grep -q "supermachine-init: started" "$TMP/out" && [ $rc = 0 ]' \
	"no init marker on the console"

# The same kernel as a compressed bzImage (tools/build-kernel builds both):
# the 64-bit boot protocol path, with its setup header and decompressor.
if [ -s "$GUEST/bzImage" ]; then
	"$SM" boot --kernel "$GUEST/bzImage" --initrd "$INITRD" --timeout 300 -- sh -c 'echo bz-ok; exit 3' >"$TMP/out" 2>"$TMP/err"
	rc=$?
	expect bzimage_boots '[ $rc = 3 ] && grep -q "^bz-ok" "$TMP/out"' \
		"bzImage boot: status $rc, $(tail -c 300 "$TMP/err")"
else
	fail bzimage_boots "$GUEST/bzImage not built (make kernel)"
fi

boot -- sh -c 'exit 42'
expect exit_status_passes_through '[ $rc = 42 ]' "expected status 42"

boot --cpus 2 -- sh -c 'echo cpus=$(nproc) online=$(cat /sys/devices/system/cpu/online)'
expect two_vcpus_online 'grep -q "cpus=2 online=0-1" "$TMP/out" && [ $rc = 0 ]' \
	"guest did not see 2 CPUs"

boot --memory 512 -- sh -c 'grep MemTotal /proc/meminfo'
kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
expect memory_size_is_as_asked '[ -n "$kib" ] && [ "$kib" -le $((512 * 1024)) ] && [ "$kib" -ge $((512 * 1024 * 85 / 100)) ]' \
	"MemTotal ${kib:-?} kB for a 512 MiB VM"

boot --memory 3584 -- sh -c 'grep MemTotal /proc/meminfo'
kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
expect memory_above_4g_hole '[ -n "$kib" ] && [ "$kib" -ge $((3584 * 1024 * 85 / 100)) ]' \
	"MemTotal ${kib:-?} kB for a 3.5 GiB VM"

boot -- sh -c 'cat /sys/class/misc/hw_random/rng_current; head -c 32 /dev/hwrng | od -An -tx1 | tr -d " \n"; echo'
hex=$(grep -E '^[0-9a-f]{64}$' "$TMP/out" | head -1)
expect virtio_rng_gives_bytes 'grep -q "^virtio_rng" "$TMP/out" && [ -n "$hex" ] && [ "$hex" != "$(printf "0%.0s" $(seq 64))" ]' \
	"no 32 random bytes from /dev/hwrng"

# init exiting makes the kernel panic; the VMM must say so, not hang.
boot --cmdline "rdinit=/bin/false"
expect panic_is_reported '[ $rc = 134 ] && grep -q "kernel panic" "$TMP/err"' \
	"expected status 134 and a panic message"
# the panic line is the guest's text: quoted, escaped, without its CR
expect panic_line_is_quoted 'grep -qx "supermachine: guest kernel panic: \".*Kernel panic - not syncing: .*\"" "$TMP/err" &&
	! grep -qF "\\r\"" "$TMP/err"' "expected 'supermachine: guest kernel panic: \"...\"'"

"$SM" boot --kernel "$KERNEL" --initrd "$INITRD" --timeout 8 -- sleep 1000 >"$TMP/out" 2>"$TMP/err"
rc=$?
expect hang_times_out '[ $rc = 124 ] && grep -q "did not finish" "$TMP/err"' \
	"expected status 124 and a timeout message"

"$SM" boot --kernel /nonexistent --initrd "$INITRD" -- true >"$TMP/out" 2>"$TMP/err"
rc=$?
expect missing_kernel_is_clear '[ $rc = 125 ] && grep -q "kernel /nonexistent" "$TMP/err"' \
	"expected status 125 naming the kernel"

# --console FILE: the guest's serial console goes to FILE, not stdout;
# --timing: one line of timings on stderr.
boot --console "$TMP/console" --timing -- sh -c 'echo on-the-console'
expect console_to_file '[ $rc = 0 ] && grep -q "supermachine-init: started" "$TMP/console" &&
	grep -q on-the-console "$TMP/console" && ! grep -q on-the-console "$TMP/out"' \
	"console file $(wc -c <"$TMP/console" 2>/dev/null) bytes"
expect timing_line '[ $rc = 0 ] && grep -Eq "^timing: boot_to_init_ms=[0-9]+\.[0-9] total_ms=[0-9]+\.[0-9]$" "$TMP/err"' \
	"no timing line on stderr"
# A reboot by triple fault (reboot=t) is the guest's CPU shutting down:
# status 133 and a message that says so.
boot --cmdline "reboot=t" -- reboot -f
expect triple_fault_is_133 '[ $rc = 133 ] && grep -q "guest triple fault" "$TMP/err"' \
	"expected status 133 and a triple-fault message"
# A reboot through the keyboard controller, no status reported: 135.
boot --cmdline "reboot=k" -- reboot -f
expect stop_without_status_is_135 '[ $rc = 135 ] && grep -q "without reporting an exit status" "$TMP/err"' \
	"expected status 135 and its message"
head -c 5000 /dev/urandom >"$TMP/garbage"
"$SM" boot --kernel "$TMP/garbage" --initrd "$INITRD" -- true >"$TMP/out" 2>"$TMP/err"
rc=$?
expect garbage_kernel_is_refused '[ $rc = 125 ]' "expected status 125"
exit 0
