#!/usr/bin/env python3
"""Edits OCI image layouts for the tests (what umoci cannot do).

  layout.py add-layer LAYOUT TAG TAR {gzip|zstd|none}
      appends TAR (an uncompressed tar file) as a layer of image TAG
  layout.py evil-tar OUT KIND
      writes a hostile layer tar (see KINDS)
  layout.py kept-tar OUT
      writes a layer tar of what unpacking keeps besides plain files: a
      FIFO "fifo" (mode 0640), a file "f" with xattrs user.test=hello and
      trusted.test=root, both with mtime 1234567890
  layout.py id-twin LAYOUT TAG NEWTAG N
      image NEWTAG: TAG with a label added to its config, chosen so that
      the config digest (the image ID) starts with the same N hex digits
      as TAG's (for an ambiguous ID prefix)
"""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

MT = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
      "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
      "none": "application/vnd.oci.image.layer.v1.tar"}


def put_blob(layout, data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs/sha256", h), "wb") as f:
        f.write(data)
    return "sha256:" + h


def get_blob(layout, digest):
    with open(os.path.join(layout, "blobs/sha256", digest[7:]), "rb") as f:
        return f.read()


def tagged(layout, tag):
    """index.json's path, the index, TAG's entry in it and its manifest."""
    idx_path = os.path.join(layout, "index.json")
    idx = json.load(open(idx_path))
    ent = next(m for m in idx["manifests"]
               if m.get("annotations", {}).get(
                   "org.opencontainers.image.ref.name") == tag)
    return idx_path, idx, ent, json.loads(get_blob(layout, ent["digest"]))


def add_layer(layout, tag, tar, comp):
    raw = open(tar, "rb").read()
    if comp == "gzip":
        data = gzip.compress(raw)
    elif comp == "zstd":
        data = subprocess.run(["zstd", "-q", "-c"], input=raw,
                              stdout=subprocess.PIPE, check=True).stdout
    else:
        data = raw
    idx_path, idx, ent, man = tagged(layout, tag)
    cfg = json.loads(get_blob(layout, man["config"]["digest"]))
    cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    cfg["rootfs"]["diff_ids"].append(
        "sha256:" + hashlib.sha256(raw).hexdigest())
    cb = json.dumps(cfg).encode()
    man["config"]["digest"] = put_blob(layout, cb)
    man["config"]["size"] = len(cb)
    man["layers"].append({"mediaType": MT[comp], "size": len(data),
                          "digest": put_blob(layout, data)})
    mb = json.dumps(man).encode()
    ent["digest"] = put_blob(layout, mb)
    ent["size"] = len(mb)
    json.dump(idx, open(idx_path, "w"))


def kept_tar(out):
    t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
    ti = tarfile.TarInfo("fifo")
    ti.type, ti.mode, ti.mtime = tarfile.FIFOTYPE, 0o640, 1234567890
    t.addfile(ti)
    ti = tarfile.TarInfo("f")
    ti.size, ti.mode, ti.mtime = 6, 0o644, 1234567890
    # libarchive reads xattrs from these pax records (as GNU tar writes)
    ti.pax_headers = {"SCHILY.xattr.user.test": "hello",
                      "SCHILY.xattr.trusted.test": "root"}
    t.addfile(ti, io.BytesIO(b"xattr\n"))
    t.close()


def id_twin(layout, tag, newtag, n):
    idx_path, idx, ent, man = tagged(layout, tag)
    want = man["config"]["digest"][7:7 + n]
    cfg = json.loads(get_blob(layout, man["config"]["digest"]))
    labels = cfg.setdefault("config", {}).setdefault("Labels", {})
    for i in range(1 << 30):  # about 16**n tries
        labels["org.test.twin"] = str(i)
        cb = json.dumps(cfg).encode()
        if hashlib.sha256(cb).hexdigest()[:n] == want:
            break
    man["config"]["digest"] = put_blob(layout, cb)
    man["config"]["size"] = len(cb)
    mb = json.dumps(man).encode()
    new = dict(ent, digest=put_blob(layout, mb), size=len(mb),
               annotations={"org.opencontainers.image.ref.name": newtag})
    idx["manifests"].append(new)
    json.dump(idx, open(idx_path, "w"))


def evil_tar(out, kind):
    t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)

    def add(name, typ=tarfile.REGTYPE, data=b"", **kw):
        ti = tarfile.TarInfo(name)
        ti.type = typ
        ti.size = len(data) if typ == tarfile.REGTYPE else 0
        ti.mode = kw.pop("mode", 0o644)
        for k, v in kw.items():
            setattr(ti, k, v)
        t.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)

    target = os.environ["EVIL_TARGET"]  # absolute host path to aim at
    if kind == "dotdot":
        add("../../../../../../.." + target, data=b"pwned\n")
    elif kind == "absolute":
        add(target, data=b"pwned\n")
    elif kind == "symlink-parent":
        add("esc", tarfile.SYMTYPE, linkname=os.path.dirname(target))
        add("esc/" + os.path.basename(target), data=b"pwned\n")
    elif kind == "symlink-relative":
        add("esc", tarfile.SYMTYPE, linkname="../../../../../../../.." +
            os.path.dirname(target))
        add("esc/" + os.path.basename(target), data=b"pwned\n")
    elif kind == "hardlink":
        add("h", tarfile.LNKTYPE, linkname="../../../../../../.." + target)
    elif kind == "hardlink-via-symlink":
        add("esc", tarfile.SYMTYPE, linkname=os.path.dirname(target))
        add("h", tarfile.LNKTYPE, linkname="esc/" + os.path.basename(target))
    elif kind == "dir-to-symlink":
        # layer 2 of an image whose layer 1 has a directory "d": replace
        # it with a symlink out, then write through it
        add("d", tarfile.SYMTYPE, linkname=os.path.dirname(target))
        add("d/" + os.path.basename(target), data=b"pwned\n")
    elif kind == "device":
        add("dev/evil", tarfile.CHRTYPE, devmajor=1, devminor=1)
    elif kind == "huge":
        ti = tarfile.TarInfo("big")
        ti.size = 1 << 40  # 1 TiB header, few bytes of data
        t.fileobj.write(ti.tobuf(tarfile.PAX_FORMAT))
        t.fileobj.write(b"\0" * 1024)
        t.offset += 512 + 1024
    t.close()


if __name__ == "__main__":
    if sys.argv[1] == "add-layer":
        add_layer(*sys.argv[2:6])
    elif sys.argv[1] == "kept-tar":
        kept_tar(sys.argv[2])
    elif sys.argv[1] == "id-twin":
        id_twin(*sys.argv[2:5], int(sys.argv[5]))
    elif sys.argv[1] == "evil-tar":
        evil_tar(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
