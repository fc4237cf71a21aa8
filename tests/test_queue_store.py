"""Durability: the SQLite store, crash recovery, persisted counters and `pyflare queues status`."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from miniflare_py.clock import VirtualClock
from miniflare_py.commands.queues import queues as queues_cli
from miniflare_py.config import QueueConsumerConfig
from miniflare_py.queues import (
    MessageBatch,
    QueueBroker,
    SqliteStore,
    queue_store_path,
    read_store_status,
)
from miniflare_py.workers.context import inside_handler

T0 = 1_700_000_000.0


class Recorder:
    def __init__(self, handler: Callable[[MessageBatch], Any] | None = None) -> None:
        self.seen: list[tuple[str, Any, int]] = []
        self.handler = handler

    async def __call__(self, batch: MessageBatch) -> None:
        self.seen.extend((m.id, m.body, m.attempts) for m in batch.messages)
        if self.handler is not None:
            await self.handler(batch)


async def open_broker(
    path: Path, deliver: Any, *consumers: QueueConsumerConfig, clock: VirtualClock | None = None
) -> tuple[QueueBroker, VirtualClock]:
    clock = clock or VirtualClock(start=T0)
    broker = QueueBroker(
        clock=clock, store=SqliteStore(path), consumers=consumers, queue_names=["q"],
        deliver=deliver,
    )  # fmt: skip
    await broker.start()
    return broker, clock


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return queue_store_path(tmp_path / "state")


def test_store_path(tmp_path: Path) -> None:
    assert queue_store_path(tmp_path) == tmp_path / "v3" / "queues" / "pyflare-queues.sqlite"


@pytest.mark.asyncio
async def test_messages_survive_close_and_reopen(db: Path) -> None:
    broker, _ = await open_broker(db, Recorder())
    q = broker.producer("q")
    await q.send({"n": 1})
    await q.send("later", contentType="text", delaySeconds=60)
    await q.send(b"\x01", contentType="bytes")
    await broker.close()
    broker.store.close()

    recorder = Recorder()
    broker, clock = await open_broker(db, recorder, QueueConsumerConfig("q", max_batch_size=2))
    await clock.settle()
    assert [body for _, body, _ in recorder.seen] == [{"n": 1}, b"\x01"]
    await broker.queues.drain()
    assert [body for _, body, _ in recorder.seen] == [{"n": 1}, b"\x01", "later"]
    assert clock.now() == T0 + 60 + 5
    await broker.close()
    broker.store.close()
    assert read_store_status(db)["q"]["pending"] == 0


# A `v8` body as pyflare 0.1.0 stores it (tagged JSON): stores written before must keep loading.
STORED_V8_BODY = (
    b'{"d":[["l",{"l":[1,2.5,null,true]}],["t",{"t":[1,"x"]}],["s",{"s":[3]}],["fs",{"fs":[4]}],'
    b'["b",{"b":"AP8="}],["dt",{"dt":"2024-01-02T03:04:05+02:00"}],["f",{"f":"inf"}],'
    b'[7,{"d":[[{"t":[1,2]},"k"]]}],["big",1208925819614629174706176],["u","\xc3\xa9\\ud800"]]}'
)


@pytest.mark.asyncio
async def test_a_v8_body_stored_by_an_earlier_pyflare_is_delivered(db: Path) -> None:
    broker, _ = await open_broker(db, Recorder())
    await broker.producer("q").send("placeholder", contentType="v8")
    await broker.close()
    broker.store.close()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE messages SET body = ?", (STORED_V8_BODY,))
    conn.close()

    recorder = Recorder()
    broker, clock = await open_broker(db, recorder, QueueConsumerConfig("q", max_batch_size=1))
    await clock.settle()
    [(_, body, _)] = recorder.seen
    assert body == {
        "l": [1, 2.5, None, True],
        "t": (1, "x"),
        "s": {3},
        "fs": frozenset({4}),
        "b": b"\x00\xff",
        "dt": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        "f": math.inf,
        7: {(1, 2): "k"},
        "big": 2**80,
        "u": "\xe9\ud800",
    }
    await broker.close()
    broker.store.close()


@pytest.mark.asyncio
async def test_crash_mid_delivery_redelivers_with_attempts_counted(db: Path) -> None:
    stuck = asyncio.Event()

    async def hang(batch: MessageBatch) -> None:
        stuck.set()
        await asyncio.Event().wait()  # the process "dies" in here

    config = QueueConsumerConfig("q", max_batch_size=3, max_retries=3)
    crashed, _ = await open_broker(db, Recorder(hang), config)
    token = inside_handler.set(True)  # don't settle: the handler never returns
    try:
        await crashed.producer("q").sendBatch([{"body": i} for i in range(5)])
    finally:
        inside_handler.reset(token)
    await stuck.wait()
    status = read_store_status(db, now=T0)
    assert (status["q"]["in_flight"], status["q"]["pending"]) == (3, 2)
    # No close(): a second broker on the same file, as after SIGKILL and a restart.
    recorder = Recorder()
    broker, _ = await open_broker(db, recorder, config)
    await broker.queues.drain()
    assert sorted((body, attempts) for _, body, attempts in recorder.seen) == [
        (0, 2),
        (1, 2),
        (2, 2),
        (3, 1),
        (4, 1),
    ]
    assert broker.queues["q"].stats().acked == 5
    await broker.close()
    for task in list(crashed._tasks):
        task.cancel()
    assert read_store_status(db) == {
        "q": {
            "pending": 0, "delayed": 0, "in_flight": 0, "acked": 5, "retried": 0,
            "dead_lettered": 0, "dropped": 0,
        }
    }  # fmt: skip


@pytest.mark.asyncio
async def test_crash_during_the_last_attempt_delivers_once_more(db: Path) -> None:
    async def hang(batch: MessageBatch) -> None:
        await asyncio.Event().wait()

    config = QueueConsumerConfig("q", max_batch_size=1, max_retries=0, dead_letter_queue="dlq")
    crashed, _ = await open_broker(db, Recorder(hang), config)
    token = inside_handler.set(True)
    try:
        await crashed.producer("q").send("last")
    finally:
        inside_handler.reset(token)
    await asyncio.sleep(0)

    async def fail(batch: MessageBatch) -> None:
        if batch.queue == "q":
            raise RuntimeError("still failing")

    recorder = Recorder(fail)
    broker, _ = await open_broker(db, recorder, config)
    await broker.queues.drain()
    # at-least-once: the crashed attempt is counted, the message is delivered once more, then
    # dead-lettered because it has had all its attempts
    assert [(body, attempts) for _, body, attempts in recorder.seen] == [("last", 2)]
    assert broker.queues["dlq"].stats().pending == 1
    await broker.close()
    for task in list(crashed._tasks):
        task.cancel()


@pytest.mark.asyncio
async def test_dead_letter_move_and_counters_are_persisted(db: Path) -> None:
    async def fail(batch: MessageBatch) -> None:
        raise RuntimeError("nope")

    config = QueueConsumerConfig("q", max_batch_size=1, max_retries=1, dead_letter_queue="dlq")
    broker, _ = await open_broker(db, Recorder(fail), config)
    await broker.producer("q").send("doomed")
    await broker.close()
    broker.store.close()
    status = read_store_status(db)
    assert status["q"] == {
        "pending": 0, "delayed": 0, "in_flight": 0, "acked": 0, "retried": 1,
        "dead_lettered": 1, "dropped": 0,
    }  # fmt: skip
    assert status["dlq"]["pending"] == 1

    recorder = Recorder()
    broker, clock = await open_broker(db, recorder, QueueConsumerConfig("dlq", max_batch_size=1))
    await clock.settle()
    assert [(body, attempts) for _, body, attempts in recorder.seen] == [("doomed", 1)]
    await broker.close()
    broker.store.close()


@pytest.mark.asyncio
async def test_retry_delay_survives_a_restart(db: Path) -> None:
    async def retry_later(batch: MessageBatch) -> None:
        batch.retryAll(delaySeconds=100)

    config = QueueConsumerConfig("q", max_batch_size=1)
    broker, _ = await open_broker(db, Recorder(retry_later), config)
    await broker.producer("q").send("x")
    await broker.close()
    broker.store.close()
    assert read_store_status(db, now=T0)["q"]["delayed"] == 1

    recorder = Recorder()
    broker, clock = await open_broker(db, recorder, config)
    await broker.queues.drain()
    assert [(body, attempts) for _, body, attempts in recorder.seen] == [("x", 2)]
    assert clock.now() == T0 + 100
    await broker.close()
    broker.store.close()


# -- pyflare queues status ----------------------------------------------------------------------


def write_project(folder: Path) -> Path:
    (folder / "worker.py").write_text("async def on_queue(batch, env, ctx):\n    pass\n")
    config = folder / "wrangler.toml"
    config.write_text(
        'name = "w"\nmain = "worker.py"\n\n'
        '[[queues.producers]]\nbinding = "Q"\nqueue = "q"\n\n'
        '[[queues.consumers]]\nqueue = "q"\ndead_letter_queue = "dlq"\n'
    )
    return config


@pytest.mark.asyncio
async def test_status_command(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    db = queue_store_path(tmp_path / ".wrangler" / "state")
    # no consumer: messages stay; a clock at real time, as the status command reads with one
    broker, _ = await open_broker(db, Recorder(), clock=VirtualClock())
    await broker.producer("q").sendBatch([{"body": 1}, {"body": 2, "delaySeconds": 600}])
    await broker.producer("dlq").send("dead")
    # the status command reads while the broker still holds the file open (WAL)
    runner = CliRunner()
    result = runner.invoke(queues_cli, ["status", "--json", "-c", str(config)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert list(report) == ["q", "dlq"]
    assert report["q"] | {"pending": 1, "delayed": 1, "dlq": "dlq", "consumer": True} == report["q"]
    assert report["dlq"]["pending"] == 1 and report["dlq"]["dlq"] is None

    table = runner.invoke(queues_cli, ["status", "-c", str(config)])
    assert table.exit_code == 0, table.output
    assert "dead_lettered" in table.output
    assert table.output.splitlines()[2].split() == ["q", "1", "1", "0", "0", "0", "0", "0", "dlq"]

    other = runner.invoke(queues_cli, ["status", "--json", "--persist-to", str(tmp_path / "x")])
    assert other.exit_code == 1
    await broker.close()
    broker.store.close()


def test_status_without_a_store_is_one_line(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    result = CliRunner().invoke(queues_cli, ["status", "-c", str(config)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: No queue store at ")
    assert len(result.output.strip().splitlines()) == 1


def test_status_with_only_persist_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SqliteStore(queue_store_path(tmp_path)).close()
    monkeypatch.chdir(tmp_path)  # no wrangler.toml here
    result = CliRunner().invoke(queues_cli, ["status", "--json", "--persist-to", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {}
