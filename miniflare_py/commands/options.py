"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

config_option = click.option(
    "-c",
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="wrangler.toml / wrangler.jsonc / wrangler.json (default: the first found here).",
)
env_option = click.option("-e", "--env", default=None, help="Use the [env.NAME] section.")
persist_option = click.option(
    "--persist-to",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for local state (default: .wrangler/state next to the config).",
)


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """`KEY:VALUE` pairs from `--var` as a dict."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY:VALUE, got {pair!r}", param_hint="--var")
        result[key] = value
    return result
