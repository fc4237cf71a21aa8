"""Redrive and purge (the Local Explorer's queue actions), through `mf.queues[name]`, on a
virtual clock, with the message store in memory and in SQLite (they must survive a restart)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from miniflare_py.clock import VirtualClock
from miniflare_py.config import QueueConsumerConfig
from miniflare_py.queues import MemoryStore, MessageBatch, QueueBroker, SqliteStore
from miniflare_py.queues.store import StoreError

pytestmark = pytest.mark.asyncio

T0 = 1_700_000_000.0


class Seen:
    """A consumer that fails `q` while `failing` and records every delivery."""

    def __init__(self) -> None:
        self.failing = True
        self.deliveries: list[tuple[str, list[str], list[int], list[Any]]] = []

    async def __call__(self, batch: MessageBatch) -> None:
        self.deliveries.append(
            (
                batch.queue,
                [m.id for m in batch.messages],
                [m.attempts for m in batch.messages],
                [m.timestamp for m in batch.messages],
            )
        )
        if batch.queue == "q" and self.failing:
            raise RuntimeError("consumer failed")


def consumers(dlq_consumed: bool = False) -> list[QueueConsumerConfig]:
    found = [QueueConsumerConfig("q", max_batch_size=1, max_retries=1, dead_letter_queue="dlq")]
    if dlq_consumed:
        found.append(QueueConsumerConfig("dlq", max_batch_size=10, max_batch_timeout=1))
    return found


async def dead_lettered(store: Any, seen: Seen, n: int = 2) -> QueueBroker:
    broker = QueueBroker(
        clock=VirtualClock(start=T0), store=store, consumers=consumers(), deliver=seen
    )
    await broker.start()
    for i in range(n):
        await broker.producer("q").send({"task": i})
    await broker.drain()
    assert broker.queues["dlq"].stats().pending == n
    return broker


async def test_redrive_all_moves_messages_back_with_id_body_timestamp_and_fresh_attempts() -> None:
    seen = Seen()
    broker = await dead_lettered(MemoryStore(), seen)
    dlq = broker.queues["dlq"]
    before = {m.id: m for m in dlq.messages()}
    assert dlq.dead_letter_sources == ["q"]
    seen.failing = False
    assert dlq.redrive() == 2
    await broker.drain()
    assert dlq.messages() == []
    redelivered = [d for d in seen.deliveries[-2:]]
    assert [d[0] for d in redelivered] == ["q", "q"]
    assert {d[1][0] for d in redelivered} == set(before)
    assert [d[2] for d in redelivered] == [[1], [1]]  # attempts start at 1 again
    for _, (id_,), _, (timestamp,) in redelivered:
        assert timestamp == before[id_].timestamp
    assert broker.queues["q"].stats().acked == 2
    await broker.close()


async def test_redrive_one_message_leaves_the_others() -> None:
    seen = Seen()
    broker = await dead_lettered(MemoryStore(), seen, n=3)
    dlq = broker.queues["dlq"]
    first, second, third = dlq.messages()
    assert dlq.redrive([second.id]) == 1
    assert [m.id for m in dlq.messages()] == [first.id, third.id]
    await broker.drain()  # still failing: it comes back to the DLQ after its retries
    assert [m.id for m in dlq.messages()] == [first.id, third.id, second.id]
    assert [m.body for m in dlq.messages()][-1] == {"task": 1}
    await broker.close()


async def test_redrive_needs_a_single_source_queue() -> None:
    broker = QueueBroker(
        clock=VirtualClock(start=T0),
        store=MemoryStore(),
        consumers=[
            QueueConsumerConfig("a", dead_letter_queue="dlq"),
            QueueConsumerConfig("b", dead_letter_queue="dlq"),
        ],
        queue_names=["lonely"],
        deliver=Seen(),
    )
    await broker.start()
    with pytest.raises(ValueError, match=r'"dlq" is the dead letter queue of a, b: name one'):
        broker.queues["dlq"].redrive()
    with pytest.raises(ValueError, match="no consumer names it as its dead_letter_queue"):
        broker.queues["lonely"].redrive()
    assert broker.queues["dlq"].redrive(to="b") == 0
    with pytest.raises(KeyError, match="unknown queue 'nope'"):
        broker.queues["dlq"].redrive(to="nope")
    await broker.close()


async def test_purge_deletes_waiting_messages_pending_and_delayed() -> None:
    broker = QueueBroker(
        clock=VirtualClock(start=T0), store=MemoryStore(), queue_names=["q"], deliver=Seen()
    )
    await broker.start()
    producer = broker.producer("q")
    await producer.send("now")
    await producer.send("later", delaySeconds=60)
    await producer.send("keep")
    handle = broker.queues["q"]
    keep = next(m.id for m in handle.messages() if m.body == "keep")
    assert handle.purge([m.id for m in handle.messages() if m.id != keep]) == 2
    assert [m.body for m in handle.messages()] == ["keep"]
    assert (handle.stats().pending, handle.stats().delayed) == (1, 0)
    assert handle.purge() == 1
    assert handle.messages() == [] and handle.purge() == 0
    await broker.close()


async def test_redrive_and_purge_are_durable(tmp_path: Path) -> None:
    path = tmp_path / "queues.sqlite"
    seen = Seen()
    store = SqliteStore(path)
    broker = await dead_lettered(store, seen, n=3)
    dlq = broker.queues["dlq"]
    ids = [m.id for m in dlq.messages()]
    broker.queues["q"].pause()  # the redriven message waits in q, as stored
    assert dlq.redrive([ids[0]]) == 1
    assert dlq.purge([ids[1]]) == 1
    await broker.close()
    store.close()

    store = SqliteStore(path)
    records, _ = store.load()
    assert [(r.queue, r.id, r.attempts) for r in records] == [
        ("dlq", ids[2], 0),
        ("q", ids[0], 0),  # attempts start at 1 again at its next delivery
    ]
    store.close()


async def test_a_store_that_fails_moves_nothing() -> None:
    class FailingStore(MemoryStore):
        fail = False

        def finish_delivery(self, *args: Any) -> None:
            if self.fail:
                raise StoreError("The queue store x could not be written: disk full")
            super().finish_delivery(*args)

    store = FailingStore()
    broker = await dead_lettered(store, Seen())
    dlq = broker.queues["dlq"]
    store.fail = True
    with pytest.raises(StoreError, match="disk full"):
        dlq.redrive()
    with pytest.raises(StoreError, match="disk full"):
        dlq.purge()
    assert len(dlq.messages()) == 2 and broker.queues["q"].messages() == []
    store.fail = False
    assert dlq.redrive() == 2
    await broker.close()


async def test_in_flight_messages_are_neither_redriven_nor_purged() -> None:
    import asyncio

    release = asyncio.Event()

    class Slow(Seen):
        async def __call__(self, batch: MessageBatch) -> None:
            await super().__call__(batch)
            if batch.queue == "dlq":
                await release.wait()

    clock = VirtualClock(start=T0)
    broker = QueueBroker(
        clock=clock, store=MemoryStore(), consumers=consumers(dlq_consumed=True), deliver=Slow()
    )
    await broker.start()
    await broker.producer("q").send("x")
    # The DLQ's batch starts after its 1 s timeout and waits (advance() returns once it ends).
    advancing = asyncio.create_task(clock.advance(1))
    dlq = broker.queues["dlq"]
    for _ in range(100):
        if dlq.stats().in_flight:
            break
        await asyncio.sleep(0)
    assert dlq.stats().in_flight == 1
    assert dlq.redrive() == 0 and dlq.purge() == 0
    release.set()
    await advancing
    await broker.drain()
    assert dlq.stats().acked == 1
    await broker.close()
