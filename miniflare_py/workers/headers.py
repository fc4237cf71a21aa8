"""`Headers`: a case-insensitive, multi-valued header mapping shaped like the Fetch API's."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Union

HeadersInit = Union[Mapping[str, str], Iterable[tuple[str, str]], "Headers", None]


class Headers(Mapping[str, str]):
    """HTTP headers. Lookups ignore case; `get()` joins repeated headers with ", " as fetch does.

    Supports both the Fetch API's methods (`get`, `has`, `set`, `append`, `delete`, `entries`)
    and Python's mapping protocol, so `request.headers["content-type"]` and
    `request.headers.get("Content-Type")` both work.
    """

    __slots__ = ("_items",)

    def __init__(self, init: HeadersInit = None) -> None:
        self._items: list[tuple[str, str]] = []
        if init is None:
            return
        if isinstance(init, Headers):
            pairs: Iterable[tuple[str, str]] = init.multi_items()  # keep repeated headers apart
        elif isinstance(init, Mapping):
            pairs = init.items()
        else:
            pairs = init
        for name, value in pairs:
            self.append(name, value)

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        key = name.lower()
        values = [v for k, v in self._items if k == key]
        return ", ".join(values) if values else default

    def get_all(self, name: str) -> list[str]:
        """Every value of `name`, in order (for `Set-Cookie`)."""
        key = name.lower()
        return [v for k, v in self._items if k == key]

    getAll = get_all
    getSetCookie = lambda self: self.get_all("set-cookie")  # noqa: E731

    def has(self, name: str) -> bool:
        key = name.lower()
        return any(k == key for k, _ in self._items)

    def set(self, name: str, value: str) -> None:
        self.delete(name)
        self._items.append((name.lower(), str(value)))

    def append(self, name: str, value: str) -> None:
        self._items.append((name.lower(), str(value)))

    def delete(self, name: str) -> None:
        key = name.lower()
        self._items = [(k, v) for k, v in self._items if k != key]

    def entries(self) -> Iterator[tuple[str, str]]:
        return iter(self.multi_items())

    def multi_items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair, names lower-cased, repeated names kept."""
        return list(self._items)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        self.delete(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.has(name)

    def __iter__(self) -> Iterator[str]:
        seen: dict[str, None] = {}
        for k, _ in self._items:
            seen.setdefault(k)
        return iter(seen)

    def __len__(self) -> int:
        return len({k for k, _ in self._items})

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"
