"""What `pyflare dev` imports to start: only the parts of pyflare the config uses.

Start-up time itself is measured by `make bench` (`python -m bench startup`), never here; these
tests pin the module loading that keeps it low: a binding type costs its config parsing until a
config uses it, a command's module is imported when it runs, and the Local Explorer when it is
first browsed. Each check runs in a fresh interpreter, since this one has imported everything.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from helpers import SEED, write_worker

from miniflare_py.bindings import binding_types
from miniflare_py.cli import main

PACKAGE = Path(__file__).resolve().parent.parent / "miniflare_py"
LAZY_PACKAGES = sorted(
    p.parent.name for p in PACKAGE.glob("*/__init__.py") if "_EXPORTS" in p.read_text()
)

# What a worker that does not use a binding type must not import for it.
UNUSED_BY_THE_SEED = (
    "miniflare_py.kv.namespace",
    "miniflare_py.kv.storage",
    "miniflare_py.r2.bucket",
    "miniflare_py.r2.store",
    "miniflare_py.assets.responder",
    "miniflare_py.assets.manifest",
    "pathspec",
    "miniflare_py.ratelimit.limiter",
    "miniflare_py.analytics_engine.dataset",
    "miniflare_py.ai.openai_backend",  # only for a model server named in .dev.vars
)
BINDING_RUNTIMES = (
    "miniflare_py.d1.engine",
    "miniflare_py.d1.database",
    "miniflare_py.durable_objects.objects",
    "miniflare_py.ai.runner",
    "miniflare_py.ai.local",
    "miniflare_py.ai.env_binding",
)
FRONT_DOORS_NOT_RUN = (
    "miniflare_py.commands.check",
    "miniflare_py.commands.d1",
    "miniflare_py.commands.kv",
    "miniflare_py.commands.queues",
    "miniflare_py.commands.r2",
    "miniflare_py.explorer.api",
)

# Starts the runtime and the app `pyflare dev` serves, as `pyflare dev` does, and prints the
# modules then imported.
DEV_START = """
import asyncio, json, sys
from pathlib import Path

import click
from miniflare_py.cli import main

with click.Context(main) as ctx:
    assert main.get_command(ctx, "dev") is not None


async def start():
    from miniflare_py.runtime import Miniflare
    from miniflare_py.server import create_app

    async with Miniflare(Path(sys.argv[1]), clock="real") as mf:
        create_app(lambda: mf)


asyncio.run(start())
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(script: str, *args: str) -> set[str]:
    """The modules a fresh interpreter holds after running `script`."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_pyflare_dev_on_the_seed_imports_what_the_seed_uses_only() -> None:
    modules = imported_by(DEV_START, str(SEED / "wrangler.toml"))
    assert set(BINDING_RUNTIMES) <= modules  # the seed uses D1, Durable Objects and AI
    assert not modules & {*UNUSED_BY_THE_SEED, *FRONT_DOORS_NOT_RUN}


def test_a_worker_without_bindings_imports_no_binding_runtime(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        """
        from workers import Response, WorkerEntrypoint

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return Response("ok")
        """,
    )
    modules = imported_by(DEV_START, str(config))
    unused = {*UNUSED_BY_THE_SEED, *BINDING_RUNTIMES, *FRONT_DOORS_NOT_RUN}
    assert not modules & {*unused, "miniflare_py.durable_objects.handle"}


def test_reading_a_config_imports_no_binding_runtime() -> None:
    modules = imported_by(
        """
        import json, sys
        from pathlib import Path
        from miniflare_py.config import load_config

        load_config(Path(sys.argv[1]))
        print(json.dumps(sorted(sys.modules)))
        """,
        str(SEED / "wrangler.toml"),
    )
    assert not modules & {*UNUSED_BY_THE_SEED, *BINDING_RUNTIMES, "miniflare_py.queues.broker"}


def test_the_local_explorer_is_imported_by_its_first_request(tmp_path: Path) -> None:
    modules = imported_by(
        """
        import asyncio, json, sys
        from pathlib import Path

        import httpx
        from miniflare_py.runtime import Miniflare
        from miniflare_py.server import create_app


        async def browse():
            async with Miniflare(Path(sys.argv[1]), clock="real") as mf:
                transport = httpx.ASGITransport(app=create_app(lambda: mf))
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://localhost:8787"
                ) as client:
                    before = "miniflare_py.explorer.api" in sys.modules
                    page = await client.get("/cdn-cgi/local/explorer")
                    assert page.status_code == 200, page.status_code
                    assert not before


        asyncio.run(browse())
        print(json.dumps(sorted(sys.modules)))
        """,
        str(SEED / "wrangler.toml"),
    )
    assert "miniflare_py.explorer.api" in modules


# The lazy packages: the same names, found the same way, for the type checker too.


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_a_lazy_package_exports_every_name_it_lists(name: str) -> None:
    package = importlib.import_module(f"miniflare_py.{name}")
    exports = package._EXPORTS
    assert sorted(package.__all__) == sorted(exports)
    for public, where in exports.items():
        value = getattr(package, public)
        assert value is getattr(importlib.import_module(where, package.__name__), public)
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        package.Nope  # noqa: B018


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_a_lazy_package_shows_the_type_checker_the_same_names(name: str) -> None:
    """The `if TYPE_CHECKING:` imports of the package name each export from its module."""
    source = (PACKAGE / name / "__init__.py").read_text()
    tree = ast.parse(source)
    exports = importlib.import_module(f"miniflare_py.{name}")._EXPORTS
    typed: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.level == 1
                typed.update({a.name: f".{stmt.module}" for a in stmt.names})
    assert typed == exports


# The lazy command group


def test_every_command_is_found_by_its_name() -> None:
    with click.Context(main) as ctx:
        names = main.list_commands(ctx)
        expected = {"dev", "check"} | {
            t.cli_command.rpartition(":")[2] for t in binding_types() if t.cli_command
        }
        assert set(names) == expected
        for name in names:
            command = main.get_command(ctx, name)
            assert command is not None and command.name == name
        assert main.get_command(ctx, "nope") is None


def test_help_lists_every_command_with_its_short_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "miniflare_py", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    commands = done.stdout.partition("Commands:")[2]
    for line in (
        "check   Boot the worker once",
        "d1      Work with the local D1 databases",
        "dev     Serve the worker locally",
        "kv      Workers KV namespaces",
        "queues  Inspect local queues.",
        "r2      R2 buckets in local state.",
    ):
        assert line in commands
