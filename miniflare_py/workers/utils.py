"""`workers.utils`: `import_from_javascript`, `patch_env`, and the SDK's small helpers."""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from .context import bound_ctx, bound_env, current_event
from .jsheaders import Headers as JsHeaders
from .jsobject import JsException, jsnull
from .workflows import NonRetryableError

__all__ = ["import_from_javascript", "patch_env"]


def import_from_javascript(module_name: str) -> Any:
    """A JavaScript module: "cloudflare:workers" gives `env` and `waitUntil`; others are not
    available locally (ImportError)."""
    if module_name == "cloudflare:workers":
        from . import _module_level

        module = types.SimpleNamespace()
        module.env = _module_level.env
        module.waitUntil = _module_level.wait_until
        return module
    raise ImportError(
        f"Failed to import '{module_name}': pyflare provides only 'cloudflare:workers'"
    )


class _PatchedEnv:
    """An env with some names replaced (what `patch_env` puts in place)."""

    def __init__(self, base: Any, overrides: Mapping[str, Any]) -> None:
        self._base = base
        self._overrides = dict(overrides)

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        if self._base is None:
            raise AttributeError(name)
        return getattr(self._base, name)

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def __contains__(self, name: object) -> bool:
        return name in self._overrides or (self._base is not None and name in self._base)

    def __iter__(self) -> Iterator[str]:
        names = dict.fromkeys(self._overrides)
        if self._base is not None:
            names.update(dict.fromkeys(self._base))
        return iter(names)


@contextmanager
def patch_env(
    d: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None, **kwds: Any
) -> Iterator[None]:
    """Within the block, `workers.env` (module level) sees these names replaced."""
    overrides = dict(d or {}) | kwds
    token = current_event.set((_PatchedEnv(bound_env(), overrides), bound_ctx()))
    try:
        yield
    finally:
        current_event.reset(token)


def _to_python_exception(exc: JsException) -> Exception:
    if exc.name == "RangeError":
        return ValueError(exc.message)
    if exc.name == "TypeError":
        return TypeError(exc.message)
    return exc


def _from_js_error(exc: JsException) -> Exception:
    message = exc.message or ""
    if exc.name == "NonRetryableError":
        return NonRetryableError(message)
    if message.startswith("NonRetryableError"):
        return NonRetryableError(message.partition(": ")[2])
    return _to_python_exception(exc)


def _get_js_constructor_name(obj: Any) -> str | None:
    constructor = getattr(obj, "constructor", None)
    return getattr(constructor, "name", None) if constructor is not None else None


def _is_js_instance(value: Any, names: str | set[str] | frozenset[str]) -> bool:
    name = _get_js_constructor_name(value)
    if name is None:
        return False
    return name in names if isinstance(names, (set, frozenset)) else name == names


def _jsnull_to_none(value: Any) -> Any:
    return None if value is jsnull else value


def _to_js_headers(headers: Any) -> JsHeaders:
    if isinstance(headers, list):
        return JsHeaders(headers)
    if isinstance(headers, dict):
        return JsHeaders(headers.items())
    if isinstance(headers, JsHeaders):
        return headers
    raise TypeError("Received unexpected type for headers argument")


def _js_headers_to_http_message(js_headers: Any) -> Any:
    from .headers import HeaderMessage

    if isinstance(js_headers, HeaderMessage):
        return js_headers
    return HeaderMessage(list(js_headers._pairs))


def __getattr__(name: str) -> Any:
    if name == "HTTPMessageMapping":  # the SDK's name for what `.headers` returns
        from .headers import HeaderMessage

        return HeaderMessage
    raise AttributeError(f"module 'workers.utils' has no attribute {name!r}")
