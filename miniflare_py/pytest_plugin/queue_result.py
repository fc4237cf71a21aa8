"""`QueueBatchResult`: what a queue consumer decided about a batch a test handed it.

The fields follow what `getQueueResult()` reports in Cloudflare's vitest integration (the
handler's own calls), named the Python way; `acked` and `retried` add what the broker does with
those decisions (the same rules as a real delivery, `BatchOutcome.resolve`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..queues.message import BatchOutcome, Message

__all__ = ["QueueBatchResult", "RetryBatch", "RetryMessage", "result_of"]


@dataclass(frozen=True)
class RetryBatch:
    """Whether the handler called `batch.retryAll()`, and the `delaySeconds` it gave."""

    retry: bool
    delay_seconds: int | None = None


@dataclass(frozen=True)
class RetryMessage:
    """A message to retry: its id and the delay in seconds (None: none given, so the batch's or
    the consumer's `retry_delay`)."""

    id: str
    delay_seconds: int | None = None


@dataclass(frozen=True)
class QueueBatchResult:
    """What the consumer did with a batch.

    The handler's own calls: `outcome` ("ok", or "exception" when it raised, with `error` and
    `exception`), `ack_all` (`ackAll()` was called), `retry_batch` (`retryAll()`),
    `explicit_acks` (ids given `ack()`), `retry_messages` (ids given `retry()`, with the delay).

    What the broker does with them: `acked` (ids removed from the queue) and `retried` (ids
    delivered again, each with the delay it waits: its own, else the batch's, else the
    consumer's `retry_delay`, else 0). A retried message on its last attempt goes to the dead
    letter queue instead (or is dropped), as in a real delivery.
    """

    outcome: Literal["ok", "exception"]
    ack_all: bool
    retry_batch: RetryBatch
    explicit_acks: list[str]
    retry_messages: list[RetryMessage]
    acked: list[str]
    retried: list[RetryMessage]
    error: str | None = None
    exception: BaseException | None = None


def result_of(
    messages: Sequence[Message],
    outcome: BatchOutcome,
    error: BaseException | None,
    retry_delay: int = 0,
) -> QueueBatchResult:
    """The result of a batch of `messages` whose calls were recorded on `outcome`."""
    ids = [m.id for m in messages]
    acked, retried = outcome.resolve(ids, error is not None)
    return QueueBatchResult(
        outcome="ok" if error is None else "exception",
        ack_all=outcome.ack_all,
        retry_batch=RetryBatch(outcome.retry_all, outcome.retry_all_delay),
        explicit_acks=[i for i in ids if i in outcome.acks],
        retry_messages=[RetryMessage(i, outcome.retries[i]) for i in ids if i in outcome.retries],
        acked=acked,
        retried=[
            RetryMessage(i, retry_delay if delay is None else delay) for i, delay in retried.items()
        ],
        error=None if error is None else f"{type(error).__name__}: {error}",
        exception=error,
    )
