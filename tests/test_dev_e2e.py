"""End to end: `pyflare dev` as a real process, driven over HTTP like a newcomer with curl."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest
from dev_process import copy_fixture, dev_process, poll, run_pyflare

pytestmark = pytest.mark.slow


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    project = copy_fixture("ai-tasks", tmp_path)
    result = run_pyflare(["d1", "migrations", "apply", "DB"], cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def task_status(dev, task_id: str) -> dict:  # type: ignore[no-untyped-def]
    return dev.client.get(f"/api/tasks/{task_id}").json()


def test_a_task_goes_from_pending_to_completed(seed: Path) -> None:
    with dev_process([], cwd=seed) as dev:
        response = dev.client.post(
            "/api/tasks",
            json={"taskType": "analysis", "user": "ada", "question": "why is the sky blue?"},
        )
        assert response.status_code == 202
        task_id = response.json()["taskId"]
        task = poll(lambda: task_status(dev, task_id), lambda t: t["status"] == "completed")
        assert task["status"] == "completed", task
        assert task["attempts"] == 1
        assert task["result"].startswith("About sky and blue:")  # the model's answer
        dev.wait_for_output("QUEUE ai-processing-queue 1/1")
        assert "POST /api/tasks 202 Accepted" in dev.output
        assert dev.client.get("/api/health").json()["status"] == "ok"
        status = dev.client.get("/api/queue-status").json()
        assert status["tasks"]["completed"] == 1
        assert status["completionRate"] == 1.0


def test_a_failing_task_is_retried_then_dead_lettered(seed: Path) -> None:
    with dev_process([], cwd=seed) as dev:
        task_id = dev.client.post("/api/tasks", json={"taskType": "fail", "user": "bob"}).json()[
            "taskId"
        ]
        task = poll(lambda: task_status(dev, task_id), lambda t: t["status"] == "failed")
        assert task["status"] == "failed", task
        assert task["attempts"] == 3
        assert task["errorType"] == "ModelRefusal"
        dev.wait_for_output('to dead letter queue "ai-processing-dlq" after 3 failed attempts')
        stats = poll(
            lambda: dev.client.get("/__pyflare/queues").json(),
            lambda s: s["ai-processing-dlq"]["acked"] == 1,
        )
        assert stats["ai-processing-queue"]["dead_lettered"] == 1
        assert stats["ai-processing-queue"]["retried"] == 2
        assert stats["ai-processing-dlq"]["acked"] == 1
        assert dev.client.get("/api/queue-status").json()["dlqCount"] == 1


def test_a_config_error_stops_dev_with_one_clear_line(seed: Path) -> None:
    config = seed / "wrangler.toml"
    config.write_text(config.read_text().replace("max_batch_size = 1", "max_batch_size = 500"))
    result = run_pyflare(["dev", "--port", "0"], cwd=seed)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "max_batch_size" in lines[0] and "500" in lines[0] and "1-100" in lines[0]
    assert "Traceback" not in result.stderr


def test_handler_exception_is_a_500_with_the_traceback(tmp_path: Path) -> None:
    project = tmp_path / "boom"
    project.mkdir()
    (project / "wrangler.toml").write_text('name = "boom"\nmain = "worker.py"\n')
    (project / "worker.py").write_text(
        "async def on_fetch(request):\n    raise ValueError('kaboom')\n"
    )
    with dev_process(["--no-persist"], cwd=project) as dev:
        response = dev.client.get("/anything")
        assert response.status_code == 500
        assert "Traceback" in response.text and "ValueError: kaboom" in response.text
        dev.wait_for_output("ValueError: kaboom")


def test_reload_keeps_data_and_recovers_from_a_broken_module(seed: Path) -> None:
    worker = seed / "worker.py"
    original = worker.read_text()
    with dev_process([], cwd=seed) as dev:
        task_id = dev.client.post("/api/tasks", json={"user": "ada", "question": "q"}).json()[
            "taskId"
        ]
        poll(lambda: task_status(dev, task_id), lambda t: t["status"] == "completed")

        worker.write_text(original + "\ndef broken(:\n")
        broken = poll(lambda: dev.client.get("/api/health"), lambda r: r.status_code == 500)
        assert broken.status_code == 500
        assert "SyntaxError" in broken.text

        worker.write_text(original.replace('"status": "ok"', '"status": "ok-reloaded"'))
        fixed = poll(
            lambda: dev.client.get("/api/health"), lambda r: r.status_code == 200, timeout=10
        )
        assert fixed.json()["status"] == "ok-reloaded"
        assert task_status(dev, task_id)["status"] == "completed"  # D1 data kept


def test_sigkill_mid_stream_loses_no_message(tmp_path: Path) -> None:
    project = copy_fixture("durable", tmp_path)
    with dev_process(["--no-reload"], cwd=project) as dev:
        assert dev.client.post("/send?n=100").json() == {"sent": 100}
        poll(lambda: dev.client.get("/").json(), lambda r: r["seen"] >= 10)
        dev.kill()
    with dev_process(["--no-reload"], cwd=project) as dev:
        final = poll(lambda: dev.client.get("/").json(), lambda r: r["seen"] == 100, timeout=30)
        assert final["seen"] == 100, final
        assert final["deliveries"] >= 100
        stats = dev.client.get("/__pyflare/queues").json()["jobs"]
        assert stats["pending"] == 0 and stats["in_flight"] == 0


def test_no_persist_applies_migrations_to_the_in_memory_database(tmp_path: Path) -> None:
    project = copy_fixture("ai-tasks", tmp_path)
    with dev_process(["--no-persist", "--no-reload"], cwd=project) as dev:
        response = dev.client.post("/api/tasks", json={"user": "ada", "question": "q"})
        assert response.status_code == 202, response.text
        assert "Applied 1 migration(s) to in-memory DB" in dev.output
    assert not (project / ".wrangler").exists()


@pytest.mark.parametrize("persist", [True, False], ids=["persist", "no-persist"])
def test_a_config_change_restarts_the_worker_and_keeps_its_state(
    tmp_path: Path, persist: bool
) -> None:
    project = copy_fixture("ai-tasks", tmp_path)
    args = [] if persist else ["--no-persist"]
    if persist:
        assert run_pyflare(["d1", "migrations", "apply", "DB"], cwd=project).returncode == 0
    config = project / "wrangler.toml"
    with dev_process(args, cwd=project) as dev:
        task_id = dev.client.post("/api/tasks", json={"user": "ada", "question": "q"}).json()[
            "taskId"
        ]
        poll(lambda: task_status(dev, task_id), lambda t: t["status"] == "completed")

        model_2 = "@cf/meta/llama-3.2-1b-instruct"
        config.write_text(
            config.read_text().replace('"@cf/meta/llama-3.1-8b-instruct"', f'"{model_2}"')
        )
        restarted = poll(
            lambda: dev.client.get("/api/ai-status").json(), lambda r: r["model"] == model_2
        )
        assert restarted["model"] == model_2
        assert task_status(dev, task_id)["status"] == "completed"  # D1 kept

        config.write_text(config.read_text().replace("max_batch_size = 1", "max_batch_size = 500"))
        dev.wait_for_output("max_batch_size = 500 is out of range")
        assert dev.client.get("/api/ai-status").json()["model"] == model_2  # old config kept


SLOW_CONSUMER = """\
import asyncio
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        await self.env.JOBS.sendBatch([{"body": i} for i in range(5)])
        return Response("sent")

    async def queue(self, batch):
        print("batch started", flush=True)
        await asyncio.sleep(0.5)
        batch.ackAll()
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_finishes_the_batch_in_flight_and_exits_cleanly(
    tmp_path: Path, sig: signal.Signals
) -> None:
    # SIGTERM used to kill the process (uvicorn re-raised it) before the batch was finished.
    project = tmp_path / "slow"
    project.mkdir()
    (project / "wrangler.toml").write_text(
        'name = "slow"\nmain = "worker.py"\n'
        '[[queues.producers]]\nbinding = "JOBS"\nqueue = "jobs"\n'
        '[[queues.consumers]]\nqueue = "jobs"\nmax_batch_timeout = 0\n'
    )
    (project / "worker.py").write_text(SLOW_CONSUMER)
    with dev_process(["--no-reload"], cwd=project) as dev:
        assert dev.client.post("/").text == "sent"
        dev.wait_for_output("batch started")
        dev.proc.send_signal(sig)
        assert dev.proc.wait(10) == 0
        dev.wait_for_output("QUEUE jobs 5/5")
        assert "Traceback" not in dev.output
    status = run_pyflare(["queues", "status", "--json"], cwd=project)
    jobs = json.loads(status.stdout)["jobs"]
    assert jobs["acked"] == 5 and jobs["in_flight"] == 0 and jobs["pending"] == 0, jobs


def test_a_port_already_in_use_stops_dev_with_one_line(tmp_path: Path) -> None:
    project = tmp_path / "hello"
    project.mkdir()
    (project / "wrangler.toml").write_text('name = "hello"\nmain = "worker.py"\n')
    (project / "worker.py").write_text(
        "from workers import Response\n\nasync def on_fetch(request):\n    return Response('hi')\n"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_pyflare(["dev", "--port", str(port), "--no-persist"], cwd=project)
    assert result.returncode == 1
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"Port {port} on 127.0.0.1 is already in use" in lines[0]
