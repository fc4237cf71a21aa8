"""Fixtures shared by the test files (plain helper functions live in `helpers.py`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import SEED


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
