"""Scheduled events: `Miniflare.scheduled()` and `CronScheduler` on a virtual clock."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from miniflare_py.clock import VirtualClock
from miniflare_py.cron import CronScheduler, next_fire_time
from miniflare_py.runtime import Miniflare

# 2025-01-01 00:01:00 UTC: one minute past a five-minute mark.
START = datetime(2025, 1, 1, 0, 1, tzinfo=UTC).timestamp()


def write_worker(folder: Path, source: str, crons: tuple[str, ...] = ()) -> Path:
    triggers = f"[triggers]\ncrons = {list(crons)!r}\n" if crons else ""
    config = folder / "wrangler.toml"
    config.write_text(f'name = "cron"\nmain = "worker.py"\n{triggers}'.replace("'", '"'))
    (folder / "worker.py").write_text(textwrap.dedent(source))
    return config


CLASS_WORKER = """
    from workers import Response, WorkerEntrypoint

    SEEN = []

    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            return Response("ok")

        async def scheduled(self, controller, env, ctx):
            SEEN.append((controller.cron, controller.scheduledTime, controller.type))
            if controller.cron == "0 0 * * *":
                controller.noRetry()
            if controller.cron == "13 13 * * *":
                raise RuntimeError("nightly job broke")
"""

FUNCTION_WORKER = """
    SEEN = []

    async def on_scheduled(controller):
        SEEN.append((controller.cron, controller.scheduledTime))
"""


def seen(mf: Miniflare) -> list[Any]:
    assert mf.worker is not None
    return mf.worker.module.SEEN


# Miniflare.scheduled()


@pytest.mark.anyio
async def test_class_handler_gets_cron_and_scheduled_time_in_ms(tmp_path: Path) -> None:
    config = write_worker(tmp_path, CLASS_WORKER)
    async with Miniflare(config, clock=VirtualClock(start=START)) as mf:
        result = await mf.scheduled(cron="*/5 * * * *")
        assert result == {"outcome": "ok", "error": None, "noRetry": False}
        assert seen(mf) == [("*/5 * * * *", START * 1000, "scheduled")]


@pytest.mark.anyio
async def test_module_level_handler_with_one_argument(tmp_path: Path) -> None:
    config = write_worker(tmp_path, FUNCTION_WORKER)
    async with Miniflare(config, clock=VirtualClock(start=START)) as mf:
        result = await mf.scheduled(cron="30 2 * * 1")
        assert result["outcome"] == "ok"
        assert seen(mf) == [("30 2 * * 1", START * 1000)]


@pytest.mark.anyio
async def test_explicit_scheduled_time(tmp_path: Path) -> None:
    config = write_worker(tmp_path, FUNCTION_WORKER)
    async with Miniflare(config) as mf:
        await mf.scheduled(cron="* * * * *", scheduled_time=1_000_000.5)
        assert seen(mf) == [("* * * * *", 1_000_000_500.0)]


@pytest.mark.anyio
async def test_default_scheduled_time_follows_the_virtual_clock(tmp_path: Path) -> None:
    config = write_worker(tmp_path, FUNCTION_WORKER)
    async with Miniflare(config, clock=VirtualClock(start=START)) as mf:
        await mf.clock.advance(90)  # type: ignore[attr-defined]
        await mf.scheduled()
        assert seen(mf) == [("* * * * *", (START + 90) * 1000)]


@pytest.mark.anyio
async def test_no_retry_is_reported(tmp_path: Path) -> None:
    config = write_worker(tmp_path, CLASS_WORKER)
    async with Miniflare(config) as mf:
        result = await mf.scheduled(cron="0 0 * * *")
        assert result["noRetry"] is True


@pytest.mark.anyio
async def test_raising_handler_gives_an_exception_outcome(tmp_path: Path) -> None:
    config = write_worker(tmp_path, CLASS_WORKER)
    async with Miniflare(config) as mf:
        result = await mf.scheduled(cron="13 13 * * *")
        assert result["outcome"] == "exception"
        assert "nightly job broke" in result["error"]
        assert any("13 13 * * *" in line for line in mf.logs)


@pytest.mark.anyio
async def test_scheduled_without_a_handler_is_an_exception_outcome(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        async def on_fetch(request):
            pass
        """,
    )
    async with Miniflare(config) as mf:
        result = await mf.scheduled()
        assert result["outcome"] == "exception"
        assert "scheduled" in result["error"]


@pytest.mark.anyio
async def test_crons_do_not_fire_on_a_virtual_clock_by_default(tmp_path: Path) -> None:
    config = write_worker(tmp_path, FUNCTION_WORKER, crons=("* * * * *",))
    async with Miniflare(config, clock=VirtualClock(start=START)) as mf:
        await mf.clock.advance(600)  # type: ignore[attr-defined]
        assert seen(mf) == []


@pytest.mark.anyio
async def test_crons_fire_on_a_virtual_clock_when_asked(tmp_path: Path) -> None:
    config = write_worker(tmp_path, FUNCTION_WORKER, crons=("*/5 * * * *",))
    async with Miniflare(config, clock=VirtualClock(start=START), crons=True) as mf:
        await mf.clock.advance(10 * 60)  # type: ignore[attr-defined]
        times = [when / 1000 - START for _, when in seen(mf)]
        assert times == [4 * 60, 9 * 60]  # 00:05 and 00:10


# CronScheduler


def test_next_fire_time_is_strictly_after() -> None:
    assert next_fire_time("*/5 * * * *", START) == START + 4 * 60
    on_the_mark = START + 4 * 60
    assert next_fire_time("*/5 * * * *", on_the_mark) == on_the_mark + 5 * 60


@pytest.mark.anyio
async def test_cron_scheduler_fires_at_the_right_virtual_times() -> None:
    clock = VirtualClock(start=START)
    fired: list[tuple[str, float, float]] = []

    async def fire(cron: str, when: float) -> None:
        fired.append((cron, when, clock.now()))

    scheduler = CronScheduler(clock, ("*/5 * * * *",), fire)
    scheduler.start()
    await clock.advance(3 * 60)
    assert fired == []
    await clock.advance(60)  # 00:05
    assert fired == [("*/5 * * * *", START + 4 * 60, START + 4 * 60)]
    await clock.advance(11 * 60)  # 00:16
    assert [when - START for _, when, _ in fired] == [4 * 60, 9 * 60, 14 * 60]
    # each fires at its own time, not all at the end of the advance
    assert all(when == now for _, when, now in fired)
    scheduler.stop()
    await clock.advance(60 * 60)
    assert len(fired) == 3


@pytest.mark.anyio
async def test_cron_scheduler_runs_several_crons() -> None:
    clock = VirtualClock(start=START)
    fired: list[tuple[str, float]] = []

    async def fire(cron: str, when: float) -> None:
        fired.append((cron, when - START))

    scheduler = CronScheduler(clock, ("*/2 * * * *", "@hourly"), fire)
    scheduler.start()
    await clock.advance(60 * 60)
    scheduler.stop()
    hourly = [t for cron, t in fired if cron == "@hourly"]
    every_two = [t for cron, t in fired if cron == "*/2 * * * *"]
    assert hourly == [59 * 60]
    assert every_two == [60 * m for m in range(1, 60, 2)]


@pytest.mark.anyio
async def test_cron_scheduler_survives_a_failing_handler() -> None:
    clock = VirtualClock(start=START)
    calls: list[float] = []

    async def fire(cron: str, when: float) -> None:
        calls.append(when)
        raise RuntimeError("boom")

    scheduler = CronScheduler(clock, ("* * * * *",), fire)
    scheduler.start()
    await clock.advance(3 * 60)
    scheduler.stop()
    assert len(calls) == 3
