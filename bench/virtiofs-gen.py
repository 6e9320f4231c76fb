#!/usr/bin/env python3
"""Generates the virtio-fs benchmark tree (run on the host, not emulated).

virtiofs-gen.py DIR BIG_MIB TREE_FILES SMALL_FILES

  DIR/big          BIG_MIB MiB of random data
  DIR/tree/dNNN/fNNN  TREE_FILES files of 64 B .. 8 KiB, 200 per directory
  DIR/small.list   SMALL_FILES of them (relative to DIR/tree), spread over
                   the whole tree, for the small-file read workload
"""
import os, random, sys

PER_DIR = 200


def main():
    top, big_mib, nfiles, nsmall = sys.argv[1], *map(int, sys.argv[2:5])
    rnd = random.Random(4)
    with open(os.path.join(top, "big"), "wb") as f:
        for _ in range(big_mib):
            f.write(os.urandom(1 << 20))
    names = []
    for i in range(nfiles):
        d = os.path.join(top, "tree", "d%03d" % (i // PER_DIR))
        if i % PER_DIR == 0:
            os.makedirs(d)
        name = "d%03d/f%03d" % (i // PER_DIR, i % PER_DIR)
        with open(os.path.join(top, "tree", name), "wb") as f:
            f.write(rnd.randbytes(rnd.randint(64, 8192)))
        names.append(name)
    step = nfiles / nsmall if nsmall else 1
    with open(os.path.join(top, "small.list"), "w") as f:
        for k in range(nsmall):
            f.write(names[int(k * step)] + "\n")


if __name__ == "__main__":
    main()
