#!/usr/bin/env python3
"""Runs a command with stdin/stdout/stderr on a new pseudo-terminal (as a
person's terminal would be) and writes everything it printed, raw, to OUT.
Exits with the command's status.

usage: ptyrun.py OUT CMD [ARGS...]
"""
import fcntl, os, pty, struct, subprocess, sys, termios

out, argv = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                     start_new_session=True)
os.close(slave)
data = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: every holder of the slave side has closed it
        break
    if not chunk:
        break
    data += chunk
open(out, "wb").write(data)
sys.exit(p.wait())
