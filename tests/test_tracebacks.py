"""A worker's errors under `pyflare dev`: the user's frames, each distinct error once."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import httpx
import pytest

from miniflare_py import Miniflare
from miniflare_py.dev import ConsoleHandler
from miniflare_py.server import create_app
from miniflare_py.tracebacks import ErrorDigest, format_user_exception, log_exception

PACKAGE = str(Path(__file__).resolve().parent.parent / "miniflare_py")

QUEUE_CONFIG = """
name = "w"
main = "worker.py"

[[queues.producers]]
binding = "Q"
queue = "q"

[[queues.consumers]]
queue = "q"
max_batch_size = 1
max_retries = 3
"""

FAILING = """
from workers import Response, WorkerEntrypoint

def parse(text):
    return int(text)

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        await self.env.Q.send("job")
        return Response(str(parse("not a number")))

    async def queue(self, batch):
        for message in batch.messages:
            parse(message.body)
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def worker(tmp_path: Path) -> Path:
    (tmp_path / "wrangler.toml").write_text(QUEUE_CONFIG)
    (tmp_path / "worker.py").write_text(textwrap.dedent(FAILING))
    return tmp_path


def records(caplog: pytest.LogCaptureFixture, starts: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(starts)]


@pytest.mark.anyio
async def test_a_failing_consumer_prints_its_traceback_once_then_one_line(
    anyio_backend: str, worker: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="miniflare_py")
    async with Miniflare(worker / "wrangler.toml") as mf:
        await mf.env.Q.send("job")
        await mf.queues.drain()
    failures = records(caplog, 'Queue handler raised on a batch from "q"')
    assert len(failures) == 4  # the first delivery and three retries
    first, *repeats = failures
    assert first.exc_info is not None
    assert first.getMessage().endswith("ValueError: invalid literal for int() with base 10: 'job'")
    for n, record in enumerate(repeats, 2):
        assert record.exc_info is None
        assert record.getMessage() == (
            'Queue handler raised on a batch from "q": ValueError: invalid literal for int() '
            f"with base 10: 'job' (again: seen {n} times, the traceback is shown the first time)"
        )


@pytest.mark.anyio
async def test_a_different_error_gets_its_own_traceback(
    anyio_backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "wrangler.toml").write_text(QUEUE_CONFIG)
    (tmp_path / "worker.py").write_text(
        "async def on_queue(batch):\n    raise RuntimeError(batch.messages[0].body)\n"
    )
    caplog.set_level(logging.INFO, logger="miniflare_py")
    async with Miniflare(tmp_path / "wrangler.toml") as mf:
        await mf.env.Q.sendBatch([{"body": "a"}, {"body": "b"}])
        await mf.queues.drain()
    failures = records(caplog, 'Queue handler raised on a batch from "q"')
    with_traceback = [r.getMessage() for r in failures if r.exc_info]
    assert with_traceback == [
        'Queue handler raised on a batch from "q": RuntimeError: a',
        'Queue handler raised on a batch from "q": RuntimeError: b',
    ]


@pytest.mark.anyio
async def test_each_runtime_starts_with_a_clean_record(
    anyio_backend: str, worker: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="miniflare_py")
    for _ in range(2):
        async with Miniflare(worker / "wrangler.toml") as mf:
            await mf.env.Q.send("job")
            await mf.queues.drain()
    failures = records(caplog, 'Queue handler raised on a batch from "q"')
    assert sum(1 for r in failures if r.exc_info) == 2


@pytest.mark.anyio
async def test_a_handler_traceback_starts_at_the_users_frames(
    anyio_backend: str, worker: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="miniflare_py")
    async with Miniflare(worker / "wrangler.toml", clock="real") as mf:
        transport = httpx.ASGITransport(app=create_app(lambda: mf))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/")
    assert response.status_code == 500
    [logged] = records(caplog, "GET http://test/ raised:")
    text = response.text
    assert logged.getMessage() == f"GET http://test/ raised:\n{text}"
    assert PACKAGE not in text
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].startswith(f'  File "{worker / "worker.py"}", line 10, in fetch')
    assert f'File "{worker / "worker.py"}", line 5, in parse' in text
    assert lines[-1] == "ValueError: invalid literal for int() with base 10: 'not a number'"


def test_dev_console_prints_the_users_frames(
    worker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    async def fail() -> BaseException:
        async with Miniflare(worker / "wrangler.toml") as mf:
            try:
                await mf.fetch("/")
            except ValueError as exc:
                return exc
        raise AssertionError("fetch did not raise")

    error = asyncio.run(fail())
    handler = ConsoleHandler(color="never")
    record = logging.LogRecord(
        "miniflare_py.errors", logging.ERROR, "", 0, "GET / raised", (), None
    )
    record.exc_info = (type(error), error, error.__traceback__)
    handler.emit(record)
    out = capsys.readouterr().out
    assert out.startswith("GET / raised\nTraceback (most recent call last):\n")
    assert PACKAGE not in out
    assert "worker.py" in out


def test_an_error_raised_inside_pyflare_by_mistake_keeps_pyflare_frames() -> None:
    from miniflare_py.d1.splitter import split_file

    try:
        split_file(None)  # type: ignore[arg-type]
    except TypeError as exc:
        text = format_user_exception(exc)
    assert "splitter.py" in text  # not one of pyflare's documented errors: keep its frames


def test_pyflares_documented_errors_hide_pyflares_frames() -> None:
    from miniflare_py.d1 import D1Database, D1Error

    db = D1Database()

    def user_code() -> None:
        db.prepare("SELEC 1").all  # noqa: B018 - prepared, then run below
        import asyncio

        asyncio.run(db.prepare("SELEC 1").all())

    try:
        user_code()
    except D1Error as exc:
        text = format_user_exception(exc)
    assert PACKAGE not in text
    assert "in user_code" in text
    assert text.splitlines()[-1].startswith("miniflare_py.d1.errors.D1Error: D1_ERROR: near")


@pytest.mark.anyio
async def test_an_import_error_is_printed_once_not_on_every_request(
    anyio_backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "wrangler.toml").write_text('name = "w"\nmain = "worker.py"\n')
    (tmp_path / "worker.py").write_text("import json\nimport not_installed_anywhere\n")
    caplog.set_level(logging.INFO, logger="miniflare_py")
    runtime = Miniflare(tmp_path / "wrangler.toml", clock="real")
    await runtime.start(strict=False)
    try:
        transport = httpx.ASGITransport(app=create_app(lambda: runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for _ in range(3):
                response = await http.get("/")
                assert response.status_code == 500
                assert "not_installed_anywhere" in response.text
    finally:
        await runtime.close()
    printed = [r for r in caplog.records if "not_installed_anywhere" in r.getMessage()]
    assert len(printed) == 1
    details = printed[0].getMessage()
    assert "<frozen importlib" not in details and PACKAGE not in details
    assert f'File "{tmp_path / "worker.py"}", line 2, in <module>' in details


def test_digest_forgets_the_oldest_beyond_its_capacity() -> None:
    digest = ErrorDigest(capacity=2)
    errors = [ValueError(str(i)) for i in range(3)]
    assert [digest.count("x", e) for e in errors] == [1, 1, 1]
    assert digest.count("x", errors[2]) == 2
    assert digest.count("x", errors[0]) == 1  # forgotten, so shown again


def test_log_exception_names_the_error_on_both_forms(caplog: pytest.LogCaptureFixture) -> None:
    owner = object.__new__(type("Owner", (), {}))
    logger = logging.getLogger("miniflare_py.test")
    caplog.set_level(logging.INFO, logger="miniflare_py.test")
    error = KeyError("k")
    log_exception(logger, owner, "here", "Task %s failed", "t1", exc=error)
    log_exception(logger, owner, "here", "Task %s failed", "t1", exc=error)
    assert [r.getMessage() for r in caplog.records] == [
        "Task t1 failed: KeyError: 'k'",
        "Task t1 failed: KeyError: 'k' "
        "(again: seen 2 times, the traceback is shown the first time)",
    ]


@pytest.mark.slow
def test_under_pyflare_dev_a_failing_consumer_prints_one_traceback(worker: Path) -> None:
    from dev_process import dev_process

    with dev_process(["--no-persist", "--no-reload"], worker) as dev:
        assert dev.client.get("/").status_code == 500
        dev.wait_for_output("seen 4 times")
        output = dev.output
    # the fetch handler's traceback and the consumer's first one; retries are one line each
    assert output.count("Traceback (most recent call last):") == 2
    assert PACKAGE not in output
    consumer = output[output.index('Queue handler raised on a batch from "q"') :]
    first_frame = consumer.splitlines()[2]
    assert first_frame.startswith(f'  File "{worker / "worker.py"}", line 14, in queue')
    assert consumer.count("(again: seen") == 3
