"""A real headless Chromium for the browser tests: Debian's `chromium` driven by Playwright
(from PyPI; Playwright never downloads a browser of its own here).

`launch()` gives a started browser, or skips the test saying what is missing. Where a browser
must be there (CI sets `CI`; `PYFLARE_REQUIRE_BROWSER=1` does the same), a missing one fails
the test instead: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: Flags for a quiet, offline headless run (no sandbox: CI runs as root).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """`PYFLARE_CHROMIUM`, else Debian's /usr/bin/chromium, else `chromium` on the PATH."""
    for candidate in (os.environ.get("PYFLARE_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def _required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("PYFLARE_REQUIRE_BROWSER") == "1"


def _missing(reason: str) -> None:
    if _required():
        pytest.fail(f"{reason} (CI must run the browser tests: .ci/run installs what they need)")
    pytest.skip(reason)


@contextmanager
def launch() -> Iterator[Any]:
    """A headless Chromium (Playwright's `Browser`), closed afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the browser tests need Playwright: pip install -e '.[test]'")
    executable = chromium_path()
    if executable is None:
        _missing("the browser tests need Chromium: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
