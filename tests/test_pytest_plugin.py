"""The pytest plugin as a user meets it: a small project with its own wrangler.toml, worker,
migrations and tests, run by pytest with the plugin loaded from the `pytest11` entry point."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from helpers import ANYIO_CONFTEST, PLUGIN_INI, user_project, user_tests

WRANGLER = """\
name = "jobs"
main = "worker.py"

[vars]
GREETING = "hello"

[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[queues.consumers]]
queue = "jobs"
max_batch_size = 10
max_batch_timeout = 5
max_retries = 1
dead_letter_queue = "jobs-dlq"

[[d1_databases]]
binding = "DB"
database_name = "jobs"
database_id = "jobs"

[env.staging]
[env.staging.vars]
GREETING = "hello from staging"
"""

MIGRATION = """\
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
"""

WORKER = """\
from urllib.parse import urlparse

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path == "/hello":
            return Response.json({"greeting": self.env.GREETING})
        if path == "/jobs" and request.method == "POST":
            body = (await request.json())["body"]
            row = await (
                self.env.DB.prepare("INSERT INTO jobs (body) VALUES (?) RETURNING id")
                .bind(body)
                .first()
            )
            await self.env.JOBS.send({"id": row["id"], "body": body})
            return Response.json({"id": row["id"]}, status=202)
        if path.startswith("/jobs/"):
            job_id = int(path.rsplit("/", 1)[1])
            row = await self.env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(job_id).first()
            return Response.json(row)
        return Response("not found", status=404)

    async def queue(self, batch):
        for message in batch.messages:
            if message.body["body"] == "fail":
                raise RuntimeError("cannot do this job")
            await (
                self.env.DB.prepare("UPDATE jobs SET done = 1 WHERE id = ?")
                .bind(message.body["id"])
                .run()
            )
            message.ack()
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's worker project: wrangler.toml, worker.py, migrations/ and a conftest."""
    return user_project(
        pytester, WRANGLER, WORKER, conftest=ANYIO_CONFTEST, migrations={"0001_jobs.sql": MIGRATION}
    )


USER_TESTS = "import pytest_asyncio\n" + user_tests(
    """
    @pytest.mark.anyio
    async def test_under_anyio(pyflare):
        resp = await pyflare.fetch("/jobs", method="POST", json={"body": "x"})
        assert resp.status == 202
        job = (await resp.json())["id"]
        await pyflare.queues.drain()
        row = await (await pyflare.fetch(f"/jobs/{job}")).json()
        assert row["done"] == 1


    @pytest.mark.asyncio
    async def test_under_pytest_asyncio(pyflare):
        resp = await pyflare.fetch("/hello")
        assert await resp.json() == {"greeting": "hello"}


    @pytest.mark.asyncio(loop_scope="module")
    async def test_under_a_module_scoped_loop(pyflare):
        await pyflare.fetch("/jobs", method="POST", json={"body": "m"})
        await pyflare.queues.drain()
        assert pyflare.queues["jobs"].stats()["acked"] == 1


    def test_sync(pyflare_sync):
        resp = pyflare_sync.fetch("/jobs", method="POST", json={"body": "y"})
        assert resp.status == 202
        assert pyflare_sync.queues["jobs"].stats()["pending"] == 1
        pyflare_sync.advance(5)
        assert pyflare_sync.env.DB.prepare("SELECT done FROM jobs").first("done") == 1


    def test_sync_drain_and_d1(pyflare_sync):
        pyflare_sync.fetch("/jobs", method="POST", json={"body": "z"})
        pyflare_sync.drain()
        rows = pyflare_sync.d1["DB"].prepare("SELECT body, done FROM jobs").all()["results"]
        assert rows == [{"body": "z", "done": 1}]


    @pytest.fixture
    async def seeded(pyflare):
        await pyflare.fetch("/jobs", method="POST", json={"body": "seed"})
        return pyflare


    @pytest.mark.anyio
    async def test_own_async_fixture_under_anyio(seeded):
        await seeded.queues.drain()
        assert seeded.queues["jobs"].stats()["acked"] == 1


    @pytest_asyncio.fixture
    async def seeded_asyncio(pyflare):
        await pyflare.fetch("/jobs", method="POST", json={"body": "seed"})
        return pyflare


    @pytest.mark.asyncio
    async def test_own_async_fixture_under_pytest_asyncio(seeded_asyncio):
        await seeded_asyncio.queues.drain()
        assert seeded_asyncio.queues["jobs"].stats()["acked"] == 1


    @pytest.mark.anyio
    @pytest.mark.parametrize("body", ["first", "second"])
    async def test_each_test_starts_empty(pyflare, body):
        await pyflare.fetch("/jobs", method="POST", json={"body": body})
        count = await pyflare.env.DB.prepare("SELECT COUNT(*) AS n FROM jobs").first("n")
        assert count == 1
        assert pyflare.queues["jobs"].stats()["pending"] == 1
    """
)


def test_user_project_passes_under_anyio_pytest_asyncio_and_sync(project: pytest.Pytester) -> None:
    project.makepyfile(test_jobs=USER_TESTS)
    # A separate process, as a user runs it: the plugin comes from the pytest11 entry point.
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)


def test_pytest_asyncio_auto_mode(project: pytest.Pytester) -> None:
    project.makeini(PLUGIN_INI + "asyncio_mode = auto\n")
    project.makepyfile(
        test_auto=user_tests(
            """
            async def test_unmarked(pyflare):
                assert (await pyflare.fetch("/hello")).status == 200
            """
        )
    )
    project.runpytest().assert_outcomes(passed=1)


def test_failure_report_shows_queue_stats_and_emulator_log(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_fail=user_tests(
            """
            @pytest.mark.anyio
            async def test_job_is_done(pyflare):
                await pyflare.fetch("/jobs", method="POST", json={"body": "fail"})
                await pyflare.queues.drain()
                assert pyflare.queues["jobs"].stats()["dead_lettered"] == 0


            def test_sync_job_is_done(pyflare_sync):
                pyflare_sync.fetch("/jobs", method="POST", json={"body": "fail"})
                pyflare_sync.drain()
                assert pyflare_sync.queues["jobs-dlq"].stats()["pending"] == 0


            @pytest.mark.anyio
            async def test_passing(pyflare):
                assert (await pyflare.fetch("/hello")).status == 200
            """
        )
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_job_is_done _*",
            "*- pyflare: queues and emulator log -*",
            "queues (virtual clock +*s since start):",
            "*queue*pending*delayed*in_flight*acked*retried*dead_lettered*dropped",
            "*jobs  *0*0*0*0*1*1*0",
            "*jobs-dlq*1*",
            "last * emulator log lines:",
            "*Retrying message*",
            '*Moving message * on queue "jobs" to dead letter queue "jobs-dlq"*',
            "*_ test_sync_job_is_done _*",
            "*- pyflare: queues and emulator log -*",
        ]
    )
    assert result.stdout.str().count("pyflare: queues and emulator log") == 2


def test_marker_picks_config_env_and_vars(project: pytest.Pytester) -> None:
    other = project.mkdir("other")
    (other / "wrangler.toml").write_text(
        'name = "other"\nmain = "app.py"\n[vars]\nGREETING = "other"\nNAME = "x"\n'
    )
    (other / "app.py").write_text(
        textwrap.dedent(
            """
            from workers import Response

            async def on_fetch(request, env):
                return Response.json({"greeting": env.GREETING, "name": env.NAME})
            """
        )
    )
    project.makepyfile(
        test_marker=user_tests(
            """
            pytestmark = pytest.mark.pyflare(vars={"NAME": "module"})


            @pytest.mark.anyio
            @pytest.mark.pyflare(config="other/wrangler.toml")
            async def test_other_config(pyflare):
                assert await (await pyflare.fetch("/")).json() == {
                    "greeting": "other", "name": "module"
                }


            @pytest.mark.anyio
            @pytest.mark.pyflare(env="staging", vars={"EXTRA": "1"})
            async def test_env_section(pyflare):
                resp = await pyflare.fetch("/hello")
                assert await resp.json() == {"greeting": "hello from staging"}
                assert pyflare.env.NAME == "module" and pyflare.env.EXTRA == "1"


            @pytest.mark.pyflare(vars={"GREETING": "overridden"})
            def test_vars_override(pyflare_sync):
                assert pyflare_sync.fetch("/hello").json() == {"greeting": "overridden"}
            """
        )
    )
    project.runpytest().assert_outcomes(passed=3)


def test_ini_option_names_the_config(pytester: pytest.Pytester) -> None:
    app = pytester.mkdir("app")
    (app / "wrangler.toml").write_text('name = "app"\nmain = "main.py"\n')
    (app / "main.py").write_text(
        "from workers import Response\n\n"
        "async def on_fetch(request):\n"
        '    return Response("from app")\n'
    )
    pytester.makeini(PLUGIN_INI + "pyflare_config = app/wrangler.toml\n")
    pytester.makepyfile(
        test_ini=user_tests(
            """
            def test_app(pyflare_sync):
                assert pyflare_sync.fetch("/").text() == "from app"
                assert pyflare_sync.config.name == "app"
            """
        )
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_marker_env_none_turns_the_ini_env_off(project: pytest.Pytester) -> None:
    project.makeini(PLUGIN_INI + "pyflare_env = staging\n")
    project.makepyfile(
        test_env=user_tests(
            """
            def test_ini_env(pyflare_sync):
                assert pyflare_sync.fetch("/hello").json() == {"greeting": "hello from staging"}


            @pytest.mark.pyflare(env=None)
            def test_no_env(pyflare_sync):
                assert pyflare_sync.fetch("/hello").json() == {"greeting": "hello"}
            """
        )
    )
    project.runpytest().assert_outcomes(passed=2)


def test_config_in_a_folder_above_the_rootdir_is_found(project: pytest.Pytester) -> None:
    # `cd tests && pytest` in a project with no pytest config file makes `tests` the rootdir.
    (project.path / "tox.ini").unlink(missing_ok=True)
    (project.path / "pytest.ini").unlink(missing_ok=True)
    tests = project.mkdir("tests")
    (tests / "test_up.py").write_text(
        user_tests(
            """
            def test_found(pyflare_sync):
                assert pyflare_sync.fetch("/hello").json() == {"greeting": "hello"}
            """
        )
    )
    result = project.runpytest(
        "--rootdir", str(tests), "-o", "asyncio_default_fixture_loop_scope=function", str(tests)
    )
    result.assert_outcomes(passed=1)


def test_migrations_can_be_turned_off(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_no_migrations=user_tests(
            """
            from miniflare_py.d1 import D1Error


            @pytest.mark.anyio
            @pytest.mark.pyflare(migrations=False)
            async def test_no_tables(pyflare):
                with pytest.raises(D1Error, match="no such table: jobs"):
                    await pyflare.env.DB.prepare("SELECT * FROM jobs").all()
                await pyflare.env.DB.exec("CREATE TABLE mine (id INTEGER PRIMARY KEY)")


            @pytest.mark.anyio
            async def test_with_tables(pyflare):
                assert (await pyflare.env.DB.prepare("SELECT * FROM jobs").all())["results"] == []
            """
        )
    )
    project.runpytest().assert_outcomes(passed=2)


def test_missing_config_is_one_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(PLUGIN_INI)
    pytester.makepyfile(
        test_none=user_tests(
            """
            def test_needs_a_worker(pyflare_sync):
                pass
            """
        )
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*pyflare: No wrangler.toml*@pytest.mark.pyflare(config=...)*"])
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*During handling of the above exception*")


def test_worker_import_error_is_reported(project: pytest.Pytester) -> None:
    project.makepyfile(worker="import not_a_module_anywhere\n")
    project.makepyfile(
        test_broken=user_tests(
            """
            @pytest.mark.anyio
            async def test_anything(pyflare):
                pass
            """
        )
    )
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*failed to import*ModuleNotFoundError*not_a_module_anywhere*"])
    # One message and the user's traceback, not pyflare's exceptions chained before it.
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    result.stdout.no_fnmatch_line("*direct cause of the following exception*")


def test_config_and_migration_errors_are_one_message(project: pytest.Pytester) -> None:
    (project.path / "migrations" / "0002_broken.sql").write_text("CREATE TABLE (\n")
    project.makepyfile(
        test_errors=user_tests(
            """
            def test_broken_migration(pyflare_sync):
                pass


            @pytest.mark.pyflare(config="missing.toml")
            def test_missing_config(pyflare_sync):
                pass
            """
        )
    )
    result = project.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*pyflare: Migration 0002_broken.sql failed: D1_ERROR: *",
            "*pyflare: *missing.toml: config file not found",
        ],
        consecutive=False,
    )
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*miniflare_py*")


@pytest.mark.parametrize(
    ("test_file", "message"),
    [
        pytest.param(
            """
            def test_plain(pyflare):
                pass
            """,
            "*needs an async test*pyflare_sync*",
            id="async-fixture-in-a-plain-test",
        ),
        pytest.param(
            """
            @pytest.fixture
            def anyio_backend():
                return "trio"


            @pytest.mark.anyio
            async def test_on_trio(pyflare):
                pass
            """,
            "*pyflare runs on asyncio, not trio*",
            id="other-anyio-backend",
        ),
        pytest.param(
            """
            @pytest.mark.pyflare(migration=False)
            def test_typo(pyflare_sync):
                pass
            """,
            "*unknown option(s) migration*",
            id="unknown-marker-option",
        ),
    ],
)
def test_a_misused_fixture_is_one_clear_error(
    project: pytest.Pytester, test_file: str, message: str
) -> None:
    project.makepyfile(test_misuse=user_tests(test_file))
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])


def test_projects_without_pyflare_do_not_import_the_runtime(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_light=user_tests(
            """
            import sys


            def test_nothing_heavy_loaded(pytestconfig):
                assert pytestconfig.pluginmanager.has_plugin("pyflare")
                loaded = {m for m in sys.modules if m.startswith("miniflare_py.")}
                # The plugin's own light modules only: no runtime, no bindings, no workers.
                light = {"names", "loops", "options", "report", "sync"}
                assert loaded <= {"miniflare_py.pytest_plugin"} | {
                    f"miniflare_py.pytest_plugin.{name}" for name in light
                }, sorted(loaded)
            """
        )
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makeini(PLUGIN_INI)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.pyflare(config=None, env=None, vars=None, *"])


#: A README example that is a test file starts with a comment naming it.
EXAMPLE_FILE = re.compile(r"\A# (tests/test_\w+\.py)\b")


def readme_test_examples() -> list[tuple[str, str]]:
    """The "Testing your worker" examples that are test files: (file name, source)."""
    repo = Path(__file__).resolve().parent.parent
    text = (repo / "README.md").read_text().split("\n## Testing your worker\n", 1)[1]
    text = text.split("\n## ", 1)[0]  # up to the next section
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    return [(m.group(1), block) for block in blocks if (m := EXAMPLE_FILE.match(block))]


def test_documented_examples_pass(pytester: pytest.Pytester) -> None:
    """Every test file the "Testing your worker" section shows, run on a copy of the seed app
    (and of `fixtures/link-preview`, which some of them name in their marker)."""
    repo = Path(__file__).resolve().parent.parent
    examples = readme_test_examples()
    names = [name for name, _ in examples]
    assert len(names) == len(set(names)), names
    assert {"tests/test_tasks.py", "tests/test_sync.py", "tests/test_consumer.py"} <= set(names)
    shutil.copytree(repo / "fixtures" / "ai-tasks", pytester.path, dirs_exist_ok=True)
    preview = repo / "fixtures" / "link-preview"
    shutil.copytree(preview, pytester.path / "fixtures" / "link-preview")
    pytester.makeini(PLUGIN_INI)
    (pytester.path / "tests").mkdir()
    for name, code in examples:
        (pytester.path / name).write_text(code)
    tests = sum(len(re.findall(r"^(?:async )?def test_", code, re.M)) for _, code in examples)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=tests)


# Durable Objects


def test_durable_objects_are_fresh_per_test_and_reachable(pytester: pytest.Pytester) -> None:
    lab = Path(__file__).parent / "e2e_workers" / "do_lab"
    shutil.copy(lab / "wrangler.toml", pytester.path / "wrangler.toml")
    shutil.copy(lab / "worker.py", pytester.path / "worker.py")
    pytester.makeini(PLUGIN_INI)
    pytester.makepyfile(
        test_objects=user_tests(
            """
            @pytest.mark.anyio
            @pytest.mark.parametrize("round", [1, 2])
            async def test_counter_starts_at_zero(pyflare, round):
                assert await (await pyflare.fetch("/room/increment")).text() == "1"
                storage = pyflare.durable_objects.get_storage("LAB", "room")
                assert await storage.get("n") == 1
                assert [i.name for i in pyflare.durable_objects.list_ids("LAB")] == ["room"]


            @pytest.mark.anyio
            async def test_alarm_an_hour_ahead(pyflare):
                stub = pyflare.env.LAB.getByName("a")
                await stub.set_alarm_at(pyflare.clock.now() * 1000 + 3_600_000)
                await pyflare.clock.advance(3600)
                assert len(await stub.alarm_log()) == 1
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
