"""A worker's errors as its developer wants to read them: their own frames, each error once.

- `format_user_exception(exc)`: the traceback without pyflare's dispatch frames (and importlib's),
  so it starts at the worker's code. Frames below the worker's last one stay when the error is
  not one of pyflare's own (an unexpected error inside pyflare is worth seeing whole); for
  pyflare's documented errors (`D1Error`, queue errors) they go, as on Cloudflare, where the
  binding's internals are never shown.
- `log_exception(...)`: log an error with its traceback the first time it is seen from one
  runtime at one place, and as one line after that, so a consumer that keeps failing on every
  retry does not bury the console.

The engine (runtime, worker, server) calls these; the module imports nothing of pyflare's.
"""

from __future__ import annotations

import logging
import os
import traceback
import weakref
from collections import OrderedDict
from pathlib import Path
from traceback import FrameSummary, StackSummary, TracebackException
from typing import Any

__all__ = ["ErrorDigest", "errors_of", "format_user_exception", "has_user_frames", "log_exception"]

_PACKAGE = str(Path(__file__).resolve().parent) + os.sep


def _internal(frame: FrameSummary) -> bool:
    return frame.filename.startswith((_PACKAGE, "<frozen "))


def _own_error(exc: BaseException) -> bool:
    """One of pyflare's documented errors (what the edge would raise), not a bug of pyflare's."""
    return type(exc).__module__.startswith("miniflare_py.")


def _trim(stack: StackSummary, exc: BaseException) -> StackSummary:
    frames = list(stack)
    users = [i for i, frame in enumerate(frames) if not _internal(frame)]
    if not users:
        # Nothing of the user's: a syntax error carries its own file and line, and pyflare's own
        # errors speak for themselves; anything else is probably pyflare's bug, so keep it all.
        keep = [] if isinstance(exc, SyntaxError) or _own_error(exc) else frames
        return StackSummary.from_list(keep)
    last = users[-1]
    head = [frame for frame in frames[: last + 1] if not _internal(frame)]
    tail = frames[last + 1 :]
    if _own_error(exc):
        tail = [frame for frame in tail if not _internal(frame)]
    return StackSummary.from_list(head + tail)


def _walk(te: TracebackException | None, exc: BaseException | None, seen: set[int]) -> None:
    if te is None or exc is None or id(te) in seen:
        return
    seen.add(id(te))
    te.stack = _trim(te.stack, exc)
    _walk(te.__cause__, exc.__cause__, seen)
    _walk(te.__context__, exc.__context__, seen)
    for inner_te, inner in zip(te.exceptions or (), getattr(exc, "exceptions", ()), strict=False):
        _walk(inner_te, inner, seen)


def format_user_exception(exc: BaseException) -> str:
    """`exc`'s traceback (with its causes) as Python prints it, without pyflare's frames."""
    te = TracebackException.from_exception(exc)
    _walk(te, exc, set())
    return "".join(te.format()).rstrip()


def has_user_frames(exc: BaseException) -> bool:
    """Whether any frame of `exc`'s traceback is outside pyflare (the worker's code)."""
    return any(not _internal(frame) for frame in traceback.extract_tb(exc.__traceback__))


def _one_line(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]


class ErrorDigest:
    """Counts distinct errors: the same place, type, message and frames make the same error.

    Editing the code moves its frames, so a changed error counts as new. The oldest entries are
    forgotten beyond `capacity`, so a long session keeps a bounded record.
    """

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._counts: OrderedDict[tuple[Any, ...], int] = OrderedDict()

    @staticmethod
    def key(where: str, exc: BaseException) -> tuple[Any, ...]:
        # Only the worker's frames: an exception object raised again (a stored import error)
        # gains pyflare frames each time, and must still count as the same error.
        frames = tuple(
            (f.filename, f.lineno)
            for f in traceback.extract_tb(exc.__traceback__)
            if not _internal(f)
        )
        return (where, type(exc).__qualname__, str(exc), frames)

    def count(self, where: str, exc: BaseException) -> int:
        """Record one more occurrence of `exc` at `where`; 1 means it is new."""
        key = self.key(where, exc)
        seen = self._counts.pop(key, 0) + 1
        self._counts[key] = seen
        while len(self._counts) > self.capacity:
            self._counts.popitem(last=False)
        return seen


_digests: weakref.WeakKeyDictionary[Any, ErrorDigest] = weakref.WeakKeyDictionary()


def errors_of(owner: Any) -> ErrorDigest:
    """The digest of errors seen by `owner` (a runtime): each runtime starts with a clean one."""
    digest = _digests.get(owner)
    if digest is None:
        digest = _digests[owner] = ErrorDigest()
    return digest


def log_exception(
    logger: logging.Logger,
    owner: Any,
    where: str,
    message: str,
    *args: Any,
    exc: BaseException,
    level: int = logging.ERROR,
) -> None:
    """Log `message % args` and the error in one line, with `exc`'s traceback the first time
    `owner` sees this error at `where`; after that, the line alone, saying how often it
    happened."""
    seen = errors_of(owner).count(where, exc)
    if seen == 1:
        logger.log(level, f"{message}: %s", *args, _one_line(exc), exc_info=exc)
        return
    logger.log(
        level,
        f"{message}: %s (again: seen {seen} times, the traceback is shown the first time)",
        *args,
        _one_line(exc),
    )
