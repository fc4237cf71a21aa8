"""pytest plugin for the conformance run: every test gets a running pyflare (real clock, so
`asyncio.sleep` in a test lets queue batches time out), and each test's outcome is recorded
by file for the runner."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

RESULTS_ENV = "PYFLARE_CONFORMANCE_RESULTS"

_outcomes: dict[str, dict[str, str]] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.pyflare(clock="real", migrations=False))


@pytest.fixture(autouse=True)
def _pyflare_runtime(pyflare: Any) -> Iterator[Any]:
    """The suite takes `env` from `from workers import env`: a running pyflare gives it."""
    yield pyflare


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    file = Path(report.fspath).name
    tests = _outcomes.setdefault(file, {})
    previous = tests.get(report.nodeid)
    if report.failed:
        tests[report.nodeid] = "failed"
    elif report.skipped and previous != "failed":
        tests[report.nodeid] = "skipped"
    elif report.when == "call" and previous is None:
        tests[report.nodeid] = "passed"


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        file = Path(report.fspath).name
        _outcomes.setdefault(file, {})[report.nodeid or file] = "failed"


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(RESULTS_ENV)
    if path:
        Path(path).write_text(json.dumps(_outcomes, indent=1))
