"""Shared helpers for the benchmarks: result rows, timing, processes, a cheap HTTP client.

Every figure is a row (see `make_row`):
`{"group", "name", "value", "unit", "baseline_name", "baseline", "ratio", "target", "met"}`,
plus `"lower_is_better": True` for times and sizes, and an optional `"note"`.
Everything here talks to 127.0.0.1 only, and every wait is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "ai-tasks"
PYFLARE = [sys.executable, "-m", "miniflare_py"]
HOST = "127.0.0.1"
READY = re.compile(rb"Ready on http://([0-9.]+):(\d+)")
MIB = 1024 * 1024


# result rows


def _fmt(number: float) -> str:
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:g}"


def make_row(
    group: str,
    name: str,
    value: float,
    unit: str,
    baseline_name: str,
    baseline: float,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    min_ratio: float | None = None,
    max_ratio: float | None = None,
    lower_is_better: bool = False,
    note: str | None = None,
) -> dict[str, Any]:
    """One result row; `target` and `met` come from the bounds given (all must hold).

    `min_value`/`max_value` bound the figure itself (in `unit`), `min_ratio`/`max_ratio` bound
    `value / baseline`. With no bound the row has `target=None, met=None` (shown for information).
    """
    ratio = value / baseline if baseline else float("nan")
    targets: list[str] = []
    met: bool | None = None
    checks: list[bool] = []
    if min_value is not None:
        targets.append(f">= {_fmt(min_value)} {unit}")
        checks.append(value >= min_value)
    if max_value is not None:
        targets.append(f"<= {_fmt(max_value)} {unit}")
        checks.append(value <= max_value)
    if min_ratio is not None:
        targets.append(f"ratio >= {min_ratio:.3g}")
        checks.append(ratio >= min_ratio)
    if max_ratio is not None:
        targets.append(f"ratio <= {max_ratio:.3g}")
        checks.append(ratio <= max_ratio)
    if checks:
        met = all(checks)
    row: dict[str, Any] = {
        "group": group,
        "name": name,
        "value": float(value),
        "unit": unit,
        "baseline_name": baseline_name,
        "baseline": float(baseline),
        "ratio": ratio,
        "target": ", ".join(targets) if targets else None,
        "met": met,
    }
    if lower_is_better:
        row["lower_is_better"] = True
    if note:
        row["note"] = note
    return row


def error_row(group: str, name: str, error: BaseException | str) -> dict[str, Any]:
    """A row for a measurement that could not run: shown as not met, with the reason."""
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    lines = reason.strip().splitlines()
    if len(lines) > 2:  # a subprocess's traceback: its first and last lines say what happened
        reason = f"{lines[0]} ... {lines[-1]}"
    return {
        "group": group,
        "name": name,
        "value": float("nan"),
        "unit": "",
        "baseline_name": "",
        "baseline": float("nan"),
        "ratio": float("nan"),
        "target": None,
        "met": False,
        "note": f"failed: {reason}"[:300],
    }


# timing


class Stopwatch:
    """`with Stopwatch() as sw: ...` then `sw.seconds`."""

    def __init__(self) -> None:
        self.start = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def best_rate(count: int, run: Callable[[], Any], repeat: int = 3) -> float:
    """Run `run()` (doing `count` operations) `repeat` times; the best operations per second."""
    best = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = max(best, count / (time.perf_counter() - started))
    return best


def timed_rate(loop: Callable[[int], int], budget: float) -> float:
    """Units per second of `loop(n)` (which returns the units it did): once with n = 200 to
    warm the caches, then with n growing fourfold until a run takes a quarter of `budget`."""
    loop(200)
    n = 1000
    while True:
        started = time.perf_counter()
        units = loop(n)
        elapsed = time.perf_counter() - started
        if elapsed > budget / 4 or n >= 1_000_000:
            return units / elapsed
        n *= 4


def wal_connection(path: Path, *setup: str) -> Any:
    """A raw apsw connection for a baseline, set up as pyflare's stores open their files (WAL,
    synchronous=NORMAL), then running `setup` (pragmas, schema)."""
    import apsw

    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode=WAL").fetchall()
    conn.execute("PRAGMA synchronous=NORMAL")
    for sql in setup:
        conn.execute(sql)
    return conn


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# machine and processes


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    """Resident set size of process `pid`, in MiB."""
    import psutil

    return psutil.Process(pid).memory_info().rss / MIB


def copy_seed(dest: Path) -> Path:
    """Copy fixtures/ai-tasks (without local state) into `dest`; returns the copy."""
    target = dest / SEED.name
    shutil.copytree(SEED, target, ignore=shutil.ignore_patterns(".wrangler", "__pycache__"))
    return target


def child_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    # the project must be importable from any working directory
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def run_pyflare(args: list[str], cwd: Path, timeout: float = 60.0) -> str:
    """Run a one-shot `pyflare` command; raise with its output if it fails."""
    done = subprocess.run(
        [*PYFLARE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pyflare {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class ServerProcess:
    """A server subprocess that prints `Ready on http://IP:PORT` once it serves.

    `ready_seconds` is the time from just before `Popen` to the moment that line was read.
    Output is drained by a thread for the whole life of the process (so the pipe never fills).
    """

    def __init__(self, argv: list[str], cwd: Path, timeout: float = 30.0) -> None:
        self.argv = argv
        self._lines: list[bytes] = []
        self._ready = threading.Event()
        self.host = ""
        self.port = 0
        self.ready_at = 0.0
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env(),
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout) or not self.port:
            self.stop()
            raise RuntimeError(
                f"{' '.join(argv[1:])} did not print 'Ready on' within {timeout}s:\n{self.output}"
            )

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not self.port and (match := READY.search(line)):
                self.ready_at = time.perf_counter()
                self.host = match.group(1).decode()
                self.port = int(match.group(2))
                self._ready.set()
            if len(self._lines) < 2000:
                self._lines.append(line)
        self._ready.set()  # the process ended before it was ready

    @property
    def ready_seconds(self) -> float:
        return self.ready_at - self.started_at

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def output(self) -> str:
        return b"".join(self._lines).decode(errors="replace")

    def rss_mib(self) -> float:
        return rss_mib(self.proc.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGINT (a clean shutdown), then SIGKILL if it does not exit within `timeout`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def pyflare_dev(cwd: Path, *args: str, timeout: float = 30.0) -> ServerProcess:
    """Start `pyflare dev --port 0 ARGS...` in `cwd` (which holds wrangler.toml)."""
    return ServerProcess([*PYFLARE, "dev", "--port", "0", *args], cwd, timeout)


def bare_app(cwd: Path | None = None, timeout: float = 30.0) -> ServerProcess:
    """Start the baseline: a bare Starlette app on uvicorn (`bench/bare_app.py`)."""
    # `-m` (not the script path): bench/ on sys.path would shadow the stdlib `http` module
    return ServerProcess(
        [sys.executable, "-m", "bench.bare_app", "--port", "0"], cwd or ROOT, timeout
    )


def write_project(folder: Path, wrangler: str, worker: str) -> Path:
    """A worker project in `folder` (created): its wrangler.toml and worker.py."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wrangler.toml").write_text(wrangler)
    (folder / "worker.py").write_text(worker)
    return folder


@contextlib.contextmanager
def temp_dir(prefix: str = "pyflare-bench-") -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


# HTTP load: one generator drives pyflare and its baseline in alternating rounds

CONNECTIONS = 16
DURATION = 2.5  # seconds a round
ROUNDS = 2


def load_generator() -> str:
    return "wrk" if shutil.which("wrk") else "asyncio raw keep-alive client"


def http_rps(server: ServerProcess, path: str = "/", duration: float = DURATION) -> float:
    """Requests/s `server` answers on `GET path` under the load generator: `wrk` if it is on
    PATH, else `measure_rps`."""
    if not shutil.which("wrk"):
        return asyncio.run(measure_rps(server.host, server.port, path, CONNECTIONS, duration))
    done = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(duration))}s", server.url + path],
        capture_output=True,
        text=True,
        timeout=duration + 30,
    )
    match = re.search(r"Requests/sec:\s*([0-9.]+)", done.stdout)
    if done.returncode != 0 or match is None or "Non-2xx" in done.stdout:
        raise RuntimeError(f"wrk failed:\n{done.stdout}{done.stderr}")
    return float(match.group(1))


def best_of_rounds(ours: ServerProcess, theirs: ServerProcess, path: str) -> tuple[float, float]:
    """The best requests/s of each server over ROUNDS alternating rounds (theirs first)."""
    mine: list[float] = []
    baseline: list[float] = []
    for _ in range(ROUNDS):
        baseline.append(http_rps(theirs, path))
        mine.append(http_rps(ours, path))
    return max(mine), max(baseline)


def rounds_note() -> str:
    """How `best_of_rounds` measured, for a row's note."""
    return f"best of {ROUNDS} x {DURATION}s rounds each, load by {load_generator()}"


# a cheap HTTP/1.1 client


def build_request(
    method: str,
    path: str,
    host: str,
    body: bytes = b"",
    content_type: str | None = None,
) -> bytes:
    """The bytes of one keep-alive HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    if content_type:
        lines.append(f"content-type: {content_type}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request in flight at a time.

    Cheap on purpose (no header objects, no per-request task), so that on a 2-core machine the
    client costs a small fraction of what the server under test does. Responses must carry a
    `content-length` (both servers measured here always send one).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._length = -1
        self._status = 0
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._transport: asyncio.Transport | None = None
        self._lost: asyncio.Future[None] | None = None
        # load mode: resend `_repeat` on each response and count
        self._repeat: bytes | None = None
        self.count = 0
        self.errors = 0

    @classmethod
    async def open(cls, host: str, port: int, timeout: float = 10.0) -> HttpConnection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            _, protocol = await loop.create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._lost = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc or ConnectionError("connection closed by the server"))
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while True:
            if self._length < 0:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buffer[:end]).lower()
                del buffer[: end + 4]
                self._status = int(head[9:12])
                at = head.find(b"\r\ncontent-length:")
                if at < 0:
                    raise ValueError("response without content-length")
                stop = head.find(b"\r\n", at + 2)
                self._length = int(head[at + 17 : stop if stop > 0 else None])
            if len(buffer) < self._length:
                return
            body = bytes(buffer[: self._length])
            del buffer[: self._length]
            self._length = -1
            self._done(self._status, body)

    def _done(self, status: int, body: bytes) -> None:
        if self._repeat is not None:
            self.count += 1
            if status != 200:
                self.errors += 1
            assert self._transport is not None
            self._transport.write(self._repeat)
            return
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request (from `build_request`); returns (status, body).

        Callers bound the wait with `asyncio.timeout` around a whole phase.
        """
        assert self._transport is not None and self._waiter is None
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._transport.write(raw)
        return await waiter

    def start_loop(self, raw: bytes) -> None:
        """Load mode: send `raw`, and again each time a response arrives, counting them."""
        assert self._transport is not None
        self._repeat = raw
        self._transport.write(raw)

    def stop_loop(self) -> None:
        """Stop resending; the request in flight still completes (and is counted)."""
        self._repeat = None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def measure_rps(
    host: str,
    port: int,
    path: str = "/",
    connections: int = 16,
    duration: float = 3.0,
    warmup: float = 0.5,
) -> float:
    """Requests per second served over `connections` keep-alive connections for `duration` s.

    A closed loop: each connection sends its next request as soon as the previous response has
    arrived. Responses other than 200 make it raise.
    """
    async with asyncio.timeout(warmup + duration + 30):
        conns = [await HttpConnection.open(host, port) for _ in range(connections)]
        try:
            raw = build_request("GET", path, f"{host}:{port}")
            status, _ = await conns[0].request(raw)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            for conn in conns:
                conn.start_loop(raw)
            await asyncio.sleep(warmup)
            before = sum(c.count for c in conns)
            started = time.perf_counter()
            await asyncio.sleep(duration)
            after = sum(c.count for c in conns)
            elapsed = time.perf_counter() - started
            for conn in conns:
                conn.stop_loop()
            errors = sum(c.errors for c in conns)
            if errors:
                raise RuntimeError(f"{errors} responses were not 200")
            await asyncio.sleep(0.05)  # let the last in-flight responses arrive
        finally:
            for conn in conns:
                conn.close()
    return (after - before) / elapsed


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform
    from datetime import UTC, datetime

    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        import psutil

        info["memory_mib"] = round(psutil.virtual_memory().total / MIB)
        freq = psutil.cpu_freq()
        if freq is not None:
            info["cpu_mhz"] = round(freq.max or freq.current)
    except Exception:  # pragma: no cover - informative only
        pass
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    return info
