"""The top-level `workers`, `asgi`, `js` and `pyodide`: pyflare's modules under Cloudflare's
names, only while a worker is loaded (or a pyflare test session runs)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


WORKER = """\
import asgi
import js
import pyodide.webloop
import workers
import workers.rpc
from pyodide.ffi import JsProxy, jsnull, run_sync, to_js
from workers import Response, WorkerEntrypoint, env, fetch, wsgi
from workers.workflows import NonRetryableError


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")
"""


@pytest.mark.slow
def test_names_exist_only_once_a_worker_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    result = run_python(
        """
        import importlib.util, sys
        from pathlib import Path
        assert importlib.util.find_spec("workers") is None, "workers on the path too early"
        import miniflare_py.runtime  # the engine alone installs nothing
        assert "workers" not in sys.modules and "js" not in sys.modules

        from miniflare_py.worker import load_worker
        load_worker(Path("worker.py"))
        import asgi, js, pyodide, pyodide.ffi, workers, workers.rpc, workers.asgi
        import miniflare_py.workers as real
        import miniflare_py.workers.rpc as real_rpc
        assert workers is real and workers.rpc is real_rpc
        assert workers.rpc._BindingWrapper is real_rpc._BindingWrapper
        assert asgi is workers.asgi and asgi.__name__ == "workers.asgi"
        assert (js.__name__, pyodide.ffi.__name__) == ("js", "pyodide.ffi")
        # the real spec stays, so relative imports inside them resolve without warnings
        assert js.__spec__.name == "miniflare_py.workers.js"
        import warnings
        warnings.simplefilter("error")
        js.Response.new("x")
        import asyncio
        try:
            asyncio.run(js.fetch("http://127.0.0.1:9/"))
        except OSError:
            pass
        try:
            from workers import nope
        except ImportError as exc:
            assert "cannot import name 'nope' from 'workers'" in str(exc), exc
        else:
            raise AssertionError("no ImportError")
        try:
            import workers.nope
        except ModuleNotFoundError as exc:
            assert "workers.nope" in str(exc)
        print("ok")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_js_module_already_imported_is_kept(tmp_path: Path) -> None:
    import types

    from miniflare_py.workers import names

    mine = types.ModuleType("js")
    previous = sys.modules.get("js")
    sys.modules["js"] = mine
    try:
        names.install()
        import js

        assert js is mine
    finally:
        if previous is None:
            del sys.modules["js"]
        else:
            sys.modules["js"] = previous


def test_a_stale_workers_module_is_replaced_on_install() -> None:
    import types

    from miniflare_py import workers
    from miniflare_py.workers import names

    stale = types.ModuleType("workers")
    previous = sys.modules.get("workers")
    sys.modules["workers"] = stale
    sys.modules["workers.stale"] = types.ModuleType("workers.stale")
    try:
        names.install()
        assert sys.modules["workers"] is workers
        assert "workers.stale" not in sys.modules
    finally:
        if previous is not None:
            sys.modules["workers"] = previous
