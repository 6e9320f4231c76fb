#!/usr/bin/env bash
# Warm-start benchmark (issue 6): in ONE tools/with-kvm session,
#   1. cold `run IMAGE true` (--no-snapshot) vs warm `run IMAGE true`, wall
#      time from process start to exit, medians and the ratio;
#   2. restore-to-first-output for 128 MiB, 1 GiB and 4 GiB guests (`-m`):
#      process start to the first byte of `echo x` on a stdout pipe, and
#      whether that is flat in the memory size;
#   3. the VMM's RSS (VmRSS, RssAnon, RssFile, RssShmem) while a warm guest
#      runs `sleep 2`;
#   4. QEMU microvm with the same kernel and initramfs, saved with `migrate`
#      to a file and restored with `-incoming`, timed to the guest's first
#      output, and the ratio against ours.
# The image is a busybox one built from Debian's busybox-static
# (bench/warm-image.sh) and loaded into a scratch store under $TMPDIR. The
# CLI and guest assets are copied there first, so a rebuild of build/ while
# this runs does not change what is measured. The measuring is done by
# bench/warm.py inside the KVM session.
#
# usage: bench/warm.sh        RUNS=N (default 5), SM_BUILD=DIR (default build),
#        MEMS=128m,1g,4g RSS_MEMS=512m,4g QEMU_MEMS=128 PARTS=1234 KEEP=1
#        WARM_DEBUG=1 (QMP traffic on stderr)
# WITH_KVM_MEM defaults to 8192 here, so a 4 GiB guest fits in the emulated
# host (its memory is mapped lazily; most of it is never touched).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SM_BUILD:-$top/build}
die() { echo "warm.sh: $*" >&2; exit 1; }
for f in "$build/supermachine" "$top/build/guest/vmlinux" "$top/build/guest/initramfs.cpio"; do
	[ -e "$f" ] || die "$f missing: make lib cli guest kernel first"
done
for t in umoci skopeo qemu-system-x86_64; do
	command -v $t >/dev/null || die "needs $t (tools/setup)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sm-warm.XXXXXX")
if [ "${KEEP:-}" ]; then
	trap 'echo "scratch: $work"' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/sm/guest"
cp "$build/supermachine" "$work/sm/"
cp "$top/build/guest/vmlinux" "$top/build/guest/initramfs.cpio" "$work/sm/guest/"
export SUPERMACHINE_ROOT=$work/store
unset SUPERMACHINE_KERNEL SUPERMACHINE_INITRD

"$top/bench/warm-image.sh" "$work/img" bench/busybox:latest
"$work/sm/supermachine" load -i "$work/img/image.tar" >/dev/null

echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(qemu-system-x86_64 --version | head -1)"
echo "supermachine $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?'), runs=${RUNS:-5}, emulated KVM host memory ${WITH_KVM_MEM:-8192} MiB"
export WITH_KVM_MEM=${WITH_KVM_MEM:-8192}
s=$(date +%s)
"$top/tools/with-kvm" /usr/bin/python3 "$top/bench/warm.py" \
	--sm "$work/sm/supermachine" --image bench/busybox --work "$work" \
	--kernel "$work/sm/guest/vmlinux" --initrd "$work/sm/guest/initramfs.cpio" \
	--runs "${RUNS:-5}" --mems "${MEMS:-128m,1g,4g}" \
	--rss-mems "${RSS_MEMS:-512m,4g}" --qemu-mems "${QEMU_MEMS:-128}" \
	--parts "${PARTS:-1234}"
echo "(one with-kvm session, $(($(date +%s) - s)) s)"
