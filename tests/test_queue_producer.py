"""The producer binding: content types, exact error messages, size limits."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio

from miniflare_py.clock import VirtualClock
from miniflare_py.config import QueueConsumerConfig
from miniflare_py.queues import (
    MemoryStore,
    MessageBatch,
    QueueBroker,
    QueueProducer,
    QueueSendError,
    QueueSendTypeError,
)
from miniflare_py.workers.jsdict import JsDict

pytestmark = pytest.mark.asyncio


class Edge:
    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.clock = VirtualClock(start=1_700_000_000.0)
        self.broker = QueueBroker(
            clock=self.clock,
            store=MemoryStore(),
            consumers=[QueueConsumerConfig("q", max_batch_size=1)],
            queue_names=["idle"],
            deliver=self.deliver,
        )
        self.q: QueueProducer = self.broker.producer("q")
        self.idle: QueueProducer = self.broker.producer("idle")

    async def deliver(self, batch: MessageBatch) -> None:
        self.bodies.extend(m.body for m in batch.messages)


@pytest_asyncio.fixture
async def edge() -> AsyncIterator[Edge]:
    edge = Edge()
    await edge.broker.start()
    yield edge
    await edge.broker.close()


# -- content types ---------------------------------------------------------------------------


async def test_json_is_the_default_and_round_trips(edge: Edge) -> None:
    body = {"taskId": 1, "tags": ("a", "b"), "nested": {"x": [1.5, None, True]}, 2: "two"}
    await edge.q.send(body)
    (got,) = edge.bodies
    assert got == json.loads(json.dumps(body))
    assert isinstance(got, JsDict) and got.taskId == 1 and got.nested.x == [1.5, None, True]


async def test_json_body_is_a_fresh_copy(edge: Edge) -> None:
    body = {"list": [1]}
    await edge.q.send(body, contentType="json")
    assert edge.bodies[0] == body and edge.bodies[0] is not body


async def test_text_and_bytes(edge: Edge) -> None:
    await edge.q.send("héllo", contentType="text")
    await edge.q.send(bytearray(b"\x00\xff"), contentType="bytes")
    await edge.q.send(memoryview(b"mv"), content_type="BYTES")  # case-insensitive
    assert edge.bodies == ["héllo", b"\x00\xff", b"mv"]
    assert type(edge.bodies[1]) is bytes


async def test_v8_delivers_an_equal_copy(edge: Edge) -> None:
    body = {
        "list": [1, 2.5, "s", None, True],
        "tuple": (1, (2, 3)),
        "set": {1, "a", (1, 2)},
        "frozen": frozenset({1}),
        "bytes": b"\x00\x01",
        "when": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "naive": datetime(2026, 1, 2),
        "offset": datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=2))),
        "inf": math.inf,
        3: {"int keys": {(1, 2): "tuple key"}},
        "big": 2**80,
    }
    await edge.q.send(body, contentType="v8")
    (got,) = edge.bodies
    assert got == body and got is not body
    assert type(got["tuple"]) is tuple and type(got["set"]) is set
    assert got["offset"].utcoffset() == timedelta(hours=2)
    await edge.q.send(float("nan"), contentType="v8")
    assert math.isnan(edge.bodies[-1])


async def test_v8_rejects_unclonable_values(edge: Edge) -> None:
    with pytest.raises(QueueSendError, match='Content Type "v8" cannot serialize a value of type'):
        await edge.q.send({"f": object()}, contentType="v8")


# -- producer errors, exactly ---------------------------------------------------------------------


def exact(message: str) -> str:
    import re

    return f"^{re.escape(message)}$"


async def test_undefined_body(edge: Edge) -> None:
    with pytest.raises(QueueSendTypeError, match=exact("Message body cannot be undefined")):
        await edge.q.send()
    with pytest.raises(TypeError, match=exact("Message body cannot be undefined")):
        await edge.q.sendBatch([{"contentType": "json"}])
    assert edge.bodies == []


async def test_none_is_json_null_and_delivered_as_none(edge: Edge) -> None:
    # The Python SDK turns None into JS null, a valid body (its own queue tests send it).
    await edge.q.send(None)
    await edge.q.sendBatch([{"body": None}, {"body": None, "contentType": "v8"}])
    assert edge.bodies == [None, None, None]
    with pytest.raises(TypeError, match="requires a value of type string, but received: NoneType"):
        await edge.q.send(None, contentType="text")


async def test_json_nan_and_infinities_become_none(edge: Edge) -> None:
    # What JSON.stringify writes: null for NaN, Infinity and -Infinity.
    body = {"nan": math.nan, "inf": [math.inf, -math.inf, 1.5], "nested": {"x": (math.nan,)}}
    await edge.q.send(body)
    await edge.q.send(math.nan)
    assert edge.bodies == [{"nan": None, "inf": [None, None, 1.5], "nested": {"x": [None]}}, None]


async def test_json_circular_body_still_fails_at_send(edge: Edge) -> None:
    body: list = []
    body.append(body)
    with pytest.raises(QueueSendError, match="cannot be serialized as JSON: Circular reference"):
        await edge.q.send(body)


async def test_unsupported_content_type(edge: Edge) -> None:
    with pytest.raises(TypeError, match=exact("Unsupported queue message content type: xml")):
        await edge.q.send("x", contentType="xml")
    with pytest.raises(TypeError, match=exact("Unsupported queue message content type: xml")):
        await edge.q.sendBatch([{"body": "x", "contentType": "xml"}])


async def test_text_needs_a_string(edge: Edge) -> None:
    message = 'Content Type "text" requires a value of type string, but received: int'
    with pytest.raises(TypeError, match=exact(message)):
        await edge.q.send(5, contentType="text")


async def test_bytes_needs_bytes(edge: Edge) -> None:
    message = 'Content Type "bytes" requires a value of type ArrayBufferView, but received: str'
    with pytest.raises(TypeError, match=exact(message)):
        await edge.q.send("x", contentType="bytes")


async def test_json_that_cannot_be_encoded_raises_at_send(edge: Edge) -> None:
    with pytest.raises(TypeError, match="cannot be serialized as JSON"):
        await edge.q.send({"s": {1, 2}})
    with pytest.raises(TypeError, match="cannot be serialized as JSON"):
        await edge.q.send(b"raw")


async def test_message_size_limit_is_inclusive(edge: Edge) -> None:
    at_limit = "x" * (128_000 - 2)  # plus two quotes in JSON
    await edge.idle.send(at_limit)
    with pytest.raises(
        QueueSendError,
        match=exact("Queue send failed: message length of 128001 bytes exceeds limit of 128000"),
    ):
        await edge.idle.send(at_limit + "x")
    await edge.idle.send("é" * 64_000, contentType="text")  # UTF-8 bytes, not characters
    with pytest.raises(QueueSendError, match="128002 bytes"):
        await edge.idle.send("é" * 64_001, contentType="text")
    await edge.idle.send(b"\0" * 128_000, contentType="bytes")
    with pytest.raises(QueueSendError, match="128001 bytes"):
        await edge.idle.send(b"\0" * 128_001, contentType="bytes")
    with pytest.raises(QueueSendError, match="single message size limit of 128000"):
        await edge.idle.sendBatch([{"body": at_limit + "x"}])
    assert edge.broker.queues["idle"].stats().pending == 3


async def test_json_size_counts_utf8_without_escapes(edge: Edge) -> None:
    result = await edge.idle.send({"k": "é"})
    assert result.metadata.metrics.backlogBytes == len('{"k":"é"}'.encode())


async def test_batch_limits(edge: Edge) -> None:
    with pytest.raises(
        QueueSendError,
        match=exact("Queue sendBatch failed: batch message count of 101 exceeds limit of 100"),
    ):
        await edge.idle.sendBatch([{"body": i} for i in range(101)])
    await edge.idle.sendBatch([{"body": i} for i in range(100)])
    chunk = {"body": "x" * (100_000 - 2)}  # 100000 bytes as JSON
    await edge.idle.sendBatch([chunk, chunk, {"body": "y" * (56_000 - 2)}])
    with pytest.raises(
        QueueSendError,
        match=exact("Queue sendBatch failed: batch size of 256001 bytes exceeds limit of 256000"),
    ):
        await edge.idle.sendBatch([chunk, chunk, {"body": "y" * (56_001 - 2)}])
    with pytest.raises(TypeError, match=exact("sendBatch() requires at least one message")):
        await edge.idle.sendBatch([])
    assert edge.broker.queues["idle"].stats().pending == 103


@pytest.mark.parametrize("bad", [-1, 86401, 1.5, "5", True])
async def test_bad_delay_names_value_and_range(edge: Edge, bad: Any) -> None:
    with pytest.raises(QueueSendError, match=r"invalid delaySeconds .*0-86400") as info:
        await edge.idle.send("x", delaySeconds=bad)
    assert repr(bad) in str(info.value)
    with pytest.raises(QueueSendError, match="0-86400"):
        await edge.idle.sendBatch([{"body": "x", "delaySeconds": bad}])
    with pytest.raises(QueueSendError, match="0-86400"):
        await edge.idle.sendBatch([{"body": "x"}], delaySeconds=bad)
    assert edge.broker.queues["idle"].stats().pending == 0


async def test_delay_limits_are_inclusive(edge: Edge) -> None:
    await edge.idle.send("x", delaySeconds=0)
    await edge.idle.send("x", delaySeconds=86400)
    await edge.idle.send("x", delaySeconds=30.0)
    stats = edge.broker.queues["idle"].stats()
    assert (stats.pending, stats.delayed) == (1, 2)


async def test_nothing_is_stored_when_a_batch_fails(edge: Edge) -> None:
    with pytest.raises(TypeError):
        await edge.idle.sendBatch([{"body": 1}, {"body": 2, "contentType": "text"}])
    assert edge.broker.queues["idle"].messages() == []


async def test_snake_case_aliases(edge: Edge) -> None:
    await edge.q.send_batch([{"body": "a", "content_type": "text"}], delay_seconds=0)
    assert edge.bodies == ["a"]


# -- as the SDK sees the binding -------------------------------------------------------------


async def test_the_producer_is_an_sdk_binding_wrapper(edge: Edge) -> None:
    from workers.rpc import _BindingWrapper

    assert isinstance(edge.q, _BindingWrapper) and not callable(edge.q) and edge.q
    assert edge.q.constructor.name == "WorkerQueue"
    with pytest.raises(TypeError, match="'WorkerQueue' object is not iterable"):
        iter(edge.q)
    with pytest.raises(TypeError, match="'WorkerQueue' object has no len"):
        len(edge.q)
