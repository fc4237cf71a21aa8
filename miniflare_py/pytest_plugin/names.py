"""`import workers` (and `asgi`, `js`, `pyodide`) in a pytest session gives pyflare's modules."""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any

__all__ = ["install"]

_WORKER_NAMES = frozenset({"workers", "asgi", "js", "pyodide"})


class _WorkerNames(importlib.abc.MetaPathFinder):
    """Makes the top-level worker names pyflare's, as in a worker; pyflare's modules are
    imported only when test code first asks for them."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.partition(".")[0] not in _WORKER_NAMES:
            return None
        from ..workers import names

        names.install()
        return names.finder().find_spec(fullname, path, target)


def install() -> None:
    """Put the finder first on `sys.meta_path` (once): before any conftest imports `workers`.
    It stays for the session and answers only for those four names."""
    if not any(isinstance(finder, _WorkerNames) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WorkerNames())
