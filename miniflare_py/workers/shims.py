"""Small stand-ins for `js` and `pyodide.ffi`, installed while a worker runs.

On Cloudflare a Python Worker can reach JavaScript through `js` and convert values with
`pyodide.ffi.to_js`. Here there is no JavaScript, so values stay Python values; these modules
cover the common, cheap cases so a worker that uses them still imports and runs.
"""

from __future__ import annotations

import json
import sys
import time
import types
from collections.abc import Callable, Iterable
from typing import Any

from .http import Response
from .jsdict import JsDict


def _make_js() -> types.ModuleType:
    js = types.ModuleType("js", "pyflare's stand-in for Pyodide's `js` module")

    class Object:
        @staticmethod
        def fromEntries(entries: Iterable[tuple[str, Any]]) -> JsDict:
            return JsDict(entries)

        @staticmethod
        def new() -> JsDict:
            return JsDict()

    class JSON:
        @staticmethod
        def stringify(value: Any) -> str:
            return json.dumps(value, separators=(",", ":"))

        @staticmethod
        def parse(text: str) -> Any:
            return json.loads(text, object_hook=JsDict)

    class Date:
        @staticmethod
        def now() -> int:
            return int(time.time() * 1000)

    class console:
        log = info = debug = staticmethod(lambda *a: print(*a))
        warn = error = staticmethod(lambda *a: print(*a, file=sys.stderr))

    class JsResponse:
        @staticmethod
        def new(body: Any = None, init: dict[str, Any] | None = None) -> Response:
            init = init or {}
            return Response(body, init.get("status", 200), init.get("headers"))

        @staticmethod
        def json(data: Any, init: dict[str, Any] | None = None) -> Response:
            init = init or {}
            return Response.json(data, init.get("status", 200), init.get("headers"))

    js.Object = Object  # type: ignore[attr-defined]
    js.JSON = JSON  # type: ignore[attr-defined]
    js.Date = Date  # type: ignore[attr-defined]
    js.console = console  # type: ignore[attr-defined]
    js.Response = JsResponse  # type: ignore[attr-defined]
    return js


def _make_pyodide() -> tuple[types.ModuleType, types.ModuleType]:
    pyodide = types.ModuleType("pyodide", "pyflare's stand-in for Pyodide")
    ffi = types.ModuleType("pyodide.ffi", "pyflare's stand-in for pyodide.ffi")

    def to_js(value: Any, *, dict_converter: Callable[..., Any] | None = None, **_: Any) -> Any:
        if dict_converter is not None and isinstance(value, dict):
            return dict_converter(value.items())
        return value

    ffi.to_js = to_js  # type: ignore[attr-defined]
    ffi.create_proxy = lambda value, **_: value  # type: ignore[attr-defined]
    ffi.JsProxy = JsDict  # type: ignore[attr-defined]
    ffi.JsException = Exception  # type: ignore[attr-defined]
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    return pyodide, ffi


def install() -> None:
    """Make `workers`, `js` and `pyodide.ffi` importable, without overriding real ones."""
    from miniflare_py import workers

    sys.modules["workers"] = workers
    if "js" not in sys.modules:
        sys.modules["js"] = _make_js()
    if "pyodide" not in sys.modules:
        pyodide, ffi = _make_pyodide()
        sys.modules["pyodide"] = pyodide
        sys.modules["pyodide.ffi"] = ffi
