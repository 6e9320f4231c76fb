#!/usr/bin/env bash
# The KVM part of bench/sandbox.sh (run it through that script):
#   sandbox-kvm.sh IMAGE
set -uo pipefail
img=${1:?usage: sandbox-kvm.sh IMAGE}
SM=${SM_BUILD:?}/supermachine
export SUPERMACHINE_KERNEL=${SM_TOP:?}/build/guest/vmlinux
export SUPERMACHINE_INITRD=$SM_TOP/build/guest/initramfs.cpio
RUNS=${BENCH_RUNS:-7}
NONE=(--security-opt seccomp=unconfined --security-opt jail=off)
errf=$(mktemp "${TMPDIR:-/tmp}/sm-bench-err.XXXXXX")
trap 'rm -f "$errf"' EXIT

warm_on=() warm_off=() cold_on=() cold_off=() failed=0
# timed NAME ARGS...: the wall seconds of `run ARGS... IMAGE true` into
# the array NAME; a failed run is reported and never timed.
timed() {
	local -n t=$1
	local name=$1 t0 t1 rc
	shift
	t0=$EPOCHREALTIME
	timeout -k 5 300 "$SM" run --pull never "$@" "$img" true </dev/null >/dev/null 2>"$errf"
	rc=$?
	t1=$EPOCHREALTIME
	if [ $rc != 0 ]; then
		echo "$name run $i FAILED: status $rc: $(head -c 300 "$errf")"
		failed=$((failed + 1))
		return
	fi
	t+=("$(echo "$t1 - $t0" | bc)")
	printf '%-8s run %d: %6.3f s\n' "$name" "$i" "${t[-1]}"
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# untimed: the template exists, the page cache is warm for both
"$SM" run --pull never "$img" true </dev/null >/dev/null 2>&1
for i in $(seq "$RUNS"); do
	timed warm_on
	timed warm_off "${NONE[@]}"
	timed cold_on --no-snapshot
	timed cold_off --no-snapshot "${NONE[@]}"
done
for k in warm cold; do
	local_on=${k}_on[@] local_off=${k}_off[@]
	on=("${!local_on}") off=("${!local_off}")
	if [ ${#on[@]} = 0 ] || [ ${#off[@]} = 0 ]; then
		echo "$k: no successful pair"
		continue
	fi
	mon=$(median "${on[@]}") moff=$(median "${off[@]}")
	printf '%s: median %.3f s with the sandbox (%d runs), %.3f s without (%d runs): ratio %.3f\n' \
		"$k" "$mon" ${#on[@]} "$moff" ${#off[@]} "$(echo "$mon / $moff" | bc -l)"
done
echo "failed runs: $failed"
