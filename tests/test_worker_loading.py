"""Loading a worker module: entry points, relaxed arity, import errors, reloads, env and ctx."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from miniflare_py.worker import Env, ExecutionContext, Worker, WorkerLoadError, load_worker
from miniflare_py.workers import Request, Response, WorkerEntrypoint


@pytest.fixture(autouse=True)
def writes_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Import as a developer's Python does, writing `__pycache__` (CI may turn that off)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def write(folder: Path, source: str, name: str = "worker.py") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def rewrite(path: Path, source: str) -> None:
    """Change a file the way an editor does, within the same second as the last write."""
    stat = path.stat()
    path.write_text(textwrap.dedent(source))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: the worst case


class Recorder:
    """A `spawn` for ExecutionContext that keeps what was handed to it."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []

    def __call__(self, awaitable: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(awaitable)
        self.tasks.append(task)
        return task


def make_ctx() -> ExecutionContext:
    return ExecutionContext(Recorder())


async def call(worker: Worker, event: str, payload: Any = None, env: Any = None) -> Any:
    return await worker.dispatch(event, payload, env if env is not None else Env({}), make_ctx())


# the class form

CLASS_WORKER = """\
from workers import Response, WorkerEntrypoint

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response.json({
            "url": request.url,
            "env_name": self.env.NAME,
            "has_ctx": hasattr(self.ctx, "waitUntil"),
        })

    async def queue(self, batch, env=None, ctx=None):
        batch.append(("queue", env is self.env, ctx is self.ctx))

    async def scheduled(self, controller, env=None, ctx=None):
        controller.append(("scheduled", env is self.env, ctx is self.ctx))
"""


@pytest.mark.anyio
async def test_class_worker_handles_fetch_with_self_env_and_ctx(tmp_path: Path) -> None:
    worker = load_worker(write(tmp_path, CLASS_WORKER, "class_worker.py"))
    assert worker.handlers == {"fetch", "queue", "scheduled"}
    response = await call(worker, "fetch", Request("http://x/a"), Env({"NAME": "n1"}))
    assert await response.json() == {"url": "http://x/a", "env_name": "n1", "has_ctx": True}


@pytest.mark.anyio
async def test_class_worker_gets_env_and_ctx_as_arguments_too(tmp_path: Path) -> None:
    worker = load_worker(write(tmp_path, CLASS_WORKER, "class_worker2.py"))
    seen: list[Any] = []
    await call(worker, "queue", seen)
    await call(worker, "scheduled", seen)
    assert seen == [("queue", True, True), ("scheduled", True, True)]


@pytest.mark.anyio
async def test_class_worker_is_constructed_as_default_ctx_env_for_every_event(
    tmp_path: Path,
) -> None:
    main = write(
        tmp_path,
        """\
        from workers import Response, WorkerEntrypoint

        instances = []

        class Default(WorkerEntrypoint):
            def __init__(self, ctx, env):
                super().__init__(ctx, env)
                instances.append((ctx, env))

            async def fetch(self, request):
                return Response(str(len(instances)))
        """,
        "ctor_worker.py",
    )
    worker = load_worker(main)
    env, ctx = Env({}), make_ctx()
    await worker.dispatch("fetch", Request("http://x/"), env, ctx)
    second = await worker.dispatch("fetch", Request("http://x/"), env, ctx)
    assert await second.text() == "2"
    assert worker.module.instances == [(ctx, env), (ctx, env)]


@pytest.mark.anyio
async def test_class_worker_need_not_subclass_worker_entrypoint(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        from workers import Response

        class Default:
            def __init__(self, ctx, env):
                self.env = env

            async def fetch(self, request):
                return Response(self.env.GREETING)
        """,
        "plain_class_worker.py",
    )
    worker = load_worker(main)
    response = await call(worker, "fetch", Request("http://x/"), Env({"GREETING": "hi"}))
    assert await response.text() == "hi"


def test_class_worker_handlers_are_the_methods_it_defines(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        from workers import WorkerEntrypoint

        class Default(WorkerEntrypoint):
            async def queue(self, batch):
                pass
        """,
        "queue_only_worker.py",
    )
    worker = load_worker(main)
    assert worker.handlers == {"queue"}
    assert worker.handles("queue")
    assert not worker.handles("fetch")


@pytest.mark.anyio
async def test_calling_an_event_the_worker_does_not_handle_is_an_error(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        from workers import WorkerEntrypoint

        class Default(WorkerEntrypoint):
            async def queue(self, batch):
                pass
        """,
        "no_fetch_worker.py",
    )
    worker = load_worker(main)
    with pytest.raises(RuntimeError, match=r"does not export a fetch\(\) function"):
        await call(worker, "fetch", Request("http://x/"))


# the module form


MODULE_WORKER = """\
from workers import Response

async def on_fetch(request, env, ctx):
    return Response(f"{request.method} {env.NAME} {type(ctx).__name__}")

async def on_queue(batch, env, ctx):
    batch.append(("queue", env.NAME))

async def on_scheduled(controller, env, ctx):
    controller.append(("scheduled", env.NAME))
"""


@pytest.mark.anyio
async def test_module_worker_handles_all_three_events(tmp_path: Path) -> None:
    worker = load_worker(write(tmp_path, MODULE_WORKER, "module_worker.py"))
    assert worker.handlers == {"fetch", "queue", "scheduled"}
    env = Env({"NAME": "m"})
    response = await call(worker, "fetch", Request("http://x/", method="PUT"), env)
    assert await response.text() == "PUT m ExecutionContext"
    seen: list[Any] = []
    await call(worker, "queue", seen, env)
    await call(worker, "scheduled", seen, env)
    assert seen == [("queue", "m"), ("scheduled", "m")]


@pytest.mark.anyio
async def test_module_worker_with_only_some_handlers(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        async def on_scheduled(controller):
            controller.append("ran")
        """,
        "cron_only_worker.py",
    )
    worker = load_worker(main)
    assert worker.handlers == {"scheduled"}
    with pytest.raises(RuntimeError, match=r"does not export a queue\(\) function"):
        await call(worker, "queue", [])


def test_handler_decorator_keeps_module_handlers_usable(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        from workers import Response, handler

        @handler
        async def on_fetch(request):
            return Response("decorated")
        """,
        "decorated_worker.py",
    )
    assert load_worker(main).handlers == {"fetch"}


# relaxed arity


ARITY_MODULE = """\
from workers import Response

def reply(*values):
    return Response(",".join(type(v).__name__ for v in values))

{handler}
"""


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("async def on_fetch():\n    return reply()", ""),
        ("async def on_fetch(request):\n    return reply(request)", "Request"),
        ("async def on_fetch(request, env):\n    return reply(request, env)", "Request,Env"),
        (
            "async def on_fetch(request, env, ctx):\n    return reply(request, env, ctx)",
            "Request,Env,ExecutionContext",
        ),
        ("async def on_fetch(*args):\n    return reply(*args)", "Request,Env,ExecutionContext"),
        (
            "async def on_fetch(request, *rest):\n    return reply(request, *rest)",
            "Request,Env,ExecutionContext",
        ),
        ("def on_fetch(request, env):\n    return reply(request, env)", "Request,Env"),
        (
            "async def on_fetch(request, env=None, ctx=None, extra=None):\n"
            "    return reply(request, env, ctx, extra)",
            "Request,Env,ExecutionContext,NoneType",
        ),
        (
            "async def on_fetch(request, *, env=None):\n    return reply(request, env)",
            "Request,NoneType",
        ),
    ],
    ids=["0", "1", "2", "3", "varargs", "1+varargs", "sync", "defaults", "kwonly"],
)
async def test_module_handlers_get_as_many_arguments_as_they_accept(
    tmp_path: Path, handler: str, expected: str
) -> None:
    worker = load_worker(write(tmp_path, ARITY_MODULE.format(handler=handler), "arity_mod.py"))
    response = await call(worker, "fetch", Request("http://x/"))
    assert await response.text() == expected


ARITY_CLASS = """\
from workers import Response, WorkerEntrypoint

def reply(*values):
    return Response(",".join(type(v).__name__ for v in values))

class Default(WorkerEntrypoint):
{method}
"""


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("    async def fetch(self):\n        return reply()", ""),
        ("    async def fetch(self, request):\n        return reply(request)", "Request"),
        (
            "    async def fetch(self, request, env):\n        return reply(request, env)",
            "Request,Env",
        ),
        (
            "    async def fetch(self, request, env, ctx):\n"
            "        return reply(request, env, ctx)",
            "Request,Env,ExecutionContext",
        ),
        (
            "    async def fetch(self, *args):\n        return reply(*args)",
            "Request,Env,ExecutionContext",
        ),
        ("    def fetch(self, request):\n        return reply(request)", "Request"),
    ],
    ids=["0", "1", "2", "3", "varargs", "sync"],
)
async def test_class_methods_get_as_many_arguments_as_they_accept(
    tmp_path: Path, method: str, expected: str
) -> None:
    worker = load_worker(write(tmp_path, ARITY_CLASS.format(method=method), "arity_cls.py"))
    response = await call(worker, "fetch", Request("http://x/"))
    assert await response.text() == expected


@pytest.mark.anyio
async def test_a_sync_handler_may_return_an_awaitable(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        from workers import Response

        async def build():
            return Response("later")

        def on_fetch(request):
            return build()
        """,
        "sync_awaitable_worker.py",
    )
    response = await call(load_worker(main), "fetch", Request("http://x/"))
    assert await response.text() == "later"


@pytest.mark.anyio
async def test_exceptions_from_handlers_propagate(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        async def on_fetch(request):
            raise LookupError("no such task")
        """,
        "raising_worker.py",
    )
    with pytest.raises(LookupError, match="no such task"):
        await call(load_worker(main), "fetch", Request("http://x/"))


# entry point errors


def test_defining_both_forms_is_an_error(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        from workers import Response, WorkerEntrypoint

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return Response("class")

        async def on_fetch(request):
            return Response("module")
        """,
        "both_forms_worker.py",
    )
    with pytest.raises(WorkerLoadError, match="Cannot define multiple default entrypoints") as info:
        load_worker(main)
    assert str(main) in str(info.value)
    assert "Cannot define multiple default entrypoints" in info.value.details


def test_a_module_without_entry_points_is_an_error(tmp_path: Path) -> None:
    main = write(tmp_path, "VALUE = 1\n", "empty_worker.py")
    with pytest.raises(WorkerLoadError, match="no entry point") as info:
        load_worker(main)
    assert str(main) in str(info.value)


def test_a_default_class_without_handler_methods_is_an_error(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        from workers import WorkerEntrypoint

        class Default(WorkerEntrypoint):
            def helper(self):
                pass
        """,
        "methodless_worker.py",
    )
    with pytest.raises(WorkerLoadError, match="no entry point"):
        load_worker(main)


def test_a_syntax_error_is_a_load_error_naming_the_file_and_line(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        from workers import Response

        async def on_fetch(request:
            return Response("x")
        """,
        "syntax_error_worker.py",
    )
    with pytest.raises(WorkerLoadError) as info:
        load_worker(main)
    assert str(main.resolve()) in str(info.value)
    assert "SyntaxError" in str(info.value)
    assert "SyntaxError" in info.value.details
    assert "syntax_error_worker.py" in info.value.details
    assert "line 3" in info.value.details
    assert isinstance(info.value.__cause__, SyntaxError)


def test_an_import_error_is_a_load_error_with_the_traceback(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        import pyflare_surely_missing_module

        async def on_fetch(request):
            pass
        """,
        "import_error_worker.py",
    )
    with pytest.raises(WorkerLoadError) as info:
        load_worker(main)
    message = str(info.value)
    assert str(main.resolve()) in message
    assert "ModuleNotFoundError" in message
    assert "pyflare_surely_missing_module" in message
    assert "Traceback (most recent call last)" in info.value.details
    assert "import_error_worker.py" in info.value.details
    assert "line 1" in info.value.details


def test_an_error_raised_at_import_time_in_a_sibling_names_the_sibling(tmp_path: Path) -> None:
    write(tmp_path, "raise RuntimeError('bad config in sibling')\n", "broken_sibling.py")
    main = write(
        tmp_path,
        """\
        import broken_sibling

        async def on_fetch(request):
            pass
        """,
        "uses_broken_sibling.py",
    )
    with pytest.raises(WorkerLoadError, match="bad config in sibling") as info:
        load_worker(main)
    assert "broken_sibling.py" in info.value.details
    assert "uses_broken_sibling.py" in info.value.details


def test_a_missing_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(WorkerLoadError, match=r"nope\.py"):
        load_worker(tmp_path / "nope.py")


def test_a_failed_load_can_be_retried_once_fixed(tmp_path: Path) -> None:
    main = write(tmp_path, "async def on_fetch(request:\n    pass\n", "fixable_worker.py")
    with pytest.raises(WorkerLoadError):
        load_worker(main)
    rewrite(main, "async def on_fetch(request):\n    pass\n")
    assert load_worker(main).handlers == {"fetch"}


# sibling modules and reloads


@pytest.mark.anyio
async def test_a_worker_imports_a_sibling_module_from_its_folder(tmp_path: Path) -> None:
    write(tmp_path, "def greet(name):\n    return f'hello {name}'\n", "greetings_a.py")
    write(tmp_path, "", "helpers_pkg_a/__init__.py")
    write(tmp_path, "SUFFIX = '!'\n", "helpers_pkg_a/punct.py")
    main = write(
        tmp_path,
        """\
        from greetings_a import greet
        from helpers_pkg_a.punct import SUFFIX
        from workers import Response

        async def on_fetch(request):
            return Response(greet("ana") + SUFFIX)
        """,
        "sibling_worker.py",
    )
    response = await call(load_worker(main), "fetch", Request("http://x/"))
    assert await response.text() == "hello ana!"


@pytest.mark.anyio
async def test_reloading_picks_up_changes_to_the_main_module(tmp_path: Path) -> None:
    source = """\
    from workers import Response

    async def on_fetch(request):
        return Response("version {n}")
    """
    main = write(tmp_path, source.format(n=1), "reloaded_main.py")
    first = load_worker(main)
    rewrite(main, source.format(n=2))
    second = load_worker(main)
    assert await (await call(second, "fetch", Request("http://x/"))).text() == "version 2"
    # the worker loaded before keeps its own code
    assert await (await call(first, "fetch", Request("http://x/"))).text() == "version 1"


@pytest.mark.anyio
async def test_reloading_picks_up_changes_to_a_sibling_module(tmp_path: Path) -> None:
    sibling = write(tmp_path, "ANSWER = 'one'\n", "reloaded_sibling.py")
    main = write(
        tmp_path,
        """\
        import reloaded_sibling
        from workers import Response

        async def on_fetch(request):
            return Response(reloaded_sibling.ANSWER)
        """,
        "uses_reloaded_sibling.py",
    )
    load_worker(main)
    rewrite(sibling, "ANSWER = 'two'\n")
    worker = load_worker(main)
    assert await (await call(worker, "fetch", Request("http://x/"))).text() == "two"


@pytest.mark.anyio
async def test_reloading_picks_up_a_switch_between_forms(tmp_path: Path) -> None:
    main = write(tmp_path, MODULE_WORKER, "switching_worker.py")
    assert load_worker(main)._class is None
    rewrite(main, CLASS_WORKER)
    worker = load_worker(main)
    assert worker._class is not None
    assert issubclass(worker._class, WorkerEntrypoint)


@pytest.mark.anyio
async def test_workers_in_different_folders_get_their_own_sibling_modules(
    tmp_path: Path,
) -> None:
    source = """\
    import shared_name_helpers
    from workers import Response

    async def on_fetch(request):
        return Response(shared_name_helpers.WHO)
    """
    first_main = write(tmp_path / "first", source, "worker.py")
    write(tmp_path / "first", "WHO = 'first'\n", "shared_name_helpers.py")
    second_main = write(tmp_path / "second", source, "worker.py")
    write(tmp_path / "second", "WHO = 'second'\n", "shared_name_helpers.py")
    first = load_worker(first_main)
    second = load_worker(second_main)
    assert await (await call(first, "fetch", Request("http://x/"))).text() == "first"
    assert await (await call(second, "fetch", Request("http://x/"))).text() == "second"


# ExecutionContext


@pytest.mark.anyio
async def test_wait_until_hands_the_work_to_the_runtime() -> None:
    recorder = Recorder()
    ctx = ExecutionContext(recorder)
    done: list[str] = []

    async def background(label: str) -> None:
        done.append(label)

    ctx.waitUntil(background("camel"))
    ctx.wait_until(background("snake"))
    await asyncio.gather(*recorder.tasks)
    assert done == ["camel", "snake"]


@pytest.mark.anyio
async def test_a_worker_can_schedule_background_work_with_wait_until(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        import asyncio
        from workers import Response, WorkerEntrypoint

        log = []

        async def audit(path):
            await asyncio.sleep(0)
            log.append(path)

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                self.ctx.waitUntil(audit(request.url))
                return Response("accepted", status=202)
        """,
        "wait_until_worker.py",
    )
    worker = load_worker(main)
    recorder = Recorder()
    response = await worker.dispatch(
        "fetch", Request("http://x/audit"), Env({}), ExecutionContext(recorder)
    )
    assert response.status == 202
    assert worker.module.log == []  # not run before the response
    await asyncio.gather(*recorder.tasks)
    assert worker.module.log == ["http://x/audit"]


def test_pass_through_on_exception_is_accepted() -> None:
    ctx = make_ctx()
    ctx.passThroughOnException()
    ctx.pass_through_on_exception()
    assert ctx.props == {}


# Env


def test_env_offers_attribute_item_get_and_membership_access() -> None:
    db = object()
    env = Env({"AI_MODEL": "m1", "SEGMENTS": 12, "DB": db})
    assert env.AI_MODEL == "m1"
    assert env["SEGMENTS"] == 12
    assert env.DB is db
    assert env.get("DB") is db
    assert env.get("MISSING") is None
    assert env.get("MISSING", "x") == "x"
    assert getattr(env, "MISSING", "fallback") == "fallback"
    assert "AI_MODEL" in env
    assert "MISSING" not in env
    assert set(env) == {"AI_MODEL", "SEGMENTS", "DB"}
    assert "AI_MODEL" in repr(env)


def test_env_missing_names_raise_the_usual_errors() -> None:
    env = Env({})
    with pytest.raises(AttributeError):
        env.MISSING  # noqa: B018
    with pytest.raises(KeyError):
        env["MISSING"]


def test_env_keeps_structured_var_values() -> None:
    env = Env({"LIMITS": {"max": 3}, "FLAGS": [1, 2], "ON": True})
    assert env.LIMITS == {"max": 3}
    assert env["FLAGS"] == [1, 2]
    assert env.ON is True


@pytest.mark.anyio
async def test_a_worker_reads_env_in_every_form(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        """\
        from workers import Response

        async def on_fetch(request, env):
            return Response.json([
                env.NAME, env["NAME"], getattr(env, "MISSING", None), "NAME" in env,
            ])
        """,
        "env_forms_worker.py",
    )
    response = await call(load_worker(main), "fetch", Request("http://x/"), Env({"NAME": "v"}))
    assert isinstance(response, Response)
    assert await response.json() == ["v", "v", None, True]
