"""`pyflare check`: the CI smoke run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .options import color_option, config_option, env_option, parse_vars, stdout_console

if TYPE_CHECKING:
    from ..check import CheckReport, FetchSpec

_EPILOG = """\b
Exit codes:
  0  every check passed
  1  pyflare itself failed (please report it)
  2  bad command line
  3  config error (invalid wrangler config, or a D1 migration failed)
  4  worker error (import failed, or consumers but no queue handler)
  5  request error (a 5xx, a handler or waitUntil task raised, a scheduled handler raised)
  6  queue error (a message was dead-lettered or dropped, or the queues did not drain)
When several fail, the lowest code wins.

\b
Example:
  pyflare check --fetch "GET /api/health" \\
                --fetch 'POST /api/tasks {"user": "ci", "taskType": "analysis"}' --drain
"""


# click 8.2+ types ParamType as generic (value, input); 8.1 cannot subscript it at run time.
if TYPE_CHECKING:
    _FetchParamBase = click.ParamType[FetchSpec, object]
else:
    _FetchParamBase = click.ParamType


class _FetchParam(_FetchParamBase):
    name = "REQUEST"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> FetchSpec:
        from ..check import FetchSpec

        if isinstance(value, FetchSpec):  # click converts defaults too
            return value
        if not isinstance(value, str):
            self.fail(f"{value!r} is not a request", param, ctx)
        try:
            return FetchSpec.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command(epilog=_EPILOG)
@config_option
@env_option
@click.option(
    "--fetch",
    "fetches",
    multiple=True,
    type=_FetchParam(),
    metavar='"METHOD PATH [JSON]"',
    help="Make this request (repeatable); a JSON body is optional.",
)
@click.option(
    "--scheduled",
    "crons",
    multiple=True,
    metavar="CRON",
    help='Run the scheduled handler once with this cron, e.g. "*/5 * * * *" (repeatable).',
)
@click.option("--drain", is_flag=True, help="Deliver queued messages until the queues are idle.")
@click.option("--var", "vars_", multiple=True, metavar="KEY:VALUE", help="Override a [vars] entry.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@color_option
def check(
    config: Path | None,
    env: str | None,
    fetches: tuple[FetchSpec, ...],
    crons: tuple[str, ...],
    drain: bool,
    vars_: tuple[str, ...],
    as_json: bool,
) -> None:
    """Boot the worker once, make requests, drain the queues and fail on any error.

    Runs on a virtual clock with D1 and queues in memory (migrations applied), so a retry
    schedule of minutes takes milliseconds and nothing on disk changes. Fails on a config or
    import error, a 5xx or a raised handler, and a message dead-lettered or dropped.
    """
    from ..check import CheckOptions, run_check

    options = CheckOptions(
        config=config,
        env=env,
        vars=parse_vars(vars_),
        fetches=fetches,
        scheduled=crons,
        drain=drain,
    )
    report = asyncio.run(run_check(options))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        _print(report)
    raise SystemExit(report.exit_code)


def _print(report: CheckReport) -> None:
    """The report for a person: literal text, nothing wrapped or cut off a terminal."""
    from rich.text import Text

    from ..console import Column, print_table
    from ..queues.metrics import TABLE_FIELDS

    console = stdout_console()

    def line(*parts: str | tuple[str, str]) -> None:
        console.print(Text.assemble(*parts))

    if report.config:
        line(("pyflare check", "bold"), " ", report.config)
    for warning in report.warnings:
        line(("warning", "yellow"), " ", warning)
    for binding, files in report.migrations.items():
        applied = ", ".join(files) if files else "none"
        line(f"D1 {binding}: migrations applied: {applied}")

    if report.requests or report.scheduled:
        rows: list[list[str | Text]] = []
        for r in report.requests:
            if r.error is not None:
                status = Text.assemble(("raised", "red"), " ", r.error)
            elif r.failed:
                status = Text(str(r.status), style="red")
            elif r.status is not None and r.status >= 400:
                status = Text(str(r.status), style="yellow")
            else:
                status = Text(str(r.status), style="green")
            rows.append([f"{r.method} {r.path}", status, f"{r.ms:.1f}"])
        for event in report.scheduled:
            outcome = (
                Text("ok", style="green")
                if event.outcome == "ok"
                else Text(event.error or "", style="red")
            )
            rows.append([f'scheduled "{event.cron}"', outcome, f"{event.ms:.1f}"])
        columns = [Column("request"), Column("status", "right"), Column("ms", "right")]
        print_table(console, columns, rows, title="requests")

    if report.queues:
        title = "queues" + (
            f" (drained, +{report.virtual_seconds:g}s virtual)" if report.drained else ""
        )
        queue_rows: list[list[str | Text]] = []
        for name, stats in report.queues.items():
            cells: list[str | Text] = [name]
            for field in TABLE_FIELDS:
                value = stats.get(field, 0)
                bad = field in ("dead_lettered", "dropped") and value
                cells.append(Text(str(value), style="red" if bad else ""))
            queue_rows.append(cells)
        columns = [Column("queue"), *(Column(f, "right") for f in TABLE_FIELDS)]
        print_table(console, columns, queue_rows, title=title)

    if report.failures:
        if report.output:
            line(("worker output:", "dim"))
            for text in report.output[-20:]:
                line(("  " + text, "dim"))
        interesting = [text for text in report.logs if not text.startswith("debug")]
        if interesting:
            line(("emulator log (last lines):", "dim"))
            for text in interesting[-20:]:
                line(("  " + text, "dim"))
        for problem in report.failures:
            line((f"✗ {problem.kind}", "red"), " ", problem.message)
            if problem.details:
                line((problem.details.rstrip(), "dim"))
        line(("check failed", "bold red"), f" (exit {report.exit_code})")
    else:
        summary = f"{len(report.requests)} request(s)"
        if report.drained:
            summary += ", queues drained"
        line(("✓ check passed", "bold green"), f" ({summary})")
