"""`pyflare queues list` and `pyflare queues status`.

Both print a table (rich's on a terminal; plain, full-width aligned columns off one, so `grep`
works) or, with `--json`, JSON. The fields are those of `mf.queues[name].stats()` and
`/__pyflare/queues` (`miniflare_py.queues.metrics.FIELDS`); only the counters' scope differs:
`status` reads the persisted store, so its counters run since the state folder was created.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .options import (
    color_option,
    config_option,
    env_option,
    persist_option,
    print_json,
    stdout_console,
    wrangler_flags,
)

if TYPE_CHECKING:
    from ..config import WorkerConfig


@click.group()
@color_option
def queues() -> None:
    """Inspect local queues."""


def _load(config: Path | None, env: str | None) -> WorkerConfig:
    from ..config import ConfigError, load_config

    try:
        return load_config(config, env, require_main=False)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _queue_names(worker: WorkerConfig) -> list[str]:
    """Producers', consumers' and dead letter queues of the config, each once, in config order."""
    names: list[str] = [p.queue for p in worker.queue_producers]
    for consumer in worker.queue_consumers:
        names.append(consumer.queue)
        if consumer.dead_letter_queue:
            names.append(consumer.dead_letter_queue)
    return list(dict.fromkeys(names))


@queues.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@config_option
@env_option
@wrangler_flags(yes=False)
@color_option
def list_queues(as_json: bool, config: Path | None, env: str | None) -> None:
    """List the queues of the config: producers and consumers in this worker, dead letter queue.

    wrangler lists the queues of your account; pyflare's queues are the config's.
    """
    worker = _load(config, env)
    rows: list[dict[str, Any]] = []
    for name in _queue_names(worker):
        consumers = [c for c in worker.queue_consumers if c.queue == name]
        rows.append(
            {
                "name": name,
                "producers": sum(1 for p in worker.queue_producers if p.queue == name),
                "consumers": len(consumers),
                "dlq": consumers[0].dead_letter_queue if consumers else None,
            }
        )
    if as_json:
        print_json(rows)
        return
    from ..console import Column, print_table

    columns = [
        Column("name"),
        Column("producers", "right"),
        Column("consumers", "right"),
        Column("dlq"),
    ]
    cells = [
        [row["name"], str(row["producers"]), str(row["consumers"]), row["dlq"] or "-"]
        for row in rows
    ]
    print_table(stdout_console(), columns, cells)


@queues.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@config_option
@env_option
@persist_option
@wrangler_flags(yes=False)
@color_option
def status(as_json: bool, config: Path | None, env: str | None, persist_to: Path | None) -> None:
    """What every queue holds now (pending, delayed, in_flight) and its event counters since
    the state folder was created, read from the persisted store (also while `pyflare dev`
    runs)."""
    from ..config import ConfigError, load_config, persist_root
    from ..queues.metrics import STATE_FIELDS, TABLE_FIELDS
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
    consumers = {c.queue: c for c in worker.queue_consumers} if worker is not None else {}
    names = (_queue_names(worker) if worker is not None else []) + sorted(stored)
    empty = dict.fromkeys(STATE_FIELDS, 0) | dict.fromkeys(COUNTERS, 0)
    report: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(names):
        entry: dict[str, Any] = {
            field: stored.get(name, empty).get(field, 0) for field in TABLE_FIELDS
        }
        consumer = consumers.get(name)
        entry["dlq"] = consumer.dead_letter_queue if consumer is not None else None
        entry["consumer"] = consumer is not None if worker is not None else None
        report[name] = entry

    if as_json:
        print_json(report)
        return
    from ..console import Column, print_table

    columns = [
        Column("queue"),
        *(Column(field, "right") for field in TABLE_FIELDS),
        Column("dlq"),
    ]
    cells = [
        [name, *(str(entry[field]) for field in TABLE_FIELDS), entry["dlq"] or "-"]
        for name, entry in report.items()
    ]
    print_table(stdout_console(), columns, cells, title=f"Queues in {path}")
