"""`BrokerPort`: what the producer binding and the queue handles need of the broker.

They depend on this protocol rather than on `QueueBroker` itself, so that the broker can build
them without an import cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from ..clock import Clock
from ..workers.jsdict import JsDict
from .message import MessageBatch

__all__ = ["BrokerPort"]


class BrokerPort(Protocol):
    clock: Clock
    deliver: Callable[[MessageBatch], Awaitable[Any]]

    def check_send(self, queue: str) -> None: ...

    def enqueue(
        self,
        queue: str,
        messages: Sequence[tuple[str, bytes, int]],
        what: str = "Queue send failed",
    ) -> JsDict: ...

    async def settle_after_send(self) -> None: ...

    async def drain(self) -> None: ...

    def queue_state(self, name: str) -> Any: ...

    def queue_names(self) -> list[str]: ...

    def dead_letter_sources(self, name: str) -> list[str]: ...

    def redrive(
        self, name: str, ids: Sequence[str] | None = None, to: str | None = None
    ) -> int: ...

    def purge(self, name: str, ids: Sequence[str] | None = None) -> int: ...

    def _pump(self, q: Any, incoming: Sequence[Any] = ()) -> Any: ...
