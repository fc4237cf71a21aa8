"""Install the names a worker imports (`workers`, `js`, `pyodide`, `asgi`); see `names.py`."""

from __future__ import annotations

from .names import install

__all__ = ["install"]
