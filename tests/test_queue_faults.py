"""Queues under storage faults (DESIGN.md §12): a failed write fails the call that met it with a
clear error, never leaves a message in flight for good, never stalls a queue, loses nothing; one
process at a time owns a store; v8 sizes and strings as on the edge."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from helpers import start_holder

from miniflare_py.clock import VirtualClock
from miniflare_py.config import QueueConsumerConfig
from miniflare_py.queues import (
    MemoryStore,
    MessageBatch,
    QueueBroker,
    QueueSendError,
    SqliteStore,
    queue_store_path,
    read_store_status,
)
from miniflare_py.queues.broker import STORE_RETRY
from miniflare_py.queues.serialize import decode, encode
from miniflare_py.queues.store import Counts, Record, StoreError
from miniflare_py.state import StateError
from miniflare_py.v8 import serialized_size as v8_size

T0 = 1_700_000_000.0


class FaultyStore:
    """A store whose next writes of one kind fail, as a full disk would make them fail."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failing: dict[str, int] = {}
        self.failures = 0

    def fail(self, operation: str, times: int = 1) -> None:
        self.failing[operation] = times

    def _maybe_fail(self, operation: str) -> None:
        left = self.failing.get(operation, 0)
        if left:
            self.failing[operation] = left - 1
            self.failures += 1
            raise StoreError(f"The queue store test.sqlite could not be written: {operation}")

    def load(self) -> tuple[list[Record], Counts]:
        return self.inner.load()

    def transaction(self) -> AbstractContextManager[object]:
        outer = self

        class Commit:
            def __enter__(self) -> None:
                self.inner = outer.inner.transaction()
                self.inner.__enter__()

            def __exit__(self, *exc_info: Any) -> None:
                if exc_info[0] is None and outer.failing.get("commit"):
                    exc_info = (StoreError, StoreError("commit"), None)
                    self.inner.__exit__(*exc_info)
                    outer._maybe_fail("commit")
                self.inner.__exit__(*exc_info)

        return Commit()

    def add(self, records: Sequence[Record]) -> None:
        self._maybe_fail("add")
        self.inner.add(records)

    def start_delivery(self, records: Sequence[Record]) -> None:
        self._maybe_fail("start_delivery")
        self.inner.start_delivery(records)

    def finish_delivery(self, *args: Any) -> None:
        self._maybe_fail("finish_delivery")
        self.inner.finish_delivery(*args)

    def close(self) -> None:
        self.inner.close()


class Consumer:
    """Acks everything and records each delivery (body, attempts, virtual time)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.deliveries: list[tuple[Any, int, float]] = []

    async def __call__(self, batch: MessageBatch) -> None:
        for message in batch.messages:
            self.deliveries.append((message.body, message.attempts, self.clock.now()))

    def bodies(self) -> Counter[Any]:
        return Counter(body for body, _, _ in self.deliveries)


async def start_broker(store: Any, **consumer: Any) -> tuple[QueueBroker, Consumer, VirtualClock]:
    clock = VirtualClock(start=T0)
    consumer_config = QueueConsumerConfig("q", **consumer)
    deliver = Consumer(clock)
    broker = QueueBroker(clock=clock, store=store, consumers=[consumer_config], deliver=deliver)
    await broker.start()
    return broker, deliver, clock


# -- injected failures behind the store interface ----------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_failed_ack_write_never_leaves_a_message_in_flight(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    inner = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "q.sqlite")
    store = FaultyStore(inner)
    broker, consumer, _ = await start_broker(store, max_batch_size=5, max_batch_timeout=1)
    store.fail("finish_delivery", times=3)  # the ack write fails three times in a row
    await broker.producer("q").sendBatch([{"body": i} for i in range(5)])
    assert broker.queues["q"].stats().in_flight == 0  # handled; its outcome waits in memory
    await broker.queues.drain()  # written on a later try
    await broker.producer("q").sendBatch([{"body": i} for i in range(5, 10)])
    await broker.queues.drain()
    stats = broker.queues["q"].stats()
    assert (stats.in_flight, stats.pending, stats.acked) == (0, 0, 10)
    assert consumer.bodies() == Counter(range(10))  # each once: 0 lost, 0 twice
    assert store.failures == 3
    await broker.close()
    if kind == "sqlite":
        status = read_store_status(inner.path)["q"]
        assert (status["pending"], status["in_flight"], status["acked"]) == (0, 0, 10)
        inner.close()
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "could not be written" in errors[0]  # once, not per retry
    assert "Task exception was never retrieved" not in caplog.text


@pytest.mark.asyncio
async def test_delivery_resumes_within_one_batch_timeout_once_the_store_can_be_written() -> None:
    store = FaultyStore(MemoryStore())
    broker, consumer, _ = await start_broker(store, max_batch_size=10, max_batch_timeout=5)
    await broker.producer("q").send("first")
    store.fail("start_delivery", times=20)  # 20 tries, STORE_RETRY apart
    await broker.queues.drain()
    [(body, attempts, delivered_at)] = consumer.deliveries
    assert (body, attempts) == ("first", 1)  # the failed starts did not count as attempts
    # due at T0 + 5; room again 20 tries later; delivered at the first try after that
    room_at = T0 + 5 + 19 * STORE_RETRY
    assert room_at < delivered_at <= room_at + STORE_RETRY + 1e-6
    assert delivered_at - room_at < 5  # well within one batch timeout
    await broker.close()


@pytest.mark.asyncio
async def test_a_send_the_store_refuses_fails_clearly_and_keeps_nothing() -> None:
    store = FaultyStore(MemoryStore())
    broker, consumer, _ = await start_broker(store, max_batch_size=1, max_batch_timeout=0)
    store.fail("add")
    with pytest.raises(QueueSendError, match=r"^Queue send failed: The queue store .* add$"):
        await broker.producer("q").send("lost?")
    store.fail("add")
    with pytest.raises(QueueSendError, match=r"^Queue sendBatch failed: "):
        await broker.producer("q").sendBatch([{"body": "lost?"}])
    # a full batch starts inside the send's own commit: if that start fails, the send fails too
    store.fail("start_delivery")
    with pytest.raises(QueueSendError, match="start_delivery"):
        await broker.producer("q").send("lost?")
    await broker.producer("q").send("kept")
    await broker.queues.drain()
    assert [body for body, _, _ in consumer.deliveries] == ["kept"]
    assert broker.queues["q"].stats().acked == 1
    await broker.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_send_whose_commit_fails_takes_back_the_batch_it_started(
    tmp_path: Path, kind: str
) -> None:
    inner = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "q.sqlite")
    store = FaultyStore(inner)
    broker, consumer, _ = await start_broker(store, max_batch_size=2, max_batch_timeout=5)
    await broker.producer("q").send("a")  # half a batch
    store.fail("commit")  # "b" would fill it: the batch [a, b] starts inside b's commit
    with pytest.raises(QueueSendError):
        await broker.producer("q").send("b")
    assert broker.queues["q"].stats().in_flight == 0
    await broker.queues.drain()
    assert [body for body, _, _ in consumer.deliveries] == ["a"]
    assert consumer.deliveries[0][1] == 1  # the start that was taken back is not an attempt
    await broker.close()
    inner.close()


@pytest.mark.asyncio
async def test_outcomes_kept_in_memory_are_written_in_order_before_anything_else(
    tmp_path: Path,
) -> None:
    inner = SqliteStore(tmp_path / "q.sqlite")
    store = FaultyStore(inner)
    broker, consumer, clock = await start_broker(
        store, max_batch_size=1, max_batch_timeout=0, max_retries=1, dead_letter_queue="dlq"
    )

    async def refuse(batch: MessageBatch) -> None:
        batch.retryAll()

    broker.deliver = refuse
    store.fail("finish_delivery", times=2)
    await broker.producer("q").send("a")
    await clock.settle()
    # the retry's write failed: no new start may be written before it (the file would run
    # ahead of the outcome it has not got)
    store.fail("add")  # and a send meets the failing store first: it fails, nothing kept
    with pytest.raises(QueueSendError):
        await broker.producer("q").send("b")
    await broker.queues.drain()  # retried, then moved to the DLQ, every write caught up
    broker.deliver = consumer
    await broker.producer("q").send("c")
    await broker.queues.drain()
    await broker.close()
    status = read_store_status(inner.path)
    assert status["q"]["retried"] == 1 and status["q"]["dead_lettered"] == 1
    assert status["q"]["acked"] == 1 and status["q"]["pending"] == 0
    inner.close()


# -- a real SQLite store that is full ---------------------------------------------------------


def fill_up(store: SqliteStore) -> None:
    """Make the store's database as full as a disk with no room left."""
    pages = store._db.execute("PRAGMA page_count").fetchall()[0][0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")


def make_room(store: SqliteStore) -> None:
    store._db.execute("PRAGMA max_page_count = 1000000")


@pytest.mark.asyncio
async def test_a_full_store_fails_sends_with_a_queue_error_then_recovers(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.sqlite")
    broker, consumer, _ = await start_broker(store, max_batch_size=100, max_batch_timeout=2)
    producer = broker.producer("q")
    fill_up(store)
    accepted = []
    for i in range(200):
        try:
            await producer.send({"i": i, "pad": "x" * 2000})
        except QueueSendError as exc:
            assert "database or disk is full" in str(exc) and str(store.path) in str(exc)
            break
        accepted.append(i)
    else:
        pytest.fail("the full store took every message")
    with pytest.raises(QueueSendError):
        await producer.sendBatch([{"body": "x" * 5000}] * 5)
    make_room(store)
    await producer.send({"i": "after", "pad": ""})
    await broker.queues.drain()
    delivered = [body["i"] for body, _, _ in consumer.deliveries]
    assert delivered == [*accepted, "after"]  # 0 lost, in order, each once
    await broker.close()
    assert read_store_status(store.path)["q"]["pending"] == 0
    store.close()


# -- one process per store --------------------------------------------------------------------

HOLDER = """
import sys
from miniflare_py.queues import SqliteStore
store = SqliteStore(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
"""


def test_a_store_open_in_another_process_is_refused_in_one_line(tmp_path: Path) -> None:
    path = queue_store_path(tmp_path / "state")
    holder = start_holder(HOLDER, path)
    try:
        with pytest.raises(StateError) as info:
            SqliteStore(path)
        message = str(info.value)
        assert "\n" not in message
        assert str(path) in message and f"pid {holder.pid}" in message
    finally:
        holder.communicate("\n", timeout=10)
    SqliteStore(path).close()  # free again once the holder is gone
    # and within one process a store may be opened again (a restart, a config reload)
    first = SqliteStore(path)
    second = SqliteStore(path)
    second.close()
    first.close()


def test_a_damaged_queue_store_is_one_line_naming_it(tmp_path: Path) -> None:
    path = queue_store_path(tmp_path / "state")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage, not SQLite" * 500)
    with pytest.raises(StateError) as info:
        SqliteStore(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(StateError) as info:
        read_store_status(path)
    assert str(path) in str(info.value)


@pytest.mark.asyncio
async def test_a_deleted_store_fails_sends_loudly(tmp_path: Path) -> None:
    import shutil

    path = queue_store_path(tmp_path / "state")
    store = SqliteStore(path)
    broker, _, _ = await start_broker(store, max_batch_size=10, max_batch_timeout=5)
    await broker.producer("q").send("kept")
    shutil.rmtree(tmp_path / "state")
    with pytest.raises(QueueSendError, match="was deleted while pyflare was using it"):
        await broker.producer("q").send("would be lost")
    await broker.close()
    store.close()


# -- v8 size and strings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        # sizes of V8's own serializer (wire format 15), measured with Node's v8.serialize
        (None, 3),
        (True, 3),
        (1, 4),
        (-1, 4),
        (1.5, 11),
        (2**31, 11),
        ("abc", 7),
        ("é", 5),
        ("€", 6),
        ("a€", 8),
        (["a", 1], 12),
        ({"a": 1, "2": 3}, 14),
        ({1, 2}, 9),
        (2**64, 20),
        (-(2**53) - 1, 12),
        ([[1], [1]], 21),
        ("\ud800", 6),
        ({"x": "€"}, 12),
        (["é", "€"], 15),  # a padding byte aligns the two-byte string
        ([1, "€"], 13),
        ({"0": 1, "4294967295": 2, "-1": 3}, 29),
    ],
)
def test_v8_size_is_the_structured_clone_size(value: Any, size: int) -> None:
    assert v8_size(value) == size


def test_v8_size_of_bytes_is_an_array_buffer_and_its_view() -> None:
    # header 2 + ArrayBuffer (tag, varint 96000, bytes) + Uint8Array view (tag, subtag,
    # offset, length, flags)
    assert v8_size(b"x" * 96_000) == 2 + (1 + 3 + 96_000) + (1 + 1 + 1 + 3 + 1)
    shared = [1]
    assert v8_size([shared, shared]) == 16  # the second is a back-reference


@pytest.mark.asyncio
async def test_a_96000_byte_v8_value_is_accepted_and_the_limit_counts_v8_bytes() -> None:
    broker, consumer, _ = await start_broker(MemoryStore(), max_batch_size=10)
    producer = broker.producer("q")
    await producer.send(b"\x01" * 96_000, contentType="v8")
    await producer.sendBatch([{"body": {"blob": b"\x02" * 96_000}, "contentType": "v8"}])
    largest = 128_000 - 13  # header 2, ArrayBuffer 1 + 3 + n, Uint8Array view 7
    assert v8_size(b"\x03" * largest) == 128_000
    await producer.send(b"\x03" * largest, contentType="v8")  # the limit is inclusive
    with pytest.raises(QueueSendError, match="message length of 128001 bytes exceeds limit"):
        await producer.send(b"\x03" * (largest + 1), contentType="v8")
    await broker.queues.drain()
    assert [len(body) if isinstance(body, bytes) else len(body["blob"]) for body, _, _ in (
        consumer.deliveries
    )] == [96_000, 96_000, largest]  # fmt: skip
    await broker.close()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "content_type", "delivered"),
    [
        ("a\ud800b", "text", "a\ufffdb"),  # TextEncoder's replacement character
        ("\ud83d\ude00", "text", "\U0001f600"),  # a surrogate pair is one character
        ({"k": "a\udfff"}, "json", {"k": "a\udfff"}),  # JSON.stringify escapes a lone one
        ("\ud83d\ude00", "json", "\U0001f600"),
        ({"k": ["a\ud800"]}, "v8", {"k": ["a\ud800"]}),  # a structured clone keeps it
    ],
)
async def test_lone_surrogates_are_sent_as_javascript_strings_are(
    body: Any, content_type: str, delivered: Any
) -> None:
    broker, consumer, _ = await start_broker(MemoryStore(), max_batch_size=1)
    await broker.producer("q").send(body, contentType=content_type)
    await broker.queues.drain()
    [(got, _, _)] = consumer.deliveries
    assert got == delivered
    await broker.close()


def test_a_json_body_with_a_lone_surrogate_is_stored_as_valid_utf8() -> None:
    data = encode({"k": "\ud800"}, "json")
    assert data == b'{"k":"\\ud800"}'
    data.decode("utf-8")  # strict: no surrogate escapes in the stored bytes
    assert decode(encode(["x\udbff"], "v8"), "v8") == ["x\udbff"]


# -- a real disk that is full (the file-size limit of a child process) -------------------------

CHILD = """
import asyncio, os, resource, sys
from miniflare_py.clock import RealClock
from miniflare_py.config import QueueConsumerConfig
from miniflare_py.queues import QueueBroker, QueueSendError, SqliteStore

async def main(path):
    store = SqliteStore(path)
    seen = []
    async def deliver(batch):
        seen.extend(m.body for m in batch.messages)
    consumer = QueueConsumerConfig("q", max_batch_size=5, max_batch_timeout=1)
    broker = QueueBroker(clock=RealClock(), store=store, consumers=[consumer], deliver=deliver)
    await broker.start()
    producer = broker.producer("q")
    accepted = list(range(3))
    for i in accepted:  # a partial batch, due in 1 s
        await producer.send({"i": i})
    # From here on no file may grow: the store's log is as large as it may get, so its next
    # writes fail, as on a full disk.
    limit = os.path.getsize(path + "-wal")
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    loop = asyncio.get_running_loop()
    refused, error = 0, ""
    until = loop.time() + 1.5  # past the moment the batch was due
    while loop.time() < until:
        try:
            await producer.send({"i": "during", "pad": "x" * 3000})
            accepted.append("during")
        except QueueSendError as exc:
            refused += 1
            error = str(exc)
        await asyncio.sleep(0.05)
    print("refused", refused, error[:60])
    print("delivered_while_full", len(seen))
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)  # room again
    freed = loop.time()
    while len(seen) < len(accepted) and loop.time() - freed < 30:
        await asyncio.sleep(0.005)
    print("resumed_within", round(loop.time() - freed, 3))
    print("lost", len(accepted) - len(seen))
    print("twice", len(seen) - len({repr(b) for b in seen}))
    await broker.close()
    store.close()

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.slow
def test_disk_full_then_freed_delivery_resumes_and_nothing_is_lost(tmp_path: Path) -> None:
    path = queue_store_path(tmp_path / "state")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    refused = int(report["refused"].split()[0])
    assert refused > 0, report  # the disk did fill up: sends failed with a clear error
    assert "Queue send failed: The queue store" in report["refused"], report
    assert report["delivered_while_full"] == "0", report  # the due batch waited
    # once there is room, everything accepted is delivered within one batch timeout (1 s)
    assert float(report["resumed_within"]) < 1.0 + 1.0, report  # a generous margin for CI
    assert report["lost"] == "0" and report["twice"] == "0", report
    assert "Traceback" not in done.stderr, done.stderr
