"""The README's command examples work as written, in a fresh clone.

Every ```sh block of the README is a runnable example: the fast test parses each `pyflare`
command in them (an option that does not exist fails it at once); the slow one runs every block,
as a reader would, in a copy of the repository's files (what a clone holds), with `.venv/bin` on
the PATH as the README says to set it up. `make` lines are not run: this suite runs inside the
venv that `make test` created, and `make dev` serves until stopped (the dev server has its own
end-to-end tests). The benchmark commands are not run either: a full run takes a minute and
`make bench` is how they are run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from miniflare_py.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_RUN = ("make ", ".venv/bin/python -m bench")


def sh_blocks() -> list[str]:
    return FENCE.findall(README.read_text(encoding="utf-8"))


def commands(block: str) -> list[list[str]]:
    """The commands of a block: continuation lines joined, comments dropped, split as sh does."""
    text = block.replace("\\\n", " ")
    return [words for line in text.splitlines() if (words := shlex.split(line, comments=True))]


def test_the_readme_has_runnable_command_blocks() -> None:
    blocks = sh_blocks()
    assert len(blocks) >= 4
    programs = {words[0] for block in blocks for words in commands(block)}
    assert programs <= {"make", "cd", "pyflare", ".venv/bin/python"}, programs
    for block in blocks:
        assert "<" not in block and "..." not in block, block  # no placeholders to fill in


@pytest.mark.parametrize(
    "words",
    [words for block in sh_blocks() for words in commands(block) if words[0] == "pyflare"],
    ids=lambda words: " ".join(words)[:60],
)
def test_every_readme_command_parses(words: list[str]) -> None:
    result = CliRunner().invoke(main, [*words[1:], "--help"], prog_name="pyflare")
    assert result.exit_code == 0, result.output


def fresh_clone(destination: Path) -> Path:
    """The files a clone of this repository holds (tracked and new, not ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_every_readme_block_runs_as_written_in_a_fresh_clone(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "clone")
    venv_bin = Path(sys.executable).parent  # the .venv that `make dev` / `make test` made
    assert (venv_bin / "pyflare").is_file()
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
        "NO_COLOR": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    for block in sh_blocks():
        script = "\n".join(
            ": not run" if line.lstrip().startswith(NOT_RUN) else line
            for line in block.splitlines()
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{block}\n--- stdout\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
