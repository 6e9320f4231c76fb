# Sourced by tools/with-kvm: boots the emulated KVM host and runs CMD in it.
#
# The host side and the emulated host talk through a control directory
# (ctl) in $TMPDIR, which both see:
#   config   the writable shares, for the init (tools/with-kvm.d/init)
#   env      our environment, NUL-separated, for CMD
#   run      the bash script the emulated host runs in its chroot
#   out err  CMD's stdout and stderr; we stream them as they grow
#   status   CMD's exit status, written when it ends
#   diag     the init's complaints, for our stderr

# in_dir A B: whether path A is B or below it.
in_dir() {
	[ "$2" = / ] || [ "$1" = "$2" ] || [ "${1#"$2"/}" != "$1" ]
}

# pick_shares: sets shares, the writable paths to share in mount order
# (parents first): $TMPDIR always (it holds ctl), then the repository and
# $WITH_KVM_SHARE unless already inside one; never / itself.
pick_shares() {
	local cand=() p q keep
	repo=$(git rev-parse --show-toplevel 2>/dev/null) || repo=$(pwd -P)
	cand+=("$(realpath -e "$repo")")
	local IFS=:
	for p in ${WITH_KVM_SHARE:-}; do
		[ -n "$p" ] || continue
		q=$(realpath -e "$p") || die "WITH_KVM_SHARE: no such directory: $p"
		cand+=("$q")
	done
	unset IFS
	shares=("$tmpdir")
	for p in "${cand[@]}"; do
		[ "$p" != / ] || continue
		keep=1
		for q in "${shares[@]}"; do
			in_dir "$p" "$q" && keep=0
		done
		[ $keep = 1 ] && shares+=("$p")
	done
	# Drop a later share inside an earlier one, then order by length.
	local out=()
	for p in "${shares[@]}"; do
		keep=1
		for q in "${shares[@]}"; do
			[ "$p" != "$q" ] && [ "$p" != "$tmpdir" ] && in_dir "$p" "$q" && keep=0
		done
		[ $keep = 1 ] && out+=("$p")
	done
	mapfile -t shares < <(for p in "${out[@]}"; do printf '%d %s\n' ${#p} "$p"; done |
		sort -n | cut -d' ' -f2-)
}

# write_ctl CMD...: fills ctl (see the top of this file).
write_ctl() {
	local p i=1 nl=$'\n'
	for p in "${shares[@]}"; do
		case "$p" in *"$nl"*) die "cannot share a path with a newline: $p" ;; esac
		if [ "$p" = "$tmpdir" ]; then
			echo "share wktmp $p"
		else
			echo "share wk$i $p"
			i=$((i + 1))
		fi
	done >"$ctl/config"
	env -0 | grep -zv '^_=' >"$ctl/env"
	: >"$ctl/out"
	: >"$ctl/err"
	: >"$ctl/diag"
	# The command goes through sh -c 'exec "$@"' so that a CMD with '=' in
	# its name is not taken for an assignment by env.
	{
		echo 'ctl=$1 envs=()'
		echo 'while IFS= read -r -d "" kv; do envs+=("$kv"); done <"$ctl/env"'
		echo "umask $(umask)"
		printf 'cd -- %q 2>>"$ctl/diag" || { echo 125 >"$ctl/status"; exit; }\n' "$PWD"
		# An idle VM held open for the session (kvm-keeper.py says why).
		printf 'python3 %q 2>>"$ctl/diag" & keeper=$!\n' "$aux/kvm-keeper.py"
		printf 'env -i "${envs[@]}" /bin/sh -c '\''exec "$@"'\'' sh'
		printf ' %q' "$@"
		printf ' </dev/null >>"$ctl/out" 2>>"$ctl/err"\n'
		echo 'rc=$?; kill $keeper 2>/dev/null'
		echo 'echo $rc >"$ctl/status.new" && mv "$ctl/status.new" "$ctl/status"'
	} >"$ctl/run"
}

# qemu_args: sets qargs, the QEMU command line. The emulated host is a
# throw-away test machine: no CPU-bug mitigations, no crypto self-tests
# (both cost boot time under TCG); its console goes to a log file.
qemu_args() {
	local p i=1 npt_opt=wk.modopt=kvm_amd:npt=0
	# kvm_amd on shadow paging unless WITH_KVM_NPT=1: under load, TCG's
	# nested paging makes guests triple-fault now and then
	# (docs/with-kvm.md, "Nested paging and its faults").
	[ "${WITH_KVM_NPT:-0}" = 1 ] && npt_opt=
	qargs=(qemu-system-x86_64 -nodefaults -no-user-config -display none
		-no-reboot -machine q35 -accel tcg,thread=multi -cpu EPYC-v3,+svm,+npt
		-smp "$cpus" -m "$mem" -kernel "$kernel" -initrd "$initrd"
		-append "console=ttyS0 quiet loglevel=1 panic=-1 mitigations=off cryptomgr.notests $npt_opt ${WITH_KVM_APPEND:-} wk.ctl=${ctl##*/}"
		-serial "file:$logdir/console.log"
		-virtfs local,path=/,mount_tag=wkroot,security_model=none,readonly=on,multidevs=remap)
	# The human monitor, to look at a wedged host; a unix socket path has
	# to fit in 108 bytes, so a deep cache directory goes without.
	if [ ${#logdir} -le 90 ]; then
		qargs+=(-monitor "unix:$logdir/monitor.sock,server=on,wait=off")
	else
		qargs+=(-monitor none)
	fi
	for p in "${shares[@]}"; do
		local tag=wktmp
		if [ "$p" != "$tmpdir" ]; then
			tag=wk$i
			i=$((i + 1))
		fi
		qargs+=(-virtfs "local,path=${p//,/,,},mount_tag=$tag,security_model=none,multidevs=remap")
	done
}

# new_logdir: sets logdir, a fresh directory for this run's logs; keeps
# the 20 newest.
new_logdir() {
	mkdir -p "$cache/log"
	logdir=$cache/log/$(date +%Y%m%d-%H%M%S)-$$
	mkdir -p "$logdir" || die "cannot create $logdir"
	(cd "$cache/log" && ls -1d -- */ 2>/dev/null | sort -r | tail -n +21 | xargs -r rm -rf --)
}

# watch_heartbeat QPID: stops QEMU (QPID) once the emulated host's
# heartbeat file (written every 5 s by the init, from just before CMD
# starts) is $stall_s seconds old, and leaves its age in $ctl/wedged.
watch_heartbeat() {
	local age
	[ "$stall_s" != 0 ] || return 0
	while kill -0 "$1" 2>/dev/null; do
		sleep 5
		[ -f "$ctl/heartbeat" ] || continue
		age=$(($(date +%s) - $(stat -c %Y "$ctl/heartbeat" 2>/dev/null || date +%s)))
		if [ "$age" -ge "$stall_s" ]; then
			echo "$age" >"$ctl/wedged"
			kill "$1" 2>/dev/null
			return 0
		fi
	done
}

wk_cleanup() {
	local p
	for p in ${qpid:-} ${tout:-} ${terr:-} ${twatch:-}; do
		kill "$p" 2>/dev/null
	done
	[ -n "${ctl:-}" ] && rm -rf "$ctl"
}

run_emulated() {
	local qrc rc
	prepare_host
	tmpdir=$(realpath -e "${TMPDIR:-/tmp}") || die "TMPDIR ${TMPDIR:-/tmp} does not exist"
	pick_shares
	new_logdir
	ctl=$(mktemp -d "$tmpdir/with-kvm.XXXXXX") || die "cannot create a directory in $tmpdir"
	trap wk_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	write_ctl "$@"
	qemu_args

	local tcmd=()
	[ "$timeout_s" != 0 ] && tcmd=(timeout -k 5 "$timeout_s")
	"${tcmd[@]}" "${qargs[@]}" >"$logdir/qemu.log" 2>&1 </dev/null &
	qpid=$!
	# tail --pid reads what is left once QEMU is gone, then exits.
	tail -c +1 -s 0.1 -f --pid="$qpid" "$ctl/out" &
	tout=$!
	tail -c +1 -s 0.1 -f --pid="$qpid" "$ctl/err" >&2 &
	terr=$!
	watch_heartbeat "$qpid" &
	twatch=$!
	wait "$qpid"
	qrc=$?
	qpid=
	wait "$tout" "$terr"
	tout='' terr=''
	kill "$twatch" 2>/dev/null
	wait "$twatch" 2>/dev/null
	twatch=
	sed 's/^/with-kvm: /' "$ctl/diag" >&2
	if [ -f "$ctl/wedged" ]; then
		echo "with-kvm: the emulated KVM host stopped: no heartbeat for $(cat "$ctl/wedged") s (WITH_KVM_STALL), QEMU stopped; CMD did not end: $*" >&2
		echo "with-kvm: console log: $logdir/console.log" >&2
		exit 125
	fi
	if [ "$qrc" = 124 ] && [ -n "${tcmd[*]}" ]; then
		timed_out "$@"
	fi
	if [ -f "$ctl/status" ]; then
		read -r rc <"$ctl/status"
		exit "$rc"
	fi
	echo "with-kvm: the emulated KVM host stopped (QEMU status $qrc) before CMD ended" >&2
	grep -v "TCG doesn't support requested feature" "$logdir/qemu.log" | tail -n 5 |
		sed 's/^/with-kvm: qemu: /' >&2
	grep -E 'Kernel panic|with-kvm init:' "$logdir/console.log" | tail -n 5 |
		sed 's/^/with-kvm: console: /' >&2
	echo "with-kvm: console log: $logdir/console.log" >&2
	exit 125
}
