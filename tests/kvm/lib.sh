# Shared helpers of the KVM tests (sourced). Each check prints one
# "PASS name" or "FAIL name: why" line.
SM=${SM_BUILD:?}/supermachine
GUEST=${SM_TOP:?}/build/guest
KERNEL=$GUEST/vmlinux
INITRD=$GUEST/initramfs.cpio
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sm-kvm.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

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
