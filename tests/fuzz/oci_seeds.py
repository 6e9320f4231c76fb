#!/usr/bin/env python3
"""Seeds for the OCI fuzz targets (tests/fuzz/make-corpus.sh runs it).

  oci_seeds.py OUT_DIR

Writes OUT_DIR/TARGET/NAME: manifests, indexes and configs in the shapes
registries serve (Docker Hub, OCI layouts), references, WWW-Authenticate
headers and token answers, layer tars (tests/oci/layout.py's hostile
ones and plain small layers, plain/gzip), and small docker-archive and
OCI archives built like the ones tests/host/oci-load.sh imports.
"""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

OUT = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def put(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer_tar():
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    for name, typ, data in [("bin", tarfile.DIRTYPE, b""),
                            ("bin/hello", tarfile.REGTYPE, b"#!/bin/sh\necho hi\n"),
                            ("etc", tarfile.DIRTYPE, b""),
                            ("etc/.wh.old", tarfile.REGTYPE, b""),
                            ("etc/link", tarfile.SYMTYPE, b"")]:
        ti = tarfile.TarInfo(name)
        ti.type = typ
        ti.size = len(data)
        ti.mode = 0o755 if typ == tarfile.DIRTYPE or name == "bin/hello" else 0o644
        ti.mtime = 1234567890
        if typ == tarfile.SYMTYPE:
            ti.linkname = "../bin/hello"
        t.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
    t.close()
    return buf.getvalue()


def config_json():
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "created": "2024-01-27T00:00:00.123456789Z",
        "config": {"Entrypoint": ["/bin/hello"], "Cmd": ["-v", "x"],
                   "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "A=b=c"],
                   "WorkingDir": "/srv", "User": "1000:1000",
                   "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
                   "Volumes": {"/data": {}}, "StopSignal": "SIGTERM",
                   "Labels": {"org.opencontainers.image.title": "fuzz"}},
        "rootfs": {"type": "layers", "diff_ids": [digest(layer_tar())]},
        "history": [{"created_by": "make-corpus"}]}, indent=2).encode()


def manifest(mt, cfg, layer_gz):
    cmt = ("application/vnd.docker.container.image.v1+json"
           if mt == MT_DOCKER_MANIFEST else "application/vnd.oci.image.config.v1+json")
    lmt = ("application/vnd.docker.image.rootfs.diff.tar.gzip"
           if mt == MT_DOCKER_MANIFEST else MT_LAYER_GZ)
    return json.dumps({
        "schemaVersion": 2, "mediaType": mt,
        "config": {"mediaType": cmt, "digest": digest(cfg), "size": len(cfg)},
        "layers": [{"mediaType": lmt, "digest": digest(layer_gz),
                    "size": len(layer_gz)}],
        "annotations": {"org.opencontainers.image.created": "2024-01-27"}},
        indent=3).encode()


def index(mt, man):
    plats = [("amd64", None), ("arm64", "v8"), ("arm", "v7"), ("s390x", None)]
    return json.dumps({
        "schemaVersion": 2, "mediaType": mt,
        "manifests": [{"mediaType": MT_OCI_MANIFEST, "digest": digest(man),
                       "size": len(man),
                       "platform": dict({"os": "linux", "architecture": a},
                                        **({"variant": v} if v else {})),
                       "annotations": {"org.opencontainers.image.ref.name": "1.0"}}
                      for a, v in plats]}).encode()


def tar_of(members):
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT)
    for name, data in members:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        ti.mtime = 1234567890
        t.addfile(ti, io.BytesIO(data))
    t.close()
    return buf.getvalue()


def main():
    lt = layer_tar()
    lgz = gzip.compress(lt, mtime=0)
    cfg = config_json()
    man = manifest(MT_OCI_MANIFEST, cfg, lgz)
    dman = manifest(MT_DOCKER_MANIFEST, cfg, lgz)
    # byte 0 picks the Content-Type (fuzz_oci_manifest.c's list)
    put("oci_manifest", "oci-manifest", b"\1" + man)
    put("oci_manifest", "oci-index", b"\2" + index(MT_OCI_INDEX, man))
    put("oci_manifest", "docker-manifest", b"\3" + dman)
    put("oci_manifest", "docker-list", b"\4" + index(MT_DOCKER_LIST, man))
    put("oci_manifest", "no-type-index", b"\0" + index(MT_OCI_INDEX, man)
        + b"linux/arm64/v8")
    put("oci_config", "config", cfg)
    put("oci_config", "minimal", b'{"architecture":"arm64","os":"linux","config":{}}')
    for i, r in enumerate(["alpine", "docker.io/library/alpine:3.19",
                           "ghcr.io/owner/img@" + digest(b"x"),
                           "localhost:5000/a/b/c:v1.2-rc_3",
                           "[::1]:5000/x:latest", digest(b"y")]):
        put("oci_ref", "ref%d" % i, r)
    put("oci_auth", "bearer", b'\0Bearer realm="https://auth.docker.io/token",'
        b'service="registry.docker.io",scope="repository:library/alpine:pull"')
    put("oci_auth", "basic", b'\0Basic realm="Registry \\"Realm\\""')
    put("oci_auth", "token", b'\1{"token":"abc.def","access_token":"abc.def",'
        b'"expires_in":300,"issued_at":"2024-01-27T00:00:00Z"}')
    put("oci_auth", "access-token", b'\1{"access_token":"t","expires_in":-5}')
    # layers: a small plain one, the same gzip'ed, and the hostile tars
    # the unpack tests use (aimed at a path nothing else uses)
    put("oci_unpack", "plain.tar", lt)
    put("oci_unpack", "plain.tar.gz", lgz)
    env = dict(os.environ, EVIL_TARGET="/tmp/fuzz-evil-target/victim")
    for kind in ["dotdot", "absolute", "symlink-parent", "symlink-relative",
                 "hardlink", "hardlink-via-symlink", "device", "huge"]:
        p = os.path.join(OUT, "oci_unpack", "evil-" + kind)
        subprocess.check_call([sys.executable, os.path.join(
            HERE, "..", "oci", "layout.py"), "evil-tar", p, kind], env=env)
    kept = os.path.join(OUT, "oci_unpack", "kept")
    subprocess.check_call([sys.executable, os.path.join(
        HERE, "..", "oci", "layout.py"), "kept-tar", kept])
    # archives: docker save's layout and an OCI layout, one image each
    dcfg_name = digest(cfg)[7:] + ".json"
    put("oci_load", "docker-archive.tar", tar_of([
        ("manifest.json", json.dumps([{"Config": dcfg_name,
                                       "RepoTags": ["fuzz/img:1"],
                                       "Layers": ["l1/layer.tar"]}]).encode()),
        (dcfg_name, cfg), ("l1/layer.tar", lt)]))
    idx = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": MT_OCI_MANIFEST, "digest": digest(man), "size": len(man),
         "annotations": {"org.opencontainers.image.ref.name": "fuzz/oci:2"}}]}).encode()
    put("oci_load", "oci-archive.tar", tar_of([
        ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", idx),
        ("blobs/sha256/" + digest(man)[7:], man),
        ("blobs/sha256/" + digest(cfg)[7:], cfg),
        ("blobs/sha256/" + digest(lgz)[7:], lgz)]))


main()
