"""Run a command while holding an exclusive lock on a file: a portable `flock LOCKFILE CMD...`.

`make dev` and `make test` started together in a fresh clone would otherwise both create
`.venv` and both run pip into it. The Makefile runs its venv step through this, and the step
checks again under the lock whether the work is still to do.

Usage: python tools/with_lock.py LOCKFILE COMMAND [ARG...]
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        sys.stderr.write("usage: with_lock.py LOCKFILE COMMAND [ARG...]\n")
        return 2
    lock_path, command = argv[1], argv[2:]
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when the process ends, even on a crash
        return subprocess.call(command)
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
