#!/usr/bin/env bash
# The KVM part of bench/virtiofs.sh (run it through that script): boots
# the guest once per configuration over the tree in $1 and prints the
# table. Needs a working /dev/kvm (tools/with-kvm provides one).
#
# $1 holds the tree (share/) and its archive (tree.tar). The archive is
# unpacked to a tmpfs (/dev/shm) unless BENCH_COPY=0: under the emulated
# KVM host $TMPDIR is itself a 9p mount, whose cost per operation would
# otherwise swamp the servers being compared.
#
# Two clocks: the guest's (RESULT lines) and the host's arrival time of
# the BEGIN and RESULT console lines. They agree for QEMU; our VMM hands
# console output to the host in batches, so for ours the guest's clock is
# the one to read.
set -uo pipefail

src=${1:?usage: virtiofs-run.sh DIR}
SM=${SM_BUILD:?}/supermachine
KERNEL=${SM_TOP:?}/build/guest/vmlinux
INITRD=$SM_TOP/build/guest/initramfs.cpio
RUNS=${BENCH_RUNS:-1}
DAXWIN=${BENCH_DAX_WINDOW:-1024}
TIMEOUT=${BENCH_TIMEOUT:-600}
CMDLINE="console=ttyS0 reboot=k panic=-1 io_delay=none no_timer_check quiet"
GUEST_CMD="sh /mnt/guest.sh $RUNS"

out=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-out.XXXXXX")
cleanup() {
	rm -rf "$out"
	[ -z "${copied:-}" ] || rm -rf "$copied"
}
trap cleanup EXIT

dir=$src/share
if [ "${BENCH_COPY:-1}" = 1 ]; then
	t0=$(date +%s.%N)
	copied=$(mktemp -d /dev/shm/sm-bench.XXXXXX)
	tar -C "$copied" -xf "$src/tree.tar" || exit 1
	dir=$copied
	printf 'unpacked the tree to tmpfs %s in %.1f s\n' "$dir" \
		"$(echo "$(date +%s.%N) - $t0" | bc)"
fi

hexcmd() {
	printf '%s\0' "$@" | od -An -v -tx1 | tr -d ' \n'
}

# run NAME CMD...: one boot. The guest's console lines go to $out/NAME,
# each prefixed with the (emulated) host's clock when it arrived; the
# boot's wall time in $out/NAME.wall, its status in $out/NAME.rc.
run() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s.%N)
	# (no filter before the loop: a pipe would buffer the lines)
	"$@" </dev/null 2>"$out/$name.err" |
		while IFS= read -r line; do
			printf '%s %s\n' "$(date +%s.%N)" "${line%$'\r'}"
		done >"$out/$name"
	rc=${PIPESTATUS[0]}
	echo "$(date +%s.%N) - $t0" | bc >"$out/$name.wall"
	echo $rc >"$out/$name.rc"
	printf '%-14s status %d, %.1f s (boot to mounted %.1f s)\n' "$name" $rc \
		"$(cat "$out/$name.wall")" \
		"$(awk -v t0="$t0" '$2 == "MOUNTED" { print $1 - t0; exit }' "$out/$name")"
}

ours() {
	local name=$1 share=$2 mflags=$3
	run "$name" "$SM" boot --kernel "$KERNEL" --initrd "$INITRD" --cpus 1 \
		--memory 512 --timeout "$TIMEOUT" --share "$share" -- \
		sh -c "mkdir -p /mnt && mount -t virtiofs data /mnt $mflags && $GUEST_CMD"
}

# QEMU's own 9p server, same kernel, initramfs and guest command; its
# isa-debug-exit makes it exit with (status << 1) | 1.
qemu9p() {
	local name=$1 cache=$2
	run "$name" timeout "$TIMEOUT" qemu-system-x86_64 \
		-M microvm,acpi=off,x-option-roms=off -accel kvm -cpu host \
		-m 512 -smp 1 -nodefaults -no-user-config -nographic \
		-serial stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=1 \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-fsdev "local,id=f,path=$dir,security_model=none" \
		-device virtio-9p-device,fsdev=f,mount_tag=data \
		-append "$CMDLINE sm.cmd=$(hexcmd sh -c "mkdir -p /mnt && mount -t 9p -o trans=virtio,version=9p2000.L,cache=$cache data /mnt && $GUEST_CMD")"
}

configs=()
ours virtiofs "data=$dir" ""
configs+=(virtiofs)
ours virtiofs-dax "data=$dir,dax=$DAXWIN" "-o dax"
configs+=(virtiofs-dax)
for c in ${BENCH_9P_CACHE:-none}; do
	qemu9p "9p-$c" "$c"
	configs+=("9p-$c")
done

bad=0
for c in "${configs[@]}"; do
	if grep -q FAILED "$out/$c" || ! grep -q ' SIZE big' "$out/$c"; then
		echo "== $c failed (status $(cat "$out/$c.rc")):"
		tail -n 20 "$out/$c"
		tail -n 5 "$out/$c.err"
		bad=1
	fi
done

# "CFG WORKLOAD HOST_SECONDS GUEST_SECONDS" for the fastest run (by the
# host's clock) of each workload of each configuration.
for c in "${configs[@]}"; do
	awk -v c="$c" '
		$2 == "BEGIN" { b[$3 " " $4] = $1 }
		$2 == "RESULT" { k = $3; h = $1 - b[$3 " " $4]
			if (!(k in th) || h < th[k]) { th[k] = h; tg[k] = $5 } }
		END { for (k in th) print c, k, th[k], tg[k] }' "$out/$c"
done >"$out/times"

v=virtiofs
echo
echo "sizes: big file $(awk '$2 == "SIZE" { print $4 / 1048576 }' "$out/$v") MiB," \
	"tree $(awk '$2 == "COUNT" && $3 == "find" { print $4 - 1 }' "$out/$v") entries," \
	"small-file reads $(awk '$2 == "COUNT" && $3 == "small" { print $4 }' "$out/$v") files;" \
	"fastest of $RUNS run(s), cold guest caches, 1 vCPU, 512 MiB; DAX window $DAXWIN MiB"
# col 3: the host's clock (console line arrivals), col 4: the guest's.
table() {
	awk -v col="$1" -v cfgs="${configs[*]}" '
	{ t[$1 " " $2] = $col }
	END {
		n = split(cfgs, cf, " ")
		split("seqread find smallcat", wl, " ")
		printf "%-10s", "workload"
		for (i = 1; i <= n; i++) printf " %12s", cf[i]
		for (i = 1; i <= n; i++) if (cf[i] ~ /^9p/)
			for (j = 1; j <= n; j++) if (cf[j] !~ /^9p/)
				printf " %21s", cf[j] "/" cf[i]
		printf "\n"
		for (w = 1; w <= 3; w++) {
			printf "%-10s", wl[w]
			for (i = 1; i <= n; i++) {
				v = t[cf[i] " " wl[w]]
				if (v == "") printf " %12s", "-"
				else printf " %10.2f s", v
			}
			for (i = 1; i <= n; i++) if (cf[i] ~ /^9p/)
				for (j = 1; j <= n; j++) if (cf[j] !~ /^9p/) {
					a = t[cf[j] " " wl[w]]; b = t[cf[i] " " wl[w]]
					if (a == "" || b == "" || b == 0) printf " %21s", "-"
					else printf " %20.2fx", a / b
				}
			printf "\n"
		}
	}' "$out/times"
}
echo "time per workload (ratio: ours/9p, below 1 = ours faster), by the host's clock:"
table 3
echo "the same by the guest's clock:"
table 4
exit $bad
