"""`pyflare check`: the CI smoke run."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .options import config_option, env_option, parse_vars

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


class _FetchParam(click.ParamType):
    name = "REQUEST"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> FetchSpec:
        from ..check import FetchSpec

        if not isinstance(value, str):
            return value  # type: ignore[return-value]
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
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    # Off a terminal (a CI log) there is no screen width to respect: keep table rows whole.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    if report.config:
        console.print(f"[bold]pyflare check[/] {escape(report.config)}")
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {escape(warning)}")
    for binding, files in report.migrations.items():
        applied = ", ".join(files) if files else "none"
        console.print(f"D1 {escape(binding)}: migrations applied: {escape(applied)}")

    if report.requests or report.scheduled:
        table = Table(title="requests", title_justify="left", show_edge=False)
        table.add_column("request")
        table.add_column("status", justify="right")
        table.add_column("ms", justify="right")
        for r in report.requests:
            if r.error is not None:
                status = f"[red]raised[/] {escape(r.error)}"
            elif r.failed:
                status = f"[red]{r.status}[/]"
            elif r.status is not None and r.status >= 400:
                status = f"[yellow]{r.status}[/]"
            else:
                status = f"[green]{r.status}[/]"
            table.add_row(escape(f"{r.method} {r.path}"), status, f"{r.ms:.1f}")
        for s in report.scheduled:
            outcome = "[green]ok[/]" if s.outcome == "ok" else f"[red]{escape(s.error or '')}[/]"
            table.add_row(escape(f'scheduled "{s.cron}"'), outcome, f"{s.ms:.1f}")
        console.print(table)

    if report.queues:
        title = "queues" + (
            f" (drained, +{report.virtual_seconds:g}s virtual)" if report.drained else ""
        )
        table = Table(title=title, title_justify="left", show_edge=False)
        columns = (
            "pending",
            "delayed",
            "in_flight",
            "acked",
            "retried",
            "dead_lettered",
            "dropped",
        )
        table.add_column("queue")
        for column in columns:
            table.add_column(column, justify="right")
        for name, stats in report.queues.items():
            cells = []
            for column in columns:
                value = stats.get(column, 0)
                bad = column in ("dead_lettered", "dropped") and value
                cells.append(f"[red]{value}[/]" if bad else str(value))
            table.add_row(escape(name), *cells)
        console.print(table)

    if report.failures:
        if report.output:
            console.print("[dim]worker output:[/]")
            for line in report.output[-20:]:
                console.print(f"  [dim]{escape(line)}[/]")
        interesting = [line for line in report.logs if not line.startswith("debug")]
        if interesting:
            console.print("[dim]emulator log (last lines):[/]")
            for line in interesting[-20:]:
                console.print(f"  [dim]{escape(line)}[/]")
        for problem in report.failures:
            console.print(f"[red]✗ {problem.kind}[/] {escape(problem.message)}")
            if problem.details:
                console.print(f"[dim]{escape(problem.details.rstrip())}[/]")
        console.print(f"[bold red]check failed[/] (exit {report.exit_code})")
    else:
        summary = f"{len(report.requests)} request(s)"
        if report.drained:
            summary += ", queues drained"
        console.print(f"[bold green]✓ check passed[/] ({summary})")
