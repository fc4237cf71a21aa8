"""A user project's test suite under the pytest plugin: what the `pyflare` fixture costs a test.

A generated project (a worker with D1 and ten migrated tables, a KV namespace, a queue with its
consumer) has 1,000 tests. Each asks for `pyflare` and makes one D1 read of a migrated table,
one KV write and one queue send. The same 1,000 tests run a second time with a conftest that
replaces `pyflare` by a bare fixture that does nothing (and the body's calls by no-ops): what
pytest and anyio cost on their own. Both suites run in a subprocess (`python -m pytest -q`),
alternately in the same run, twice each, and the figure is each suite's best wall time.

Target (issue 16): the suite with the fixture in under 10 s on this machine (about 5 ms a test).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import child_env, error_row, make_row, temp_dir, write_project

GROUP = "pytest plugin"
TESTS = 1000
TABLES = 10
FILES = 20  # 50 tests a file, as a real suite spreads them
TARGET_SECONDS = 10.0
RUNS = 2

WRANGLER = """\
name = "suite"
main = "worker.py"

[[d1_databases]]
binding = "DB"
database_name = "suite"
database_id = "suite"

[[kv_namespaces]]
binding = "KV"
id = "suite-kv"

[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[queues.consumers]]
queue = "jobs"
max_batch_size = 10
max_batch_timeout = 5
"""

WORKER = """\
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")

    async def queue(self, batch):
        for message in batch.messages:
            message.ack()
"""

INI = """\
[pytest]
asyncio_default_fixture_loop_scope = function
"""

CONFTEST_HEAD = """\
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

# The body every test runs, through a helper so both suites share the test files.
WITH_PYFLARE = (
    CONFTEST_HEAD
    + """

@pytest.fixture
def exercise():
    async def run(pyflare, n):
        row = await pyflare.env.DB.prepare(f"SELECT COUNT(*) AS n FROM t{n % 10}").first()
        assert row["n"] == 0
        await pyflare.env.KV.put(f"key-{n}", "value")
        await pyflare.env.JOBS.send({"n": n})
    return run
"""
)

BARE = (
    CONFTEST_HEAD
    + """

@pytest.fixture
def pyflare():
    return None


@pytest.fixture
def exercise():
    async def run(pyflare, n):
        return None
    return run
"""
)


def _migration(table: int) -> str:
    return (
        f"CREATE TABLE t{table} (\n"
        "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "    name TEXT NOT NULL,\n"
        "    value REAL,\n"
        "    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
        ");\n"
        f"CREATE INDEX t{table}_name ON t{table}(name);\n"
    )


def _test_file(start: int, count: int) -> str:
    lines = ["import pytest", ""]
    for n in range(start, start + count):
        lines += [
            "",
            "@pytest.mark.anyio",
            f"async def test_case_{n:04d}(pyflare, exercise):",
            f"    await exercise(pyflare, {n})",
            "",
        ]
    return "\n".join(lines)


def make_project(folder: Path, conftest: str) -> Path:
    """Write the generated project into `folder`; returns it."""
    write_project(folder, WRANGLER, WORKER)
    (folder / "pytest.ini").write_text(INI)
    (folder / "conftest.py").write_text(conftest)
    migrations = folder / "migrations"
    migrations.mkdir(exist_ok=True)
    for table in range(TABLES):
        (migrations / f"{table + 1:04d}_t{table}.sql").write_text(_migration(table))
    tests = folder / "tests"
    tests.mkdir(exist_ok=True)
    per_file = TESTS // FILES
    for index in range(FILES):
        (tests / f"test_part_{index:02d}.py").write_text(_test_file(index * per_file, per_file))
    return folder


def run_suite(folder: Path, *extra: str) -> float:
    """Seconds of wall time `python -m pytest -q` takes on `folder` (which must pass)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=folder,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0 or f"{TESTS} passed" not in done.stdout:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise RuntimeError(f"pytest failed in {folder}:\n{output}")
    return seconds


def run() -> list[dict[str, Any]]:
    """The suite with the fixture, beside the same suite with a bare fixture."""
    name = f"{TESTS:,} tests with the pyflare fixture (D1 {TABLES} tables, KV, queue)"
    try:
        with temp_dir() as tmp:
            ours = make_project(tmp / "with-pyflare", WITH_PYFLARE)
            bare = make_project(tmp / "bare", BARE)
            run_suite(bare)  # warm the OS caches and bytecode of pytest, anyio and pyflare
            # Alternated, best of each: other work on a shared machine weighs on both alike.
            bare_times, our_times = [], []
            for _ in range(RUNS):
                bare_times.append(run_suite(bare))
                our_times.append(run_suite(ours))
            bare_seconds, our_seconds = min(bare_times), min(our_times)
    except Exception as exc:
        return [error_row(GROUP, name, exc)]
    per_test = (our_seconds - bare_seconds) / TESTS * 1000
    return [
        make_row(
            GROUP,
            name,
            our_seconds,
            "s",
            "same suite, bare fixture",
            bare_seconds,
            max_value=TARGET_SECONDS,
            lower_is_better=True,
            note=f"best of {RUNS} wall times of `python -m pytest -q` in a subprocess, "
            "collection included",
        ),
        make_row(
            GROUP,
            "fixture cost a test (suite minus bare suite)",
            per_test,
            "ms",
            "",
            float("nan"),
            lower_is_better=True,
        ),
    ]


if __name__ == "__main__":
    from .__main__ import print_table

    print_table(run())
