"""Durable Objects over a real `pyflare dev`: what a call returned survives SIGKILL, and the
seed resumes a task interrupted mid-segment without redoing finished segments."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dev_process import DevProcess, copy_fixture, poll, run_pyflare

pytestmark = pytest.mark.slow


def test_a_returned_call_survives_sigkill(tmp_path: Path) -> None:
    lab = copy_fixture("do_lab", tmp_path)
    dev = DevProcess(["--no-reload"], lab)
    try:
        for expected in range(1, 21):
            assert dev.client.get("/room/increment").text == str(expected)
        assert dev.client.get("/room/sql").text == "1"
    finally:
        dev.kill()
    again = DevProcess(["--no-reload"], lab)
    try:
        assert again.client.get("/room/increment").text == "21"
        assert again.client.get("/room/sql").text == "2"
    finally:
        again.stop()
    assert list((lab / ".wrangler" / "state" / "v3" / "do" / "do-lab-Lab").glob("*.sqlite"))


def test_the_seed_resumes_a_task_killed_mid_segment(tmp_path: Path) -> None:
    seed = copy_fixture("ai-tasks", tmp_path)
    assert run_pyflare(["d1", "migrations", "apply", "DB"], seed).returncode == 0
    args = ["--no-reload", "--var", "AI_SEGMENT_DELAY:0.4", "--var", "AI_SEGMENT_WORDS:2"]
    question = "one two three four five six seven eight nine ten eleven twelve"  # 6 segments
    dev = DevProcess(args, seed)
    try:
        response = dev.client.post(
            "/api/tasks", json={"user": "ada", "taskType": "analysis", "question": question}
        )
        task_id = response.json()["taskId"]

        def progress() -> dict:
            tasks = dev.client.get("/api/ai-status").json()["tasks"]
            return next((t for t in tasks if t["taskId"] == task_id), {})

        before = poll(progress, lambda p: p.get("segmentsDone", 0) >= 2, timeout=20)
        assert 2 <= before["segmentsDone"] < 6, before
    finally:
        dev.kill()  # mid-segment: the next segment's inference is under way
    again = DevProcess(args, seed)
    try:
        done = poll(
            lambda: again.client.get(f"/api/tasks/{task_id}").json(),
            lambda t: t["status"] == "completed",
            timeout=40,
        )
        assert done["segments"] == 6
        progress = again.client.get("/api/ai-status").json()["tasks"]
        assert all(t["taskId"] != task_id for t in progress)  # finished tasks leave the list
    finally:
        again.stop()
    # Count the model calls the object made: one per segment means no finished segment ran twice.
    _assert_inferences(seed, task_id, 6)


def _assert_inferences(seed: Path, task_id: str, expected: int) -> None:
    import asyncio

    from miniflare_py import Miniflare

    async def read() -> int:
        async with Miniflare(seed / "wrangler.toml", persist_to=seed / ".wrangler" / "state") as mf:
            storage = mf.durable_objects.get_storage("TASK_RUNNER", task_id)
            return int(await storage.get("inferences"))

    deadline = time.monotonic() + 5
    while True:
        try:
            assert asyncio.run(read()) == expected
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
