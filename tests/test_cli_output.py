"""The output rules every command follows: data printed literally, nothing wrapped or cut off a
terminal, colours by NO_COLOR / --color, one line for a mistake, a report request for a bug."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest
from helpers import D1_CONFIG, pyflare

import miniflare_py.console

pytestmark = pytest.mark.usefixtures("restore_engine_logger")

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ID = "d8c6a2503f22bdbea0e41c2b0f1a1d55"
TRICKY = f"SELECT '[en] hello' AS result, '[/red]' AS closing, ':smile:' AS emoji, '{ID}' AS id"


@pytest.fixture
def project(make_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return make_project(D1_CONFIG)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the commands believe stdout and stderr are a terminal 40 columns wide."""
    monkeypatch.setattr(miniflare_py.console, "is_terminal", lambda stream: True)
    monkeypatch.setenv("COLUMNS", "40")


def column(output: str, index: int) -> str:
    """The text of one column of a rich table, its folded pieces joined."""
    pieces = [line.split("│")[index + 1].strip() for line in output.splitlines() if "│" in line]
    return "".join(pieces)


# 1. data is printed exactly as stored


def test_stored_markup_and_emoji_codes_print_literally_on_a_terminal(
    project: Path, terminal: None
) -> None:
    result = pyflare("d1", "execute", "DB", "--command", TRICKY, "--color", "never")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert column(result.stdout, 0) == "[en]hello"  # folded at 40 columns, never cut
    assert column(result.stdout, 1) == "[/red]"
    assert column(result.stdout, 2) == ":smile:"
    assert column(result.stdout, 3) == ID
    assert "…" not in result.stdout


def test_stored_markup_prints_literally_off_a_terminal(project: Path) -> None:
    result = pyflare("d1", "execute", "DB", "--command", TRICKY)
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)[0]["results"]
    assert row == {"result": "[en] hello", "closing": "[/red]", "emoji": ":smile:", "id": ID}


# 2. piped: JSON, as wrangler prints it off a terminal, whole


def test_piped_results_are_wrangler_json_and_grep_finds_the_id(project: Path) -> None:
    result = pyflare("d1", "execute", "DB", "--command", f"SELECT '{ID}' AS id, NULL AS n")
    assert result.exit_code == 0, result.output
    assert ID in result.stdout
    output = json.loads(result.stdout)  # stdout holds only the data
    assert output[0]["results"] == [{"id": ID, "n": None}]
    assert output[0]["success"] is True
    # what the command says about its work goes to stderr
    assert "Executing on local database DB (00000000-1111-2222-3333-444444444444)" in result.stderr
    assert ".sqlite" in result.stderr
    assert "1 command executed successfully." in result.stderr


def test_json_flag_keeps_stderr_quiet(project: Path) -> None:
    result = pyflare("d1", "execute", "DB", "--command", "SELECT 1 AS one", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert json.loads(result.stdout)[0]["results"] == [{"one": 1}]


def test_a_terminal_shows_the_query_above_its_table(project: Path, terminal: None) -> None:
    result = pyflare(
        "d1", "execute", "DB", "--command", "SELECT 1 AS a; SELECT 2 AS b", "--color", "never"
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "SELECT 1 AS a;"
    assert "SELECT 2 AS b" in result.stdout
    assert result.stdout.count("┏") == 2


# 3. off a terminal nothing is wrapped or cut


def test_check_never_wraps_a_long_error_off_a_terminal(tmp_path: Path) -> None:
    message = "the storage backend refused the request because " + "x" * 200 + " ends here"
    (tmp_path / "wrangler.toml").write_text('name = "w"\nmain = "worker.py"\n')
    (tmp_path / "worker.py").write_text(
        f"async def on_fetch(request, env):\n    raise RuntimeError({message!r})\n"
    )
    result = pyflare("check", "-c", str(tmp_path / "wrangler.toml"), "--fetch", "GET /")
    assert result.exit_code == 5
    failure = [line for line in result.stdout.splitlines() if line.startswith("✗ request")]
    assert failure == [f"✗ request GET /: RuntimeError: {message}"]
    assert f"RuntimeError: {message}" in result.stdout.splitlines()  # the traceback's last line


def test_queues_status_off_a_terminal_is_full_width_plain_text(
    project: Path, tmp_path: Path
) -> None:
    import asyncio

    from miniflare_py import Miniflare

    name = "q-" + "long" * 50
    (tmp_path / "wrangler.toml").write_text(
        D1_CONFIG + f'\n[[queues.producers]]\nbinding = "Q"\nqueue = "{name}"\n'
    )

    async def send() -> None:
        async with Miniflare(tmp_path / "wrangler.toml", persist_to=tmp_path / "state") as mf:
            await mf.env.Q.send("hello")

    asyncio.run(send())
    result = pyflare("queues", "status", "--persist-to", str(tmp_path / "state"))
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert rows[1].split() == [
        "queue", "pending", "delayed", "in_flight", "acked", "retried", "dead_lettered",
        "dropped", "dlq",
    ]  # fmt: skip
    assert rows[2].split() == [name, "1", "0", "0", "0", "0", "0", "0", "-"]
    assert not ANSI.search(result.stdout)


# colours


def test_color_follows_the_option_and_no_color(project: Path, terminal: None) -> None:
    command = ("d1", "execute", "DB", "--command", "SELECT 1 AS a")
    assert ANSI.search(pyflare(*command).stdout)  # a terminal: coloured
    assert not ANSI.search(pyflare(*command, env={"NO_COLOR": "1"}).stdout)
    assert not ANSI.search(pyflare(*command, "--color", "never").stdout)
    assert not ANSI.search(pyflare("--color", "never", *command).stdout)
    assert ANSI.search(pyflare(*command, "--color", "always", env={"NO_COLOR": "1"}).stdout)


def test_color_always_off_a_terminal_colours_without_wrapping(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text('name = "w"\nmain = "worker.py"\n')
    (tmp_path / "worker.py").write_text(
        "from workers import Response\n\nasync def on_fetch(request, env):\n"
        "    return Response('ok')\n"
    )
    path = "/" + "segment/" * 40
    config = str(tmp_path / "wrangler.toml")
    result = pyflare("check", "-c", config, "--fetch", f"GET {path}", "--color", "always")
    assert result.exit_code == 0, result.output
    assert ANSI.search(result.stdout)
    plain = ANSI.sub("", result.stdout)
    [row] = [line for line in plain.splitlines() if path in line]
    assert row.split()[:3] == ["GET", path, "200"]


# 4. wrangler's flags and verbs, as pasted


def test_wrangler_flags_are_accepted(project: Path) -> None:
    for args in (
        ("d1", "execute", "DB", "--local", "--yes", "--command", "SELECT 1"),
        ("d1", "execute", "DB", "--local", "-y", "--command", "SELECT 1", "--json"),
        ("d1", "migrations", "list", "DB", "--local"),
        ("d1", "export", "DB", "--local", "-y", "--output", "out.sql"),
        ("d1", "list", "--local"),
    ):
        result = pyflare(*args)
        assert "No such option" not in result.output, args
        assert result.exit_code in (0, 1), (args, result.output)  # 1: no migrations folder


def test_dev_accepts_test_scheduled_and_local(project: Path) -> None:
    (project / "wrangler.toml").write_text("name = 1\n")  # stops right after the options
    result = pyflare("dev", "--test-scheduled", "--local")
    assert "No such option" not in result.output
    assert result.exit_code == 1 and "name" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("d1", "execute", "DB", "--remote", "--command", "SELECT 1"),
        ("d1", "migrations", "apply", "DB", "--remote"),
        ("d1", "execute", "DB", "--preview", "--command", "SELECT 1"),
        ("dev", "--remote"),
    ],
)
def test_remote_is_refused_in_one_line(project: Path, args: tuple[str, ...]) -> None:
    result = pyflare(*args)
    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith("Error: pyflare only runs locally, so it cannot use --")
    assert "Traceback" not in result.output


def test_d1_list_and_info(project: Path) -> None:
    assert pyflare("d1", "execute", "DB", "--command", "CREATE TABLE t (a)").exit_code == 0
    [db] = json.loads(pyflare("d1", "list").stdout)
    assert (db["uuid"], db["name"], db["binding"], db["num_tables"]) == (
        "00000000-1111-2222-3333-444444444444",
        "app-db",
        "DB",
        1,
    )
    assert db["file_size"] > 0 and Path(db["file"]).is_file()
    info = json.loads(pyflare("d1", "info", "app-db", "--json").stdout)
    assert info["database_size"] == db["file_size"]
    assert {k: info[k] for k in ("uuid", "name", "num_tables")} == {
        "uuid": db["uuid"],
        "name": "app-db",
        "num_tables": 1,
    }


def test_d1_list_and_info_on_a_terminal(
    project: Path, terminal: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    table = pyflare("d1", "info", "DB", "--color", "never").stdout
    assert "┃ DB            ┃ 00000000-1111-2222-3333-444444444444" in table
    assert "database_size" in table and "0 B" in table
    assert not (project / ".wrangler").exists()  # looking does not create the database
    listing = pyflare("d1", "list", "--color", "never").stdout
    assert "app-db" in listing and "┏" in listing


def test_queues_list(project: Path) -> None:
    (project / "wrangler.toml").write_text(
        D1_CONFIG + '\n[[queues.producers]]\nbinding = "Q"\nqueue = "jobs"\n\n'
        '[[queues.consumers]]\nqueue = "jobs"\ndead_letter_queue = "jobs-dlq"\n'
    )
    rows = json.loads(pyflare("queues", "list", "--json").stdout)
    assert rows == [
        {"name": "jobs", "producers": 1, "consumers": 1, "dlq": "jobs-dlq"},
        {"name": "jobs-dlq", "producers": 0, "consumers": 0, "dlq": None},
    ]
    plain = pyflare("queues", "list").stdout.splitlines()
    assert plain[0].split() == ["name", "producers", "consumers", "dlq"]
    assert plain[1].split() == ["jobs", "1", "1", "jobs-dlq"]


# 5. --json errors as wrangler prints them


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("--command", "SELEC 1"), 'near "SELEC": syntax error at offset 0: SQLITE_ERROR'),
        (
            ("--file", "missing.sql"),
            'Unable to read SQL text file "missing.sql". Please check the file path and try again.',
        ),
        (("--command", "SELECT 1", "--file", "x.sql"), "Give exactly one of --command or --file."),
        (("--command", "SELECT 1", "--remote"), "pyflare only runs locally, so it cannot use"),
    ],
)
def test_json_errors_are_json(project: Path, args: tuple[str, ...], text: str) -> None:
    result = pyflare("d1", "execute", "DB", "--json", *args)
    assert result.exit_code in (1, 2)
    error = json.loads(result.stdout)
    assert list(error) == ["error"] and list(error["error"]) == ["text"]
    assert error["error"]["text"].startswith(text)


def test_json_error_for_an_unknown_database_lists_the_known_ones(project: Path) -> None:
    result = pyflare("d1", "execute", "NOPE", "--command", "SELECT 1", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "error": {
            "text": "Couldn't find a D1 DB with the name or binding 'NOPE' in your wrangler.toml "
            "file. Its D1 databases: DB (app-db)."
        }
    }


# mistakes are one line; bugs ask for a report


def test_a_usage_error_is_one_line(project: Path) -> None:
    result = pyflare("d1", "execute", "DB", "--comand", "SELECT 1")
    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith("Error: No such option '--comand'")
    assert "(see 'pyflare d1 execute -h')" in line


def test_a_pyflare_bug_prints_its_traceback_and_asks_for_a_report(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import miniflare_py.d1.script

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("internal state")

    monkeypatch.setattr(miniflare_py.d1.script, "run_script", broken)
    result = pyflare("d1", "execute", "DB", "--command", "SELECT 1")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "KeyError: 'internal state'" in result.stderr
    assert "this is a bug in pyflare" in result.stderr
    assert "https://github.com/OWNER/pyflare/issues" in result.stderr


def test_the_issue_address_is_written_once_in_pyproject() -> None:
    root = Path(__file__).resolve().parent.parent
    pyproject = (root / "pyproject.toml").read_text()
    [url] = re.findall(r'^Issues = "(.+)"$', pyproject, re.MULTILINE)
    assert miniflare_py.console.issues_url() == url
    for path in [*root.glob("miniflare_py/**/*.py"), root / "README.md"]:
        assert url not in path.read_text(), path


def test_version_names_the_distribution_miniflare_py() -> None:
    result = pyflare("--version")
    assert result.exit_code == 0
    assert result.output == f"pyflare, version {version('miniflare-py')}\n"


def test_help_shows_the_color_option() -> None:
    for args in (("--help",), ("d1", "execute", "--help"), ("check", "--help")):
        text = textwrap.dedent(pyflare(*args).output)
        assert "--color" in text, args


def run_on_a_terminal(args: list[str], cwd: Path, columns: int) -> str:
    """Run `pyflare` on a pseudo-terminal `columns` wide; what it wrote there."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "FORCE_COLOR")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "miniflare_py", *args],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color"},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(30)
    os.close(master)
    return ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")


@pytest.mark.slow
def test_a_narrow_real_terminal_folds_cells_and_never_cuts_them(project: Path) -> None:
    output = run_on_a_terminal(["d1", "execute", "DB", "--command", TRICKY], project, 40)
    table = output[output.index("┏") :]
    assert max(len(line) for line in table.splitlines()) <= 40
    assert "…" not in table
    assert column(table, 0) == "[en]hello"
    assert column(table, 3) == ID
    assert "Executing on local database DB" in output  # stderr shares the terminal
