"""Run the binding tests of Cloudflare's Python Workers SDK unchanged against pyflare.

1. Download the SDK's sdist from PyPI with pip (`workers-runtime-sdk==1.9.5`, checked against
   its SHA-256) into `.cache/conformance/` and unpack `tests/bindings-test` there.
2. Prepare it to run outside workerd: fill in the config's `%COMPAT_DATE`, and put this
   package's `worker.py` in place of the SDK's (which needs the SDK's private test library);
   the test files are not touched.
3. Start pyflare once on that config and look at its `env`: a test file's binding (the
   `env.NAME` it uses) is emulated unless it is absent or marked `__pyflare_unemulated__`.
4. Run the emulated files with pytest (through pyflare's pytest plugin, every test with its own
   runtime on the real clock), count the others as skipped, and print one line a file:
   `conformance <binding>: passed=N failed=M skipped=K` (`test_kv.py` -> `kv`).

A new binding that pyflare emulates is picked up with no change here.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SDK = "workers-runtime-sdk"
VERSION = "1.9.5"
SDIST = f"workers_runtime_sdk-{VERSION}.tar.gz"
SHA256 = "605c87a36a38557bf4ccf657de22fe4ee85fb96b1b04c1aacaa476b461ef71bc"
SUITE = "tests/bindings-test"
COMPAT_DATE = "2026-07-29"

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "conformance"
RESULTS_ENV = "PYFLARE_CONFORMANCE_RESULTS"

_BINDING_USE = re.compile(r"\benv\.([A-Z][A-Z0-9_]*)\b")


@dataclass
class FileResult:
    """The outcome of one test file."""

    binding: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def line(self) -> str:
        return (
            f"conformance {self.binding}: passed={self.passed} failed={self.failed} "
            f"skipped={self.skipped}"
        )


def binding_of(test_file: str) -> str:
    """The binding a test file is named after: `test_kv.py` -> `kv`."""
    stem = Path(test_file).stem
    return stem[len("test_") :] if stem.startswith("test_") else stem


def bindings_used(source: str) -> list[str]:
    """The `env.NAME` bindings a test file uses, in order of first use."""
    return list(dict.fromkeys(_BINDING_USE.findall(source)))


def count_tests(source: str) -> int:
    """The test functions of a file (module level and in `Test*` classes)."""
    tree = ast.parse(source)
    count = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            count += 1
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            count += sum(
                1
                for member in node.body
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                and member.name.startswith("test")
            )
    return count


def is_emulated(env: object, names: Iterable[str]) -> bool:
    """Whether every binding in `names` is in `env` and emulated (not a placeholder)."""
    for name in names:
        value = getattr(env, name, None)
        if value is None or getattr(value, "__pyflare_unemulated__", False) is True:
            return False
    return True


def tally(outcomes: dict[str, str], binding: str) -> FileResult:
    """Counts of one file's recorded outcomes ("passed", "failed", "skipped" by test id)."""
    result = FileResult(binding)
    for outcome in outcomes.values():
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


# -- getting the suite --------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download_sdist(cache: Path = CACHE) -> Path:
    """The SDK's sdist in `cache`, downloaded with pip if it is not there (checked by hash)."""
    cache.mkdir(parents=True, exist_ok=True)
    sdist = cache / SDIST
    if not sdist.exists() or _sha256(sdist) != SHA256:
        sdist.unlink(missing_ok=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"{SDK}=={VERSION}",
                "-d",
                str(cache),
            ],
            capture_output=True,
            text=True,
        )
        if not sdist.exists():
            raise SystemExit(
                f"conformance: pip could not download {SDK}=={VERSION}:\n{done.stderr}"
            )
    digest = _sha256(sdist)
    if digest != SHA256:
        raise SystemExit(f"conformance: {sdist} has SHA-256 {digest}, expected {SHA256}")
    return sdist


def prepare_suite(sdist: Path, work: Path) -> Path:
    """Unpack the binding tests into `work` (fresh) and make them runnable here."""
    if work.exists():
        shutil.rmtree(work)
    prefix = f"workers_runtime_sdk-{VERSION}/{SUITE}/"
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        with tempfile.TemporaryDirectory() as tmp:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(tmp, members=members, filter="data")
            else:  # pragma: no cover - Python builds before the extraction filters
                archive.extractall(tmp, members=members)
            shutil.copytree(Path(tmp) / prefix, work)
    config = work / "wrangler.jsonc"
    config.write_text(config.read_text().replace("%COMPAT_DATE", COMPAT_DATE))
    shutil.copyfile(Path(__file__).with_name("worker.py"), work / "src" / "worker.py")
    return work


# -- deciding and running -----------------------------------------------------------------------


async def _env_bindings(config: Path, names: set[str]) -> dict[str, bool]:
    sys.path.insert(0, str(REPO))
    from miniflare_py import Miniflare

    # The start-up warnings ("binding KV is not emulated...") would repeat what the skipped
    # lines say; pytest's log has them.
    quiet = logging.NullHandler()
    logging.getLogger("miniflare_py").addHandler(quiet)
    try:
        async with Miniflare(config, clock="virtual", crons=False) as mf:
            return {name: is_emulated(mf.env, [name]) for name in names}
    finally:
        logging.getLogger("miniflare_py").removeHandler(quiet)


def plan(work: Path) -> tuple[list[Path], dict[str, FileResult]]:
    """The test files to run, and results for the files whose binding is not emulated."""
    files = sorted((work / "src").glob("test_*.py"))
    uses = {f: bindings_used(f.read_text()) for f in files}
    emulated = asyncio.run(
        _env_bindings(work / "wrangler.jsonc", {n for names in uses.values() for n in names})
    )
    run, skipped = [], {}
    for file in files:
        if uses[file] and all(emulated[n] for n in uses[file]):
            run.append(file)
        else:
            count = count_tests(file.read_text())
            skipped[file.name] = FileResult(binding_of(file.name), skipped=count)
    return run, skipped


def run_pytest(work: Path, files: Sequence[Path], log: Path) -> dict[str, dict[str, str]]:
    """Run `files` with pytest in a subprocess; the outcomes by file and test id."""
    if not files:
        return {}
    results = work / "results.json"
    env = {
        **os.environ,
        RESULTS_ENV: str(results),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "conformance.plugin",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(work),
        "-c",
        os.devnull,
        "-o",
        f"pyflare_config={work / 'wrangler.jsonc'}",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-rfE",
        *[str(f) for f in files],
    ]
    with log.open("w") as out:
        subprocess.run(command, cwd=work / "src", env=env, stdout=out, stderr=subprocess.STDOUT)
    if not results.exists():
        raise SystemExit(f"conformance: pytest did not run; see {log}")
    return json.loads(results.read_text())


def main(argv: Sequence[str] | None = None) -> int:
    sdist = download_sdist()
    work = prepare_suite(sdist, CACHE / "bindings-test")
    run, results = plan(work)
    log = CACHE / "pytest.log"
    outcomes = run_pytest(work, run, log)
    for file in run:
        results[file.name] = tally(outcomes.get(file.name, {}), binding_of(file.name))
        if not outcomes.get(file.name):
            results[file.name].failed = max(1, count_tests(file.read_text()))
    for name in sorted(results):
        print(results[name].line())
    failed = sum(r.failed for r in results.values())
    if failed:
        print(f"conformance: {failed} failed; pytest's output is in {log}", file=sys.stderr)
        return 1
    return 0
