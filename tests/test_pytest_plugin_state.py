"""Fresh state per test, cheaply: migrations run once per session (per config, env and vars)
and each test starts from a copy of the migrated databases, isolated from every other test.
Also: the fixtures under pytest-asyncio, anyio and pytest-xdist (`-n 2`)."""

from __future__ import annotations

import textwrap

import pytest
from helpers import user_project

WRANGLER = """\
name = "state"
main = "worker.py"

[[d1_databases]]
binding = "DB"
database_name = "state"
database_id = "state"

[[kv_namespaces]]
binding = "KV"
id = "kv"

[[r2_buckets]]
binding = "BUCKET"
bucket_name = "bucket"

[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[queues.consumers]]
queue = "jobs"
max_batch_timeout = 5

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
"""

WORKER = """\
from workers import DurableObject, Response, WorkerEntrypoint


class Counter(DurableObject):
    async def increment(self):
        n = (await self.ctx.storage.get("n") or 0) + 1
        await self.ctx.storage.put("n", n)
        return n


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")

    async def queue(self, batch):
        batch.ackAll()
"""

CONFTEST = """\
import pytest

import miniflare_py.d1.migrations as migrations

#: Every time a migrations folder is applied, in order.
APPLIED = []
_apply = migrations.apply_migrations


def _counting(db, config, root):
    APPLIED.append(config.binding)
    return _apply(db, config, root)


migrations.apply_migrations = _counting


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

# Every test writes to every binding, then checks it found them all empty: run in any order,
# on any xdist worker, each one must start from scratch.
ISOLATION = """\
async def touch_everything(mf, n):
    rows = (await mf.env.DB.prepare("SELECT COUNT(*) AS n FROM items").first())["n"]
    applied = (await mf.env.DB.prepare("SELECT name FROM d1_migrations").all())["results"]
    assert (rows, [r["name"] for r in applied]) == (0, ["0001_items.sql", "0002_more.sql"])
    await mf.env.DB.prepare("INSERT INTO items (n) VALUES (?)").bind(n).run()
    assert await mf.env.KV.get("k") is None
    await mf.env.KV.put("k", str(n))
    assert await mf.env.BUCKET.get("o") is None
    await mf.env.BUCKET.put("o", str(n))
    assert mf.queues["jobs"].stats()["pending"] == 0
    await mf.env.JOBS.send({"n": n})
    assert await mf.env.COUNTER.getByName("c").increment() == 1
    assert mf.list_durable_object_ids("COUNTER") != []
"""


MIGRATIONS = {
    "0001_items.sql": "CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER);\n",
    "0002_more.sql": "CREATE INDEX items_n ON items(n);\n",
}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    return user_project(
        pytester, WRANGLER, WORKER, conftest=CONFTEST, isolation=ISOLATION, migrations=MIGRATIONS
    )


def source(body: str) -> str:
    return "import pytest\n\n" + textwrap.dedent(body)


ISOLATED_TESTS = source(
    """
    from isolation import touch_everything


    @pytest.mark.anyio
    @pytest.mark.parametrize("n", range(6))
    async def test_anyio(pyflare, n):
        await touch_everything(pyflare, n)


    @pytest.mark.asyncio
    @pytest.mark.parametrize("n", range(6))
    async def test_pytest_asyncio(pyflare, n):
        await touch_everything(pyflare, n)


    @pytest.mark.asyncio(loop_scope="module")
    @pytest.mark.parametrize("n", range(3))
    async def test_module_scoped_loop(pyflare, n):
        await touch_everything(pyflare, n)


    @pytest.mark.parametrize("n", range(3))
    def test_sync(pyflare_sync, n):
        pyflare_sync.run(touch_everything(pyflare_sync.mf, n))
    """
)


def test_migrations_run_once_a_session_and_every_test_starts_fresh(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_isolated=ISOLATED_TESTS,
        test_zz_counted=source(
            """
            from conftest import APPLIED


            def test_migrations_ran_once():
                assert APPLIED == ["DB"]


            @pytest.mark.pyflare(vars={"OTHER": "1"})
            def test_other_vars_are_another_config(pyflare_sync):
                assert APPLIED == ["DB", "DB"]


            @pytest.mark.pyflare(migrations=False)
            def test_migrations_off_is_still_empty(pyflare_sync):
                tables = pyflare_sync.env.DB.prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                ).all()["results"]
                assert tables == []
                assert APPLIED == ["DB", "DB"]
            """
        ),
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=21)


def test_a_migration_added_during_the_session_is_applied(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_added=source(
            """
            from pathlib import Path


            def test_before(pyflare_sync):
                db = pyflare_sync.env.DB
                assert db.prepare("SELECT COUNT(*) AS n FROM items").first("n") == 0


            @pytest.fixture
            def third_migration():
                Path("migrations/0003_extra.sql").write_text("CREATE TABLE extra (x);\\n")


            def test_after(third_migration, pyflare_sync):
                db = pyflare_sync.env.DB
                assert db.prepare("SELECT COUNT(*) AS n FROM extra").first("n") == 0
            """
        )
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_under_pytest_xdist(project: pytest.Pytester) -> None:
    project.makepyfile(test_isolated=ISOLATED_TESTS)
    result = project.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=18)
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_under_pytest_asyncio_auto_mode_and_anyio_together(project: pytest.Pytester) -> None:
    project.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nasyncio_mode = auto\n"
    )
    project.makepyfile(
        test_auto=source(
            """
            from isolation import touch_everything


            async def test_unmarked(pyflare):
                await touch_everything(pyflare, 1)
                result = await pyflare.queue_batch("jobs", [{"n": 1}])
                assert result.ack_all and result.acked


            @pytest.mark.anyio
            async def test_anyio_marked(pyflare):
                await touch_everything(pyflare, 2)
            """
        )
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


@pytest.mark.anyio
async def test_a_binding_that_cannot_copy_its_state_migrates_in_every_test() -> None:
    from types import SimpleNamespace

    from miniflare_py.pytest_plugin.startup import _restore

    class Copyable:
        restored: list[str] = []

        def restore(self, state: str) -> None:
            self.restored.append(state)

        async def migrate(self) -> dict[str, list[str]]:
            raise AssertionError("restored bindings are not migrated again")

    class Plain:
        migrated = 0

        async def migrate(self) -> dict[str, list[str]]:
            self.migrated += 1
            return {}

    copyable, plain = Copyable(), Plain()
    runtime = SimpleNamespace(bindings={"d1": copyable, "other": plain})
    await _restore(runtime, {"d1": "pages"})  # type: ignore[arg-type]
    assert (copyable.restored, plain.migrated) == (["pages"], 1)
