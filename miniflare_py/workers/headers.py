"""`.headers` of a `workers.Request` or `workers.Response`: an `http.client.HTTPMessage`.

As in Cloudflare's SDK, reading `.headers` gives a new snapshot each time, shaped like
`http.client.HTTPMessage` and also a `Mapping`: lookups ignore case, a missing header reads as
`None` (`request.headers["X-Missing"] is None`), `get_all()` lists the values of a name, and
iteration follows the JavaScript `Headers` it was read from: names lower-cased and sorted,
repeats joined with ", " except `set-cookie`. Writing to a snapshot does not change the request
or response; use `response.js_object.headers.set(...)` or build the response with its headers.

The snapshot is lazy: a lookup reads the owner's header list directly, and the sorted, combined
list is built only when something iterates it or writes to it.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator, Mapping
from email import policy as email_policy
from typing import Any

from .jsheaders import HeaderPairs, combined, get_combined

__all__ = ["HeaderMessage"]


class HeaderMessage(http.client.HTTPMessage, Mapping[str, Any]):
    """An `http.client.HTTPMessage` (and `Mapping`) over a request's or response's headers."""

    # email.message.Message's per-instance state, as class defaults: its __init__ is not run.
    policy = email_policy.compat32
    _unixfrom = None
    _payload = None
    _charset = None
    preamble = None
    epilogue = None
    _default_type = "text/plain"

    def __init__(self, pairs: HeaderPairs | None = None) -> None:
        self._raw: HeaderPairs = pairs if pairs is not None else []
        self._merged: list[tuple[str, str]] | None = None

    @property
    def defects(self) -> list[Any]:  # type: ignore[override]
        defects = self.__dict__.get("_defects")
        if defects is None:
            defects = self.__dict__["_defects"] = []
        return defects

    @property
    def _headers(self) -> list[tuple[str, str]]:
        """What `Message` keeps: the combined pairs (built on first use)."""
        merged = self._merged
        if merged is None:
            merged = self._merged = combined(self._raw)
        return merged

    @_headers.setter
    def _headers(self, value: list[tuple[str, str]]) -> None:
        self._merged = value

    def _raw_pairs(self) -> HeaderPairs:
        """The pairs with repeats kept apart (what a new request or response copies)."""
        if self._merged is None:
            return list(self._raw)
        return [(k.lower(), v) for k, v in self._merged]

    # fast paths while nothing was written (the common case)

    def get(self, name: str, failobj: Any = None) -> Any:
        if self._merged is None:
            key = name.lower()
            if key == "set-cookie":
                return next((v for k, v in self._raw if k == key), failobj)
            value = get_combined(self._raw, key)
            return failobj if value is None else value
        return super().get(name, failobj)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self._merged is None:
            key = name.lower()
            return any(k == key for k, _ in self._raw)
        return super().__contains__(name)

    def get_all(self, name: str, failobj: Any = None) -> Any:
        values = [v for k, v in self._headers if k.lower() == name.lower()]
        return values or failobj

    def __len__(self) -> int:
        return len(self._headers)

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, _ in self._headers])

    def keys(self) -> list[str]:  # type: ignore[override]
        return [k for k, _ in self._headers]

    def values(self) -> list[str]:  # type: ignore[override]
        return [v for _, v in self._headers]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return list(self._headers)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HeaderMessage({self.items()!r})"
