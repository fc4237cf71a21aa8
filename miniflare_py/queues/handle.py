"""`mf.queues` (`Queues`) and `mf.queues[name]` (`QueueHandle`): inspect and steer queues
from tests and tools."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..workers.context import inside_handler
from ..workers.jsdict import JsDict
from .message import BatchOutcome, Message, MessageBatch
from .ports import BrokerPort
from .serialize import decode

__all__ = ["QueueHandle", "Queues"]


class Queues:
    """Every queue the broker knows (producers', consumers' and dead letter queues)."""

    def __init__(self, broker: BrokerPort) -> None:
        self._broker = broker

    def __getitem__(self, name: str) -> QueueHandle:
        self._broker.queue_state(name)  # KeyError naming the known queues
        return QueueHandle(self._broker, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._broker.queue_names())

    def __len__(self) -> int:
        return len(self._broker.queue_names())

    def __contains__(self, name: object) -> bool:
        return name in self._broker.queue_names()

    async def drain(self) -> None:
        """Deliver until no consumed, unpaused queue holds a deliverable or delayed message and
        nothing is in flight; a virtual clock jumps ahead instead of sleeping."""
        await self._broker.drain()

    def stats(self) -> dict[str, JsDict]:
        """`stats()` of every queue, by name."""
        return {name: self[name].stats() for name in self}

    def __repr__(self) -> str:
        return f"Queues({list(self)!r})"


class QueueHandle:
    """One queue: `stats()`, `messages()`, `pause()` / `resume()`, `fail_next_sends()`,
    `deliver()` (and its parts, `batch()` and `run_consumer()`); for a dead letter queue
    `redrive()`, and `purge()`."""

    def __init__(self, broker: BrokerPort, name: str) -> None:
        self._broker = broker
        self.name = name

    @property
    def _q(self) -> Any:
        return self._broker.queue_state(self.name)

    def stats(self) -> JsDict:
        """`pending` (deliverable now), `delayed`, `in_flight`; `acked`, `retried`,
        `dead_lettered`, `dropped` since start; `processing_rate` (acked/minute),
        `failure_rate` and `retry_rate` over the last minute; `dlq`; `consumer`."""
        q = self._q
        now = self._broker.clock.now()
        q.promote(now)
        in_flight = len(q.records) - len(q.ready) - len(q.delayed)
        return JsDict(
            pending=len(q.ready),
            delayed=len(q.delayed),
            in_flight=in_flight,
            **q.metrics.counts,
            **q.metrics.rates(now),
            dlq=q.dlq if q.consumer is not None else None,
            consumer=q.consumer is not None,
        )

    def messages(self) -> list[JsDict]:
        """Every message held, in delivery order: in flight, then pending, then delayed
        (`id`, `body`, `attempts` so far, `timestamp`, `state`, `available_at` in seconds since
        the epoch, `content_type`, `size` in bytes as stored)."""
        q = self._q
        q.promote(self._broker.clock.now())
        in_flight = [r for r in q.records.values() if r.in_flight]
        delayed = [r for _, _, r in sorted(q.delayed)]
        return [
            JsDict(
                id=r.id,
                body=decode(r.data, r.content_type),
                attempts=r.attempts,
                timestamp=datetime.fromtimestamp(r.timestamp, UTC),
                state=state,
                available_at=r.available_at,
                content_type=r.content_type,
                size=r.size,
            )
            for state, records in (
                ("in_flight", in_flight),
                ("pending", q.ready),
                ("delayed", delayed),
            )
            for r in records
        ]

    def pause(self) -> None:
        """Stop starting batches (messages keep arriving and wait as `pending`)."""
        self._q.paused = True
        self._broker._pump(self._q)

    def resume(self) -> None:
        """Start delivering again; batches that became due meanwhile go at once."""
        self._q.paused = False
        self._broker._pump(self._q)

    @property
    def paused(self) -> bool:
        """Whether delivery is paused (`pause()`, or while the worker cannot be imported)."""
        return bool(self._q.paused)

    @property
    def dead_letter_sources(self) -> list[str]:
        """The queues whose consumer names this one as its `dead_letter_queue`."""
        return self._broker.dead_letter_sources(self.name)

    def redrive(self, ids: Sequence[str] | None = None, to: str | None = None) -> int:
        """Move the dead-lettered messages waiting here (all, or those of `ids`) back to their
        source queue (`to`, or the one queue whose consumer names this one as its DLQ): same
        id, body and timestamp, deliverable at once, `attempts` starting at 1 again. Messages
        in flight stay. Returns how many moved; `ValueError` when there is no single source."""
        return self._broker.redrive(self.name, ids, to)

    def purge(self, ids: Sequence[str] | None = None) -> int:
        """Delete the messages waiting here (all, or those of `ids`; a batch in flight
        finishes). Returns how many were deleted."""
        return self._broker.purge(self.name, ids)

    def fail_next_sends(self, n: int = 1, error: BaseException | None = None) -> None:
        """Make the next `n` sends / sendBatches to this queue raise `error` (default a
        `QueueSendError`), storing nothing."""
        q = self._q
        q.fail_sends = n
        q.fail_error = error

    @property
    def retry_delay(self) -> int:
        """Seconds a retried message waits when neither `retry()` nor `retryAll()` names a
        delay: the consumer's `retry_delay` (0 without a consumer)."""
        q = self._q
        return q.retry_delay if q.consumer is not None else 0

    def batch(self, messages: Sequence[Any]) -> MessageBatch:
        """A batch of made-up messages for this queue's consumer, stored nowhere: each item is a
        body, or a dict with `body` and optional `id`, `attempts`, `timestamp` (a datetime or
        seconds since the epoch; default now on the runtime's clock)."""
        outcome = BatchOutcome()
        now = self._broker.clock.now()
        batch: list[Message] = []
        for item in messages:
            spec = item if isinstance(item, Mapping) and "body" in item else {"body": item}
            timestamp = spec.get("timestamp", now)
            if not isinstance(timestamp, datetime):
                timestamp = datetime.fromtimestamp(timestamp, UTC)
            batch.append(
                Message(
                    spec.get("id") or os.urandom(16).hex(),
                    timestamp,
                    spec["body"],
                    spec.get("attempts", 1),
                    outcome,
                )
            )
        return MessageBatch(self.name, batch, outcome)

    async def run_consumer(self, batch: MessageBatch) -> Exception | None:
        """Hand `batch` to the consumer, as a delivery does (no store, no counters); returns
        what the handler raised, or None. Its calls are on `batch`'s outcome."""
        token = inside_handler.set(True)
        try:
            await self._broker.deliver(batch)
        except Exception as exc:
            return exc
        finally:
            inside_handler.reset(token)
        return None

    async def deliver(self, messages: Sequence[Any]) -> JsDict:
        """Hand a made-up batch straight to the consumer (no store, no counters); each item is a
        body, or a dict with `body` and optional `id`, `attempts`, `timestamp`. Returns
        `{"outcome": "ok" | "exception", "error", "acked": [ids], "retried": [ids]}`."""
        batch = self.batch(messages)
        error = await self.run_consumer(batch)
        ids = [m.id for m in batch.messages]
        acked, retried = batch._outcome.resolve(ids, error is not None)
        return JsDict(
            outcome="ok" if error is None else "exception",
            error=None if error is None else f"{type(error).__name__}: {error}",
            acked=acked,
            retried=list(retried),
        )

    def __repr__(self) -> str:
        return f"QueueHandle({self.name!r})"
