"""The `pyodide` package a Python Worker sees (`pyodide.ffi`, `pyodide.http`, `pyodide.webloop`).

Installed as the top-level `pyodide` only while a worker is loaded or a pyflare test session
runs. The version is the Pyodide Cloudflare's current Python runtime uses.
"""

import importlib as _importlib

__version__ = "0.28.2"

__all__ = ["__version__", "ffi", "http", "webloop"]

# As Pyodide's own package does, importing `pyodide` makes its submodules available.
for _submodule in ("ffi", "http", "webloop"):
    _importlib.import_module(f"{__name__}.{_submodule}")
