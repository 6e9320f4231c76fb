# shellcheck shell=bash
# Sourced by tools/with-kvm: does /dev/kvm here run OUR guest?
#
# A /dev/kvm can pass every cheap check and still not run our guest
# kernel: kvm-pvm (KVM without VT-x/AMD-V) runs real-mode code and dies at
# the kernel's first xrstor (docs/with-kvm.md). So the verdict comes from
# booting the guest we built to its init and back with an exit status.
# It is cached by what decides it: host kernel release, the loaded kvm*
# modules and the hashes of the VMM, vmlinux and initramfs. Only
# definite verdicts are cached (the guest's status came back, or the VMM
# named a hypervisor failure, triple fault or panic); a timeout or any
# other failure is decided again next time.
#
# Environment: WITH_KVM_PROBE_VMM, WITH_KVM_PROBE_KERNEL,
# WITH_KVM_PROBE_INITRD override what is booted (default: build/);
# WITH_KVM_PROBE_CACHE where verdicts go (default: kvm-probe/ in the
# supermachine cache).

probe_top=$(cd "$aux/../.." && pwd)
probe_vmm=${WITH_KVM_PROBE_VMM:-$probe_top/build/supermachine}
probe_kernel=${WITH_KVM_PROBE_KERNEL:-$probe_top/build/guest/vmlinux}
probe_initrd=${WITH_KVM_PROBE_INITRD:-$probe_top/build/guest/initramfs.cpio}
probe_cache=${WITH_KVM_PROBE_CACHE:-${SUPERMACHINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supermachine}/kvm-probe}
# The guest exits with this status when the probe works.
probe_status=7

# kvm_exceptions: /dev/kvm delivers a 64-bit guest's exceptions (#BP, #UD,
# #PF) through its IDT, as every kernel needs; kvm-pvm does not.
kvm_exceptions() {
	local py=/usr/bin/python3 # Debian's: a version manager's shim is slow
	[ -x $py ] || py=$(command -v python3) || return 1
	why=$($py "$aux/kvm-check.py" exceptions 2>&1) && return 0
	why="nothing is built to probe /dev/kvm with (make), and $why"
	return 1
}

probe_key() {
	{
		uname -r
		ls -d /sys/module/kvm* 2>/dev/null
		sha256sum "$probe_vmm" "$probe_kernel" "$probe_initrd" | cut -d' ' -f1
	} | sha256sum | cut -c1-32
}

# probe_boot: boots the guest once; sets verdict (direct|emulate), why
# and cacheable.
probe_boot() {
	local out rc last
	out=$(timeout -k 5 90 "$probe_vmm" boot --kernel "$probe_kernel" \
		--initrd "$probe_initrd" --timeout 60 -- \
		sh -c "exit $probe_status" 2>&1 </dev/null)
	rc=$?
	last=$(printf '%s\n' "$out" | grep -v '^$' | tail -n 1 | cut -c1-700)
	verdict=emulate cacheable=0
	case $rc in
	"$probe_status")
		verdict=direct cacheable=1 why= ;;
	124 | 137)
		why="our guest did not finish booting on /dev/kvm within 60 s (not cached)" ;;
	133 | 134)
		cacheable=1
		why="our guest kernel does not run on /dev/kvm (status $rc): $last" ;;
	*)
		why="our guest kernel does not run on /dev/kvm (status $rc): $last"
		case $out in *"hypervisor failed to run"*) cacheable=1 ;; esac ;;
	esac
}

# kvm_verdict: 0 when CMD should run here on /dev/kvm; 1 with $why set
# when it should run in the emulated host.
kvm_verdict() {
	local key file
	why=
	if [ ! -c /dev/kvm ]; then
		why="there is no /dev/kvm here"
		return 1
	fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		why="/dev/kvm is not readable and writable for $(id -un)"
		return 1
	fi
	if [ ! -x "$probe_vmm" ] || [ ! -f "$probe_kernel" ] || [ ! -f "$probe_initrd" ]; then
		# Nothing of ours to boot yet: what every kernel needs.
		kvm_exceptions
		return
	fi
	key=$(probe_key)
	file=$probe_cache/$key
	if [ -f "$file" ]; then
		{ read -r verdict && read -r why; } <"$file"
		[ "$verdict" = direct ] && return 0
		why="$why (cached: $file)"
		return 1
	fi
	probe_boot
	if [ "$cacheable" = 1 ] && mkdir -p "$probe_cache" 2>/dev/null; then
		printf '%s\n%s\n' "$verdict" "$why" >"$file.$$" && mv -f "$file.$$" "$file"
	fi
	[ "$verdict" = direct ]
}
