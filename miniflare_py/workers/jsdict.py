"""`JsDict`: a dict that also allows attribute access, as D1 rows and results do on Cloudflare."""

from __future__ import annotations

from typing import Any


class JsDict(dict[str, Any]):
    """A `dict` whose keys can also be read and written as attributes.

    On Cloudflare's Python Workers, D1 results are JavaScript objects proxied into Python, so a
    worker may write either `row["id"]` or `row.id`. `JsDict` supports both so the same worker
    file runs unchanged here.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_py(self) -> dict[str, Any]:
        """Return a plain `dict` copy (the name of Pyodide's JsProxy conversion)."""
        return {k: _to_py(v) for k, v in self.items()}


def _to_py(value: Any) -> Any:
    """`value` with every `JsDict` inside it (also in lists) turned into a plain `dict`."""
    if isinstance(value, JsDict):
        return value.to_py()
    if isinstance(value, list):
        return [_to_py(v) for v in value]
    return value
