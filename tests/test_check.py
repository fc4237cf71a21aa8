"""`pyflare check`: the CI smoke run, its report and its exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from helpers import SEED, write_worker

from miniflare_py.check import FetchSpec
from miniflare_py.commands.check import check

SEED_CONFIG = str(SEED / "wrangler.toml")
POST_TASK = 'POST /api/tasks {"user": "ci", "taskType": "analysis", "question": "why?"}'


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(check, [str(arg) for arg in args], catch_exceptions=False)


def run_json(*args: str | Path) -> tuple[int, Any]:
    result = run(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


QUEUE_CONFIG = """
[[queues.producers]]
binding = "Q"
queue = "q"

[[queues.consumers]]
queue = "q"
max_retries = 1
"""


# success


def test_seed_health_and_drain_passes() -> None:
    result = run("-c", SEED_CONFIG, "--fetch", "GET /api/health", "--drain")
    assert result.exit_code == 0, result.output
    assert "GET /api/health" in result.output
    assert "check passed" in result.output


def test_seed_task_flow_passes_and_reports_as_json() -> None:
    code, report = run_json(
        "-c", SEED_CONFIG, "--fetch", "GET /api/health", "--fetch", POST_TASK, "--drain"
    )
    assert code == 0
    assert report["ok"] is True
    assert report["exit_code"] == 0
    assert [(r["method"], r["path"], r["status"]) for r in report["requests"]] == [
        ("GET", "/api/health", 200),
        ("POST", "/api/tasks", 202),
    ]
    assert all(r["ms"] >= 0 for r in report["requests"])
    assert report["migrations"] == {"DB": ["0001_create_tasks.sql"]}
    assert report["drained"] is True
    queue = report["queues"]["ai-processing-queue"]
    # the task, and the probe /api/health sends through the queue
    assert (queue["acked"], queue["pending"], queue["dead_lettered"]) == (2, 0, 0)
    assert report["failures"] == []


def test_config_is_found_in_the_current_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SEED)
    assert run("--fetch", "/api/ai-status").exit_code == 0


def test_a_4xx_is_reported_but_does_not_fail() -> None:
    code, report = run_json("-c", SEED_CONFIG, "--fetch", "GET /nope")
    assert code == 0
    assert report["requests"][0]["status"] == 404


def test_var_overrides_reach_the_worker() -> None:
    code, report = run_json(
        "-c", SEED_CONFIG, "--var", "AI_SEGMENT_WORDS:not-a-number", "--fetch", "GET /api/ai-status"
    )
    assert code == 5  # int("not-a-number") raises in the handler
    assert "ValueError" in report["requests"][0]["error"]


def test_an_unexercised_consumer_is_a_warning(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        async def on_fetch(request):
            from workers import Response
            return Response("ok")

        async def on_queue(batch):
            batch.ackAll()
        """,
        QUEUE_CONFIG,
    )
    code, report = run_json("-c", config, "--fetch", "GET /", "--drain")
    assert code == 0
    assert any('consumer of "q" was not exercised' in w for w in report["warnings"])


# config errors: exit 3


def test_invalid_config_is_exit_3_in_one_line(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path, "", QUEUE_CONFIG.replace("max_retries = 1", "max_retries = 500")
    )
    result = run("-c", config)
    assert result.exit_code == 3
    assert "max_retries" in result.output
    assert "Traceback" not in result.output


def test_missing_config_file_is_exit_3(tmp_path: Path) -> None:
    code, report = run_json("-c", str(tmp_path / "nope.toml"))
    assert code == 3
    assert report["failures"][0]["kind"] == "config"
    assert "not found" in report["failures"][0]["message"]


def test_failing_migration_is_exit_3(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        "async def on_fetch(request): pass\n",
        '[[d1_databases]]\nbinding = "DB"\ndatabase_name = "db"\ndatabase_id = "db"\n',
    )
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_bad.sql").write_text("CREATE TABLE oops (;\n")
    code, report = run_json("-c", config)
    assert code == 3
    assert "0001_bad.sql" in report["failures"][0]["message"]


# worker errors: exit 4


def test_import_error_is_exit_4_with_the_error_shown(tmp_path: Path) -> None:
    config = write_worker(tmp_path, "import not_a_module_anywhere\n")
    result = run("-c", config, "--fetch", "GET /")
    assert result.exit_code == 4
    assert "ModuleNotFoundError" in result.output
    assert "not_a_module_anywhere" in result.output


def test_consumers_without_a_queue_handler_is_exit_4(tmp_path: Path) -> None:
    config = write_worker(tmp_path, "async def on_fetch(request): pass\n", QUEUE_CONFIG)
    code, report = run_json("-c", config)
    assert code == 4
    assert "no queue handler" in report["failures"][0]["message"]


# request errors: exit 5


def test_a_5xx_is_exit_5(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        from workers import Response

        async def on_fetch(request):
            return Response("down", status=503)
        """,
    )
    result = run("-c", config, "--fetch", "GET /health")
    assert result.exit_code == 5
    assert "503" in result.output


def test_a_raising_handler_is_exit_5(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        async def on_fetch(request):
            raise KeyError("missing")
        """,
    )
    code, report = run_json("-c", config, "--fetch", "POST /x [1, 2]")
    assert code == 5
    assert report["requests"][0]["status"] is None
    assert "KeyError" in report["requests"][0]["error"]


def test_a_failing_wait_until_task_is_exit_5(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        from workers import Response

        async def broken():
            raise RuntimeError("background")

        async def on_fetch(request, env, ctx):
            ctx.waitUntil(broken())
            return Response("ok")
        """,
    )
    code, report = run_json("-c", config, "--fetch", "GET /")
    assert code == 5
    assert "waitUntil" in report["failures"][0]["message"]
    assert "in broken" in report["failures"][0]["details"]  # the user's traceback


def test_a_failing_scheduled_handler_is_exit_5(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        async def on_scheduled(controller):
            if controller.cron == "0 * * * *":
                raise RuntimeError("hourly broke")
        """,
    )
    assert run("-c", config, "--scheduled", "*/5 * * * *").exit_code == 0
    code, report = run_json("-c", config, "--scheduled", "0 * * * *")
    assert code == 5
    assert "hourly broke" in report["failures"][0]["message"]


# queue errors: exit 6


def test_a_dead_lettered_message_is_exit_6() -> None:
    fail = 'POST /api/tasks {"user": "ci", "taskType": "fail"}'
    result = run("-c", SEED_CONFIG, "--fetch", fail, "--drain")
    assert result.exit_code == 6
    assert "dead letter" in result.output


def seed_copy(tmp_path: Path, *, broken_consumer: bool = False) -> str:
    """A copy of the seed app, its consumer made to raise on every batch if asked; its config."""
    app = tmp_path / "ai-tasks"
    shutil.copytree(SEED, app)
    if broken_consumer:
        worker = app / "worker.py"
        handler = "    async def queue(self, batch):\n"
        broken = handler + "        raise RuntimeError('consumer is broken')\n"
        worker.write_text(worker.read_text().replace(handler, broken))
    return str(app / "wrangler.toml")


def test_seed_with_a_consumer_that_always_fails_is_non_zero(tmp_path: Path) -> None:
    config = seed_copy(tmp_path, broken_consumer=True)
    code, report = run_json(
        "-c", config, "--fetch", "GET /api/health", "--fetch", POST_TASK, "--drain"
    )
    assert code == 6
    assert report["queues"]["ai-processing-queue"]["dead_lettered"] == 2  # probe + task
    assert any("consumer is broken" in line for line in report["logs"])


def test_the_ci_one_liner_catches_a_consumer_that_always_fails(tmp_path: Path) -> None:
    healthy = seed_copy(tmp_path / "healthy")
    assert run_json("-c", healthy, "--fetch", "GET /api/health", "--drain")[0] == 0

    broken = seed_copy(tmp_path / "broken", broken_consumer=True)
    code, report = run_json("-c", broken, "--fetch", "GET /api/health", "--drain")
    assert code == 6
    assert report["queues"]["ai-processing-queue"]["dead_lettered"] == 1


def failing_consumer(tmp_path: Path, error: str) -> str:
    """A worker whose fetch queues one job and whose consumer always raises `error`."""
    return write_worker(
        tmp_path,
        f"""
        from workers import Response

        async def on_fetch(request, env):
            await env.Q.send("job")
            return Response("queued", status=202)

        async def on_queue(batch):
            raise RuntimeError({error!r})
        """,
        QUEUE_CONFIG,
    )


def test_a_dropped_message_is_exit_6(tmp_path: Path) -> None:
    config = failing_consumer(tmp_path, "nope")
    code, report = run_json("-c", config, "--fetch", "POST /", "--drain")
    assert code == 6
    assert report["queues"]["q"]["dropped"] == 1
    assert "dropped" in report["failures"][0]["message"]


def test_a_failing_consumer_shows_what_it_raised(tmp_path: Path) -> None:
    config = failing_consumer(tmp_path, "the consumer is down")
    result = run("-c", config, "--fetch", "POST /", "--drain")
    assert result.exit_code == 6
    # The log line says what was raised (the debug line that did was filtered out), and the
    # failure carries the user's traceback, without pyflare's frames.
    assert 'batch from "q": RuntimeError: the consumer is down' in result.output
    assert 'worker.py", line' in result.output
    assert "runtime.py" not in result.output
    _, report = run_json("-c", config, "--fetch", "POST /", "--drain")
    [failure] = report["failures"]
    assert "dropped" in failure["message"]
    assert failure["details"].endswith("RuntimeError: the consumer is down")


def test_a_missing_migrations_folder_is_a_warning(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        from workers import Response

        async def on_fetch(request, env):
            return Response("ok")
        """,
        """
        [[d1_databases]]
        binding = "DB"
        database_name = "db"
        database_id = "db"
        migrations_dir = "db/migrations"
        """,
    )
    code, report = run_json("-c", config, "--fetch", "GET /")
    assert code == 0
    assert report["migrations"] == {}
    [warning] = report["warnings"]
    assert "D1 DB: no migrations folder" in warning
    assert "db/migrations" in warning


def test_without_drain_messages_wait_and_are_not_failures(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        from workers import Response

        async def on_fetch(request, env):
            await env.Q.send("job")
            return Response("queued", status=202)

        async def on_queue(batch):
            raise RuntimeError("nope")
        """,
        QUEUE_CONFIG,
    )
    code, report = run_json("-c", config, "--fetch", "POST /")
    assert code == 0  # a partial batch waits max_batch_timeout, which only --drain skips
    assert report["drained"] is False
    assert report["queues"]["q"]["pending"] == 1


def test_messages_left_unconsumed_without_drain_are_a_one_line_warning(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        from workers import Response

        async def on_fetch(request, env):
            await env.Q.send("job")
            return Response("queued", status=202)

        async def on_queue(batch):
            batch.ackAll()
        """,
        QUEUE_CONFIG,
    )
    expected = (
        '1 message(s) sent during the check are still on "q", not consumed (a partial batch '
        "waits for max_batch_timeout): add --drain to deliver them"
    )
    code, report = run_json("-c", config, "--fetch", "POST /")
    assert code == 0
    assert report["warnings"] == [expected]
    result = run("-c", config, "--fetch", "POST /")
    assert f"warning {expected}" in result.stdout.splitlines()
    code, report = run_json("-c", config, "--fetch", "POST /", "--drain")
    assert code == 0 and report["warnings"] == []


def test_the_lowest_code_wins_when_several_kinds_fail() -> None:
    # A bad AI_SEGMENT_WORDS breaks /api/ai-status (5) and the consumer, so the task is
    # dead-lettered (6).
    code, report = run_json(
        "-c",
        SEED_CONFIG,
        "--var",
        "AI_SEGMENT_WORDS:x",
        "--fetch",
        "GET /api/ai-status",
        "--fetch",
        POST_TASK,
        "--drain",
    )
    assert code == 5
    assert {f["kind"] for f in report["failures"]} == {"request", "queue"}


# command line


def test_bad_fetch_is_a_usage_error() -> None:
    result = CliRunner().invoke(check, ["-c", SEED_CONFIG, "--fetch", "FETCH /x"])
    assert result.exit_code == 2
    assert "unknown method" in result.output


@pytest.mark.parametrize(
    ("text", "method", "path", "body"),
    [
        ("GET /api/health", "GET", "/api/health", None),
        ("/api/health", "GET", "/api/health", None),
        ('post /api/tasks {"a": [1, 2]}', "POST", "/api/tasks", {"a": [1, 2]}),
        ('PUT /x?y=1   "text"', "PUT", "/x?y=1", "text"),
        ('/x {"k": 1}', "GET", "/x", {"k": 1}),
    ],
)
def test_fetch_spec_parse(text: str, method: str, path: str, body: Any) -> None:
    spec = FetchSpec.parse(text)
    assert (spec.method, spec.path) == (method, path)
    if body is None:
        assert spec.body is FetchSpec("GET", "/").body
    else:
        assert spec.body == body


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("GET", "no path"),
        ("GET api", "no path"),
        ("POST /x {not json", "not valid JSON"),
        ("FETCH /x", "unknown method"),
    ],
)
def test_fetch_spec_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FetchSpec.parse(text)
