"""`QueueBroker`: batching, delays, retries and dead letters, as pure logic over a clock and a
store. It never imports a worker: the runtime hands it `deliver(batch)`.

When the store fails (disk full, I/O error), nothing is lost and no queue stalls:
- a send fails with `QueueSendError` naming the store, and nothing of it is kept;
- a batch is not started while its start cannot be recorded: its messages wait where they were;
- a batch's outcome that cannot be written is kept in memory, in order, and written before any
  later write; until then the broker writes nothing else (so the file never runs ahead of it).
Every `STORE_RETRY` seconds the broker tries again; the first write that succeeds resumes
delivery. The failure is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ..clock import Clock, TimerHandle, VirtualClock, spawn
from ..config_base import ConfigError
from ..logs import log_fast
from ..workers.context import inside_handler
from ..workers.jsdict import JsDict
from .config import QueueConsumerConfig
from .errors import QueueSendError
from .handle import Queues
from .message import BatchOutcome, Message, MessageBatch
from .metrics import QueueMetrics
from .producer import QueueProducer
from .serialize import decode
from .store import QueueStore, Record, StoreError

__all__ = ["Deliver", "QueueBroker", "QueueDrainError"]

logger = logging.getLogger("miniflare_py.queues")

Deliver = Callable[[MessageBatch], Awaitable[Any]]

#: Time jumps (virtual clock) or waits (real clock) after which `drain()` gives up.
MAX_DRAIN_ROUNDS: Final = 100_000
MAX_DRAIN_BATCHES: Final = 200_000
#: Seconds between two tries of a store that failed (well under the 5 s default batch timeout).
STORE_RETRY: Final = 0.1
# What a store raises when a write fails now and may succeed later.
_STORE_ERRORS = (StoreError, OSError)


class QueueDrainError(RuntimeError):
    """`drain()` found work that never ends (e.g. queues dead-lettering into each other)."""


class _Deadline:
    """A timer that is set to one time or to none; setting the same time again is free."""

    __slots__ = ("_clock", "_due", "_handle", "at")

    def __init__(self, clock: Clock, due: Callable[[], object]) -> None:
        self._clock = clock
        self._due = due
        self._handle: TimerHandle | None = None
        self.at: float | None = None

    def set(self, at: float | None) -> None:
        if at == self.at:
            return
        if self._handle is not None:
            self._handle.cancel()
        self.at = at
        self._handle = None if at is None else self._clock.call_at(at, self._fire)

    def _fire(self) -> None:
        # Forget the spent timer first, so `due` can set one for the same time again (a real
        # clock's timer may fire a hair early).
        self.at = self._handle = None
        self._due()


class _Queue:
    """The live state of one queue."""

    def __init__(
        self,
        name: str,
        consumer: QueueConsumerConfig | None,
        clock: Clock,
        pump: Callable[[_Queue], object],
    ) -> None:
        self.name = name
        self.consumer = consumer
        if consumer is not None:
            self.batch_size = consumer.max_batch_size
            self.timeout = float(consumer.max_batch_timeout)
            self.max_attempts = consumer.max_retries + 1
            self.dlq = consumer.dead_letter_queue
            self.retry_delay = consumer.retry_delay
            self.concurrency = consumer.max_concurrency or 1
        self.records: dict[int, Record] = {}  # every message held, by seq
        self.bytes = 0
        self.ready: deque[Record] = deque()  # deliverable now, in order
        self.delayed: list[tuple[float, int, Record]] = []  # heap of (available_at, seq, record)
        self.batches = 0  # in flight
        self.paused = False
        self.flush = _Deadline(clock, lambda: pump(self))  # when a partial batch is due
        self.delay = _Deadline(clock, lambda: pump(self))  # when the next delayed message is
        self.metrics = QueueMetrics()
        self.fail_sends = 0
        self.fail_error: BaseException | None = None

    @property
    def consumed(self) -> bool:
        return self.consumer is not None and not self.paused

    def track(self, record: Record) -> None:
        """Count `record` as held by this queue, without placing it (it is in flight)."""
        self.records[record.seq] = record
        self.bytes += record.size

    def hold(self, record: Record, now: float) -> None:
        self.track(record)
        self.place(record, now)

    def place(self, record: Record, now: float) -> None:
        """Put a held, not-in-flight record where it belongs: ready or delayed."""
        record.in_flight = False
        if record.available_at > now:
            heapq.heappush(self.delayed, (record.available_at, record.seq, record))
        else:
            self.ready.append(record)

    def release(self, record: Record, seq: int) -> None:
        del self.records[seq]
        self.bytes -= record.size

    def promote(self, now: float) -> None:
        """Make the delayed messages whose time has come deliverable."""
        delayed = self.delayed
        while delayed and delayed[0][0] <= now:
            self.ready.append(heapq.heappop(delayed)[2])

    def backlog(self) -> JsDict:
        records = self.records
        oldest = min(r.timestamp for r in records.values()) if records else 0
        return JsDict(
            backlogCount=len(records),
            backlogBytes=self.bytes,
            oldestMessageTimestamp=round(oldest * 1000),
        )


class QueueBroker:
    """Delivers the messages of every queue to `deliver(batch)` with the edge's rules.

    `deliver` raising means the handler threw. Call `await start()` before use and
    `await close()` at the end; everything not acked stays in the store (which the caller
    closes).
    """

    def __init__(
        self,
        *,
        clock: Clock,
        store: QueueStore,
        consumers: Iterable[QueueConsumerConfig] = (),
        queue_names: Iterable[str] = (),
        deliver: Deliver,
    ) -> None:
        self.clock = clock
        self.store = store
        #: The consumer callback; the runtime may swap it (e.g. after a reload).
        self.deliver = deliver
        self._queues: dict[str, _Queue] = {}
        for consumer in consumers:
            if consumer.queue in self._queues:
                raise ConfigError(
                    f'Multiple consumers defined for queue "{consumer.queue}": '
                    "a queue can only have one consumer"
                )
            if consumer.dead_letter_queue == consumer.queue:
                raise ConfigError(
                    f'Dead letter queue for queue "{consumer.queue}" cannot be itself'
                )
            self._queues[consumer.queue] = _Queue(consumer.queue, consumer, clock, self._pump)
        for consumer in consumers:
            if consumer.dead_letter_queue:
                self._queue(consumer.dead_letter_queue)
        for name in queue_names:
            self._queue(name)
        self._seq = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started = False
        self._closed = False
        # Batch outcomes the store refused, oldest first, written before any later write.
        self._unsaved: deque[Callable[[], None]] = deque()
        self._store_error: BaseException | None = None  # set while the store fails
        self._store_retry = _Deadline(clock, self._retry_store)
        # Batches drain() may still start: a bound for consumers that bounce messages forever.
        self._drain_budget: int | None = None
        self._virtual = isinstance(clock, VirtualClock)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the store (in-flight messages become deliverable, attempts kept) and start
        delivering."""
        records, _ = self.store.load()  # a StateError here names the file
        now = self.clock.now()
        for record in records:
            self._seq = max(self._seq, record.seq)
            if record.in_flight:
                record.available_at = min(record.available_at, now)
            self._queue(record.queue).hold(record, now)
        self._started = True
        for queue in self._queues.values():
            self._pump(queue)

    async def close(self) -> None:
        """Stop timers and wait for the batches in flight. The store stays open: it belongs to
        the caller, who may hand it to a new broker (a reload) or close it."""
        self._closed = True
        for queue in self._queues.values():
            queue.flush.set(None)
            queue.delay.set(None)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._store_retry.set(None)
        if self._unsaved and not self._flush():
            logger.error(
                "%d batch outcome(s) could not be saved (%s): their messages will be delivered "
                "again at the next start",
                len(self._unsaved),
                self._store_error,
            )

    # -- sending -------------------------------------------------------------------------------

    def check_send(self, queue: str) -> None:
        """Raise the failure injected with `fail_next_sends()`, if any is left."""
        q = self._queue(queue)
        if q.fail_sends:
            q.fail_sends -= 1
            raise q.fail_error or QueueSendError(
                "Queue send failed: injected failure (fail_next_sends)"
            )

    def enqueue(
        self,
        queue: str,
        messages: Sequence[tuple[str, bytes, int]],
        what: str = "Queue send failed",
    ) -> JsDict:
        """Store `(content_type, data, delay_seconds)` messages, then schedule them; returns
        the queue's backlog metrics after the send.

        Raises `QueueSendError` ("<what>: <why>") when the store cannot take them; then nothing
        of the send was kept.
        """
        if not self._started:
            raise RuntimeError("QueueBroker.start() must be awaited before sending")
        if self._unsaved and not self._flush():
            raise QueueSendError(f"{what}: {self._store_error}") from None
        q = self._queue(queue)
        now = self.clock.now()
        seq = self._seq
        records = []
        for content_type, data, delay in messages:
            seq += 1
            records.append(
                Record(
                    seq,
                    os.urandom(16).hex(),
                    queue,
                    content_type,
                    data,
                    len(data),
                    now,
                    0,
                    now + delay,
                )
            )
        # One commit for the new messages and, when they make a batch due at once, the start of
        # its delivery: the store is written before anything in memory changes (a failed write
        # undoes what `_pump` started).
        started: list[list[Record]] = []
        try:
            with self.store.transaction():
                self.store.add(records)
                started = self._pump(q, records)
        except _STORE_ERRORS as exc:
            # The commit failed after `_pump` started batches: none of it happened.
            for batch in reversed(started):
                self._undo_start(q, batch)
            self._store_failed(exc)
            raise QueueSendError(f"{what}: {exc}") from None
        self._store_ok()
        self._seq = seq
        for record in records:
            if record.in_flight:
                q.track(record)
            else:
                q.hold(record, now)
        for batch in started:
            self._spawn_batch(q, batch)
        if len(started) == 0 or any(not r.in_flight for r in records):
            self._pump(q)
        return q.backlog()

    async def settle_after_send(self) -> None:
        """Under a virtual clock, let due work (a full batch) finish before a send made by test
        code returns. Never from inside a handler: that would wait for itself."""
        if self._virtual and not inside_handler.get():
            await self.clock.settle()

    # -- delivery ------------------------------------------------------------------------------

    def _pump(self, q: _Queue, incoming: Sequence[Record] = ()) -> list[list[Record]]:
        """Start every batch that is due, then set the timers for the next ones.

        `incoming` are records being sent and not yet held: the batches that take any of them
        are returned with their start recorded, for the caller to spawn once it holds them (and
        to pump again, which sets the timers for the records no batch took).
        """
        if self._closed or not self._started:
            return []
        now = self.clock.now()
        if q.delayed:
            q.promote(now)
        ready = q.ready
        pending = [r for r in incoming if r.available_at <= now]
        started: list[list[Record]] = []
        if q.consumed:
            size = q.batch_size
            starved = False
            try:
                if self._unsaved and not incoming and not self._flush():
                    starved = True  # earlier outcomes first; the retry timer pumps again
                while (ready or pending) and q.batches < q.concurrency and not starved:
                    first = ready[0] if ready else pending[0]
                    if len(ready) + len(pending) < size and now < first.available_at + q.timeout:
                        break
                    if self._drain_budget is not None:
                        if self._drain_budget <= 0:
                            starved = True  # drain() gives up; no timer either, it would spin
                            break
                        self._drain_budget -= 1
                    batch = [ready.popleft() for _ in range(min(size, len(ready)))]
                    taken = pending[: size - len(batch)]
                    del pending[: len(taken)]
                    batch += taken
                    started.append(batch)
                    self._start_delivery(q, batch)
            except _STORE_ERRORS as exc:
                # The start was not recorded: put every batch of this call back and wait.
                for batch in reversed(started):
                    self._undo_start(q, batch)
                started = []
                if incoming:
                    raise  # the send fails; its transaction rolls back
                self._store_failed(exc)
                starved = True
            due = ready and q.batches < q.concurrency and not starved
            q.flush.set(ready[0].available_at + q.timeout if due else None)
        else:
            q.flush.set(None)
        q.delay.set(q.delayed[0][0] if q.delayed else None)
        if incoming:
            return started  # spawned by enqueue() once its transaction has committed
        if started:
            self._store_ok()
        for batch in started:
            self._spawn_batch(q, batch)
        return []

    def _start_delivery(self, q: _Queue, batch: list[Record]) -> None:
        q.batches += 1
        for record in batch:
            record.attempts += 1
            record.in_flight = True
        self.store.start_delivery(batch)

    def _undo_start(self, q: _Queue, batch: list[Record]) -> None:
        """Take back a start the store did not record: the batch's messages wait again at the
        front of the queue, in order (new messages of a failed send are simply dropped)."""
        q.batches -= 1
        for record in reversed(batch):
            record.attempts -= 1
            record.in_flight = False
            if record.seq in q.records:
                q.ready.appendleft(record)

    # -- store failures ------------------------------------------------------------------------

    def _store_failed(self, exc: BaseException) -> None:
        """Note a store failure: log it (once while it lasts) and try again soon."""
        if self._store_error is None:
            logger.error(
                "%s: queue delivery waits and sends fail until it can be written again", exc
            )
        self._store_error = exc
        if not self._closed:
            self._store_retry.set(self.clock.now() + STORE_RETRY)

    def _store_ok(self) -> None:
        if self._store_error is not None:
            self._store_error = None
            self._store_retry.set(None)
            logger.warning("The queue store can be written again: delivery resumed")

    def _flush(self) -> bool:
        """Write the outcomes the store refused before, oldest first; False if it still fails."""
        unsaved = self._unsaved
        if not unsaved:
            return True
        while unsaved:
            try:
                unsaved[0]()
            except _STORE_ERRORS as exc:
                self._store_failed(exc)
                return False
            unsaved.popleft()
        self._store_ok()
        return True

    def _retry_store(self) -> None:
        if self._closed:
            return
        if self._flush():
            for queue in self._queues.values():
                self._pump(queue)

    def _spawn_batch(self, q: _Queue, batch: list[Record]) -> None:
        task = spawn(self.clock, self._run_batch(q, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_batch(self, q: _Queue, batch: list[Record]) -> None:
        try:
            await self._deliver_batch(q, batch)
        except Exception:
            # A bug, not the handler (its errors are caught in _call): never leave the batch in
            # flight for good. Its messages are retried, with this attempt counted.
            logger.exception('Queue batch on "%s" failed; its messages will be retried', q.name)
            self._settle(q, batch, {r.id: None for r in batch}, 0)
        finally:
            q.batches -= 1
            self._pump(q)

    async def _deliver_batch(self, q: _Queue, batch: list[Record]) -> None:
        outcome = BatchOutcome()
        messages = [
            Message(
                r.id,
                datetime.fromtimestamp(r.timestamp, UTC),
                decode(r.data, r.content_type),
                r.attempts,
                outcome,
            )
            for r in batch
        ]
        metadata = JsDict(metrics=q.backlog())
        raised, ms = await self._call(MessageBatch(q.name, messages, outcome, metadata))
        _, retried = outcome.resolve([r.id for r in batch], raised)
        self._settle(q, batch, retried, ms)

    async def _call(self, batch: MessageBatch) -> tuple[bool, int]:
        """Run the consumer: (whether it raised, milliseconds of wall time for the log line)."""
        token = inside_handler.set(True)
        started = time.perf_counter()
        raised = False
        try:
            await self.deliver(batch)
        except Exception as exc:
            raised = True
            # Reporting the traceback is the runtime's job (its deliver callback logs it).
            logger.debug(
                'Queue handler for "%s" raised %s: %s', batch.queue, type(exc).__name__, exc
            )
        finally:
            inside_handler.reset(token)
        return raised, round((time.perf_counter() - started) * 1000)

    def _settle(
        self, q: _Queue, batch: list[Record], retried: dict[str, int | None], ms: int
    ) -> None:
        now = self.clock.now()
        removed: list[Record] = []
        again: list[Record] = []
        moved: list[tuple[int, Record]] = []
        dropped = 0
        dlq = self._queue(q.dlq) if q.consumer is not None and q.dlq else None
        for record in batch:
            if record.id not in retried:
                removed.append(record)
                continue
            if record.attempts < q.max_attempts:
                delay = retried[record.id]
                record.available_at = now + (q.retry_delay if delay is None else delay)
                again.append(record)
                logger.debug('Retrying message "%s" on queue "%s"...', record.id, q.name)
                continue
            s = "" if record.attempts == 1 else "s"
            if dlq is not None:
                logger.warning(
                    'Moving message "%s" on queue "%s" to dead letter queue "%s" after %d '
                    "failed attempt%s...",
                    record.id, q.name, dlq.name, record.attempts, s,
                )  # fmt: skip
                self._seq += 1
                moved.append((record.seq, record))
            else:
                logger.warning(
                    'Dropped message "%s" on queue "%s" after %d failed attempt%s!',
                    record.id, q.name, record.attempts, s,
                )  # fmt: skip
                removed.append(record)
                dropped += 1
        acked = len(removed) - dropped
        new_seqs = range(self._seq - len(moved) + 1, self._seq + 1)
        old_seqs = [old for old, _ in moved]
        for (_, record), seq in zip(moved, new_seqs, strict=True):
            assert dlq is not None
            record.seq = seq
            record.queue = dlq.name
            record.attempts = 0
            record.available_at = now
        counts = {q.name: {"acked": acked, "retried": len(again)}}
        counts[q.name].update(dead_lettered=len(moved), dropped=dropped)
        self._save_outcome(removed, again, moved, counts)

        for record in removed:
            q.release(record, record.seq)
        for record in again:
            q.place(record, now)
        for old, (_, record) in zip(old_seqs, moved, strict=True):
            q.release(record, old)
            dlq.hold(record, now)  # type: ignore[union-attr]
        q.metrics.record(now, acked, len(again), len(moved), dropped)
        log_fast(logger, logging.INFO, "QUEUE %s %d/%d (%dms)", q.name, acked, len(batch), ms)
        if dlq is not None and moved:
            self._pump(dlq)

    def _save_outcome(
        self,
        removed: list[Record],
        again: list[Record],
        moved: list[tuple[int, Record]],
        counts: dict[str, dict[str, int]],
    ) -> None:
        """Write a batch's outcome, or keep it for later when the store fails (the caller goes
        on as if it were written: at worst, after a crash, those messages come again).

        A kept write reads its records when it runs; they do not change before: nothing is
        delivered again while an earlier outcome waits (`_pump` flushes first).
        """

        if self._unsaved and not self._flush():
            self._unsaved.append(lambda: self.store.finish_delivery(removed, again, moved, counts))
            return
        try:
            self.store.finish_delivery(removed, again, moved, counts)
        except _STORE_ERRORS as exc:
            self._unsaved.append(lambda: self.store.finish_delivery(removed, again, moved, counts))
            self._store_failed(exc)

    # -- steering (used by QueueHandle: the Local Explorer's redrive and purge) -----------------

    def dead_letter_sources(self, name: str) -> list[str]:
        """The queues whose consumer names `name` as its `dead_letter_queue`."""
        return sorted(
            q.name for q in self._queues.values() if q.consumer is not None and q.dlq == name
        )

    def redrive(self, name: str, ids: Sequence[str] | None = None, to: str | None = None) -> int:
        """Move the messages of dead letter queue `name` that wait there (all, or those of
        `ids`) back to their source queue `to` (the only queue whose consumer names `name` as
        its DLQ, when not given): same id, body and timestamp, deliverable now, `attempts`
        counted from 1 again. Messages in flight stay. Returns how many moved.

        Raises `ValueError` (one line) when there is no single source queue to pick, and
        `StoreError` when the store cannot be written (then nothing moved).
        """
        q = self.queue_state(name)
        sources = self.dead_letter_sources(name)
        if to is None:
            if len(sources) != 1:
                raise ValueError(
                    f'no source queue to redrive "{name}" to: no consumer names it as its '
                    "dead_letter_queue"
                    if not sources
                    else f'"{name}" is the dead letter queue of {", ".join(sources)}: name one'
                )
            to = sources[0]
        if to == name:
            raise ValueError(f'cannot redrive "{name}" into itself')
        target = self.queue_state(to)
        records = self._waiting(q, ids)
        if not records:
            return 0
        now = self.clock.now()
        first = self._seq + 1
        moved = []
        for seq, record in zip(range(first, first + len(records)), records, strict=True):
            copy = Record(
                seq,
                record.id,
                to,
                record.content_type,
                record.data,
                record.size,
                record.timestamp,
                0,
                now,
            )
            moved.append((record.seq, copy))
        self._write(lambda: self.store.finish_delivery([], [], moved, {}))
        self._seq = first + len(records) - 1
        self._forget(q, records)
        for _, record in moved:
            target.hold(record, now)
        self._pump(q)
        self._pump(target)
        return len(moved)

    def purge(self, name: str, ids: Sequence[str] | None = None) -> int:
        """Delete the messages of `name` that wait (all, or those of `ids`): pending and
        delayed ones; a batch in flight finishes as it would. Returns how many went."""
        q = self.queue_state(name)
        records = self._waiting(q, ids)
        if records:
            self._write(lambda: self.store.finish_delivery(records, [], [], {}))
            self._forget(q, records)
            self._pump(q)
        return len(records)

    def _waiting(self, q: _Queue, ids: Sequence[str] | None) -> list[Record]:
        """The held records of `q` that are not in flight (those of `ids`), in queue order."""
        wanted = None if ids is None else set(ids)
        return [
            r
            for _, r in sorted(q.records.items())
            if not r.in_flight and (wanted is None or r.id in wanted)
        ]

    def _write(self, write: Callable[[], None]) -> None:
        """One store write made by hand (redrive, purge): after the outcomes still unsaved, and
        raising `StoreError` (nothing written) when the store fails."""
        if self._unsaved and not self._flush():
            raise StoreError(str(self._store_error))
        try:
            with self.store.transaction():
                write()
        except _STORE_ERRORS as exc:
            self._store_failed(exc)
            raise StoreError(str(exc)) from None
        self._store_ok()

    @staticmethod
    def _forget(q: _Queue, records: list[Record]) -> None:
        """Take waiting `records` out of `q`'s memory (the store already let them go)."""
        gone = {r.seq for r in records}
        for record in records:
            q.release(record, record.seq)
        q.ready = deque(r for r in q.ready if r.seq not in gone)
        q.delayed = [entry for entry in q.delayed if entry[1] not in gone]
        heapq.heapify(q.delayed)

    # -- inspection (used by Queues / QueueHandle) ---------------------------------------------

    def _queue(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue(name, None, self.clock, self._pump)
        return queue

    def has_work(self) -> bool:
        """True while a consumed, unpaused queue holds a deliverable or delayed message, any
        batch is in flight, or an outcome waits to be written."""
        return (
            bool(self._tasks)
            or bool(self._unsaved)
            or any(q.consumed and (q.ready or q.delayed) for q in self._queues.values())
        )

    def next_deadline(self) -> float | None:
        """When the broker next has something to do on its own (a partial batch, a delay, or
        another try of a failing store)."""
        times = [
            at
            for q in self._queues.values()
            if q.consumed
            for at in (q.flush.at, q.delay.at)
            if at is not None
        ]
        if self._store_retry.at is not None:
            times.append(self._store_retry.at)
        return min(times, default=None)

    async def drain(self) -> None:
        """Deliver until no consumed, unpaused queue holds a deliverable or delayed message and
        nothing is in flight. A virtual clock jumps to each next deadline; a real one waits."""
        clock = self.clock
        self._drain_budget = MAX_DRAIN_BATCHES
        try:
            await self._drain(clock)
        finally:
            self._drain_budget = None
            for queue in self._queues.values():
                self._pump(queue)  # restore the timers a starved pump left unset

    async def _drain(self, clock: Clock) -> None:
        for _ in range(MAX_DRAIN_ROUNDS):
            await clock.settle()
            if self._drain_budget is not None and self._drain_budget <= 0 and self.has_work():
                busy = sorted(q.name for q in self._queues.values() if q.consumed and q.records)
                raise QueueDrainError(
                    f"drain() started {MAX_DRAIN_BATCHES} batches and work is left on queues "
                    f"{busy}: a consumer may be retrying forever (e.g. two queues that "
                    "dead-letter into each other)"
                )
            if not self.has_work():
                return
            deadline = self.next_deadline()
            if isinstance(clock, VirtualClock):
                if deadline is None or deadline <= clock.now():
                    # Work in flight waits on a timer of its own (a model's latency, a sleep
                    # on the clock): jump to it, nothing else can move first.
                    deadline = clock.next_deadline()
                if deadline is not None and deadline > clock.now():
                    await clock.advance_to(deadline)
                else:
                    await asyncio.sleep(0)
            else:
                wait = 0.05 if deadline is None else deadline - clock.now()
                await asyncio.sleep(min(max(wait, 0.001), 0.05))
        busy = sorted(q.name for q in self._queues.values() if q.consumed and q.records)
        raise QueueDrainError(
            f"drain() gave up after {MAX_DRAIN_ROUNDS} rounds with work left on queues {busy}: "
            "a consumer may be retrying forever (e.g. two queues that dead-letter into each other)"
        )

    # internal state for QueueHandle
    def queue_state(self, name: str) -> _Queue:
        if name not in self._queues:
            raise KeyError(f"unknown queue {name!r} (known: {', '.join(sorted(self._queues))})")
        return self._queues[name]

    def queue_names(self) -> list[str]:
        return list(self._queues)

    def producer(self, queue: str, delivery_delay: int = 0) -> QueueProducer:
        """The env binding object for `queue`."""
        self._queue(queue)
        return QueueProducer(self, queue, delivery_delay)

    @property
    def queues(self) -> Queues:
        """What `mf.queues` is: a `Queues` view of this broker."""
        return Queues(self)
