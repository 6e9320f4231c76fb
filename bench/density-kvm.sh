#!/usr/bin/env bash
# The KVM part of bench/density.sh (run it through that script):
#   density-kvm.sh IMAGE
set -uo pipefail
img=${1:?usage: density-kvm.sh IMAGE}
SM=${SM_BUILD:?}/supermachine
export SUPERMACHINE_KERNEL=$SM_TOP/build/guest/vmlinux
export SUPERMACHINE_INITRD=$SM_TOP/build/guest/initramfs.cpio
# records hold unix sockets: a tmpfs, never the 9p share
export SUPERMACHINE_RUNTIME=$(mktemp -d /run/sm-density.XXXXXX)
tmp=$(mktemp -d)
cleanup() {
	"$SM" ps -aq | xargs -r -P 8 -n 16 "$SM" rm -f >/dev/null 2>&1
	rm -rf "$SUPERMACHINE_RUNTIME" "$tmp"
}
trap cleanup EXIT

memavail_kib() { awk '$1 == "MemAvailable:" {print $2}' /proc/meminfo; }
# KEY of /proc/PID/smaps_rollup in KiB (0 when the process is gone)
rollup() { awk -v k="$2:" '$1 == k {print $2; f=1} END {if (!f) print 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
# PID's private KiB (clean + dirty) in its guest memory's mapping (the
# template's memory file, or a boot's memfd) and in all the others
split_private() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / {g = ($6 ~ /\/memory$/ || $6 ~ /^\/memfd:/)}
	     /^Private_(Clean|Dirty):/ {if (g) gk += $2; else vk += $2}
	     END {print gk + 0, vk + 0}' "/proc/$1/smaps" 2>/dev/null || echo 0 0
}
# each clone's processes: its VMM (the record's pid) and, when the VMM
# is kept, the keeper that is its parent
clone_pids() {
	local s p pp
	for s in "$SUPERMACHINE_RUNTIME"/containers/*/state; do
		p=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$s")
		[ -n "$p" ] || continue
		echo "$p"
		pp=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)
		[ -n "$pp" ] && [ "$(cat /proc/$pp/comm 2>/dev/null)" = "$(cat /proc/$p/comm 2>/dev/null)" ] && echo "$pp"
	done | sort -u
}
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

PERF=
perf stat -a -x, -o /dev/null -e kvm:kvm_exit -- true 2>/dev/null && PERF=perf

"$SM" run --pull never "$img" true >/dev/null 2>&1 # the template
# per clone: unique (private) KiB, of it dirty and in guest memory; PSS;
# the drop in MemAvailable; the Nth clone's run -d; KVM exits per second
printf '%-7s %9s %9s %9s %9s %10s %11s %8s\n' clones "uniq KiB" "dirty" "guest" "PSS KiB" "avail KiB" "Nth run ms" "exits/s"
last=
for n in $DENSITY_NS; do
	before=$(memavail_kib)
	nth_ms=0
	for ((i = 1; i <= n; i++)); do
		t0=$(date +%s%N)
		if ! timeout -k 5 300 "$SM" run -d --pull never --name "d$i" "$img" sleep infinity >/dev/null 2>"$tmp/err"; then
			echo "density: clone $i of $n did not start: $(tail -c 300 "$tmp/err")" >&2
			break
		fi
		nth_ms=$(ms "$t0")
	done
	started=$("$SM" ps -q | wc -l)
	sleep 5 # what a clone does once it idles, not its start
	after=$(memavail_kib)
	uss=0 pss=0 dirty=0 guest=0
	for p in $(clone_pids); do
		uss=$((uss + $(rollup "$p" Private_Clean) + $(rollup "$p" Private_Dirty)))
		dirty=$((dirty + $(rollup "$p" Private_Dirty)))
		pss=$((pss + $(rollup "$p" Pss)))
		read -r g _ <<<"$(split_private "$p")"
		guest=$((guest + g))
	done
	exits=?
	if [ -n "$PERF" ] && [ "$started" -gt 0 ]; then
		perf stat -a -x, -o "$tmp/perf" -e kvm:kvm_exit -- sleep 10 2>/dev/null
		exits=$(awk -F, -v s="$started" '$3 == "kvm:kvm_exit" {printf "%.1f", $1 / s / 10}' "$tmp/perf")
	fi
	if [ "$started" -gt 0 ]; then
		printf '%-7s %9s %9s %9s %9s %10s %11s %8s\n' "$started" $((uss / started)) $((dirty / started)) \
			$((guest / started)) $((pss / started)) $(((before - after) / started)) "$nth_ms" "$exits"
		last="density clones=$started unique_kib_per_clone=$((uss / started)) exits_per_idle_clone_per_s=$exits"
		echo "$last"
	fi
	"$SM" ps -aq | xargs -r -P 8 -n 16 "$SM" rm -f >/dev/null 2>&1
	[ "$started" = "$n" ] || break
done
[ -n "$last" ] # its line was the last
