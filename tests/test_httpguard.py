"""The HTTP guards of `pyflare dev` (timeouts, connection shedding, quiet logs) and the state
folder lock, without a server."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from helpers import start_holder

from miniflare_py import httpguard
from miniflare_py.dev import state_folder_lock
from miniflare_py.state import StateError, StateLock


class Transport:
    def __init__(self) -> None:
        self.closed = False

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


class Cycle:
    def __init__(self, response_complete: bool = False, more_body: bool = False) -> None:
        self.response_complete = response_complete
        self.more_body = more_body


class Connection:
    """What the guard reads of a uvicorn protocol."""

    def __init__(
        self, waiting_since: float, cycle: Cycle | None = None, last_data: float | None = None
    ) -> None:
        self._waiting_since = waiting_since
        self._last_data = waiting_since if last_data is None else last_data
        self.cycle = cycle
        self.transport = Transport()


def test_sweep_closes_connections_that_do_not_finish_their_headers_in_time() -> None:
    now = 100_000.0
    timeout = httpguard.HEADER_TIMEOUT
    silent = Connection(now - timeout - 1)  # connected, never sent a full request
    dribbling = Connection(now - timeout - 1, last_data=now - 0.1)  # a byte now and then
    fresh = Connection(now - 1)
    idle_after_response = Connection(now - timeout - 1, Cycle(response_complete=True))
    working = Connection(now - 1000, Cycle())  # the worker is still answering
    stalled_body = Connection(now - 5, Cycle(more_body=True), last_data=now - 1000)
    slow_body = Connection(now - 1000, Cycle(more_body=True), last_data=now - 1)
    connections = {silent, dribbling, fresh, idle_after_response, working, stalled_body, slow_body}
    assert httpguard.sweep(connections, now) == 4
    assert [c.transport.closed for c in (silent, dribbling, idle_after_response)] == [True] * 3
    assert stalled_body.transport.closed
    assert not fresh.transport.closed
    assert not working.transport.closed and not slow_body.transport.closed


def test_shedding_closes_the_connection_that_waited_longest_for_its_headers() -> None:
    oldest_busy = Connection(1.0, Cycle())
    old_waiting = Connection(2.0)
    newer_waiting = Connection(3.0)
    newcomer = Connection(4.0)
    httpguard._shed({oldest_busy, old_waiting, newer_waiting, newcomer}, newcomer)
    assert old_waiting.transport.closed
    assert not (oldest_busy.transport.closed or newer_waiting.transport.closed)
    assert not newcomer.transport.closed


def test_the_connection_limit_leaves_room_for_everything_else() -> None:
    assert httpguard.connection_limit(1024) < 1024 - httpguard.RESERVED_FDS
    assert httpguard.connection_limit(1024) >= 800
    assert httpguard.connection_limit(10) == 16


def test_the_open_files_limit_is_raised_towards_the_hard_limit() -> None:
    import resource

    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        hard = before[1]
        if hard != resource.RLIM_INFINITY and hard < 512:
            pytest.skip("hard limit too low to test")
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        limit = httpguard.raise_open_files_limit()
        assert limit > 256
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == limit
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


def test_a_repeated_line_is_written_once_a_minute_with_a_count() -> None:
    flt = httpguard.RepeatFilter(window=60)

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, msg, None, None)

    passed = [flt.filter(record("Invalid HTTP request received.")) for _ in range(1000)]
    assert passed.count(True) == 1
    assert flt.filter(record("Something else"))
    flt._seen["Invalid HTTP request received."] = (0.0, 999)  # a minute later
    later = record("Invalid HTTP request received.")
    assert flt.filter(later)
    assert later.getMessage() == (
        "Invalid HTTP request received. (999 more like this in the last minute)"
    )


def test_running_out_of_file_descriptors_is_logged_once_not_per_accept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.new_event_loop()
    try:
        httpguard.quiet_accept_errors(loop)
        handler = loop.get_exception_handler()
        assert handler is not None
        error = OSError(24, "Too many open files")
        with caplog.at_level(logging.ERROR):
            for _ in range(2048):  # asyncio reports each failed accept of a burst
                handler(
                    loop, {"message": "socket.accept() out of system resource", "exception": error}
                )
        lines = [r.getMessage() for r in caplog.records]
        assert lines == [
            "Cannot accept new connections: Too many open files. Raise the limit with `ulimit -n`."
        ]
    finally:
        loop.close()


# -- the state folder lock -----------------------------------------------------------------------

HOLDER = """
import sys
from pathlib import Path
from miniflare_py.dev import state_folder_lock
with state_folder_lock(Path(sys.argv[1])):
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_a_state_folder_held_by_another_process_is_refused_naming_it_and_its_pid(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "state"
    holder = start_holder(HOLDER, folder)
    try:
        with pytest.raises(StateError) as info:
            state_folder_lock(folder).acquire()
        message = str(info.value)
        assert f"The state folder {folder} is in use by pid {holder.pid}" in message
        assert "--persist-to" in message and "\n" not in message
    finally:
        holder.communicate("\n", timeout=10)
    with state_folder_lock(folder):  # released when its owner ended
        pass


def test_a_lock_killed_with_its_owner_is_free_again(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    holder = start_holder(HOLDER, folder)
    holder.kill()  # SIGKILL: no cleanup at all
    holder.wait(10)
    with state_folder_lock(folder):
        pass


def test_a_lock_is_shared_within_one_process_and_released_by_the_last_holder(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.lock"
    first = StateLock(path, "X").acquire()
    second = StateLock(path, "X").acquire()
    first.release()
    assert path.read_text().strip().isdigit()  # still held by the second
    second.release()
    second.release()  # harmless


def test_a_lock_in_a_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(StateError, match="Cannot create the lock file"):
        StateLock(blocker / "state" / "x.lock", "X").acquire()
