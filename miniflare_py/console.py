"""How pyflare's commands write: the output rules every front door follows.

- Data is printed literally: consoles never read markup or emoji codes in text, so a stored
  `[en] hello` or `:smile:` prints as it is.
- Off a terminal nothing is wrapped or cut: text is written in whole lines and tables become
  plain, full-width, aligned columns (a command that has data to hand over prints JSON instead,
  as wrangler does).
- Colours follow `--color auto|always|never`; `auto` (the default) is off when `NO_COLOR` is set,
  on when `FORCE_COLOR` is set, and otherwise on for a terminal only.
- A long operation shows a progress bar on a terminal (on stderr) and nothing off one.
- A pyflare bug prints its traceback and asks for a report at the address in the package
  metadata (`[project.urls] Issues` in pyproject.toml: the one place it is written).

Only front doors import this module; the engine never does.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

__all__ = [
    "COLOR_MODES",
    "Column",
    "color_enabled",
    "is_terminal",
    "issues_url",
    "make_console",
    "print_table",
    "progress",
    "report_bug",
]

ColorMode = Literal["auto", "always", "never"]
COLOR_MODES: tuple[ColorMode, ...] = ("auto", "always", "never")

DISTRIBUTION = "miniflare-py"

# Rows of at least this many statements (or similar steps) get a progress bar on a terminal.
PROGRESS_THRESHOLD = 2000


def is_terminal(stream: IO[str] | None) -> bool:
    """Whether `stream` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed stream
        return False


def color_enabled(mode: str, stream: IO[str] | None) -> bool:
    """Whether output to `stream` is coloured under `--color mode` and the environment."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return is_terminal(stream)


def make_console(stream: IO[str] | None = None, color: str = "auto") -> Console:
    """A rich console on `stream` (default stdout) that prints text literally.

    On a terminal rich fits its output to the window; off one, lines are never wrapped or cut.
    """
    from rich.console import Console

    stream = stream if stream is not None else sys.stdout
    terminal = is_terminal(stream)
    colored = color_enabled(color, stream)
    return Console(
        file=stream,
        force_terminal=colored or terminal,
        color_system="auto" if colored else None,
        no_color=not colored,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=True,  # the terminal wraps long lines; copying one gives it back whole
        width=None if terminal else 10_000,
    )


@dataclass(frozen=True)
class Column:
    """A table column: its heading and how its cells line up."""

    name: str
    justify: Literal["left", "right"] = "left"


def print_table(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str | Text]],
    title: str | None = None,
) -> None:
    """A table: rich's boxes on a terminal (cells fold, never cut), aligned plain text off one."""
    from rich.text import Text

    cells = [[c if isinstance(c, Text) else Text(str(c)) for c in row] for row in rows]
    if is_terminal(console.file):
        from rich.table import Table

        table = Table(title=title, title_justify="left", header_style="bold")
        for column in columns:
            table.add_column(column.name, justify=column.justify, overflow="fold")
        for row in cells:
            table.add_row(*row)
        console.print(table, soft_wrap=False)
        return
    if title:
        console.print(Text(title))
    widths = [len(c.name) for c in columns]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], cell.cell_len)
    header = [Text(c.name, style="bold") for c in columns]
    for row in [header, *cells]:
        line = Text()
        for i, (column, cell) in enumerate(zip(columns, row, strict=True)):
            pad = " " * (widths[i] - cell.cell_len)
            if i:
                line.append("  ")
            if column.justify == "right":
                line.append(pad)
                line.append_text(cell)
            else:
                line.append_text(cell)
                if i < len(columns) - 1:
                    line.append(pad)
        console.print(line)


@contextmanager
def progress(total: int, description: str, color: str = "auto") -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr while the block runs, when stderr is a terminal and `total`
    is large enough to take a while; yields `update(done)`, which is free when nothing shows."""
    if total < PROGRESS_THRESHOLD or not is_terminal(sys.stderr):
        yield _ignore
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=make_console(sys.stderr, color),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.update(task, completed=done)


def _ignore(_done: int) -> None:
    pass


def issues_url() -> str:
    """Where to report a pyflare bug: the `Issues` URL of the installed package's metadata."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls: list[str] = metadata(DISTRIBUTION).get_all("Project-URL") or []
    except PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "issues":
            return url.strip()
    return "the pyflare issue tracker"


def report_bug(exc: BaseException, stream: IO[str] | None = None) -> None:
    """Print the traceback of a pyflare bug and ask for a report."""
    stream = stream if stream is not None else sys.stderr
    stream.write("".join(traceback.format_exception(exc)))
    stream.write(
        f"\npyflare failed unexpectedly: this is a bug in pyflare, not in your worker or config.\n"
        f"Please report it at {issues_url()} with the command you ran and the traceback above.\n"
    )
    stream.flush()
