# Shared helpers of the KVM tests (sourced). Each check prints one
# "PASS name" or "FAIL name: why" line.
SM=${SM_BUILD:?}/supermachine
GUEST=${SM_GUEST:-${SM_TOP:?}/build/guest}
KERNEL=$GUEST/vmlinux
INITRD=$GUEST/initramfs.cpio
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sm-kvm.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# Every wait has a bound, and a FAIL of its own when the bound expires
# (named after the script line that waited): a hang is a failure, never a
# silent stop of the script.
#
# wait_for SECONDS COND: polls COND (shell) every 0.2 s; 0 when it held.
wait_for() {
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt $end ]; do
		eval "$2" && return 0
		sleep 0.2
	done
	fail "wait_line_${BASH_LINENO[0]}" "still not true after $1 s: $2"
	return 1
}

# bounded_wait SECONDS PID...: waits for these children of the shell,
# at most SECONDS in all; the status of the last PID. On expiry all of
# them are killed, a FAIL is printed and the status is 124.
bounded_wait() {
	local end=$((SECONDS + $1)) p
	shift
	for p in "$@"; do
		while kill -0 "$p" 2>/dev/null; do
			if [ $SECONDS -ge $end ]; then
				fail "wait_line_${BASH_LINENO[0]}" "processes $* still running after the bound: killed"
				kill -KILL "$@" 2>/dev/null
				wait "$@" 2>/dev/null
				return 124
			fi
			sleep 0.2
		done
	done
	for p in "$@"; do wait "$p"; done
}

# boot ARGS... -- CMD: boots the test kernel; stdout in $TMP/out, stderr in
# $TMP/err, status in $rc.
boot() {
	"$SM" boot --kernel "$KERNEL" --initrd "$INITRD" --timeout 180 "$@" \
		>"$TMP/out.raw" 2>"$TMP/err"
	rc=$?
	# the guest's tty turns \n into \r\n
	tr -d '\r' <"$TMP/out.raw" >"$TMP/out"
}

# expect NAME COND WHY: PASS when COND (a shell expression) holds.
expect() {
	if eval "$2"; then
		pass "$1"
	else
		fail "$1" "$3 (status $rc; stderr: $(head -c 300 "$TMP/err" | tr '\n' ' '); out: $(tail -c 300 "$TMP/out" | tr '\n' ' '))"
	fi
}
