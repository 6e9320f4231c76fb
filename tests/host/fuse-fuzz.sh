#!/usr/bin/env bash
# Builds the FUSE decoder fuzz target (libFuzzer + ASan/UBSan, clang) and
# runs it for a bounded time: FUSE_FUZZ_SECONDS (default 20).
set -u
top=${SM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
secs=${FUSE_FUZZ_SECONDS:-20}
work=$(mktemp -d /tmp/fuse-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! command -v clang >/dev/null; then
	echo "FAIL fuse-fuzz: clang missing (tools/setup)"
	exit 1
fi
cd "$top"
if ! clang -g -O1 -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Iinclude -Isrc -o "$work/fuzz" tests/fuzz/fuzz_fuse_decoder.c \
	src/fuse/*.c src/util/error.c -lpthread >"$work/build.log" 2>&1; then
	echo "FAIL fuse-fuzz-build: $(tail -n 3 "$work/build.log" | tr '\n' ' ')"
	exit 1
fi
echo "PASS fuse-fuzz-build"
mkdir -p "$work/corpus"
if "$work/fuzz" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" >"$work/run.log" 2>&1; then
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/run.log" |
		grep -o '[0-9]*$')
	[ -n "$runs" ] || runs=$(grep -Eo '#[0-9]+' "$work/run.log" | tail -n 1)
	echo "PASS fuse-fuzz-run ($secs s, $runs inputs)"
else
	echo "FAIL fuse-fuzz-run: $(grep -m1 -E 'ERROR|SUMMARY' "$work/run.log")"
	mkdir -p /tmp/fuse-fuzz-crashes
	cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* /tmp/fuse-fuzz-crashes/ 2>/dev/null
	tail -n 30 "$work/run.log" >&2
	exit 1
fi
