#!/usr/bin/env bash
# The KVM part of bench/counts.sh (run it through that script):
#   counts-kvm.sh IMAGE
# Each row: BENCH_RUNS runs of `supermachine -v run`, the median of each
# count: every exit and the page-fault exits (perf's kvm:kvm_exit and
# kvm:kvm_page_fault; KVM's counters where perf cannot), the exits to the
# VMM and host page faults from the "counts total" line -v prints, and
# the syscalls of as many runs under `strace -f -c`.
set -uo pipefail
img=${1:?usage: counts-kvm.sh IMAGE}
SM=${SM_BUILD:?}/supermachine
export SUPERMACHINE_KERNEL=$SM_TOP/build/guest/vmlinux
export SUPERMACHINE_INITRD=$SM_TOP/build/guest/initramfs.cpio
RUNS=${BENCH_RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{v[NR]=$1} END {print NR ? v[int((NR+1)/2)] : "?"}'; }
# KEY=N of the "counts total" line; " KEY=" so that exits is not
# userspace_exits
field() { sed -n "s/.*counts total: .* $1=\([0-9]*\).*/\1/p" "$tmp/err"; }
# perf's count of a tracepoint in $tmp/perf (-x,: "COUNT,,EVENT,...")
traced() { awk -F, -v e="$1" '$3 == e {print $1}' "$tmp/perf"; }

# Every exit and every page-fault exit, as the issue's baseline counted
# them: perf's kvm:kvm_exit and kvm:kvm_page_fault tracepoints over the
# whole (emulated) host while the run runs (-v's are KVM's per-vCPU
# counters of the same).
counted_run() {
	if [ -n "$PERF" ]; then
		timeout -k 5 300 perf stat -a -x, -o "$tmp/perf" \
			-e kvm:kvm_exit -e kvm:kvm_page_fault -- \
			"$SM" -v run --pull never "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	else
		timeout -k 5 300 "$SM" -v run --pull never "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	fi
}
PERF=
if perf stat -a -x, -o /dev/null -e kvm:kvm_exit -- true 2>/dev/null; then
	PERF=perf
else
	echo "counts: perf cannot count kvm:kvm_exit here: exits are KVM's counters only" >&2
fi

# row NAME RUNARGS... : prints the row, sets row_* for the summary
row() {
	local name=$1 i all pf
	shift
	: >"$tmp/exits" >"$tmp/nopf" >"$tmp/user" >"$tmp/faults" >"$tmp/sys"
	for ((i = 0; i < RUNS; i++)); do
		if ! counted_run "$@"; then
			echo "counts: $name: run failed: $(tail -c 300 "$tmp/err")" >&2
			continue
		fi
		if [ -n "$PERF" ]; then
			all=$(traced kvm:kvm_exit) pf=$(traced kvm:kvm_page_fault)
		else
			all=$(field exits) pf=$(field pf_taken)
		fi
		echo "$all" >>"$tmp/exits"
		echo $((all - pf)) >>"$tmp/nopf"
		field userspace_exits >>"$tmp/user"
		field host_faults >>"$tmp/faults"
		timeout -k 5 300 strace -f -c -o "$tmp/strace" "$SM" run --pull never "$@" </dev/null >/dev/null 2>&1
		awk '$NF == "total" {print $4}' "$tmp/strace" >>"$tmp/sys"
	done
	row_exits=$(median <"$tmp/exits") row_nopf=$(median <"$tmp/nopf")
	row_user=$(median <"$tmp/user") row_faults=$(median <"$tmp/faults")
	row_sys=$(median <"$tmp/sys")
	printf '%-22s %9s %9s %9s %9s %9s\n' "$name" "$row_exits" "$row_nopf" "$row_user" "$row_faults" "$row_sys"
}

printf '%-22s %9s %9s %9s %9s %9s\n' run exits "no-pf" to-vmm faults syscalls
row "cold true" --no-snapshot "$img" true
row "cold echo x" --no-snapshot "$img" echo x
c="counts cold exits=$row_nopf userspace_exits=$row_user host_faults=$row_faults syscalls=$row_sys"
"$SM" run --pull never "$img" true >/dev/null 2>&1 # the template
row "warm true" "$img" true
row "warm echo x" "$img" echo x
w="counts warm exits=$row_nopf userspace_exits=$row_user host_faults=$row_faults syscalls=$row_sys"
# A warm pool's exec (sm_pool_*, docs/pool.md): `echo x` in a VM that
# examples/pool_echo acquired ready, counted by the library from the
# exec's start to its end (its "counts exec" note: the VM's KVM counters,
# its exits to the VMM, this process's host faults), each round on a
# refilled pool. No syscalls: strace would count the pool's background
# restores too.
pool_row() {
	local ex="$SM_BUILD/examples/pool_echo"
	[ -x "$ex" ] || { echo "counts: $ex missing (make tests): no pool row" >&2; return; }
	if ! timeout -k 5 600 "$ex" "$img" "$RUNS" 1 >"$tmp/pool" 2>"$tmp/err"; then
		echo "counts: pool_echo failed: $(tail -c 300 "$tmp/err")" >&2
		return
	fi
	pool_field() { sed -n "s/^round [0-9]* counts: .* $1=\([0-9]*\).*/\1/p" "$tmp/pool"; }
	row_exits=$(pool_field exits | median)
	pool_field exits >"$tmp/pe"
	pool_field pf_taken >"$tmp/pp"
	row_nopf=$(paste "$tmp/pe" "$tmp/pp" | awk '{print $1 - $2}' | median)
	row_user=$(pool_field userspace_exits | median) row_faults=$(pool_field host_faults | median)
	printf '%-22s %9s %9s %9s %9s %9s\n' "pool exec echo x" "$row_exits" "$row_nopf" "$row_user" "$row_faults" -
	p="counts pool-exec exits=$row_nopf userspace_exits=$row_user host_faults=$row_faults acquire_to_output_us=$(sed -n 's/.*acquire_to_output_us_median=\([0-9]*\).*/\1/p' "$tmp/pool")"
}
p=
pool_row
# The peer: the same kernel and initramfs in QEMU microvm, saved once
# with `migrate` and restored with `-incoming` to the guest's first
# output, counted the same way (bench/warm.py part 5)
python3 "$SM_TOP/bench/warm.py" --sm "$SM" --image none --work "$tmp" \
	--kernel "$SUPERMACHINE_KERNEL" --initrd "$SUPERMACHINE_INITRD" \
	--runs "$RUNS" --qemu-mems 512 --parts 5 >"$tmp/qemu" 2>&1
grep -v '^counts ' "$tmp/qemu"
q=$(grep '^counts qemu-restore' "$tmp/qemu" || echo "counts qemu-restore: not measured (bench/warm.py printed nothing)")
[ -z "$p" ] || echo "$p"
echo "$c"
echo "$w"
echo "$q"
