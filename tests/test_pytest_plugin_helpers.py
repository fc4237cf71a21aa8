"""The `pyflare` fixture's helpers (DESIGN.md section 13): hand-built queue batches and what the
consumer decided (side by side with a real delivery), a way into Durable Objects, execution
contexts and scheduled controllers for direct handler calls. Most run on `PyflareRuntime`
directly; the last ones go through pytester, as a user's tests do."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import PLUGIN_INI, write_worker

from miniflare_py.pytest_plugin.helpers import PyflareRuntime
from miniflare_py.pytest_plugin.queue_result import RetryBatch, RetryMessage

pytestmark = pytest.mark.anyio

WORKER = """\
from urllib.parse import urlparse

from workers import DurableObject, Response, WorkerEntrypoint


class Counter(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.calls = 0

    async def increment(self):
        self.calls += 1
        n = (await self.ctx.storage.get("n") or 0) + 1
        await self.ctx.storage.put("n", n)
        return n

    async def arm(self, at_ms):
        await self.ctx.storage.setAlarm(at_ms)

    async def alarm(self):
        await self.ctx.storage.put("rang", (await self.ctx.storage.get("rang") or 0) + 1)


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path == "/later":
            self.ctx.waitUntil(self.log(f"{request.method} {path} {await request.text()}"))
            return Response("accepted", status=202)
        return Response(request.cf["country"] if request.cf else "no cf")

    async def log(self, what):
        await self.env.DB.prepare("INSERT INTO log (what) VALUES (?)").bind(what).run()

    async def queue(self, batch):
        # Each message's body says what to do with it, and its "batch" key what to do with the
        # batch once every message had its call.
        for message in batch.messages:
            do = message.body.get("do")
            if do == "ack":
                message.ack()
            elif do == "retry":
                message.retry(delaySeconds=message.body.get("delay"))
        plans = [m.body.get("batch") for m in batch.messages]
        if "ackAll" in plans:
            batch.ackAll()
        if "retryAll" in plans:
            batch.retryAll(delaySeconds=60)
        if "raise" in plans:
            raise RuntimeError("consumer failed")

    async def scheduled(self, controller):
        await self.log(f"{controller.cron} {int(controller.scheduledTime)}")
"""

CONFIG = """\
[[d1_databases]]
binding = "DB"
database_name = "db"
database_id = "db"

[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[queues.consumers]]
queue = "jobs"
max_batch_size = 10
max_batch_timeout = 1
max_retries = 5
retry_delay = 30

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
"""

MIGRATION = "CREATE TABLE log (id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT NOT NULL);\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_worker(tmp_path, WORKER, CONFIG)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_log.sql").write_text(MIGRATION)
    return path


@pytest.fixture
async def mf(config: Path) -> AsyncIterator[PyflareRuntime]:
    async with PyflareRuntime(config) as runtime:
        await runtime.apply_migrations()
        yield runtime


async def logged(mf: PyflareRuntime) -> list[str]:
    rows = (await mf.env.DB.prepare("SELECT what FROM log ORDER BY id").all())["results"]
    return [row["what"] for row in rows]


# -- queue_batch, side by side with the broker ------------------------------------------------

SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "no calls: all acked": [{"key": "a"}, {"key": "b"}],
    "ack, retry with and without a delay": [
        {"key": "a", "do": "ack"},
        {"key": "b", "do": "retry", "delay": 5},
        {"key": "c", "do": "retry"},
        {"key": "d"},
    ],
    "retryAll beside own calls": [
        {"key": "a", "batch": "retryAll", "do": "ack"},
        {"key": "b", "do": "retry", "delay": 5},
        {"key": "c"},
    ],
    "ackAll beside own calls": [
        {"key": "a", "batch": "ackAll"},
        {"key": "b", "do": "retry", "delay": 10},
    ],
    "raise after acking and retrying": [
        {"key": "a", "batch": "raise", "do": "ack"},
        {"key": "b", "do": "retry", "delay": 7},
        {"key": "c"},
    ],
    "raise after ackAll": [
        {"key": "a", "batch": "ackAll"},
        {"key": "b", "batch": "raise", "do": "ack"},
        {"key": "c"},
    ],
}


async def through_the_broker(mf: PyflareRuntime, bodies: list[dict[str, Any]]) -> Any:
    """Send `bodies`, let one batch be delivered, and read what the broker did: the keys it
    acked, and {key: seconds until redelivery} of the ones it retried."""
    await mf.env.JOBS.sendBatch([{"body": body} for body in bodies])
    start = mf.clock.now()
    await mf.clock.advance(1)  # the batch timeout: one delivery, retries not yet due
    held = {m["body"]["key"]: m for m in mf.queues["jobs"].messages()}
    acked = sorted(body["key"] for body in bodies if body["key"] not in held)
    retried = {key: round(m["available_at"] - start - 1) for key, m in held.items()}
    return acked, retried, mf.queues["jobs"].stats()


@pytest.mark.parametrize("bodies", SCENARIOS.values(), ids=SCENARIOS.keys())
async def test_queue_batch_decides_as_the_broker_does(
    config: Path, bodies: list[dict[str, Any]]
) -> None:
    async with PyflareRuntime(config) as mf:
        messages = [{"id": f"id-{body['key']}", "body": body} for body in bodies]
        result = await mf.queue_batch("jobs", messages)
        assert mf.queues["jobs"].stats()["acked"] == 0  # nothing stored, nothing counted
        broker_acked, broker_retried, stats = await through_the_broker(mf, bodies)

    key = {f"id-{body['key']}": body["key"] for body in bodies}
    assert sorted(key[i] for i in result.acked) == broker_acked
    assert {key[r.id]: r.delay_seconds for r in result.retried} == broker_retried
    assert (stats["acked"], stats["retried"]) == (len(broker_acked), len(broker_retried))
    raised = any(body.get("batch") == "raise" for body in bodies)
    assert result.outcome == ("exception" if raised else "ok")
    assert (result.error == "RuntimeError: consumer failed") is raised


async def test_queue_batch_reports_the_handlers_own_calls(mf: PyflareRuntime) -> None:
    result = await mf.queue_batch(
        mf.env.JOBS,  # a producer binding names its queue
        [
            {"id": "m1", "body": {"key": "a", "batch": "retryAll", "do": "ack"}},
            {"id": "m2", "body": {"key": "b", "do": "retry", "delay": 5}},
            {"id": "m3", "body": {"key": "c", "do": "retry"}},
            {"id": "m4", "body": {"key": "d"}},
        ],
    )
    assert result.outcome == "ok" and result.error is None and result.exception is None
    assert result.ack_all is False
    assert result.retry_batch == RetryBatch(retry=True, delay_seconds=60)
    assert result.explicit_acks == ["m1"]
    assert result.retry_messages == [RetryMessage("m2", 5), RetryMessage("m3", None)]
    assert result.acked == ["m1"]
    # own delay > retryAll's delay > the consumer's retry_delay (30)
    assert result.retried == [
        RetryMessage("m2", 5),
        RetryMessage("m3", 60),
        RetryMessage("m4", 60),
    ]


async def test_queue_batch_exception_and_message_fields(mf: PyflareRuntime) -> None:
    result = await mf.queue_batch(
        "jobs", [{"body": {"batch": "raise"}, "attempts": 3, "timestamp": 1_700_000_000}]
    )
    assert (result.outcome, type(result.exception)) == ("exception", RuntimeError)
    [retried] = result.retried
    assert retried.delay_seconds == 30  # the consumer's retry_delay
    assert len(retried.id) == 32


async def test_queue_batch_names_an_unknown_queue(mf: PyflareRuntime) -> None:
    with pytest.raises(KeyError, match="nope"):
        await mf.queue_batch("nope", [1])
    with pytest.raises(TypeError, match="queue name or a queue binding"):
        await mf.queue_batch(42, [1])


async def test_direct_queue_call_with_message_batch_and_queue_result(mf: PyflareRuntime) -> None:
    batch = mf.message_batch("jobs", [{"id": "x", "body": {"do": "retry", "delay": 9}}])
    ctx = mf.execution_context()
    await mf.worker_module.Default(ctx, mf.env).queue(batch)
    result = await mf.queue_result(batch, ctx)
    assert result.retry_messages == [RetryMessage("x", 9)]
    assert (result.outcome, result.acked) == ("ok", [])


# -- Durable Objects ---------------------------------------------------------------------------


async def test_run_in_durable_object_sync_and_async(mf: PyflareRuntime) -> None:
    stub = mf.env.COUNTER.getByName("room")
    assert await stub.increment() == 1

    def peek(instance: Any, ctx: Any) -> Any:
        return (type(instance).__name__, instance.calls, ctx.id.toString() == stub.id.toString())

    assert await mf.run_in_durable_object(stub, peek) == ("Counter", 1, True)

    async def bump(instance: Any, ctx: Any) -> Any:
        await ctx.storage.put("n", 41)
        return await instance.increment()

    assert await mf.run_in_durable_object(stub, bump) == 42
    assert await stub.increment() == 43


async def test_run_durable_object_alarm(mf: PyflareRuntime) -> None:
    stub = mf.env.COUNTER.getByName("alarmed")
    assert await mf.run_durable_object_alarm(stub) is False  # none set
    await stub.arm(mf.clock.now() * 1000 + 3_600_000)
    assert await mf.run_durable_object_alarm(stub) is True  # fired now, an hour early
    assert await mf.durable_objects.get_storage("COUNTER", "alarmed").get("rang") == 1
    assert await mf.run_durable_object_alarm(stub) is False  # spent


async def test_list_durable_object_ids(mf: PyflareRuntime) -> None:
    assert mf.list_durable_object_ids(mf.env.COUNTER) == []
    for name in ("a", "b"):
        await mf.env.COUNTER.getByName(name).increment()
    by_namespace = mf.list_durable_object_ids(mf.env.COUNTER)
    assert sorted(i.name for i in by_namespace) == ["a", "b"]
    assert sorted(i.toString() for i in mf.list_durable_object_ids("COUNTER")) == sorted(
        i.toString() for i in by_namespace
    )
    with pytest.raises(TypeError, match="namespace"):
        mf.list_durable_object_ids(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="stub"):
        await mf.run_durable_object_alarm("a")  # type: ignore[arg-type]


# -- direct handler calls ------------------------------------------------------------------


async def test_direct_fetch_with_execution_context(mf: PyflareRuntime) -> None:
    ctx = mf.execution_context()
    request = mf.request("/later", method="POST", json={"n": 1})
    response = await mf.worker_module.Default(ctx, mf.env).fetch(request)
    assert (response.status, await response.text()) == (202, "accepted")
    assert await logged(mf) == []  # the waitUntil task has not run yet
    await mf.wait_on_execution_context(ctx)
    assert await logged(mf) == ['POST /later {"n": 1}']


async def test_request_is_as_fetch_builds_it(mf: PyflareRuntime) -> None:
    request = mf.request("/where", headers={"x-a": "1"})
    assert (request.url, request.method, request.headers["x-a"]) == (
        "http://localhost/where",
        "GET",
        "1",
    )
    response = await mf.worker_module.Default(mf.execution_context(), mf.env).fetch(request)
    assert await response.text() == await (await mf.fetch("/where")).text()


async def test_wait_on_execution_context_jumps_virtual_time(mf: PyflareRuntime) -> None:
    ctx = mf.execution_context()
    start = mf.clock.now()
    done: list[float] = []

    async def later() -> None:
        await mf.clock.sleep(3600)
        done.append(mf.clock.now())
        ctx.waitUntil(asyncio.sleep(0))  # work started by work is waited for too

    ctx.waitUntil(later())
    await mf.wait_on_execution_context(ctx)
    assert done == [start + 3600]
    await mf.wait_on_execution_context(ctx)  # nothing left: returns at once


async def test_wait_on_execution_context_raises_what_failed(mf: PyflareRuntime) -> None:
    async def fail(message: str) -> None:
        raise ValueError(message)

    ctx = mf.execution_context()
    ctx.waitUntil(fail("one"))
    with pytest.raises(ValueError, match="one"):
        await mf.wait_on_execution_context(ctx)
    ctx.waitUntil(fail("two"))
    ctx.waitUntil(fail("three"))
    with pytest.raises(ExceptionGroup) as group:
        await mf.wait_on_execution_context(ctx)
    assert sorted(str(e) for e in group.value.exceptions) == ["three", "two"]
    with pytest.raises(TypeError, match="execution_context"):
        await mf.wait_on_execution_context(object())  # type: ignore[arg-type]


async def test_scheduled_controller(mf: PyflareRuntime) -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    controller = mf.scheduled_controller(cron="0 * * * *", scheduled_time=when)
    assert (controller.cron, controller.scheduledTime) == ("0 * * * *", 1_735_689_600_000)
    await mf.worker_module.Default(mf.execution_context(), mf.env).scheduled(controller)
    assert await logged(mf) == ["0 * * * * 1735689600000"]
    now = mf.scheduled_controller()
    assert now.scheduledTime == mf.clock.now() * 1000
    assert mf.scheduled_controller(scheduled_time=60).scheduledTime == 60_000


async def test_module_level_handlers_called_directly(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        from workers import Response

        async def on_fetch(request, env, ctx):
            ctx.waitUntil(env.SEEN.append(request.url) or noop())
            return Response(env.GREETING)

        async def noop():
            pass
        """,
        '[vars]\nGREETING = "hi"\n',
    )
    async with PyflareRuntime(config, vars={"GREETING": "hello"}) as mf:
        ctx = mf.execution_context()
        env = mf.env
        env.SEEN = []
        response = await mf.worker_module.on_fetch(mf.request("https://example.com/x"), env, ctx)
        await mf.wait_on_execution_context(ctx)
        assert (await response.text(), env.SEEN) == ("hello", ["https://example.com/x"])


# -- through the fixture, as a user writes them ---------------------------------------------


def test_helpers_through_the_fixtures(pytester: pytest.Pytester, config: Path) -> None:
    for name in ("wrangler.toml", "worker.py"):
        (pytester.path / name).write_text((config.parent / name).read_text())
    (pytester.path / "migrations").mkdir()
    (pytester.path / "migrations" / "0001_log.sql").write_text(MIGRATION)
    pytester.makeini(PLUGIN_INI)
    pytester.makepyfile(
        test_user=textwrap.dedent(
            """
            import pytest

            from miniflare_py.pytest_plugin import PyflareRuntime, QueueBatchResult


            @pytest.mark.asyncio
            async def test_async(pyflare):
                assert isinstance(pyflare, PyflareRuntime)
                result = await pyflare.queue_batch("jobs", [{"do": "retry", "delay": 3}])
                assert isinstance(result, QueueBatchResult)
                assert [r.delay_seconds for r in result.retry_messages] == [3]
                stub = pyflare.env.COUNTER.getByName("x")
                assert await pyflare.run_in_durable_object(stub, lambda o, ctx: o.calls) == 0


            def test_sync(pyflare_sync):
                result = pyflare_sync.queue_batch("jobs", [{"do": "ack"}, {}])
                assert (result.outcome, len(result.acked), result.explicit_acks != []) == (
                    "ok", 2, True
                )
                stub = pyflare_sync.env.COUNTER.getByName("y")
                assert stub.increment() == 1
                assert pyflare_sync.run_durable_object_alarm(stub) is False
                assert [i.name for i in pyflare_sync.list_durable_object_ids("COUNTER")] == ["y"]
                controller = pyflare_sync.scheduled_controller(cron="5 * * * *")
                assert controller.cron == "5 * * * *"
            """
        )
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
