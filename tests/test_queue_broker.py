"""Queue semantics (DESIGN.md §4) on a virtual clock: batching, retries, delays, dead letters."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from miniflare_py.clock import RealClock, VirtualClock
from miniflare_py.config import ConfigError, QueueConsumerConfig
from miniflare_py.queues import MemoryStore, MessageBatch, QueueBroker
from miniflare_py.workers.context import inside_handler

pytestmark = pytest.mark.asyncio

T0 = 1_700_000_000.0
Handler = Callable[[MessageBatch], Awaitable[None]]


@dataclass
class Delivery:
    at: float  # seconds after T0
    queue: str
    bodies: list[Any]
    attempts: list[int]
    ids: list[str]
    timestamps: list[Any]


@dataclass
class Edge:
    """A broker on a virtual clock that records every delivery."""

    clock: VirtualClock
    broker: QueueBroker
    deliveries: list[Delivery] = field(default_factory=list)
    handlers: dict[str, Handler] = field(default_factory=dict)

    def of(self, queue: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.queue == queue]

    @property
    def elapsed(self) -> float:
        return self.clock.now() - T0


@pytest_asyncio.fixture
async def make_edge() -> AsyncIterator[Callable[..., Awaitable[Edge]]]:
    edges: list[Edge] = []

    async def make(*consumers: QueueConsumerConfig, queues: tuple[str, ...] = ("q",)) -> Edge:
        clock = VirtualClock(start=T0)
        edge: Edge

        async def deliver(batch: MessageBatch) -> None:
            edge.deliveries.append(
                Delivery(
                    clock.now() - T0,
                    batch.queue,
                    [m.body for m in batch.messages],
                    [m.attempts for m in batch.messages],
                    [m.id for m in batch.messages],
                    [m.timestamp for m in batch.messages],
                )
            )
            handler = edge.handlers.get(batch.queue)
            if handler is not None:
                await handler(batch)

        broker = QueueBroker(
            clock=clock, store=MemoryStore(), consumers=consumers, queue_names=queues,
            deliver=deliver,
        )  # fmt: skip
        edge = Edge(clock, broker)
        await broker.start()
        edges.append(edge)
        return edge

    yield make
    for edge in edges:
        await edge.broker.close()


def consumer(queue: str = "q", **options: Any) -> QueueConsumerConfig:
    return QueueConsumerConfig(queue, **options)


async def always_raise(batch: MessageBatch) -> None:
    raise RuntimeError("consumer failed")


# -- batching --------------------------------------------------------------------------------


async def test_defaults_are_cloudflares(make_edge: Any) -> None:
    edge = await make_edge(consumer())
    q = edge.broker.producer("q")
    for i in range(9):
        await q.send(i)
    assert edge.deliveries == []
    await edge.clock.advance(4.999)
    assert edge.deliveries == []
    await edge.clock.advance(0.001)
    assert [(d.at, d.bodies) for d in edge.deliveries] == [(5.0, list(range(9)))]
    await q.sendBatch([{"body": i} for i in range(10)])  # full batch of 10: at once
    assert [len(d.bodies) for d in edge.deliveries] == [9, 10]
    assert edge.deliveries[-1].at == 5.0


async def test_seven_messages_five_now_two_after_the_timeout(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=5, max_batch_timeout=3))
    q = edge.broker.producer("q")
    for i in range(7):
        await q.send(i)
    assert [(d.at, d.bodies) for d in edge.deliveries] == [(0.0, [0, 1, 2, 3, 4])]
    await edge.clock.advance(2.5)
    assert len(edge.deliveries) == 1
    await edge.clock.advance(0.5)
    assert [(d.at, d.bodies) for d in edge.deliveries] == [(0.0, [0, 1, 2, 3, 4]), (3.0, [5, 6])]


async def test_partial_batch_waits_from_its_first_message(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=10, max_batch_timeout=5))
    q = edge.broker.producer("q")
    await q.send("a")
    await edge.clock.advance(3)
    await q.send("b")
    await edge.clock.advance(1.9)
    assert edge.deliveries == []
    await edge.clock.advance(0.1)
    assert [(d.at, d.bodies) for d in edge.deliveries] == [(5.0, ["a", "b"])]


async def test_zero_timeout_delivers_at_once(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=10, max_batch_timeout=0))
    await edge.broker.producer("q").sendBatch([{"body": 1}, {"body": 2}])
    assert [(d.at, d.bodies) for d in edge.deliveries] == [(0.0, [1, 2])]


async def test_messages_are_delivered_in_send_order(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=3, max_batch_timeout=1))
    q = edge.broker.producer("q")
    for i in range(8):
        await q.send(i)
    await edge.broker.queues.drain()
    assert [b for d in edge.deliveries for b in d.bodies] == list(range(8))
    assert [len(d.bodies) for d in edge.deliveries] == [3, 3, 2]


# -- attempts, retries, handler errors --------------------------------------------------------


async def test_attempts_count_up_to_max_retries_plus_one(make_edge: Any, caplog: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=1, max_retries=2))
    edge.handlers["q"] = always_raise
    with caplog.at_level(logging.DEBUG, logger="miniflare_py.queues"):
        await edge.broker.producer("q").send("x")
    assert [d.attempts for d in edge.deliveries] == [[1], [2], [3]]
    id_ = edge.deliveries[0].ids[0]
    assert all(d.ids == [id_] for d in edge.deliveries)
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.endswith("queues")]
    assert messages.count(("DEBUG", f'Retrying message "{id_}" on queue "q"...')) == 2
    assert ("WARNING", f'Dropped message "{id_}" on queue "q" after 3 failed attempts!') in messages
    assert any(
        level == "INFO" and re.fullmatch(r"QUEUE q 0/1 \(\d+ms\)", text) for level, text in messages
    )
    stats = edge.broker.queues["q"].stats()
    assert (stats.retried, stats.dropped, stats.acked, stats.pending) == (2, 1, 0, 0)


async def test_singular_attempt_in_drop_warning(make_edge: Any, caplog: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=1, max_retries=0))
    edge.handlers["q"] = always_raise
    await edge.broker.producer("q").send("x")
    id_ = edge.deliveries[0].ids[0]
    assert f'Dropped message "{id_}" on queue "q" after 1 failed attempt!' in caplog.messages


async def test_explicit_acks_survive_a_raising_handler(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=3, max_retries=1))

    async def ack_first_then_raise(batch: MessageBatch) -> None:
        if batch.messages[0].attempts == 1:
            batch.messages[0].ack()
            raise RuntimeError("after one ack")

    edge.handlers["q"] = ack_first_then_raise
    await edge.broker.producer("q").sendBatch([{"body": b} for b in "abc"])
    await edge.broker.queues.drain()
    assert [(d.bodies, d.attempts) for d in edge.deliveries] == [
        (["a", "b", "c"], [1, 1, 1]),
        (["b", "c"], [2, 2]),
    ]
    stats = edge.broker.queues["q"].stats()
    assert (stats.acked, stats.retried) == (3, 2)


async def test_ack_all_does_not_survive_a_throw(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=2, max_retries=1))

    async def ack_all_then_raise(batch: MessageBatch) -> None:
        if batch.messages[0].attempts == 1:
            batch.ackAll()
            raise RuntimeError("after ackAll")

    edge.handlers["q"] = ack_all_then_raise
    await edge.broker.producer("q").sendBatch([{"body": 1}, {"body": 2}])
    await edge.broker.queues.drain()
    assert [d.attempts for d in edge.deliveries] == [[1, 1], [2, 2]]


async def test_unhandled_messages_are_acked_when_the_handler_returns(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=2))
    await edge.broker.producer("q").sendBatch([{"body": 1}, {"body": 2}])
    assert edge.broker.queues["q"].stats().acked == 2
    assert edge.broker.queues["q"].messages() == []


async def test_first_call_wins_with_a_warning(make_edge: Any, caplog: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=2, max_retries=1))

    async def conflicting(batch: MessageBatch) -> None:
        if batch.messages[0].attempts > 1:
            return
        a, b = batch.messages
        a.ack()
        a.retry()  # ignored
        b.retry()
        b.ack()  # ignored

    edge.handlers["q"] = conflicting
    await edge.broker.producer("q").sendBatch([{"body": "a"}, {"body": "b"}])
    await edge.broker.queues.drain()
    assert [d.bodies for d in edge.deliveries] == [["a", "b"], ["b"]]
    a_id, b_id = edge.deliveries[0].ids
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"Received a call to retry() on message {a_id} after ack() was already called. "
        "Calling retry() after calling ack() has no effect.",
        f"Received a call to ack() on message {b_id} after retry() was already called. "
        "Calling ack() after calling retry() has no effect.",
    ]


async def test_ack_all_and_retry_all_apply_to_messages_without_a_call(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=3, max_retries=1))

    async def mixed(batch: MessageBatch) -> None:
        if batch.messages[0].attempts > 1:
            return
        batch.messages[0].ack()
        batch.retryAll()
        batch.ackAll()  # ignored with a warning: retryAll came first

    edge.handlers["q"] = mixed
    await edge.broker.producer("q").sendBatch([{"body": b} for b in "abc"])
    await edge.broker.queues.drain()
    assert [d.bodies for d in edge.deliveries] == [["a", "b", "c"], ["b", "c"]]


async def test_retry_after_ack_all_is_ignored(make_edge: Any, caplog: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=2))

    async def handler(batch: MessageBatch) -> None:
        batch.ack_all()
        batch.messages[0].retry()
        batch.retry_all()

    edge.handlers["q"] = handler
    await edge.broker.producer("q").sendBatch([{"body": 1}, {"body": 2}])
    assert len(edge.deliveries) == 1
    assert edge.broker.queues["q"].stats().acked == 2
    assert sum("has no effect" in m for m in caplog.messages) == 2


# -- delays ------------------------------------------------------------------------------------


async def test_retry_delay_precedence(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=3, max_batch_timeout=0, retry_delay=30))

    async def handler(batch: MessageBatch) -> None:
        if batch.messages[0].attempts > 1:
            return
        by_body = {m.body: m for m in batch.messages}
        if "own" in by_body:  # retry(10) beats retryAll(20)
            by_body["own"].retry(delaySeconds=10)
            batch.retryAll(delaySeconds=20)
        else:  # no delay given: the consumer's retry_delay
            for m in batch.messages:
                m.retry()

    edge.handlers["q"] = handler
    q = edge.broker.producer("q")
    await q.sendBatch([{"body": "own"}, {"body": "all1"}, {"body": "all2"}])
    await q.send("consumer")
    await edge.broker.queues.drain()
    redeliveries = [(d.at, d.bodies) for d in edge.deliveries if d.attempts[0] == 2]
    assert redeliveries == [(10.0, ["own"]), (20.0, ["all1", "all2"]), (30.0, ["consumer"])]


async def test_retry_delay_defaults_to_zero(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=1, max_retries=1))

    async def retry_first(batch: MessageBatch) -> None:
        if batch.messages[0].attempts == 1:
            batch.messages[0].retry()

    edge.handlers["q"] = retry_first
    await edge.broker.producer("q").send("x")
    assert [(d.at, d.attempts) for d in edge.deliveries] == [(0.0, [1]), (0.0, [2])]


async def test_send_delay_precedence_and_timestamp(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=1))
    q = edge.broker.producer("q", delivery_delay=40)
    await q.sendBatch(
        [
            {"body": "own", "delaySeconds": 10},
            {"body": "batch"},
            {"body": "zero", "delaySeconds": 0},
        ],
        delaySeconds=20,
    )
    await q.send("producer")
    await q.send("explicit", delaySeconds=5)
    await q.send("snake", delay_seconds=7)
    stats = edge.broker.queues["q"].stats()
    assert (stats.pending, stats.delayed) == (0, 5)
    await edge.broker.queues.drain()
    assert [(d.at, d.bodies[0]) for d in edge.deliveries] == [
        (0.0, "zero"),
        (5.0, "explicit"),
        (7.0, "snake"),
        (10.0, "own"),
        (20.0, "batch"),
        (40.0, "producer"),
    ]
    assert all(d.timestamps[0].timestamp() == T0 for d in edge.deliveries)
    assert edge.deliveries[0].timestamps[0].tzinfo is not None


# -- dead letters --------------------------------------------------------------------------------


async def test_dead_letter_keeps_id_body_timestamp_and_restarts_attempts(
    make_edge: Any, caplog: Any
) -> None:
    edge = await make_edge(
        consumer("q", max_batch_size=1, max_retries=1, dead_letter_queue="dlq"),
        consumer("dlq", max_batch_size=1),
    )
    edge.handlers["q"] = always_raise
    await edge.broker.producer("q").send({"task": 7})
    first, second, dead = edge.deliveries
    assert (first.queue, second.queue, dead.queue) == ("q", "q", "dlq")
    assert dead.ids == first.ids and dead.bodies == [{"task": 7}]
    assert dead.timestamps == first.timestamps and dead.attempts == [1]
    assert (
        f'Moving message "{first.ids[0]}" on queue "q" to dead letter queue "dlq" after 2 failed '
        "attempts..."
    ) in caplog.messages
    assert edge.broker.queues["q"].stats().dead_lettered == 1
    assert edge.broker.queues["dlq"].stats().acked == 1


async def test_seed_retry_to_dlq_scenario(make_edge: Any) -> None:
    edge = await make_edge(
        consumer(
            "ai-processing-queue", max_batch_size=1, max_batch_timeout=30, max_retries=2,
            dead_letter_queue="ai-processing-dlq",
        ),
        consumer("ai-processing-dlq"),
        queues=("ai-processing-queue",),
    )  # fmt: skip
    edge.handlers["ai-processing-queue"] = always_raise
    started = time.perf_counter()
    await edge.broker.producer("ai-processing-queue").send({"taskId": 1})
    await edge.broker.queues.drain()
    assert time.perf_counter() - started < 1
    assert [d.attempts[0] for d in edge.of("ai-processing-queue")] == [1, 2, 3]
    (dead,) = edge.of("ai-processing-dlq")
    assert dead.bodies == [{"taskId": 1}] and dead.attempts == [1]
    assert dead.bodies[0].taskId == 1  # JsDict


async def test_queues_that_dead_letter_into_each_other(make_edge: Any) -> None:
    edge = await make_edge(
        consumer("a", max_batch_size=1, max_retries=0, dead_letter_queue="b"),
        consumer("b", max_batch_size=1, max_retries=0, dead_letter_queue="a"),
    )
    hops = 0

    async def fail_three_times(batch: MessageBatch) -> None:
        nonlocal hops
        hops += 1
        if hops <= 3:
            raise RuntimeError("bounce")

    edge.handlers["a"] = edge.handlers["b"] = fail_three_times
    await edge.broker.producer("a").send("ping")
    assert [(d.queue, d.attempts) for d in edge.deliveries] == [
        ("a", [1]),
        ("b", [1]),
        ("a", [1]),
        ("b", [1]),
    ]
    assert len({d.ids[0] for d in edge.deliveries}) == 1
    stats = edge.broker.queues.stats()
    assert (stats["a"].dead_lettered, stats["b"].dead_lettered, stats["b"].acked) == (2, 1, 1)


async def test_dlq_without_consumer_keeps_messages_pending(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=1, max_retries=0, dead_letter_queue="dlq"))
    edge.handlers["q"] = always_raise
    await edge.broker.producer("q").send("x")
    await edge.broker.queues.drain()
    dlq = edge.broker.queues["dlq"]
    assert dlq.stats().pending == 1 and dlq.stats().consumer is False
    (message,) = dlq.messages()
    assert (message.body, message.attempts, message.state) == ("x", 0, "pending")


async def test_queue_without_consumer_keeps_messages(make_edge: Any) -> None:
    edge = await make_edge(queues=("lonely",))
    await edge.broker.producer("lonely").send(1, delaySeconds=10)
    await edge.broker.producer("lonely").send(2)
    await edge.broker.queues.drain()  # nothing consumed: returns at once
    assert edge.elapsed == 0
    stats = edge.broker.queues["lonely"].stats()
    assert (stats.pending, stats.delayed) == (1, 1)


# -- concurrency -------------------------------------------------------------------------------


@pytest.mark.parametrize(("concurrency", "expected"), [(None, 1), (1, 1), (3, 3)])
async def test_max_concurrency(make_edge: Any, concurrency: int | None, expected: int) -> None:
    edge = await make_edge(consumer(max_batch_size=1, max_concurrency=concurrency))
    release = asyncio.Event()
    running = peak = 0

    async def slow(batch: MessageBatch) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    edge.handlers["q"] = slow
    token = inside_handler.set(True)  # send without settling: the handlers block
    try:
        await edge.broker.producer("q").sendBatch([{"body": i} for i in range(5)])
    finally:
        inside_handler.reset(token)
    for _ in range(5):
        await asyncio.sleep(0)
    assert peak == expected
    assert edge.broker.queues["q"].stats().in_flight == expected
    release.set()
    await edge.broker.queues.drain()
    assert peak == expected and len(edge.deliveries) == 5


# -- drain, pause, handles -------------------------------------------------------------------------


async def test_drain_jumps_virtual_time(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=10, max_batch_timeout=60, retry_delay=3600))

    async def retry_once(batch: MessageBatch) -> None:
        for m in batch.messages:
            if m.attempts == 1:
                m.retry()

    edge.handlers["q"] = retry_once
    q = edge.broker.producer("q")
    await q.send("now")
    await q.send("tomorrow", delaySeconds=86400)
    started = time.perf_counter()
    await edge.broker.queues.drain()
    assert time.perf_counter() - started < 1
    assert [(d.at, d.bodies, d.attempts) for d in edge.deliveries] == [
        (60.0, ["now"], [1]),
        (3720.0, ["now"], [2]),
        (86460.0, ["tomorrow"], [1]),
        (86400.0 + 60 + 3600 + 60, ["tomorrow"], [2]),
    ]
    assert edge.elapsed == 90120.0


async def test_pause_and_resume(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=2, max_batch_timeout=5))
    handle = edge.broker.queues["q"]
    handle.pause()
    await edge.broker.producer("q").sendBatch([{"body": i} for i in range(3)])
    await edge.broker.queues.drain()  # a paused queue is not waited for
    await edge.clock.advance(10)
    assert edge.deliveries == [] and handle.stats().pending == 3
    handle.resume()
    await edge.clock.settle()
    # the timeout already passed while paused: both batches go at once
    assert [(d.at, d.bodies) for d in edge.deliveries] == [(10.0, [0, 1]), (10.0, [2])]


async def test_messages_lists_states(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=5, max_batch_timeout=5))
    q = edge.broker.producer("q")
    await q.send({"n": 1})
    await q.send("later", delaySeconds=30)
    listed = edge.broker.queues["q"].messages()
    assert [(m.body, m.state, m.attempts) for m in listed] == [
        ({"n": 1}, "pending", 0),
        ("later", "delayed", 0),
    ]
    assert listed[1].available_at == T0 + 30
    assert len(listed[0].id) == 32 and int(listed[0].id, 16) >= 0


async def test_queues_mapping(make_edge: Any) -> None:
    edge = await make_edge(consumer("q", dead_letter_queue="dlq"), queues=("q", "other"))
    queues = edge.broker.queues
    assert set(queues) == {"q", "dlq", "other"} and len(queues) == 3
    assert "dlq" in queues and "nope" not in queues
    assert queues["q"].stats().dlq == "dlq" and queues["q"].stats().consumer is True
    with pytest.raises(KeyError, match="nope"):
        queues["nope"]
    assert set(queues.stats()) == {"q", "dlq", "other"}


async def test_deliver_a_hand_made_batch(make_edge: Any) -> None:
    edge = await make_edge(consumer())

    async def handler(batch: MessageBatch) -> None:
        if len(batch.messages) != 3:
            return
        first, second, third = batch.messages
        first.ack()
        second.retry()
        if third.body == "boom":
            raise ValueError("bad body")

    edge.handlers["q"] = handler
    handle = edge.broker.queues["q"]
    result = await handle.deliver(
        [{"id": "m1", "body": 1}, {"id": "m2", "body": 2}, {"id": "m3", "body": 3}]
    )
    assert result == {"outcome": "ok", "error": None, "acked": ["m1", "m3"], "retried": ["m2"]}
    result = await handle.deliver(
        [{"id": "a", "body": 1, "attempts": 4}, {"id": "b", "body": 2}, {"id": "c", "body": "boom"}]
    )
    assert result.outcome == "exception" and result.error == "ValueError: bad body"
    assert (result.acked, result.retried) == (["a"], ["b", "c"])
    assert edge.deliveries[-1].attempts == [4, 1, 1]
    plain = await handle.deliver(["x", "y"])
    assert plain.outcome == "ok" and len(plain.acked) == 2 and plain.retried == []
    assert handle.stats().acked == 0  # hand-made batches leave the counters alone


async def test_send_from_inside_a_handler(make_edge: Any) -> None:
    edge = await make_edge(consumer("a", max_batch_size=1), consumer("b", max_batch_size=1))
    forward = edge.broker.producer("b")

    async def relay(batch: MessageBatch) -> None:
        await forward.send(batch.messages[0].body + 1)

    edge.handlers["a"] = relay
    await edge.broker.producer("a").send(1)
    assert [(d.queue, d.bodies) for d in edge.deliveries] == [("a", [1]), ("b", [2])]


# -- stats and metrics ---------------------------------------------------------------------------


async def test_stats_and_rates(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=4, max_retries=1))

    async def retry_odd(batch: MessageBatch) -> None:
        for m in batch.messages:
            if m.body % 2 and m.attempts == 1:
                m.retry()

    edge.handlers["q"] = retry_odd
    await edge.broker.producer("q").sendBatch([{"body": i} for i in range(4)])
    await edge.broker.queues.drain()
    stats = edge.broker.queues["q"].stats()
    assert (stats.acked, stats.retried, stats.dead_lettered, stats.dropped) == (4, 2, 0, 0)
    assert stats.processing_rate == 4.0  # acked per minute, last 60 s
    assert stats.failure_rate == pytest.approx(2 / 6)  # 6 deliveries, 2 not acked
    assert stats.retry_rate == pytest.approx(2 / 6)
    await edge.clock.advance(61)
    stats = edge.broker.queues["q"].stats()
    assert (stats.processing_rate, stats.failure_rate, stats.acked) == (0.0, 0.0, 4)


async def test_send_returns_backlog_metrics(make_edge: Any) -> None:
    edge = await make_edge(queues=("q",))
    q = edge.broker.producer("q")
    result = await q.send({"a": 1})
    assert result == {
        "metadata": {
            "metrics": {
                "backlogCount": 1,
                "backlogBytes": len('{"a":1}'),
                "oldestMessageTimestamp": round(T0 * 1000),
            }
        }
    }
    await edge.clock.advance(1)
    result = await q.sendBatch(
        [{"body": "é", "contentType": "text"}, {"body": b"xy", "contentType": "bytes"}]
    )
    assert result.metadata.metrics.backlogCount == 3
    assert result.metadata.metrics.backlogBytes == 7 + 2 + 2
    assert result.metadata.metrics.oldestMessageTimestamp == round(T0 * 1000)


async def test_batch_metadata(make_edge: Any) -> None:
    edge = await make_edge(consumer(max_batch_size=2))
    seen: list[Any] = []

    async def handler(batch: MessageBatch) -> None:
        seen.append(batch.metadata.metrics.backlogCount)

    edge.handlers["q"] = handler
    await edge.broker.producer("q").sendBatch([{"body": i} for i in range(2)])
    assert seen == [2]


async def test_fail_next_sends(make_edge: Any) -> None:
    from miniflare_py.queues import QueueSendError

    edge = await make_edge(queues=("q",))
    handle, q = edge.broker.queues["q"], edge.broker.producer("q")
    handle.fail_next_sends(2)
    with pytest.raises(
        QueueSendError, match=r"^Queue send failed: injected failure \(fail_next_sends\)$"
    ):
        await q.send(1)
    with pytest.raises(QueueSendError):
        await q.sendBatch([{"body": 1}])
    assert handle.stats().pending == 0
    await q.send(1)
    handle.fail_next_sends(1, error=ConnectionError("network down"))
    with pytest.raises(ConnectionError, match="network down"):
        await q.send(2)
    assert handle.stats().pending == 1


# -- configuration ------------------------------------------------------------------------------


async def test_two_consumers_for_one_queue_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match='Multiple consumers defined for queue "q"'):
        QueueBroker(
            clock=VirtualClock(), store=MemoryStore(), consumers=[consumer(), consumer()],
            deliver=always_raise,
        )  # fmt: skip


async def test_a_queue_cannot_be_its_own_dlq() -> None:
    with pytest.raises(ConfigError, match='Dead letter queue for queue "q" cannot be itself'):
        QueueBroker(
            clock=VirtualClock(), store=MemoryStore(),
            consumers=[consumer(dead_letter_queue="q")], deliver=always_raise,
        )  # fmt: skip


async def test_memory_store_outlives_its_broker() -> None:
    store = MemoryStore()
    clock = VirtualClock(start=T0)
    got: list[Any] = []

    async def deliver(batch: MessageBatch) -> None:
        got.extend(m.body for m in batch.messages)

    first = QueueBroker(clock=clock, store=store, queue_names=["q"], deliver=deliver)
    await first.start()
    await first.producer("q").sendBatch([{"body": 1}, {"body": 2}])
    await first.close()
    second = QueueBroker(
        clock=clock, store=store, consumers=[consumer(max_batch_size=2)], deliver=deliver
    )
    await second.start()
    await clock.settle()
    assert got == [1, 2]
    await second.close()


async def test_drain_on_a_real_clock() -> None:
    got: list[Any] = []

    async def deliver(batch: MessageBatch) -> None:
        got.extend(m.body for m in batch.messages)

    broker = QueueBroker(
        clock=RealClock(), store=MemoryStore(),
        consumers=[consumer(max_batch_size=10, max_batch_timeout=0.05)], deliver=deliver,
    )  # fmt: skip
    await broker.start()
    started = time.perf_counter()
    await broker.producer("q").send(1)
    await broker.producer("q").send(2, delaySeconds=0)
    assert got == []
    await broker.queues.drain()
    assert got == [1, 2] and 0.04 < time.perf_counter() - started < 1
    await broker.close()
