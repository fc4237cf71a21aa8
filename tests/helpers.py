"""Helper functions shared by the test files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from miniflare_py import Miniflare
from miniflare_py.cli import main
from miniflare_py.d1 import D1Error

#: The seed application (fixtures/ai-tasks).
SEED = Path(__file__).resolve().parent.parent / "fixtures" / "ai-tasks"

#: The config of the CLI tests' project: one D1 database, bound as DB, named app-db.
D1_CONFIG = """
name = "app"
main = "worker.py"

[[d1_databases]]
binding = "DB"
database_name = "app-db"
database_id = "00000000-1111-2222-3333-444444444444"
"""
#: A worker that does nothing (the CLI commands never import it).
IDLE_WORKER = "async def on_fetch(request, env):\n    pass\n"


def pyflare(*args: str, env: dict[str, str] | None = None) -> Result:
    """`pyflare ARGS...` run in-process (click's CliRunner). An exception the command does
    not turn into a one-line error propagates, traceback and all."""
    return CliRunner().invoke(
        main, list(args), env=env, prog_name="pyflare", catch_exceptions=False
    )


def write_worker(folder: Path, source: str, config: str = "") -> Path:
    """A `wrangler.toml` (name "w", main "worker.py", plus `config`) and `worker.py` holding
    `source`, both dedented; returns the config's path."""
    path = folder / "wrangler.toml"
    path.write_text(f'name = "w"\nmain = "worker.py"\n{textwrap.dedent(config)}')
    (folder / "worker.py").write_text(textwrap.dedent(source))
    return path


# -- processes ----------------------------------------------------------------------------------


def unprivileged() -> list[str]:
    """A command prefix that makes file permissions apply (root ignores them); skips the test
    when running as root without a way to drop that right."""
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") and subprocess.run(["unshare", "--user", "true"]).returncode == 0:
        return ["unshare", "--user"]  # root without its capabilities: permissions apply
    pytest.skip("running as root, and unshare cannot drop root's right to ignore permissions")


def start_holder(script: str, path: Path) -> subprocess.Popen[str]:
    """Another process running `script` (`python -c`, `path` its argument), once it printed
    "holding": it holds what the script opened until a line reaches its stdin."""
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    return holder


# -- the pytest plugin's tests: a user's project run by pytester ------------------------------

#: The projects' pytest.ini: pytest-asyncio's fixture loop scope set, as it asks to be.
PLUGIN_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
#: A project conftest that runs anyio tests on asyncio only.
ANYIO_CONFTEST = """\
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def user_project(
    pytester: pytest.Pytester,
    wrangler: str,
    worker: str,
    *,
    migrations: dict[str, str] | None = None,
    **modules: str,
) -> pytest.Pytester:
    """A user's worker project in `pytester`'s folder: wrangler.toml, worker.py, the Python
    `modules` (conftest, tests...), migrations/ (file name -> SQL) and PLUGIN_INI."""
    pytester.makefile(".toml", wrangler=wrangler)
    pytester.makepyfile(worker=worker, **modules)
    if migrations:
        folder = pytester.mkdir("migrations")
        for name, sql in migrations.items():
            (folder / name).write_text(sql)
    pytester.makeini(PLUGIN_INI)
    return pytester


def user_tests(body: str) -> str:
    """A user's test file: `import pytest` and `body` (dedented)."""
    return "import pytest\n\n" + textwrap.dedent(body)


async def submit(mf: Miniflare, task_type: str = "analysis", **fields: Any) -> str:
    """POST a seed task (user "ada", question "why?" unless given); returns its id."""
    resp = await mf.fetch(
        "/api/tasks",
        method="POST",
        json={"user": "ada", "taskType": task_type, "question": "why?", **fields},
    )
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    assert body["status"] == "pending"
    return str(body["taskId"])


async def task(mf: Miniflare, task_id: str) -> Any:
    """The seed's view of one task (GET /api/tasks/<id>)."""
    resp = await mf.fetch(f"/api/tasks/{task_id}")
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def error_of(awaitable: object) -> str:
    """The message of the `D1Error` that awaiting `awaitable` raises."""
    with pytest.raises(D1Error) as info:
        await awaitable  # type: ignore[misc]
    return str(info.value)
