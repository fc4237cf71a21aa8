"""Fixtures shared by the test files (plain helper functions live in `helpers.py`)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import IDLE_WORKER, SEED


@pytest.fixture
def anyio_backend() -> str:
    """pyflare runs on asyncio; anyio's tests use that backend only."""
    return "asyncio"


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A private copy of the seed worker folder (for .dev.vars and edits)."""
    folder = tmp_path / "ai-tasks"
    shutil.copytree(SEED, folder, ignore=shutil.ignore_patterns("__pycache__", ".wrangler"))
    return folder


@pytest.fixture
def make_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """`make_project(config, worker=IDLE_WORKER)`: tmp_path, made the current folder, holding
    that wrangler.toml and worker.py (as a user runs `pyflare` in a project)."""

    def make(config: str, worker: str = IDLE_WORKER) -> Path:
        (tmp_path / "wrangler.toml").write_text(config)
        (tmp_path / "worker.py").write_text(worker)
        monkeypatch.chdir(tmp_path)
        return tmp_path

    return make


@pytest.fixture
def restore_engine_logger() -> Iterator[None]:
    """`pyflare dev` points the engine's logger at the console; undo that for later tests."""
    logger = logging.getLogger("miniflare_py")
    saved = logger.level, logger.handlers[:], logger.propagate
    yield
    logger.setLevel(saved[0])
    logger.handlers[:] = saved[1]
    logger.propagate = saved[2]


@pytest.fixture
def local_ai(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers AI answered by the local backend, whatever `PYFLARE_AI_*` the shell running the
    tests has set."""
    for name in list(os.environ):
        if name.startswith("PYFLARE_AI_"):
            monkeypatch.delenv(name)
