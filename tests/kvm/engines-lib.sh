# Sourced by the tests and the bench that run supermachine-oci under an
# engine (tests/kvm/podman.sh, containerd.sh, docker.sh, oci.sh,
# bench/oci.sh): functions only.

# busybox_rootfs DIR: the host's static busybox and its applets in DIR/bin.
busybox_rootfs() {
	mkdir -p "$1/bin"
	cp /bin/busybox "$1/bin/"
	for a in $(/bin/busybox --list); do
		[ -e "$1/bin/$a" ] || ln -s busybox "$1/bin/$a"
	done
}

# docker_archive ROOTFS OUT TAG: ROOTFS as a one-layer docker archive
# (manifest.json, config, layer) that `docker load` and `ctr images
# import` take.
docker_archive() {
	local w
	w=$(mktemp -d "$(dirname "$2")/archive.XXXXXX") || return 1
	tar -C "$1" -cf "$w/layer.tar" . &&
		jq -n --arg d "sha256:$(sha256sum "$w/layer.tar" | cut -d" " -f1)" \
			'{architecture: "amd64", os: "linux",
			rootfs: {type: "layers", diff_ids: [$d]},
			config: {Cmd: ["sh"], Env: ["PATH=/bin"]}}' >"$w/config.json" &&
		jq -n --arg t "$3" '[{Config: "config.json", RepoTags: [$t], Layers: ["layer.tar"]}]' >"$w/manifest.json" &&
		tar -C "$w" -cf "$2" manifest.json config.json layer.tar
	local rc=$?
	rm -rf "$w"
	return $rc
}

# podman_scratch DIR: podman's configuration for a scratch store in DIR
# (a tmpfs: its locks and conmon's sockets), cgroupfs, file events, and
# supermachine-oci ($SM_BUILD's) as a runtime (the default one with
# "default"); exports CONTAINERS_CONF and sets PODMAN=(podman ...).
podman_scratch() {
	local default=
	[ "${2:-}" = default ] && default='runtime = "supermachine-oci"'
	cat >"$1/containers.conf" <<EOC
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$1/libpod"
$default
[engine.runtimes]
supermachine-oci = ["$SM_BUILD/supermachine-oci"]
[network]
network_config_dir = "$1/net"
EOC
	export CONTAINERS_CONF=$1/containers.conf
	PODMAN=(podman --root "$1/storage" --runroot "$1/run" --storage-driver vfs)
}

# docker_scratch DIR: dockerd on a scratch data root in DIR (a tmpfs),
# supermachine-oci ($SM_BUILD's) as its runtime "supermachine", no
# iptables and no bridge (the emulated host has neither), vfs storage;
# started in the background ($DOCKERD its pid, its log DIR/dockerd.log),
# DOCKER=(docker -H ...). dockerd writes /etc/docker/key.json: run it in
# a mount namespace with a tmpfs there (docker.sh, bench/oci.sh).
docker_scratch() {
	jq -n --arg oci "$SM_BUILD/supermachine-oci" --arg d "$1" '{runtimes: {supermachine: {path: $oci}},
		iptables: false, "ip-forward": false, "ip-masq": false, bridge: "none",
		"storage-driver": "vfs", "data-root": ($d + "/data"),
		"exec-root": ($d + "/exec"), pidfile: ($d + "/docker.pid"),
		hosts: ["unix://" + $d + "/docker.sock"]}' >"$1/daemon.json"
	dockerd --config-file "$1/daemon.json" >"$1/dockerd.log" 2>&1 &
	DOCKERD=$!
	DOCKER=(/usr/bin/docker -H "unix://$1/docker.sock")
}
