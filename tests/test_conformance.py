"""The conformance runner's own logic (no network: the SDK's sdist is faked)."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance import runner


def test_binding_is_named_after_the_file() -> None:
    assert runner.binding_of("test_kv.py") == "kv"
    assert runner.binding_of("src/test_do.py") == "do"
    assert runner.binding_of("test_analytics_engine.py") == "analytics_engine"


def test_the_line_is_exact() -> None:
    result = runner.FileResult("queue", passed=11)
    assert result.line() == "conformance queue: passed=11 failed=0 skipped=0"


def test_bindings_used_and_test_count() -> None:
    source = (
        "import pytest\n\n"
        "async def test_a(env):\n    await env.KV.get('x')\n    env.KV.put\n\n"
        "def helper(env):\n    env.OTHER\n\n"
        "class TestMore:\n    def test_b(self, env):\n        env.DB\n    def other(self):\n"
        "        pass\n"
    )
    assert runner.bindings_used(source) == ["KV", "OTHER", "DB"]
    assert runner.count_tests(source) == 2


def test_a_binding_is_emulated_unless_absent_or_a_placeholder() -> None:
    class Placeholder:
        __pyflare_unemulated__ = True

    class Env:
        DB = object()
        KV = Placeholder()

    assert runner.is_emulated(Env(), ["DB"])
    assert not runner.is_emulated(Env(), ["KV"])
    assert not runner.is_emulated(Env(), ["R2"])
    assert not runner.is_emulated(Env(), ["DB", "R2"])


def test_tally_counts_outcomes() -> None:
    outcomes = {"a": "passed", "b": "failed", "c": "skipped", "d": "passed"}
    result = runner.tally(outcomes, "d1")
    assert (result.passed, result.failed, result.skipped) == (2, 1, 1)


def _fake_sdist(path: Path) -> None:
    prefix = f"workers_runtime_sdk-{runner.VERSION}/{runner.SUITE}"
    files = {
        f"{prefix}/wrangler.jsonc": '{"main": "src/worker.py", "compatibility_date": '
        '"%COMPAT_DATE"}',
        f"{prefix}/src/worker.py": "from testlib.entrypoint import TestRunnerEntrypoint\n",
        f"{prefix}/src/test_kv.py": "def test_x(env):\n    env.KV\n",
        f"workers_runtime_sdk-{runner.VERSION}/src/workers/__init__.py": "",
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_prepare_suite_keeps_the_tests_and_supplies_the_main_module(tmp_path: Path) -> None:
    sdist = tmp_path / runner.SDIST
    _fake_sdist(sdist)
    work = runner.prepare_suite(sdist, tmp_path / "work")
    assert (work / "src" / "test_kv.py").read_text() == "def test_x(env):\n    env.KV\n"
    assert runner.COMPAT_DATE in (work / "wrangler.jsonc").read_text()
    worker = (work / "src" / "worker.py").read_text()
    assert "import testlib" not in worker and "from testlib" not in worker
    assert "RECEIVED_MESSAGES" in worker
    assert not (work / "src" / "workers").exists()  # only the test suite is unpacked


def test_a_cached_sdist_with_the_right_hash_is_used(tmp_path: Path, monkeypatch) -> None:
    sdist = tmp_path / runner.SDIST
    _fake_sdist(sdist)
    monkeypatch.setattr(runner, "SHA256", runner._sha256(sdist))
    monkeypatch.setattr(runner.subprocess, "run", _no_pip)
    assert runner.download_sdist(tmp_path) == sdist


def test_a_download_with_the_wrong_hash_is_refused(tmp_path: Path, monkeypatch) -> None:
    def pip(command, **kwargs):  # type: ignore[no-untyped-def]
        (tmp_path / runner.SDIST).write_bytes(b"not the sdist")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(runner.subprocess, "run", pip)
    with pytest.raises(SystemExit, match=r"has SHA-256 .* expected"):
        runner.download_sdist(tmp_path)


def test_a_failed_download_says_so(tmp_path: Path, monkeypatch) -> None:
    def pip(command, **kwargs):  # type: ignore[no-untyped-def]
        return subprocess.CompletedProcess(command, 1, "", "ERROR: no network")

    monkeypatch.setattr(runner.subprocess, "run", pip)
    with pytest.raises(SystemExit, match=r"(?s)could not download.*no network"):
        runner.download_sdist(tmp_path)


def _no_pip(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("pip must not run when the cache is good")
