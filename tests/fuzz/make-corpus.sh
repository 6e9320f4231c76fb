#!/usr/bin/env bash
# Regenerates the seed corpora under tests/fuzz/corpus/TARGET: each fuzz
# target writes its own seeds from the real save/serialize code it links
# (FUZZ_SEEDS_TO, tests/host/fuzz.sh), tests/fuzz/oci_seeds.py the OCI
# manifests, configs, references, auth answers, layers and archives.
# Commit the result.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/tests/fuzz/corpus
rm -rf "$out"
mkdir -p "$out"
targets="fuse_decoder virtq vsock virtio_net virtio_restore snapshot hv_state"
targets="$targets fuse_state agent vm_conf lo_guard guest_spec bundle_config"
FUZZ_SEEDS_TO=$out FUZZ_ONLY=$targets "$top/tests/host/fuzz.sh"
python3 "$top/tests/fuzz/oci_seeds.py" "$out"
du -sh "$out"/*
