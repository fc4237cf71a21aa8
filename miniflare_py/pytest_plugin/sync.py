"""`pyflare_sync`: the runtime driven from plain `def` tests, each call run to completion."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

    from ..runtime import Miniflare
    from ..workers import Response
    from ..workers.headers import HeaderMessage

__all__ = ["PyflareSync", "SyncProxy", "SyncResponse"]

T = TypeVar("T")


class PyflareSync:
    """A `Miniflare` driven from synchronous code.

    `fetch`, `drain`, `advance` and `scheduled` block until done; `env`, `d1`, `queues` and `clock`
    are `SyncProxy` views whose async methods block too, e.g.
    `pyflare_sync.env.DB.prepare("SELECT 1").first()`. Every other attribute of the runtime
    (`queue_batch`, `run_in_durable_object`, `durable_objects`, `ai`, ...) is reached the same
    way. `run(awaitable)` runs anything else.
    """

    def __init__(self, mf: Miniflare, runner: asyncio.Runner) -> None:
        self.mf = mf
        self._runner = runner

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run `awaitable` on the runtime's loop and return its result."""
        return self._runner.run(_await(awaitable))

    def fetch(
        self,
        url: str = "/",
        method: str = "GET",
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: str | bytes | None = None,
        json: Any = None,
    ) -> SyncResponse:
        """`Miniflare.fetch`, returning a response whose `json()` and `text()` are plain calls."""
        return SyncResponse(self.run(self.mf.fetch(url, method, headers, body, json)), self.run)

    def drain(self) -> None:
        """Deliver queued messages until the queues are idle (virtual time jumps ahead)."""
        self.run(self.mf.queues.drain())

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward and run what became due."""
        self.run(self.mf.clock.advance(seconds))  # type: ignore[attr-defined]

    def scheduled(self, cron: str = "* * * * *", scheduled_time: float | None = None) -> Any:
        """Run the `scheduled` handler once; returns `{"outcome", "error", "noRetry"}`."""
        return self.run(self.mf.scheduled(cron, scheduled_time))

    @property
    def env(self) -> Any:
        """The worker's `env`, with blocking binding calls."""
        return SyncProxy(self.mf.env, self.run)

    @property
    def d1(self) -> dict[str, Any]:
        """The D1 databases by binding name, with blocking calls."""
        return {name: SyncProxy(db, self.run) for name, db in self.mf.d1.items()}

    @property
    def queues(self) -> Any:
        """`mf.queues`, with blocking `drain()` and `deliver()`."""
        return SyncProxy(self.mf.queues, self.run)

    @property
    def clock(self) -> Any:
        """The virtual clock, with a blocking `advance()`."""
        return SyncProxy(self.mf.clock, self.run)

    @property
    def config(self) -> Any:
        return self.mf.config

    @property
    def logs(self) -> list[str]:
        return self.mf.logs

    def __getattr__(self, name: str) -> Any:
        # The runtime's other helpers (`queue_batch`, `durable_objects`, `ai`, ...), blocking.
        if name.startswith("_"):
            raise AttributeError(name)
        return SyncProxy(self.mf, self.run)._wrap(getattr(self.mf, name))

    def __repr__(self) -> str:
        return f"<PyflareSync {self.mf.config.path}>"


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class SyncResponse:
    """A `workers.Response` whose body readers are plain calls."""

    def __init__(self, response: Response, run: Callable[[Awaitable[Any]], Any]) -> None:
        self.raw = response
        self._run = run

    @property
    def status(self) -> int:
        return self.raw.status

    @property
    def ok(self) -> bool:
        return self.raw.ok

    @property
    def headers(self) -> HeaderMessage:
        return self.raw.headers

    @property
    def body(self) -> Any:
        return self.raw.body

    @property
    def status_text(self) -> str:
        return self.raw.status_text

    def json(self) -> Any:
        """The body parsed as JSON (plain dicts and lists, as the SDK's `json()` gives)."""
        return self._run(self.raw.json())

    def text(self) -> str:
        text: str = self._run(self.raw.text())
        return text

    def bytes(self) -> bytes:
        data: bytes = self._run(self.raw.bytes())
        return data

    def __repr__(self) -> str:
        return repr(self.raw)


_PLAIN: tuple[type, ...] = (str, bytes, bytearray, int, float, complex, type(None), dict, list)
_PLAIN += (tuple, set, frozenset, datetime, date, Path)


class SyncProxy:
    """Wraps an engine object for synchronous code: a call that returns an awaitable is run to
    completion, and objects it hands back (other than plain data) are wrapped in turn."""

    __slots__ = ("_run", "_target")

    def __init__(self, target: Any, run: Callable[[Awaitable[Any]], Any]) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_run", run)

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, _PLAIN) or inspect.isawaitable(value):
            return value
        return SyncProxy(value, self._run)

    def __getattr__(self, name: str) -> Any:
        return self._wrap(getattr(self._target, name))

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, _unwrap(value))

    def __getitem__(self, key: Any) -> Any:
        return self._wrap(self._target[key])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self._target(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
        if inspect.isawaitable(result):
            return self._run(result)
        return self._wrap(result)

    def __iter__(self) -> Iterator[Any]:
        return (self._wrap(value) for value in self._target)

    def __len__(self) -> int:
        return len(self._target)

    def __contains__(self, value: object) -> bool:
        return value in self._target

    def __bool__(self) -> bool:
        return bool(self._target)

    def __repr__(self) -> str:
        return f"SyncProxy({self._target!r})"


def _unwrap(value: Any) -> Any:
    if isinstance(value, SyncProxy):
        return object.__getattribute__(value, "_target")
    if isinstance(value, list | tuple):
        return type(value)(_unwrap(v) for v in value)
    return value
