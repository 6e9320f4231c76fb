# Shared helpers for the image host tests (sourced). Each test gets a
# scratch dir, a loopback registry on a free port, and cleans up on exit.
set -u
SM_TOP=${SM_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SM_BUILD=${SM_BUILD:-$SM_TOP/build}
SM=$SM_BUILD/supermachine
T=$(mktemp -d /tmp/sm-oci-test.XXXXXX)
export SUPERMACHINE_ROOT=$T/store
export HOME=$T/home
mkdir -p "$HOME"
PIDS=()
failures=0

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	chmod -R u+rwx "$T" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }
# check NAME CMD...: PASS when CMD succeeds (output hidden).
check() { local n=$1; shift; if "$@" >/dev/null 2>&1; then pass "$n"; else fail "$n" "$*"; fi; }
# ok NAME 'SHELL CONDITION': PASS when the condition holds.
# A FAIL line shows the condition on one line.
# ok NAME COND: PASS when COND holds; a FAIL names COND and the last
# command's $rc and $out (where the script keeps them), to be read in CI.
ok() {
	if eval "$2" >/dev/null 2>&1; then
		pass "$1"
	else
		fail "$1" "$(printf %s "$2" | tr -s '\n\t' '  ') [rc=${rc-} out=$(printf %s "${out-}" | head -c 300 | tr '\n' ' ')]"
	fi
}
finish() { [ "$failures" = 0 ]; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# start_registry [EXTRA_YAML]: sets REG=127.0.0.1:PORT.
start_registry() {
	local port dir=$T/registry
	port=$(free_port)
	mkdir -p "$dir/data"
	cat >"$dir/config.yml" <<EOY
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
${1:-}
EOY
	docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
	PIDS+=($!)
	wait_port "$port" || { echo "registry did not start"; cat "$dir/log"; return 1; }
	REG=127.0.0.1:$port
}

# new_image LAYOUT TAG: empty image in an OCI layout (umoci).
new_image() {
	[ -d "$1" ] || umoci init --layout "$1"
	umoci new --image "$1:$2"
	umoci config --image "$1:$2" --config.cmd /bin/sh \
		--config.env FOO=bar --config.workingdir /work \
		--config.user 1000:1000 --config.label org.test=yes \
		--config.exposedports 80/tcp --config.volume /data \
		--config.stopsignal SIGTERM
}

# add_layer LAYOUT TAG DIR: a layer with DIR's contents (umoci diff).
add_layer() {
	local b=$T/bundle.$$
	rm -rf "$b"
	umoci unpack --image "$1:$2" "$b" >/dev/null
	cp -a "$3"/. "$b/rootfs/"
	umoci repack --image "$1:$2" "$b" >/dev/null
	rm -rf "$b"
}

# mutate LAYOUT TAG SCRIPT: runs SCRIPT in the unpacked rootfs, repacks
# (deletions become whiteouts).
mutate() {
	local b=$T/bundle.$$
	rm -rf "$b"
	umoci unpack --image "$1:$2" "$b" >/dev/null
	(cd "$b/rootfs" && eval "$3")
	umoci repack --image "$1:$2" "$b" >/dev/null
	rm -rf "$b"
}

# push LAYOUT TAG REPO:TAG [skopeo options]
push() {
	local l=$1 t=$2 d=$3
	shift 3
	skopeo copy -q --dest-tls-verify=false "$@" "oci:$l:$t" "docker://$REG/$d" >/dev/null
}

# make_index LAYOUT NEWTAG TAG:OS/ARCH[/VARIANT]...: an image index over
# existing tags of LAYOUT, named NEWTAG.
make_index() {
	python3 - "$@" <<'EOP'
import hashlib, json, os, sys
layout, newtag, entries = sys.argv[1], sys.argv[2], sys.argv[3:]
idx = json.load(open(os.path.join(layout, "index.json")))
by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m
          for m in idx["manifests"] if "annotations" in m}
mans = []
for e in entries:
    tag, plat = e.split(":")
    p = plat.split("/")
    d = dict(by_tag[tag])
    d.pop("annotations", None)
    d["platform"] = {"os": p[0], "architecture": p[1]}
    if len(p) > 2:
        d["platform"]["variant"] = p[2]
    mans.append(d)
body = json.dumps({"schemaVersion": 2,
                   "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": mans}).encode()
h = hashlib.sha256(body).hexdigest()
open(os.path.join(layout, "blobs/sha256", h), "wb").write(body)
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
    "digest": "sha256:" + h, "size": len(body),
    "annotations": {"org.opencontainers.image.ref.name": newtag}})
json.dump(idx, open(os.path.join(layout, "index.json"), "w"))
EOP
}

# field_of REF KEY: a top-level field of REF's inspect record.
field_of() {
	"$SM" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][sys.argv[1]])' "$2"
}

# registry_digest REPO:TAG: the manifest digest the registry serves.
registry_digest() {
	skopeo inspect --tls-verify=false "docker://$REG/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])'
}

# stored_manifest_ok DIGEST: the store holds the image DIGEST and its
# manifest.json hashes to DIGEST.
stored_manifest_ok() {
	[ "sha256:$(sha256sum <"$SUPERMACHINE_ROOT/images/${1#sha256:}/manifest.json" | cut -d' ' -f1)" = "$1" ]
}

# rootfs_of REF: the unpacked rootfs directory of REF in the store.
rootfs_of() {
	"$SM" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"])'
}
