"""`pyflare dev`."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    color_mode,
    color_option,
    config_option,
    env_option,
    parse_vars,
    persist_option,
    wrangler_flags,
)


@click.command()
@config_option
@env_option
@click.option("--ip", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8787,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@persist_option
@click.option("--no-persist", is_flag=True, help="Keep D1 and queues in memory only.")
@click.option("--var", "vars_", multiple=True, metavar="KEY:VALUE", help="Override a [vars] entry.")
@click.option("--no-reload", is_flag=True, help="Do not watch files and reload.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warn", "error", "none"]),
    default="info",
    show_default=True,
)
@click.option(
    "--test-scheduled",
    is_flag=True,
    expose_value=False,
    help="Accepted as wrangler has it: /__scheduled is always served.",
)
@wrangler_flags(yes=False)
@color_option
def dev(
    config: Path | None,
    env: str | None,
    ip: str,
    port: int,
    persist_to: Path | None,
    no_persist: bool,
    vars_: tuple[str, ...],
    no_reload: bool,
    log_level: str,
) -> None:
    """Serve the worker locally with Queues and D1, reloading on change."""
    from ..config import ConfigError
    from ..dev import DevError, DevOptions, serve
    from ..state import StateError

    if persist_to is not None and no_persist:
        raise click.UsageError("--persist-to and --no-persist cannot be used together")
    options = DevOptions(
        config=config,
        env=env,
        ip=ip,
        port=port,
        persist_to=persist_to,
        persist=not no_persist,
        vars=parse_vars(vars_),
        reload=not no_reload,
        log_level=log_level,
        color=color_mode(),
    )
    try:
        serve(options)
    except (ConfigError, DevError, StateError) as exc:
        raise click.ClickException(str(exc)) from None
