"""Header storage shared by requests and responses, and JavaScript's `Headers` over it.

A request or response keeps its headers as one list of `(name, value)` pairs, names lower-cased
(as the Fetch API stores them), repeats kept apart, in the order they were added. `Headers`
(`js.Headers`) is the live JavaScript view of such a list; `workers`' `.headers` is a snapshot
shaped like `http.client.HTTPMessage` (see `headers.py`). Reading follows the Fetch spec:
`get()` joins repeats with ", ", and iteration is sorted by name with repeats combined, except
`set-cookie`, whose values stay apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .jsobject import JsProxy, js_class, js_error, jsnull

__all__ = ["HeaderPairs", "Headers", "check_pair", "combined", "header_pairs"]

HeaderPairs = list[tuple[str, str]]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_WHITESPACE = " \t\r\n"


def check_pair(name: Any, value: Any) -> tuple[str, str]:
    """A validated `(lower-cased name, normalized value)`, or the TypeError fetch raises."""
    name = str(name)
    if not _TOKEN.fullmatch(name):
        raise js_error("TypeError", f"Invalid header name: {name!r}", TypeError)
    value = str(value).strip(_WHITESPACE)
    if _BAD_VALUE.search(value):
        raise js_error("TypeError", f"Invalid header value for {name!r}", TypeError)
    return name.lower(), value


def header_pairs(init: Any) -> HeaderPairs:
    """Validated pairs from what `headers=` accepts: a dict, a list of pairs, a `Headers`,
    an `http.client.HTTPMessage` (or the SDK's mapping), a JS object, or None."""
    if init is None or init is jsnull:
        return []
    kind = type(init)
    if kind is dict:
        return [check_pair(k, v) for k, v in init.items()]
    if kind is list and all(type(e) is tuple and len(e) == 2 for e in init):
        return [check_pair(k, v) for k, v in init]
    if isinstance(init, Headers):
        return list(init._pairs)
    items = getattr(init, "_raw_pairs", None)  # a workers snapshot: keep repeats apart
    if items is not None:
        return list(items())
    if isinstance(init, Mapping):
        source: Any = init.items()
    elif hasattr(init, "items") and callable(init.items):  # HTTPMessage
        source = init.items()
    else:
        source = init
    pairs = []
    for entry in source:
        try:
            name, value = entry
        except (TypeError, ValueError):
            raise js_error(
                "TypeError",
                "Failed to construct 'Headers': each header must be a [name, value] pair",
                TypeError,
            ) from None
        pairs.append(check_pair(name, value))
    return pairs


def combined(pairs: HeaderPairs) -> list[tuple[str, str]]:
    """What iterating a JS `Headers` gives: sorted by name, repeats joined with ", " except
    `set-cookie` (one entry per cookie)."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    out: list[tuple[str, str]] = []
    for name in sorted(grouped):
        values = grouped[name]
        if name == "set-cookie":
            out.extend((name, v) for v in values)
        else:
            out.append((name, ", ".join(values)))
    return out


def get_combined(pairs: HeaderPairs, name: str) -> str | None:
    key = name.lower()
    values = [v for k, v in pairs if k == key]
    if not values:
        return None
    return values[0] if len(values) == 1 else ", ".join(values)


@js_class("Headers")
class Headers(JsProxy):
    """JavaScript's `Headers` (`js.Headers.new(init)`), live over its owner's header list."""

    __slots__ = ("_pairs",)

    def __init__(self, init: Any = None) -> None:
        self._pairs: HeaderPairs = header_pairs(init)

    @classmethod
    def _over(cls, pairs: HeaderPairs) -> Headers:
        """A live view of `pairs` (the list a request or response owns)."""
        headers = cls.__new__(cls)
        headers._pairs = pairs
        return headers

    def get(self, name: str) -> str | None:
        return get_combined(self._pairs, name)

    def getSetCookie(self) -> list[str]:
        return [v for k, v in self._pairs if k == "set-cookie"]

    def getAll(self, name: str) -> list[str]:
        key = name.lower()
        return [v for k, v in self._pairs if k == key]

    def has(self, name: str) -> bool:
        key = name.lower()
        return any(k == key for k, _ in self._pairs)

    def set(self, name: str, value: Any) -> None:
        key, value = check_pair(name, value)
        pairs = self._pairs
        index = next((i for i, (k, _) in enumerate(pairs) if k == key), None)
        pairs[:] = [(k, v) for k, v in pairs if k != key]
        pairs.insert(len(pairs) if index is None else index, (key, value))

    def append(self, name: str, value: Any) -> None:
        self._pairs.append(check_pair(name, value))

    def delete(self, name: str) -> None:
        key = name.lower()
        self._pairs[:] = [(k, v) for k, v in self._pairs if k != key]

    def entries(self) -> Iterator[tuple[str, str]]:
        return iter(combined(self._pairs))

    def keys(self) -> Iterator[str]:
        return (k for k, _ in combined(self._pairs))

    def values(self) -> Iterator[str]:
        return (v for _, v in combined(self._pairs))

    def forEach(self, callback: Callable[..., Any]) -> None:
        for name, value in combined(self._pairs):
            callback(value, name, self)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(combined(self._pairs))

    def _to_py(self) -> dict[str, str]:
        return dict(combined(self._pairs))

    def __repr__(self) -> str:
        return f"Headers({combined(self._pairs)!r})"
