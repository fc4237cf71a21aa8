"""Acceptance scenarios for DESIGN.md §4 and §6, written from the outside.

Each test writes a small wrangler.toml + worker.py, runs it through the public `Miniflare` API on
the virtual clock and checks exact virtual times, attempts, error strings and log lines. The
worker modules call into a recorder module registered in `sys.modules`, so a scenario's handler
logic lives next to its assertions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import sys
import textwrap
import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from miniflare_py import Miniflare

pytestmark = pytest.mark.asyncio

REC = "_pyflare_acceptance_rec"

CLASS_WORKER = f"""
import {REC} as rec
from workers import WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await rec.fetch(request, self.env)

    async def queue(self, batch):
        await rec.on_queue(batch, self.env)
"""

FUNC_WORKER = f"""
import {REC} as rec


async def on_fetch(request, env):
    return await rec.fetch(request, env)


async def on_queue(batch, env, ctx):
    await rec.on_queue(batch, env)
"""

BASE = """
name = "acceptance"
main = "worker.py"

[[queues.producers]]
binding = "Q"
queue = "q"
"""


def consumer(queue: str = "q", **settings: Any) -> str:
    lines = ["[[queues.consumers]]", f'queue = "{queue}"']
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in settings.items()]
    return "\n".join(lines) + "\n"


class Recorder(types.ModuleType):
    """What the worker shims call: records each batch at its virtual time, then runs `handler`."""

    def __init__(self) -> None:
        super().__init__(REC)
        self.events: list[tuple[str, float, list[tuple[str, Any, int, Any]]]] = []
        self.handler: Callable[[Any, Any], Awaitable[None]] | None = None
        self.fetch_handler: Callable[[Any, Any], Awaitable[Any]] | None = None
        self.gate: asyncio.Event | None = None
        self.active = 0
        self.max_active = 0
        self.mf: Miniflare | None = None
        self.t0 = 0.0

    def start(self, mf: Miniflare) -> None:
        self.mf, self.t0 = mf, mf.clock.now()

    def now(self) -> float:
        assert self.mf is not None
        return round(self.mf.clock.now() - self.t0, 6)

    async def on_queue(self, batch: Any, env: Any) -> None:
        msgs = [(m.id, m.body, m.attempts, m.timestamp) for m in batch.messages]
        self.events.append((batch.queue, self.now(), msgs))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.handler is not None:
                await self.handler(batch, env)
        finally:
            self.active -= 1

    async def fetch(self, request: Any, env: Any) -> Any:
        assert self.fetch_handler is not None
        return await self.fetch_handler(request, env)

    def deliveries(self, queue: str = "q") -> list[tuple[float, list[Any]]]:
        return [(t, [m[1] for m in msgs]) for q, t, msgs in self.events if q == queue]

    def attempts(self, queue: str = "q") -> list[tuple[float, list[tuple[Any, int]]]]:
        return [(t, [(m[1], m[2]) for m in msgs]) for q, t, msgs in self.events if q == queue]

    def everything(self) -> list[tuple[str, float, list[tuple[Any, int]]]]:
        return [(q, t, [(m[1], m[2]) for m in msgs]) for q, t, msgs in self.events]


@pytest.fixture
def rec() -> Iterator[Recorder]:
    recorder = Recorder()
    sys.modules[REC] = recorder
    yield recorder
    sys.modules.pop(REC, None)


@pytest.fixture
def project(tmp_path: Path, rec: Recorder) -> Callable[..., str]:
    def make(toml: str, worker: str = CLASS_WORKER, sub: str = "w") -> str:
        folder = tmp_path / sub
        folder.mkdir(exist_ok=True)
        (folder / "wrangler.toml").write_text(textwrap.dedent(toml))
        (folder / "worker.py").write_text(textwrap.dedent(worker))
        return str(folder / "wrangler.toml")

    return make


async def always_fail(batch: Any, env: Any) -> None:
    raise RuntimeError("boom")


# -- defaults ------------------------------------------------------------------------------------


async def test_defaults_partial_batch_waits_five_seconds(project, rec) -> None:
    async with Miniflare(project(BASE + consumer())) as mf:
        rec.start(mf)
        for i in range(9):
            await mf.env.Q.send(i)
        stats = mf.queues["q"].stats()
        assert (stats["pending"], stats["delayed"], stats["in_flight"]) == (9, 0, 0)
        await mf.clock.advance(4.999)
        assert rec.events == []
        await mf.clock.advance(0.001)
        assert rec.deliveries() == [(5.0, list(range(9)))]
        assert mf.queues["q"].stats()["acked"] == 9


async def test_defaults_full_batch_of_ten_is_handled_when_send_returns(project, rec) -> None:
    async with Miniflare(project(BASE + consumer())) as mf:
        rec.start(mf)
        for i in range(10):
            await mf.env.Q.send(i)
        assert rec.deliveries() == [(0.0, list(range(10)))]
        stats = mf.queues["q"].stats()
        assert (stats["pending"], stats["in_flight"], stats["acked"]) == (0, 0, 10)


@pytest.mark.parametrize("worker", [CLASS_WORKER, FUNC_WORKER], ids=["class", "on_queue"])
async def test_defaults_three_retries_then_dropped_with_log_lines(
    project, rec, caplog, worker
) -> None:
    # An earlier Miniflare must not leave the engine logger stuck at INFO: the debug
    # `Retrying` line has to reach a test that asks for DEBUG.
    async with Miniflare(project(BASE + consumer(), sub="earlier")):
        pass
    caplog.set_level(logging.DEBUG)
    async with Miniflare(project(BASE + consumer(), worker=worker)) as mf:
        rec.start(mf)
        rec.handler = always_fail
        await mf.env.Q.send("x")
        await mf.queues.drain()
        assert rec.attempts() == [
            (t, [("x", n)]) for t, n in ((5.0, 1), (10.0, 2), (15.0, 3), (20.0, 4))
        ]
        stats = mf.queues["q"].stats()
        assert (stats["retried"], stats["dropped"], stats["acked"]) == (3, 1, 0)
    mid = rec.events[0][2][0][0]
    assert re.fullmatch(r"[0-9a-f]{32}", mid)
    assert caplog.text.count(f'Retrying message "{mid}" on queue "q"...') == 3
    assert f'Dropped message "{mid}" on queue "q" after 4 failed attempts!' in caplog.text
    assert re.search(r"QUEUE q 0/1 \(\d+(\.\d+)?ms\)", caplog.text)


async def test_the_engine_log_level_is_given_back_on_close(project, rec) -> None:
    engine, root = logging.getLogger("miniflare_py"), logging.getLogger()
    levels = engine.level, root.level
    engine.setLevel(logging.NOTSET)
    root.setLevel(logging.WARNING)
    try:
        async with Miniflare(project(BASE + consumer())) as mf:
            rec.start(mf)
            assert engine.level == logging.INFO  # so `mf.logs` keeps the batch lines
            await mf.env.Q.sendBatch([{"body": i} for i in range(10)])
            assert any(line.startswith("info    QUEUE q 10/10") for line in mf.logs), mf.logs
        assert engine.level == logging.NOTSET
    finally:
        engine.setLevel(levels[0])
        root.setLevel(levels[1])


# -- limits and config errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "key", "value", "allowed"),
    [
        ("consumer", "max_batch_size", 0, "1-100"),
        ("consumer", "max_batch_size", 101, "1-100"),
        ("consumer", "max_batch_timeout", 61, "0-60"),
        ("consumer", "max_retries", 101, "0-100"),
        ("consumer", "retry_delay", 86401, "0-86400"),
        ("producer", "delivery_delay", 86401, "0-86400"),
    ],
)
async def test_config_value_out_of_range_names_file_key_and_range(
    project, where, key, value, allowed
) -> None:
    if where == "consumer":
        toml = BASE + consumer(**{key: value})
    else:
        toml = BASE.replace('queue = "q"\n', f'queue = "q"\n{key} = {value}\n') + consumer()
    with pytest.raises(Exception) as info:
        async with Miniflare(project(toml)):
            pass
    message = str(info.value)
    assert "wrangler.toml" in message and key in message and str(value) in message, message
    assert allowed in message, message


async def test_config_boundary_values_are_accepted(project) -> None:
    toml = BASE.replace('queue = "q"\n', 'queue = "q"\ndelivery_delay = 86400\n') + consumer(
        max_batch_size=100, max_batch_timeout=60, max_retries=100, retry_delay=86400
    )
    async with Miniflare(project(toml)):
        pass


@pytest.mark.parametrize("bad", [-1, 86401])
async def test_bad_delay_seconds_at_send_names_value_and_range(project, rec, bad) -> None:
    async with Miniflare(project(BASE + consumer())) as mf:
        calls = [
            lambda: mf.env.Q.send(1, delaySeconds=bad),
            lambda: mf.env.Q.sendBatch([{"body": 1}], delaySeconds=bad),
            lambda: mf.env.Q.sendBatch([{"body": 1}, {"body": 2, "delaySeconds": bad}]),
        ]
        for call in calls:
            with pytest.raises(Exception) as info:
                await call()
            assert str(bad) in str(info.value) and "86400" in str(info.value)
        assert mf.queues["q"].messages() == []


async def test_two_consumers_and_own_dead_letter_queue_are_config_errors(project) -> None:
    for toml in (BASE + consumer() + consumer(), BASE + consumer(dead_letter_queue="q")):
        with pytest.raises(Exception, match='"q"'):
            async with Miniflare(project(toml)):
                pass


async def test_consumer_of_an_unknown_queue_only_warns(project, caplog) -> None:
    async with Miniflare(project(BASE + consumer("elsewhere"))):
        pass
    assert any(
        r.levelno == logging.WARNING and "elsewhere" in r.getMessage() for r in caplog.records
    )


# -- batching ------------------------------------------------------------------------------------


async def test_seven_messages_with_batch_size_five(project, rec) -> None:
    async with Miniflare(project(BASE + consumer(max_batch_size=5, max_batch_timeout=30))) as mf:
        rec.start(mf)
        for i in range(7):
            await mf.env.Q.send(i)
        assert rec.deliveries() == [(0.0, [0, 1, 2, 3, 4])]
        assert mf.queues["q"].stats()["pending"] == 2
        await mf.clock.advance(29.999)
        assert len(rec.events) == 1
        await mf.clock.advance(0.001)
        assert rec.deliveries() == [(0.0, [0, 1, 2, 3, 4]), (30.0, [5, 6])]


async def test_partial_batch_timer_starts_with_its_first_message(project, rec) -> None:
    async with Miniflare(project(BASE + consumer(max_batch_size=5, max_batch_timeout=5))) as mf:
        rec.start(mf)
        await mf.env.Q.send("a")
        await mf.clock.advance(3)
        await mf.env.Q.send("b")
        await mf.clock.advance(1.999)
        assert rec.events == []
        await mf.clock.advance(0.001)
        assert rec.deliveries() == [(5.0, ["a", "b"])]
        for i in range(3):
            await mf.env.Q.send(i)
        await mf.clock.advance(1)
        await mf.env.Q.sendBatch([{"body": 3}, {"body": 4}])  # fills the batch: goes at once
        assert rec.deliveries()[1] == (6.0, [0, 1, 2, 3, 4])


async def test_a_delayed_message_then_waits_the_batch_timeout(project, rec) -> None:
    async with Miniflare(project(BASE + consumer(max_batch_timeout=5))) as mf:
        rec.start(mf)
        await mf.env.Q.send("a", delaySeconds=10)
        assert (mf.queues["q"].stats()["pending"], mf.queues["q"].stats()["delayed"]) == (0, 1)
        await mf.clock.advance(10)
        assert (mf.queues["q"].stats()["pending"], mf.queues["q"].stats()["delayed"]) == (1, 0)
        await mf.clock.advance(4.999)
        assert rec.events == []
        await mf.clock.advance(0.001)
        assert rec.deliveries() == [(15.0, ["a"])]


async def test_a_full_batch_sent_by_fetch_is_handled_when_fetch_returns(project, rec) -> None:
    from workers import Response

    async def fetch(request: Any, env: Any) -> Any:
        await env.Q.sendBatch([{"body": i} for i in range(10)])
        return Response.json({"ok": True})

    async with Miniflare(project(BASE + consumer())) as mf:
        rec.start(mf)
        rec.fetch_handler = fetch
        assert (await mf.fetch("/", method="POST")).status == 200
        assert rec.deliveries() == [(0.0, list(range(10)))]


# -- attempts, dead letters ----------------------------------------------------------------------


async def test_seed_retry_to_dead_letter_queue(project, rec, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    toml = (
        BASE
        + consumer(max_batch_timeout=30, max_retries=2, dead_letter_queue="dlq")
        + consumer("dlq", max_batch_timeout=1, max_retries=0)
    )

    async def fail_main(batch: Any, env: Any) -> None:
        if batch.queue == "q":
            raise RuntimeError("nope")

    async with Miniflare(project(toml)) as mf:
        rec.start(mf)
        rec.handler = fail_main
        await mf.env.Q.send({"task": 1})
        await mf.queues.drain()
        assert rec.everything() == [
            ("q", 30.0, [({"task": 1}, 1)]),
            ("q", 60.0, [({"task": 1}, 2)]),
            ("q", 90.0, [({"task": 1}, 3)]),
            ("dlq", 91.0, [({"task": 1}, 1)]),
        ]
        (mid,) = {m[0] for _, _, msgs in rec.events for m in msgs}
        (stamp,) = {m[3] for _, _, msgs in rec.events for m in msgs}
        assert isinstance(stamp, dt.datetime)
        assert abs(stamp.timestamp() - rec.t0) < 0.001
        q, dlq = mf.queues["q"].stats(), mf.queues["dlq"].stats()
        assert (q["retried"], q["dead_lettered"], q["acked"], dlq["acked"]) == (2, 1, 0, 1)
    assert (
        f'Moving message "{mid}" on queue "q" to dead letter queue "dlq" after 3 failed attempts...'
        in caplog.text
    )


async def test_one_allowed_attempt_says_attempt(project, rec, caplog) -> None:
    toml = (
        BASE
        + consumer(max_retries=0, max_batch_timeout=0, dead_letter_queue="dlq")
        + consumer("dlq", max_retries=1, max_batch_timeout=2, retry_delay=3)
    )
    async with Miniflare(project(toml)) as mf:
        rec.start(mf)
        rec.handler = always_fail
        await mf.env.Q.send("z")
        await mf.queues.drain()
        assert rec.everything() == [
            ("q", 0.0, [("z", 1)]),
            ("dlq", 2.0, [("z", 1)]),
            ("dlq", 7.0, [("z", 2)]),
        ]
        assert mf.queues["dlq"].stats()["dropped"] == 1
    mid = rec.events[0][2][0][0]
    assert 'to dead letter queue "dlq" after 1 failed attempt...' in caplog.text
    assert f'Dropped message "{mid}" on queue "dlq" after 2 failed attempts!' in caplog.text


async def test_two_queues_dead_letter_into_each_other(project, rec) -> None:
    toml = (
        BASE.replace('binding = "Q"\nqueue = "q"', 'binding = "A"\nqueue = "a"')
        + consumer("a", max_retries=0, max_batch_timeout=1, dead_letter_queue="b")
        + consumer("b", max_retries=0, max_batch_timeout=2, dead_letter_queue="a")
    )
    async with Miniflare(project(toml)) as mf:
        rec.start(mf)
        rec.handler = always_fail
        await mf.env.A.send("ping")
        for step in (1, 2, 1, 2):
            await mf.clock.advance(step)
        assert rec.everything() == [
            ("a", 1.0, [("ping", 1)]),
            ("b", 3.0, [("ping", 1)]),
            ("a", 4.0, [("ping", 1)]),
            ("b", 6.0, [("ping", 1)]),
        ]
        assert len({m[0] for _, _, msgs in rec.events for m in msgs}) == 1


async def test_a_dead_letter_queue_without_consumer_keeps_its_messages(project, rec) -> None:
    toml = BASE + consumer(max_retries=1, max_batch_timeout=0, dead_letter_queue="dead")
    async with Miniflare(project(toml)) as mf:
        rec.start(mf)
        rec.handler = always_fail
        await mf.env.Q.send("x")
        await mf.queues.drain()
        assert [n for _, msgs in rec.attempts() for _, n in msgs] == [1, 2]
        assert mf.queues["dead"].stats()["pending"] == 1
        assert [m["body"] for m in mf.queues["dead"].messages()] == ["x"]


# -- ack / retry ---------------------------------------------------------------------------------


async def test_an_explicit_ack_survives_a_raising_handler(project, rec, caplog) -> None:
    async def handler(batch: Any, env: Any) -> None:
        if batch.messages[0].attempts == 1:
            batch.messages[0].ack()
            raise RuntimeError("after ack")

    async with Miniflare(project(BASE + consumer(max_batch_timeout=0))) as mf:
        rec.start(mf)
        rec.handler = handler
        await mf.env.Q.sendBatch([{"body": "m1"}, {"body": "m2"}])
        await mf.queues.drain()
        assert rec.attempts() == [(0.0, [("m1", 1), ("m2", 1)]), (0.0, [("m2", 2)])]
        stats = mf.queues["q"].stats()
        assert (stats["acked"], stats["retried"]) == (2, 1)
    assert re.search(r"QUEUE q 1/2 \(\d+(\.\d+)?ms\)", caplog.text)


@pytest.mark.parametrize(
    ("calls", "retried", "warns"),
    [
        ("m0.ack(); m0.retry()", [], True),
        ("m0.retry(); m0.ack()", ["m0"], True),
        ("m0.retry(); b.ackAll()", ["m0"], False),
        ("m0.ack(); b.retryAll()", ["m1"], False),
        ("b.retryAll(); b.ackAll()", ["m0", "m1"], True),
        ("b.retryAll(); m0.ack()", ["m0", "m1"], True),
        ("b.ackAll(); m0.retry()", [], True),
        # as in workerd: an explicit retry after retryAll() keeps its own delay
        ("b.retryAll(delaySeconds=0); m0.retry(delaySeconds=5)", ["m1", "m0"], False),
        ("", [], False),
    ],
)
async def test_the_first_call_on_a_message_wins(project, rec, caplog, calls, retried, warns):
    async def handler(batch: Any, env: Any) -> None:
        if batch.messages[0].attempts == 1:
            m0, m1 = batch.messages
            exec(calls, {}, {"b": batch, "m0": m0, "m1": m1})

    async with Miniflare(project(BASE + consumer(max_batch_timeout=0))) as mf:
        rec.start(mf)
        rec.handler = handler
        await mf.env.Q.sendBatch([{"body": "m0"}, {"body": "m1"}])
        await mf.queues.drain()
        assert [body for _, bodies in rec.deliveries()[1:] for body in bodies] == retried
    assert any(r.levelno == logging.WARNING for r in caplog.records) is warns, caplog.text


async def test_retry_delay_precedence(project, rec) -> None:
    async def handler(batch: Any, env: Any) -> None:
        if batch.messages[0].attempts > 1:
            return
        by_body = {m.body: m for m in batch.messages}
        by_body["explicit"].retry(delaySeconds=2)
        by_body["explicit0"].retry(delaySeconds=0)
        by_body["plain"].retry()
        raise RuntimeError("the others retry after the consumer's retry_delay")

    async with Miniflare(project(BASE + consumer(max_batch_timeout=0, retry_delay=7))) as mf:
        rec.start(mf)
        rec.handler = handler
        bodies = ["explicit", "explicit0", "plain", "other"]
        await mf.env.Q.sendBatch([{"body": b} for b in bodies])
        stats = mf.queues["q"].stats()
        assert (stats["delayed"], stats["retried"]) == (3, 4)
        await mf.queues.drain()
        assert rec.deliveries()[1:] == [
            (0.0, ["explicit0"]),
            (2.0, ["explicit"]),
            (7.0, ["plain", "other"]),
        ]


async def test_retry_all_delay_then_batch_timeout(project, rec) -> None:
    async def handler(batch: Any, env: Any) -> None:
        if batch.messages[0].attempts == 1:
            batch.messages[0].retry(delaySeconds=1)
            batch.retryAll(delaySeconds=4)

    async with Miniflare(project(BASE + consumer(max_batch_timeout=5, retry_delay=7))) as mf:
        rec.start(mf)
        rec.handler = handler
        await mf.env.Q.sendBatch([{"body": "a"}, {"body": "b"}])
        await mf.clock.advance(5)
        # "a" is deliverable again at 6, "b" at 9: the partial batch goes at 6 + 5
        await mf.clock.advance(5.999)
        assert len(rec.events) == 1
        await mf.clock.advance(0.001)
        assert rec.attempts() == [(5.0, [("a", 1), ("b", 1)]), (11.0, [("a", 2), ("b", 2)])]


async def test_send_delay_precedence_and_timestamp(project, rec) -> None:
    toml = BASE.replace('queue = "q"\n', 'queue = "q"\ndelivery_delay = 20\n') + consumer(
        max_batch_timeout=0, max_batch_size=1
    )
    async with Miniflare(project(toml)) as mf:
        rec.start(mf)
        await mf.env.Q.send("producer")
        await mf.env.Q.send("explicit", delaySeconds=3)
        await mf.env.Q.sendBatch(
            [
                {"body": "batch"},
                {"body": "own", "delaySeconds": 1},
                {"body": "own0", "delaySeconds": 0},
            ],
            delaySeconds=10,
        )
        assert mf.queues["q"].stats()["delayed"] == 4
        await mf.queues.drain()
        assert rec.deliveries() == [
            (0.0, ["own0"]),
            (1.0, ["own"]),
            (3.0, ["explicit"]),
            (10.0, ["batch"]),
            (20.0, ["producer"]),
        ]
        for _, _, msgs in rec.events:
            assert abs(msgs[0][3].timestamp() - rec.t0) < 0.001


@pytest.mark.parametrize(("setting", "expected"), [(None, 1), (2, 2)])
async def test_max_concurrency(project, rec, setting, expected) -> None:
    settings: dict[str, Any] = {"max_batch_size": 1, "max_batch_timeout": 0}
    if setting is not None:
        settings["max_concurrency"] = setting
    async with Miniflare(project(BASE + consumer(**settings))) as mf:
        rec.start(mf)
        rec.gate = asyncio.Event()
        sending = asyncio.ensure_future(mf.env.Q.sendBatch([{"body": i} for i in range(3)]))
        for _ in range(50):
            await asyncio.sleep(0)
        stats = mf.queues["q"].stats()
        assert (stats["in_flight"], stats["pending"]) == (expected, 3 - expected)
        rec.gate.set()
        await sending
        await mf.queues.drain()
        assert rec.max_active == expected
        assert mf.queues["q"].stats()["acked"] == 3


# -- content types, producer errors, metadata ----------------------------------------------------


async def test_content_types(project, rec) -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    v8 = {"t": (1, 2), "s": {1, 2}, "b": b"\x00\x01", "d": when, "n": None, "f": 1.5}
    async with Miniflare(project(BASE + consumer(max_batch_timeout=0, max_batch_size=1))) as mf:
        rec.start(mf)
        await mf.env.Q.send({"a": (1, 2), 1: "k"})
        await mf.env.Q.send("hello", contentType="text")
        await mf.env.Q.send(bytearray(b"ab"), contentType="bytes")
        await mf.env.Q.send(memoryview(b"cd"), contentType="bytes")
        await mf.env.Q.send(v8, contentType="v8")
        bodies = [bodies[0] for _, bodies in rec.deliveries()]
        assert bodies[0] == {"a": [1, 2], "1": "k"} and bodies[0].a == [1, 2]
        assert bodies[1] == "hello"
        assert [type(b) for b in bodies[2:4]] == [bytes, bytes] and bodies[2:4] == [b"ab", b"cd"]
        assert bodies[4] == v8 and bodies[4] is not v8
        assert (type(bodies[4]["t"]), type(bodies[4]["s"])) == (tuple, set)


async def test_producer_errors_are_exact_and_store_nothing(project) -> None:
    async with Miniflare(project(BASE + consumer())) as mf:
        q = mf.env.Q
        exact = [
            (lambda: q.send(), "Message body cannot be undefined"),
            (lambda: q.send(1, contentType="xml"), "Unsupported queue message content type: xml"),
            (
                lambda: q.send(1, contentType="text"),
                'Content Type "text" requires a value of type string, but received: int',
            ),
            (
                lambda: q.send("x" * 127999),
                "Queue send failed: message length of 128001 bytes exceeds limit of 128000",
            ),
            (
                lambda: q.send(b"x" * 128001, contentType="bytes"),
                "Queue send failed: message length of 128001 bytes exceeds limit of 128000",
            ),
            (
                lambda: q.sendBatch([{"body": i} for i in range(101)]),
                "Queue sendBatch failed: batch message count of 101 exceeds limit of 100",
            ),
            (lambda: q.sendBatch([]), "sendBatch() requires at least one message"),
            (
                lambda: q.sendBatch([{"body": "x" * 89998} for _ in range(3)]),
                "Queue sendBatch failed: batch size of 270000 bytes exceeds limit of 256000",
            ),
            (
                lambda: q.sendBatch([{"body": 1}, 2]),
                "Incorrect type for array element 1: the provided value is not of type "
                "'MessageSendRequest'.",
            ),
        ]
        for call, message in exact:
            with pytest.raises(Exception) as info:
                await call()
            assert str(info.value) == message
        for call in (
            lambda: q.send(object()),
            lambda: q.send("s", contentType="bytes"),
            lambda: q.sendBatch([{"body": 1}, {"contentType": "json"}]),
            lambda: q.sendBatch([{"body": 1}, {"body": "x" * 127999}]),
        ):
            with pytest.raises(Exception):  # noqa: B017
                await call()
        assert mf.queues["q"].messages() == []
        await q.send("x" * 127998)  # 128000 bytes: the limit is inclusive
        await q.send("é" * 63999)  # UTF-8, not escaped
        await q.sendBatch([{"body": "x" * 127998}, {"body": "x" * 127998}])
        assert mf.queues["q"].stats()["pending"] == 4


async def test_send_and_send_batch_answer_backlog_metrics(project) -> None:
    async with Miniflare(project(BASE)) as mf:  # no consumer: messages stay pending
        start = mf.clock.now()
        first = await mf.env.Q.send({"a": 1})  # 7 bytes
        metrics = first["metadata"]["metrics"]
        assert set(metrics) == {"backlogCount", "backlogBytes", "oldestMessageTimestamp"}
        assert (metrics["backlogCount"], metrics["backlogBytes"]) == (1, 7)
        assert abs(metrics["oldestMessageTimestamp"] - start * 1000) <= 1
        await mf.clock.advance(2)
        second = await mf.env.Q.sendBatch([{"body": "ab"}, {"body": "c", "contentType": "text"}])
        later = second["metadata"]["metrics"]
        assert (later["backlogCount"], later["backlogBytes"]) == (3, 12)
        assert later["oldestMessageTimestamp"] == metrics["oldestMessageTimestamp"]
        await mf.queues.drain()
        assert mf.queues["q"].stats()["pending"] == 3


async def test_fail_next_sends(project) -> None:
    async with Miniflare(project(BASE + consumer())) as mf:
        mf.queues["q"].fail_next_sends(1)
        with pytest.raises(Exception):  # noqa: B017
            await mf.env.Q.send(1)
        assert mf.queues["q"].stats()["pending"] == 0
        await mf.env.Q.send(2)
        assert mf.queues["q"].stats()["pending"] == 1


# -- §6 controls ---------------------------------------------------------------------------------


async def test_pause_and_resume(project, rec) -> None:
    async with Miniflare(project(BASE + consumer())) as mf:
        rec.start(mf)
        mf.queues["q"].pause()
        await mf.env.Q.sendBatch([{"body": i} for i in range(10)])
        await mf.clock.advance(10)
        assert rec.events == [] and mf.queues["q"].stats()["pending"] == 10
        mf.queues["q"].resume()
        await mf.clock.advance(0)
        assert rec.deliveries() == [(10.0, list(range(10)))]


async def test_drain_jumps_time_and_follows_a_consumer_that_produces(project, rec) -> None:
    toml = (
        BASE
        + '[[queues.producers]]\nbinding = "Q2"\nqueue = "q2"\n'
        + consumer(max_batch_timeout=3)
        + consumer("q2", max_batch_timeout=4)
    )

    async def handler(batch: Any, env: Any) -> None:
        if batch.queue == "q":
            for m in batch.messages:
                await env.Q2.send({"from": m.body}, delaySeconds=1000)

    async with Miniflare(project(toml)) as mf:
        rec.start(mf)
        rec.handler = handler
        await mf.env.Q.send(1)
        await mf.queues.drain()
        assert [(q, t, [b for b, _ in m]) for q, t, m in rec.everything()] == [
            ("q", 3.0, [1]),
            ("q2", 1007.0, [{"from": 1}]),
        ]
        assert mf.clock.now() - rec.t0 == pytest.approx(1007.0)


async def test_a_handler_filling_its_own_queue_does_not_deadlock(project, rec) -> None:
    async def handler(batch: Any, env: Any) -> None:
        if batch.messages[0].body == "seed":
            await env.Q.sendBatch([{"body": i} for i in range(10)])

    async with Miniflare(project(BASE + consumer(max_batch_timeout=0))) as mf:
        rec.start(mf)
        rec.handler = handler
        await asyncio.wait_for(mf.env.Q.send("seed"), 5)
        await asyncio.wait_for(mf.queues.drain(), 5)
        assert rec.deliveries() == [(0.0, ["seed"]), (0.0, list(range(10)))]
