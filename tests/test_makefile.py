"""The Makefile: `make dev` and `make test` started together in a fresh clone take turns on
creating `.venv` instead of racing (two `python -m venv`, two pip runs into one folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

# Stands in for python3: records each venv creation and pip run, slowly enough that two makes
# started together overlap; anything else (tools/with_lock.py) goes to the real interpreter.
FAKE_PYTHON = textwrap.dedent(
    f"""\
    #!/bin/sh
    if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
        mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
        echo venv >> "$FAKE_LOG"; sleep 0.5; exit 0
    fi
    if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
        echo "pip $3" >> "$FAKE_LOG"; sleep 0.3; exit 0
    fi
    exec {sys.executable} "$@"
    """
)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_two_makes_in_a_fresh_clone_create_and_install_the_venv_once(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "with_lock.py", tmp_path / "tools" / "with_lock.py")
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "log"
    env = {**os.environ, "FAKE_LOG": str(log)}
    makes = [
        subprocess.Popen(
            ["make", "--no-print-directory", ".venv/.installed", f"PYTHON={fake}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [make.communicate(timeout=60)[0] for make in makes]
    assert [make.returncode for make in makes] == [0, 0], outputs
    steps = log.read_text().splitlines()
    assert steps.count("venv") == 1, steps
    assert steps.count("pip install") == 2, steps  # the pip upgrade and the install, once each
    assert (tmp_path / ".venv" / ".installed").is_file()

    # and once installed, a later make does nothing
    again = subprocess.run(
        ["make", "--no-print-directory", ".venv/.installed", f"PYTHON={fake}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0
    assert log.read_text().splitlines() == steps


def test_the_lock_tool_serialises_commands(tmp_path: Path) -> None:
    script = f"""
import subprocess, sys
lock = {str(tmp_path / "lock")!r}
check_then_act = (
    "if [ ! -e {tmp_path}/done ]; then sleep 0.3; echo ran >> {tmp_path}/log; "
    "touch {tmp_path}/done; fi"
)
procs = [
    subprocess.Popen([sys.executable, {str(ROOT / "tools" / "with_lock.py")!r}, lock,
                      "sh", "-c", check_then_act])
    for _ in range(3)
]
sys.exit(max(p.wait() for p in procs))
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    assert (tmp_path / "log").read_text().splitlines() == ["ran"]
