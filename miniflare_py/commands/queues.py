"""`pyflare queues status`: what the persisted queue store holds, per queue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .options import config_option, env_option, persist_option

COLUMNS = (
    ("pending", "depth"),
    ("delayed", "delayed"),
    ("in_flight", "in flight"),
    ("acked", "acked"),
    ("retried", "retried"),
    ("dead_lettered", "dead-lettered"),
    ("dropped", "dropped"),
)


@click.group()
def queues() -> None:
    """Inspect local queues."""


@queues.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@config_option
@env_option
@persist_option
def status(as_json: bool, config: Path | None, env: str | None, persist_to: Path | None) -> None:
    """Depth, delayed, in flight, event counts and dead letters of every queue, read from the
    persisted store (also while `pyflare dev` runs)."""
    from ..config import ConfigError, load_config, persist_root
    from ..queues.store import COUNTERS, queue_store_path, read_store_status

    worker = None
    try:
        worker = load_config(config, env, require_main=False)
    except ConfigError as exc:
        if config is not None or persist_to is None:
            raise click.ClickException(str(exc)) from None
    if persist_to is None:
        assert worker is not None
        persist_to = persist_root(worker.root)
    path = queue_store_path(persist_to)
    if not path.is_file():
        raise click.ClickException(
            f"No queue store at {path}: run `pyflare dev` (with persistence) first, "
            "or point --persist-to at its state folder"
        )

    from ..state import StateError

    try:
        stored = read_store_status(path)
    except StateError as exc:
        raise click.ClickException(str(exc)) from None
    dlqs: dict[str, str | None] = {}
    names: list[str] = []
    if worker is not None:
        names += [p.queue for p in worker.queue_producers]
        for consumer in worker.queue_consumers:
            names.append(consumer.queue)
            dlqs[consumer.queue] = consumer.dead_letter_queue
            if consumer.dead_letter_queue:
                names.append(consumer.dead_letter_queue)
    names += sorted(stored)
    empty = {"pending": 0, "delayed": 0, "in_flight": 0} | dict.fromkeys(COUNTERS, 0)
    report: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(names):
        entry = dict(stored.get(name, empty))
        dlq = dlqs.get(name)
        entry["dlq"] = dlq
        entry["dlq_depth"] = _depth(stored.get(dlq)) if dlq else None
        report[name] = entry

    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    _print_table(report, path)


def _depth(entry: dict[str, int] | None) -> int:
    if entry is None:
        return 0
    return entry["pending"] + entry["delayed"] + entry["in_flight"]


def _print_table(report: dict[str, dict[str, Any]], path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Queues in {path}", title_justify="left")
    table.add_column("queue")
    for _, label in COLUMNS:
        table.add_column(label, justify="right")
    table.add_column("DLQ (messages)")
    for name, entry in report.items():
        dlq = f"{entry['dlq']} ({entry['dlq_depth']})" if entry["dlq"] else "-"
        table.add_row(name, *(str(entry[key]) for key, _ in COLUMNS), dlq)
    Console(width=160).print(table)
