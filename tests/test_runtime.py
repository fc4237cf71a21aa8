"""`Miniflare` end to end on the seed worker (fixtures/ai-tasks): D1, queues, env, clock."""

from __future__ import annotations

import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from helpers import SEED, submit, task

from miniflare_py import Miniflare
from miniflare_py.clock import RealClock, VirtualClock
from miniflare_py.d1 import apply_migrations
from miniflare_py.workers import Response

QUEUE = "ai-processing-queue"
DLQ = "ai-processing-dlq"


def migrate(mf: Miniflare) -> list[str]:
    return apply_migrations(mf.d1["DB"], mf.config.d1_databases[0], mf.config.root)


@pytest.fixture
async def mf(anyio_backend: str) -> AsyncIterator[Miniflare]:
    async with Miniflare(SEED / "wrangler.toml") as runtime:
        migrate(runtime)
        yield runtime


# the seed flow


@pytest.mark.anyio
async def test_migrations_create_the_seed_tables(anyio_backend: str) -> None:
    async with Miniflare(SEED / "wrangler.toml") as mf:
        assert migrate(mf) == ["0001_create_tasks.sql"]
        assert migrate(mf) == []  # a second run has nothing to do
        health = await mf.fetch("/api/health")
        assert await health.json() == {"status": "ok", "database": "ok", "queue": "ok"}


@pytest.mark.anyio
async def test_a_submitted_task_is_completed_after_drain(mf: Miniflare) -> None:
    task_id = await submit(mf, question="what is pyflare")
    await mf.queues.drain()
    done = await task(mf, task_id)
    assert done["status"] == "completed"
    assert done["attempts"] == 1
    assert done["viaQueue"] is True
    assert done["error"] is None
    # The result is the model's answer (Workers AI, the local deterministic backend), which
    # names the question's key terms.
    assert done["result"].startswith("About pyflare:")
    [call] = mf.ai.calls
    assert call.model == "@cf/meta/llama-3.1-8b-instruct"
    assert call.inputs["messages"][-1] == {"role": "user", "content": "what is pyflare"}
    stats = mf.queues[QUEUE].stats()
    assert (stats["acked"], stats["pending"], stats["in_flight"]) == (1, 0, 0)


@pytest.mark.anyio
async def test_the_get_shows_the_task_pending_or_done_and_404_for_unknown_ids(
    mf: Miniflare,
) -> None:
    task_id = await submit(mf, question=" ".join(f"w{i}" for i in range(30)))
    await mf.queues.drain()
    done = await task(mf, task_id)
    assert done["status"] == "completed"
    assert done["segments"] == 3  # 30 words, 12 per segment
    missing = await mf.fetch("/api/tasks/nope")
    assert missing.status == 404


@pytest.mark.anyio
async def test_a_failing_task_ends_failed_after_three_attempts(mf: Miniflare) -> None:
    task_id = await submit(mf, "fail")
    await mf.queues.drain()
    failed = await task(mf, task_id)
    assert failed["status"] == "failed"
    assert failed["attempts"] == 3  # max_retries = 2
    assert failed["errorType"] == "ModelRefusal"
    assert mf.queues[QUEUE].stats()["dead_lettered"] == 1
    assert mf.queues[QUEUE].stats()["retried"] == 2
    assert mf.queues[DLQ].stats()["acked"] == 1


@pytest.mark.anyio
async def test_a_bad_request_is_answered_400_without_queueing(mf: Miniflare) -> None:
    response = await mf.fetch("/api/tasks", method="POST", json={"taskType": "analysis"})
    assert response.status == 400
    assert mf.queues[QUEUE].stats()["pending"] == 0


@pytest.mark.anyio
async def test_a_failed_send_falls_back_to_wait_until_processing(mf: Miniflare) -> None:
    mf.queues[QUEUE].fail_next_sends(1)
    response = await mf.fetch("/api/tasks", method="POST", json={"user": "ana"})
    body = await response.json()
    assert body["queued"] is False
    done = await task(mf, body["taskId"])  # fetch settled the waitUntil work already
    assert done["status"] == "completed"
    assert done["viaQueue"] is False


# env


@pytest.mark.anyio
async def test_env_has_vars_secrets_and_bindings(anyio_backend: str, seed_copy: Path) -> None:
    (seed_copy / ".dev.vars").write_text('API_KEY="s3cret"\nOTHER=plain\n')
    async with Miniflare(seed_copy / "wrangler.toml") as mf:
        assert mf.env.AI_MODEL == "@cf/meta/llama-3.1-8b-instruct"
        assert mf.env.AI_SEGMENT_WORDS == 12  # TOML values as given
        assert mf.env.API_KEY == "s3cret"
        assert mf.env["OTHER"] == "plain"
        assert mf.env.DB is mf.d1["DB"]
        for binding in ("AI_QUEUE", "AI_DLQ"):
            producer = getattr(mf.env, binding)
            assert callable(producer.send)
            assert callable(producer.sendBatch)
        assert set(mf.queues) >= {QUEUE, DLQ}


@pytest.mark.anyio
async def test_the_worker_receives_the_same_env(anyio_backend: str, seed_copy: Path) -> None:
    (seed_copy / "worker.py").write_text(
        textwrap.dedent(
            """\
            from workers import Response, WorkerEntrypoint

            class Default(WorkerEntrypoint):
                async def fetch(self, request):
                    env = self.env
                    return Response.json({
                        "model": env.AI_MODEL,
                        "secret": env.API_KEY,
                        "db": type(env.DB).__name__,
                        "queue": type(env.AI_QUEUE).__name__,
                    })
            """
        )
    )
    (seed_copy / ".dev.vars").write_text("API_KEY=from-dev-vars\n")
    async with Miniflare(seed_copy / "wrangler.toml") as mf:
        data = await (await mf.fetch("/")).json()
    assert data == {
        "model": "@cf/meta/llama-3.1-8b-instruct",
        "secret": "from-dev-vars",
        "db": "D1Database",
        "queue": "QueueProducer",
    }


@pytest.mark.anyio
async def test_vars_argument_overrides_config_vars(anyio_backend: str) -> None:
    async with Miniflare(SEED / "wrangler.toml", vars={"AI_MODEL": "override", "NEW": "1"}) as mf:
        assert mf.env.AI_MODEL == "override"
        assert mf.env.NEW == "1"
        assert mf.env.AI_SEGMENT_WORDS == 12
        status = await (await mf.fetch("/api/ai-status")).json()
        assert status["model"] == "override"


@pytest.mark.anyio
async def test_vars_argument_overrides_secrets_too(anyio_backend: str, seed_copy: Path) -> None:
    (seed_copy / ".dev.vars").write_text("API_KEY=from-file\n")
    async with Miniflare(seed_copy / "wrangler.toml", vars={"API_KEY": "from-arg"}) as mf:
        assert mf.env.API_KEY == "from-arg"


# persistence


@pytest.mark.anyio
async def test_persist_to_keeps_d1_rows_and_queued_messages_across_instances(
    anyio_backend: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    async with Miniflare(SEED / "wrangler.toml", persist_to=state) as first:
        migrate(first)
        first.queues[QUEUE].pause()  # keep the message queued
        task_id = await submit(first)
        assert first.queues[QUEUE].stats()["pending"] == 1
        [message] = first.queues[QUEUE].messages()
        assert message["body"]["taskId"] == task_id
        assert (await task(first, task_id))["status"] == "pending"

    assert (state / "v3" / "d1").is_dir()

    async with Miniflare(SEED / "wrangler.toml", persist_to=state) as second:
        assert migrate(second) == []  # the schema came back with the file
        await second.queues.drain()
        # delivered by this instance: the message came back from the store
        assert second.queues[QUEUE].stats()["acked"] == 1
        assert second.queues[QUEUE].stats()["pending"] == 0
        done = await task(second, task_id)
        assert done["status"] == "completed"
        assert done["attempts"] == 1

    async with Miniflare(SEED / "wrangler.toml", persist_to=state) as third:
        assert (await task(third, task_id))["status"] == "completed"
        assert third.queues[QUEUE].messages() == []  # acked messages are gone for good


@pytest.mark.anyio
async def test_persist_to_keeps_a_delayed_message_with_its_id_and_timestamp(
    anyio_backend: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    async with Miniflare(SEED / "wrangler.toml", persist_to=state) as first:
        migrate(first)
        first.queues[QUEUE].pause()
        task_id = await submit(first)
        [sent] = first.queues[QUEUE].messages()
        first.queues[QUEUE].resume()
        await first.queues.drain()  # the task itself completes in the first instance
        await first.env.AI_QUEUE.send(
            {"taskId": task_id, "taskType": "summary", "language": "en", "question": "again"},
            delaySeconds=3600,
        )
        [delayed] = first.queues[QUEUE].messages()
        assert delayed["state"] == "delayed"
        assert delayed["id"] != sent["id"]

    async with Miniflare(SEED / "wrangler.toml", persist_to=state) as second:
        [kept] = second.queues[QUEUE].messages()
        assert kept["id"] == delayed["id"]
        assert kept["timestamp"] == delayed["timestamp"]
        assert kept["body"] == delayed["body"]
        assert second.queues[QUEUE].stats()["delayed"] == 1
        await second.queues.drain()
        assert second.queues[QUEUE].stats()["acked"] == 1
        done = await task(second, task_id)
        assert done["taskType"] == "analysis"
        # The summary was inferred in the second instance: its one model call was for "again".
        [call] = second.ai.calls
        assert call.inputs["messages"][-1]["content"] == "again"
        assert done["result"] == call.output["response"]


@pytest.mark.anyio
async def test_without_persist_to_nothing_is_kept(anyio_backend: str, tmp_path: Path) -> None:
    async with Miniflare(SEED / "wrangler.toml") as first:
        migrate(first)
        await submit(first)
    async with Miniflare(SEED / "wrangler.toml") as second:
        assert migrate(second) == ["0001_create_tasks.sql"]
        assert second.queues[QUEUE].messages() == []


# the clock


@pytest.mark.anyio
async def test_the_virtual_clock_starts_near_real_time(anyio_backend: str) -> None:
    before = time.time()
    async with Miniflare(SEED / "wrangler.toml") as mf:
        after = time.time()
        assert isinstance(mf.clock, VirtualClock)
        assert mf.virtual
        assert before <= mf.clock.now() <= after


@pytest.mark.anyio
async def test_the_virtual_clock_moves_only_on_advance_or_drain(mf: Miniflare) -> None:
    start = mf.clock.now()
    task_id = await submit(mf)  # a full batch (size 1): handled at once, no time passes
    assert mf.clock.now() == start
    assert (await task(mf, task_id))["status"] == "completed"
    assert mf.clock.now() == start

    assert isinstance(mf.clock, VirtualClock)
    await mf.clock.advance(30)
    assert mf.clock.now() == start + 30

    await submit(mf, "fail")  # dead-lettered: the DLQ batch waits its 1 s timeout
    moved_from = mf.clock.now()
    await mf.queues.drain()
    assert mf.clock.now() >= moved_from + 1


@pytest.mark.anyio
async def test_drain_jumps_over_a_send_delay(mf: Miniflare) -> None:
    start = mf.clock.now()
    task_id = await submit(mf)
    await mf.env.AI_QUEUE.send(
        {"taskId": task_id, "taskType": "summary", "language": "en", "question": "later"},
        delaySeconds=600,
    )
    assert mf.queues[QUEUE].stats()["delayed"] == 1
    await mf.queues.drain()
    assert mf.clock.now() >= start + 600
    assert mf.queues[QUEUE].stats()["acked"] == 2
    assert (await task(mf, task_id))["taskType"] == "analysis"


@pytest.mark.anyio
async def test_a_real_clock_runtime_uses_the_wall_clock(anyio_backend: str) -> None:
    async with Miniflare(SEED / "wrangler.toml", clock="real") as mf:
        assert isinstance(mf.clock, RealClock)
        assert not mf.virtual
        migrate(mf)
        task_id = await submit(mf)
        await mf.queues.drain()
        assert (await task(mf, task_id))["status"] == "completed"


def test_an_unknown_clock_name_is_an_error() -> None:
    import asyncio

    async def start() -> None:
        await Miniflare(SEED / "wrangler.toml", clock="sundial").start()  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="sundial"):
        asyncio.run(start())


# waitUntil and close


WAIT_UNTIL_WORKER = """\
import asyncio
from workers import Response, WorkerEntrypoint

DONE = []

async def slow_audit(label):
    for _ in range(3):
        await asyncio.sleep(0.001)
    DONE.append(label)

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        self.ctx.waitUntil(slow_audit(request.url))
        return Response("accepted", status=202)
"""


@pytest.mark.anyio
async def test_wait_until_work_is_finished_by_close(anyio_backend: str, seed_copy: Path) -> None:
    (seed_copy / "worker.py").write_text(WAIT_UNTIL_WORKER)
    mf = Miniflare(seed_copy / "wrangler.toml", clock="real")
    await mf.start()
    response = await mf.fetch("/one")
    assert isinstance(response, Response)
    assert response.status == 202
    assert mf.worker is not None
    module = mf.worker.module
    assert module.DONE == []  # on a real clock the response does not wait for it
    await mf.close()
    assert module.DONE == ["http://localhost/one"]


@pytest.mark.anyio
async def test_wait_until_work_is_finished_when_a_virtual_fetch_returns(
    anyio_backend: str, seed_copy: Path
) -> None:
    (seed_copy / "worker.py").write_text(WAIT_UNTIL_WORKER)
    async with Miniflare(seed_copy / "wrangler.toml") as mf:
        await mf.fetch("/two")
        assert mf.worker is not None
        assert mf.worker.module.DONE == ["http://localhost/two"]


@pytest.mark.anyio
async def test_a_failing_wait_until_task_does_not_break_close(
    anyio_backend: str, seed_copy: Path
) -> None:
    (seed_copy / "worker.py").write_text(
        textwrap.dedent(
            """\
            from workers import Response

            async def explode():
                raise RuntimeError("background failure")

            async def on_fetch(request, env, ctx):
                ctx.waitUntil(explode())
                return Response("ok")
            """
        )
    )
    async with Miniflare(seed_copy / "wrangler.toml", clock="real") as mf:
        assert (await mf.fetch("/")).status == 200
    assert any("waitUntil() task failed" in line for line in mf.logs)  # logged, not raised


# scheduled and reload


@pytest.mark.anyio
async def test_scheduled_without_a_handler_reports_an_exception(mf: Miniflare) -> None:
    result = await mf.scheduled(cron="*/5 * * * *")
    assert result["outcome"] == "exception"
    assert "scheduled" in result["error"]


@pytest.mark.anyio
async def test_reload_keeps_d1_data_and_picks_up_new_code(
    anyio_backend: str, seed_copy: Path
) -> None:
    async with Miniflare(seed_copy / "wrangler.toml") as mf:
        migrate(mf)
        task_id = await submit(mf)
        worker = seed_copy / "worker.py"
        worker.write_text(
            worker.read_text().replace('"available": True', '"available": "reloaded"')
        )
        mf.reload()
        assert mf.load_error is None
        status = await (await mf.fetch("/api/ai-status")).json()
        assert status["available"] == "reloaded"
        assert (await task(mf, task_id))["status"] == "completed"


@pytest.mark.anyio
async def test_a_config_restart_inherits_in_memory_d1_and_queued_messages(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text("async def on_fetch(request):\n    pass\n")
    config = tmp_path / "wrangler.toml"
    config.write_text(
        'main = "worker.py"\n'
        '[[queues.producers]]\nbinding = "OUT"\nqueue = "outbox"\n'  # nobody consumes it
        '[[d1_databases]]\nbinding = "DB"\ndatabase_name = "db"\n'
    )
    first = Miniflare(config)
    await first.start()
    await first.env.DB.exec("CREATE TABLE t (n INTEGER)")
    await first.env.DB.prepare("INSERT INTO t VALUES (1)").run()
    await first.env.OUT.send({"kept": True})
    await first.close(keep_state=True)

    config.write_text(config.read_text() + '[vars]\nMODE = "new"\n')
    second = Miniflare(config, inherit=first)
    async with second:
        assert second.env.MODE == "new"
        assert await second.env.DB.prepare("SELECT n FROM t").first("n") == 1
        [message] = second.queues["outbox"].messages()
        assert message["body"] == {"kept": True}


@pytest.mark.anyio
async def test_a_worker_that_fails_to_import_leaves_nothing_open(tmp_path: Path) -> None:
    from miniflare_py.worker import WorkerLoadError

    (tmp_path / "worker.py").write_text("raise RuntimeError('broken at import')\n")
    (tmp_path / "wrangler.toml").write_text(
        'main = "worker.py"\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "db"\n'
    )
    mf = Miniflare(tmp_path / "wrangler.toml", persist_to=tmp_path / "state")
    with pytest.raises(WorkerLoadError, match="broken at import"):
        await mf.start()
    with pytest.raises(Exception, match="closed"):
        await mf.d1["DB"].prepare("SELECT 1").first()


@pytest.mark.anyio
async def test_a_reload_keeps_a_queue_the_test_paused(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(
        "async def on_fetch(request, env):\n    pass\n\nasync def on_queue(batch):\n    pass\n"
    )
    (tmp_path / "wrangler.toml").write_text(
        'main = "worker.py"\n'
        '[[queues.producers]]\nbinding = "Q"\nqueue = "q"\n'
        '[[queues.consumers]]\nqueue = "q"\nmax_batch_size = 1\n'
    )
    async with Miniflare(tmp_path / "wrangler.toml") as mf:
        mf.queues["q"].pause()
        mf.reload()
        await mf.env.Q.send("held")
        assert mf.queues["q"].stats()["pending"] == 1


@pytest.mark.anyio
async def test_a_stored_import_error_does_not_grow_on_every_request(tmp_path: Path) -> None:
    from miniflare_py.worker import WorkerLoadError

    (tmp_path / "worker.py").write_text("raise RuntimeError('broken at import')\n")
    (tmp_path / "wrangler.toml").write_text('main = "worker.py"\n')
    mf = Miniflare(tmp_path / "wrangler.toml")
    await mf.start(strict=False)
    try:
        depths = []
        for _ in range(3):
            with pytest.raises(WorkerLoadError) as info:
                await mf.fetch("/")
            tb, depth = info.value.__traceback__, 0
            while tb is not None:
                tb, depth = tb.tb_next, depth + 1
            depths.append(depth)
        assert depths[0] == depths[1] == depths[2]
    finally:
        await mf.close()
