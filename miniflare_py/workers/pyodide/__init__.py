"""The `pyodide` package a Python Worker sees (`pyodide.ffi`, `pyodide.http`, `pyodide.webloop`).

Installed as the top-level `pyodide` only while a worker is loaded or a pyflare test session
runs. The version is the Pyodide Cloudflare's current Python runtime uses.
"""

__version__ = "0.28.2"

__all__ = ["__version__", "ffi", "http", "webloop"]

from . import ffi, http, webloop
