#!/usr/bin/env bash
# Warm pools (sm_pool_*, docs/pool.md): tests/kvm/pool_check.c against a
# real guest (fills to min_idle, exec in an acquired VM, recycling, never
# reused, growth to max_idle and the idle timeout, acquire's timeout, a
# destroy that leaves acquired VMs to the caller), then examples/pool_echo.
. "$(dirname "$0")/lib.sh"
export SUPERMACHINE_KERNEL=$KERNEL SUPERMACHINE_INITRD=$INITRD
if [ -z "${SM_TEST_IMAGES:-}" ] || [ ! -f "$SM_TEST_IMAGES/images.env" ]; then
	fail pool_images_prepared "SM_TEST_IMAGES/images.env missing (tests/run runs tests/kvm/prepare)"
	exit 1
fi
. "$SM_TEST_IMAGES/images.env"
export SUPERMACHINE_ROOT=$SM_TEST_IMAGES/store
IMG=${IMG_BBOX:?}

# its own verdict lines (a crash or hang shows as missing ones)
timeout -k 10 900 "$SM_BUILD/tests/kvm/pool_check" "$IMG" 2>"$TMP/err"
rc=$?
expect pool_check_exits_0 '[ $rc = 0 ]' "pool_check"

timeout -k 10 600 "$SM_BUILD/examples/pool_echo" "$IMG" 3 1 >"$TMP/out" 2>>"$TMP/err"
rc=$?
expect pool_example_echo '[ $rc = 0 ] && [ "$(grep -c "out x$" "$TMP/out")" = 3 ] &&
	grep -q "^pool rounds=3 acquire_to_output_us_median=[0-9]* waits=0$" "$TMP/out"' "pool_echo"
cat "$TMP/out" | sed 's/^/# /'
