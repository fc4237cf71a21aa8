"""Guards for the HTTP server of `pyflare dev` where uvicorn has no setting of its own.

- A request's headers must arrive within `HEADER_TIMEOUT` seconds (from the connection, or from
  the end of the previous response); a body that stops arriving for `BODY_IDLE_TIMEOUT` seconds
  ends the connection. uvicorn only times out idle keep-alive connections, so a client that sends
  half a request, or dribbles it, used to hold its connection for good.
- Connections never use up the file descriptors: near the limit (which `raise_open_files_limit`
  first lifts as far as the system allows), a new connection closes the one that has waited
  longest for its request headers. Clients that talk are answered; slow ones make room.
- The lines asyncio and uvicorn log per connection or per `accept()` (out of file descriptors,
  invalid requests, the concurrency limit) are written once a minute at most, with a count.

The checks run on a one-second sweep over the open connections, so a request costs no timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

__all__ = [
    "BODY_IDLE_TIMEOUT",
    "HEADER_TIMEOUT",
    "RepeatFilter",
    "connection_limit",
    "guarded_protocol",
    "quiet_accept_errors",
    "raise_open_files_limit",
    "sweep_connections",
]

log = logging.getLogger("miniflare_py.dev")


def _seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


#: Seconds a client has to send a request's headers (`PYFLARE_HEADER_TIMEOUT`).
HEADER_TIMEOUT = _seconds("PYFLARE_HEADER_TIMEOUT", 10.0)
#: Seconds a request body may pause before the connection is closed.
BODY_IDLE_TIMEOUT = _seconds("PYFLARE_BODY_IDLE_TIMEOUT", 30.0)
#: File descriptors kept free for everything but connections (databases, logs, the watcher).
RESERVED_FDS = 64
#: Connections asyncio accepts per wake-up (its `backlog` argument). The kernel's queue stays
#: long (the socket's own listen backlog); this only keeps a burst of connections from taking
#: more file descriptors than the guard can free before it sees them.
ACCEPT_BATCH = 32
#: The open-files limit `raise_open_files_limit` asks for when the system allows it.
WANTED_FDS = 65536


def raise_open_files_limit() -> int:
    """Lift the soft limit on open files towards the hard one; returns the limit now in force."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 512
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_FDS if hard == resource.RLIM_INFINITY else min(hard, WANTED_FDS)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return WANTED_FDS if soft == resource.RLIM_INFINITY else int(soft)


def connection_limit(open_files: int) -> int:
    """How many connections may be open at once with `open_files` file descriptors: what is
    left after the reserve and the few accept batches a burst can take before the guard runs."""
    return max(16, open_files - RESERVED_FDS - 4 * ACCEPT_BATCH)


def guarded_protocol(base: type[Any], limit: int) -> type[Any]:
    """A subclass of uvicorn's HTTP protocol `base` that notes when each connection last made
    progress, and closes the longest-waiting one when `limit` connections are open."""

    class GuardedProtocol(base):  # type: ignore[misc]  # `base` is chosen at run time
        # When it started waiting for a request's headers, and when data last came in.
        _waiting_since = 0.0
        _last_data = 0.0

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._waiting_since = self._last_data = time.monotonic()
            if len(self.connections) > limit:
                _shed(self.connections, self)

        def data_received(self, data: bytes) -> None:
            self._last_data = time.monotonic()
            super().data_received(data)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._waiting_since = time.monotonic()

    GuardedProtocol.__name__ = f"Guarded{base.__name__}"
    return GuardedProtocol


def _waiting_for_headers(protocol: Any) -> bool:
    cycle = protocol.cycle
    return cycle is None or cycle.response_complete


def _close(protocol: Any) -> None:
    transport = protocol.transport
    if transport is not None and not transport.is_closing():
        transport.close()


def _shed(connections: set[Any], newcomer: Any) -> None:
    """Close the connection that has waited longest for its request headers."""
    waiting = [
        c
        for c in connections
        if c is not newcomer
        and hasattr(c, "_waiting_since")  # an HTTP connection (not an upgraded WebSocket)
        and _waiting_for_headers(c)
        and not c.transport.is_closing()
    ]
    if waiting:
        _close(min(waiting, key=lambda c: c._waiting_since))


def sweep(connections: set[Any], now: float) -> int:
    """Close the connections that are too slow; returns how many it closed."""
    closed = 0
    header_deadline = now - HEADER_TIMEOUT
    body_deadline = now - BODY_IDLE_TIMEOUT
    for protocol in list(connections):
        if not hasattr(protocol, "_waiting_since"):
            continue
        cycle = protocol.cycle
        if cycle is None or cycle.response_complete:
            if protocol._waiting_since < header_deadline:
                _close(protocol)
                closed += 1
        elif cycle.more_body and protocol._last_data < body_deadline:
            _close(protocol)
            closed += 1
    return closed


async def sweep_connections(connections: set[Any], every: float = 1.0) -> None:
    """Run `sweep` over uvicorn's set of open connections every `every` seconds."""
    every = min(every, HEADER_TIMEOUT / 2)
    while True:
        await asyncio.sleep(every)
        sweep(connections, time.monotonic())


class RepeatFilter(logging.Filter):
    """Lets a message through at most once per `window` seconds; the next one that passes says
    how many were held back. Keeps per-connection lines from flooding the log."""

    def __init__(self, window: float = 60.0) -> None:
        super().__init__()
        self.window = window
        self._seen: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)
        now = time.monotonic()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self.window:
            self._seen[key] = (last[0], last[1] + 1)
            return False
        held = last[1] if last is not None else 0
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last minute)"
        return True


_ACCEPT_ERROR = "socket.accept() out of system resource"


def quiet_accept_errors(loop: asyncio.AbstractEventLoop, window: float = 60.0) -> None:
    """Log running out of file descriptors in `accept()` as one line a minute, not one
    traceback per attempt (asyncio reports every failed accept, thousands a second)."""
    previous = loop.get_exception_handler()
    last = [-window]
    held = [0]

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != _ACCEPT_ERROR:
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - last[0] < window:
            held[0] += 1
            return
        more = f" ({held[0]} more in the last minute)" if held[0] else ""
        last[0], held[0] = now, 0
        exc = context.get("exception")
        reason = getattr(exc, "strerror", None) or exc
        log.error(
            "Cannot accept new connections: %s%s. Raise the limit with `ulimit -n`.", reason, more
        )

    loop.set_exception_handler(handler)
