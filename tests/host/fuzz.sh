#!/usr/bin/env bash
# Builds every libFuzzer target in tests/fuzz (clang, libFuzzer + ASan +
# UBSan, one clang invocation per target with only the sources it needs)
# and runs each for FUZZ_S seconds from its seed corpus
# (tests/fuzz/corpus/TARGET, see docs/fuzzing.md). One PASS/FAIL per
# build and per run; a run line says how many inputs ran and the edges
# covered (libFuzzer's final stats). Crash, leak and timeout inputs are
# kept under FUZZ_ARTIFACTS (default /tmp/fuzz-artifacts/TARGET/).
#
#   FUZZ_S       seconds per target (default 15: 20 targets, 300 s; the
#                CI budget is 300 s of fuzzing in all)
#   FUZZ_FUSE_S  seconds for the FUSE decoder (default FUZZ_S)
#   FUZZ_ONLY    space-separated target names to run (default all)
#   FUZZ_SEEDS_TO=DIR  instead of fuzzing, each target writes its seeds
#                (real save/serialize output) to DIR/TARGET
#                (tests/fuzz/make-corpus.sh)
set -u
top=${SM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
secs=${FUZZ_S:-15}
fuse_secs=${FUZZ_FUSE_S:-$secs}
arts=${FUZZ_ARTIFACTS:-/tmp/fuzz-artifacts}
work=$(mktemp -d /tmp/fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

OCI_SRC="src/oci/*.c src/util/*.c"
OCI_LIBS=$(pkg-config --libs libcurl libarchive jansson libcrypto 2>/dev/null)
VIRTIO_SRC="src/virtio/queue.c src/vmm/guest_mem.c src/util/error.c src/util/buf.c src/util/fs.c"
# NAME|SOURCES (besides tests/fuzz/fuzz_NAME.c)|LIBS|max_len
targets=(
	"fuse_decoder|src/fuse/*.c tests/support/memfs.c src/util/error.c src/util/fs.c||8192"
	"virtq|$VIRTIO_SRC||65536"
	"vsock|$VIRTIO_SRC src/virtio/mmio.c src/virtio/registry.c src/virtio/net.c src/virtio/rng.c src/virtio/fs.c src/fuse/*.c src/net/backend.c src/sandbox/*.c src/util/log.c|-lseccomp|65536"
	"virtio_net|$VIRTIO_SRC src/virtio/mmio.c src/net/backend.c||65536"
	"virtio_restore|$VIRTIO_SRC src/virtio/mmio.c src/virtio/net.c src/virtio/vsock.c src/virtio/rng.c src/virtio/fs.c src/virtio/registry.c src/fuse/*.c src/net/backend.c src/sandbox/*.c src/util/log.c|-lseccomp|4096"
	"snapshot|src/snapshot/format.c src/util/error.c src/util/buf.c src/util/fs.c||65536"
	"hv_state|src/util/error.c src/util/buf.c||65536"
	"fuse_state|src/fuse/*.c tests/support/memfs.c src/util/error.c src/util/fs.c||8192"
	"agent|src/run/volumes.c src/util/error.c src/util/fs.c src/util/guest_text.c||65536"
	"oci_manifest|$OCI_SRC|$OCI_LIBS|16384"
	"oci_config|$OCI_SRC|$OCI_LIBS|16384"
	"oci_ref|src/oci/ref.c src/util/error.c||512"
	"oci_auth|src/oci/auth.c src/oci/dl.c src/util/error.c|$OCI_LIBS|4096"
	"oci_unpack|$OCI_SRC|$OCI_LIBS|65536"
	"oci_load|$OCI_SRC|$OCI_LIBS|131072"
	"vm_conf|src/run/vm_conf.c src/run/volumes.c src/util/error.c||65536"
	"lo_guard|src/net/lo_guard.c||8192"
	"guest_spec|guest/init/spec.c src/run/volumes.c src/util/error.c src/util/fs.c src/util/guest_text.c||65536"
	"ctr_log|src/container/log_format.c||65536"
	"bundle_config|src/bundle/*.c src/oci/store.c src/oci/ref.c src/util/error.c src/util/fs.c|$(pkg-config --libs jansson libcrypto 2>/dev/null)|65536"
)

if ! command -v clang >/dev/null; then
	for t in "${targets[@]}"; do
		echo "FAIL fuzz-${t%%|*}-build: clang missing (tools/setup)"
		echo "FAIL fuzz-${t%%|*}-run: not built"
	done
	exit 1
fi
cd "$top" || exit 1
rc=0
for t in "${targets[@]}"; do
	IFS='|' read -r name srcs libs maxlen <<<"$t"
	case " ${FUZZ_ONLY:-$name} " in *" $name "*) ;; *) continue ;; esac
	bin=$work/fuzz_$name
	# shellcheck disable=SC2086 # word splitting and globs on purpose
	if ! clang -g -O1 -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Iinclude -Isrc -Itests/support $(pkg-config --cflags jansson 2>/dev/null) \
		-o "$bin" "tests/fuzz/fuzz_$name.c" $srcs $libs -lpthread \
		>"$work/$name.build" 2>&1; then
		echo "FAIL fuzz-$name-build: $(grep -m3 -E 'error|undefined' "$work/$name.build" | tr '\n' ' ')"
		echo "FAIL fuzz-$name-run: not built"
		rc=1
		continue
	fi
	echo "PASS fuzz-$name-build"
	if [ -n "${FUZZ_SEEDS_TO:-}" ]; then
		mkdir -p "$FUZZ_SEEDS_TO/$name" "$work/empty"
		if FUZZ_SEED_OUT=$FUZZ_SEEDS_TO/$name "$bin" -runs=0 "$work/empty" >"$work/$name.log" 2>&1; then
			echo "PASS fuzz-$name-seeds ($(ls "$FUZZ_SEEDS_TO/$name" | wc -l) files)"
		else
			echo "FAIL fuzz-$name-seeds: $(tail -n 3 "$work/$name.log" | tr '\n' ' ')"
			rc=1
		fi
		continue
	fi
	s=$secs
	[ "$name" = fuse_decoder ] && s=$fuse_secs
	# a scratch copy: libFuzzer adds what it finds to its first corpus dir
	mkdir -p "$work/corpus-$name" "$arts/$name"
	cp tests/fuzz/corpus/"$name"/* "$work/corpus-$name/" 2>/dev/null
	if TMPDIR=$work "$bin" -max_total_time="$s" -rss_limit_mb=2048 \
		-max_len="$maxlen" -timeout=20 -print_final_stats=1 \
		-artifact_prefix="$arts/$name/" "$work/corpus-$name" \
		>"$work/$name.log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$')
		cov=$(grep -Eo 'cov: [0-9]+' "$work/$name.log" | tail -n 1 | grep -o '[0-9]*')
		echo "PASS fuzz-$name-run ($s s, ${runs:-?} inputs, ${cov:-?} edges, $(ls "$work/corpus-$name" | wc -l) in corpus)"
	else
		echo "FAIL fuzz-$name-run: $(grep -m1 -E 'ERROR|SUMMARY' "$work/$name.log") (inputs in $arts/$name/)"
		tail -n 40 "$work/$name.log" >&2
		rc=1
	fi
done
exit $rc
