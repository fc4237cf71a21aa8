"""Start `pyflare dev` as a real process on a free port and talk to it over HTTP."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

PYFLARE = [sys.executable, "-m", "miniflare_py"]
READY = re.compile(r"Ready on (http://\S+)")


class DevProcess:
    """A running `pyflare dev`: its base URL, its output so far, and an HTTP client."""

    def __init__(
        self,
        args: list[str],
        cwd: Path,
        timeout: float = 20.0,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
        prefix: list[str] | None = None,
    ) -> None:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [*(prefix or []), *PYFLARE, "dev", "--port", "0", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            preexec_fn=preexec_fn,
        )
        self._lines: list[str] = []
        self._ready = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"pyflare dev did not become ready:\n{self.output}")
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.append(line)
            if not self.url and (match := READY.search(line)):
                self.url = match.group(1)
                self._ready.set()
        self._ready.set()

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def wait_for_output(self, text: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared in:\n{self.output}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, as a crash would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if hasattr(self, "client"):
            self.client.close()


@contextmanager
def dev_process(args: list[str], cwd: Path, **options: Any) -> Iterator[DevProcess]:
    dev = DevProcess(args, cwd, **options)
    try:
        yield dev
    finally:
        dev.stop()


def run_pyflare(
    args: list[str], cwd: Path, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a one-shot `pyflare` command and capture its output (`prefix`: a command to run it
    under, such as `unshare --user`)."""
    return subprocess.run(
        [*(prefix or []), *PYFLARE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def copy_fixture(name: str, dest: Path) -> Path:
    """Copy `fixtures/<name>` (or `tests/e2e_workers/<name>`) into `dest`, returning the copy."""
    here = Path(__file__).parent
    source = here.parent / "fixtures" / name
    if not source.exists():
        source = here / "e2e_workers" / name
    target = dest / name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".wrangler", "__pycache__"))
    return target


def poll(fetch, until, timeout: float = 15.0, interval: float = 0.02):  # type: ignore[no-untyped-def]
    """Call `fetch()` until `until(result)` holds; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if until(result) or time.monotonic() > deadline:
            return result
        time.sleep(interval)
