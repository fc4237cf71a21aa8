"""`Runner`: what a prepared statement runs through."""

from __future__ import annotations

from typing import Any, Protocol

from ..workers.jsdict import JsDict

__all__ = ["Runner"]


class Runner(Protocol):
    """The engine itself, or a session that tracks bookmarks."""

    def rows(
        self, sql: str, params: tuple[Any, ...]
    ) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def query(self, sql: str, params: tuple[Any, ...], measure: bool = True) -> JsDict: ...

    def columns(self, sql: str, params: tuple[Any, ...]) -> list[str]: ...
