"""The state folder on disk: who owns it, whether its files are still there, and the one-line
errors a developer sees when a state file is read-only, damaged, deleted or in use.

Every store that writes to the state folder (D1 databases, the queue store) goes through here:

- `StateLock`: an exclusive OS lock on a lock file. `pyflare dev` holds one on its state folder
  and the queue store holds one on itself, so a second process fails at once with one line naming
  the folder and the owner's pid. The OS releases the lock when the process ends, also on SIGKILL.
- `FileGuard`: remembers which file a connection opened, so a write can first check that the file
  is still there. An SQLite connection keeps writing to a deleted file without a word, and
  everything written after the deletion would be gone at the next start.
- `open_error`: turns what SQLite or the OS says about a file into a `StateError` naming it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["FileGuard", "StateError", "StateLock", "open_error", "write_new_file"]

log = logging.getLogger("miniflare_py")


class StateError(Exception):
    """A state file cannot be used: read-only, damaged, deleted while running, or in use by
    another process. `str(error)` is one line naming the file and what to do."""


# -- the lock ----------------------------------------------------------------------------------

try:  # POSIX
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


# Locks this process holds, by lock file: taking one again in the same process shares it (a
# runtime replaced on a config reload, or a test that reopens a store as a restart would).
_held: dict[Path, list[Any]] = {}
_held_guard = threading.Lock()


class StateLock:
    """An exclusive lock on the file `path`, shared within this process, exclusive between
    processes. `acquire()` raises `StateError` naming `what` and the owner's pid when another
    process holds it."""

    def __init__(self, path: Path, what: str, hint: str = "") -> None:
        self.path = Path(path)
        self.what = what
        self.hint = hint
        self._held = False

    def acquire(self) -> StateLock:
        key = self.path.resolve()
        with _held_guard:
            entry = _held.get(key)
            if entry is not None:
                entry[1] += 1
                self._key, self._held = key, True
                return self
            fd = self._open()
            try:
                if not _try_lock(fd):
                    owner = _read_pid(fd)
                    who = f"pid {owner}" if owner else "another process"
                    hint = f": {self.hint}" if self.hint else ""
                    raise StateError(f"{self.what} is in use by {who}{hint}")
                # Who holds it, for the message a second process prints.
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except BaseException:
                os.close(fd)
                raise
            _held[key] = [fd, 1]
            self._key, self._held = key, True
        return self

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateError(
                f"Cannot create the lock file {self.path}: {exc.strerror or exc} "
                "(is the state folder writable?)"
            ) from None

    def release(self) -> None:
        """Let go of the lock (the file stays: removing it would race with a new owner)."""
        if not self._held:
            return
        self._held = False
        with _held_guard:
            entry = _held.get(self._key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[self._key]
            fd = entry[0]
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                _unlock(fd)
            os.close(fd)

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


# -- deleted files -----------------------------------------------------------------------------


class FileGuard:
    """Checks that the file an SQLite connection opened is still the one at `path`.

    `check()` costs one `stat()`; call it before a write. Once the file is gone (its folder
    deleted, or the file replaced), every `check()` raises `StateError` and the first one also
    logs it as an error, so the developer sees it even when the caller swallows the error.
    """

    __slots__ = ("_id", "_logged", "path", "what")

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        st = os.stat(path)
        self._id = (st.st_dev, st.st_ino)
        self._logged = False

    def check(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._gone("was deleted")
        except OSError as exc:
            raise StateError(f"{self.what} {self.path} cannot be reached: {exc.strerror}") from None
        else:
            if (st.st_dev, st.st_ino) != self._id:
                self._gone("was replaced by another file")

    def _gone(self, how: str) -> None:
        message = (
            f"{self.what} {self.path} {how} while pyflare was using it: writes to it would be "
            "lost, so they fail; restart pyflare to start again from what is on disk"
        )
        if not self._logged:
            self._logged = True
            log.error("%s", message)
        raise StateError(message)


# -- errors opening a file ---------------------------------------------------------------------


def open_error(what: str, path: Path | None, exc: BaseException) -> StateError:
    """A one-line `StateError` for `exc`, raised while opening or reading the file `path`
    (None: a database in memory)."""
    reason = _reason(exc)
    name = type(exc).__name__
    if name in ("NotADBError", "CorruptError"):
        advice = "the file is damaged or is not an SQLite database; move it away to start afresh"
    elif name in ("ReadOnlyError", "PermissionError") or "readonly" in reason.lower():
        advice = "check the permissions of the file and its folder"
    elif name in ("CantOpenError",):
        advice = "check that the folder exists and is writable"
    elif name in ("FullError",) or getattr(exc, "errno", None) == errno.ENOSPC:
        advice = "free some disk space"
    else:
        advice = ""
    where = path if path is not None else "(in memory)"
    return StateError(f"{what} {where}: {reason}" + (f" ({advice})" if advice else ""))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = exc.args[0] if exc.args else str(exc)
    return str(text).splitlines()[0] if str(text) else type(exc).__name__


def write_new_file(path: str | Path, data: bytes) -> None:
    """Create `path`, which must not exist yet (FileExistsError), holding `data`: written until
    every byte is out (one `os.write` may take fewer)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
