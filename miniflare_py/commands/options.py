"""Options shared by several commands, and wrangler's flags that pyflare accepts as pasted."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from ..console import COLOR_MODES, make_console

F = TypeVar("F", bound=Callable[..., Any])

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

_COLOR_KEY = "pyflare.color"


def _store_color(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_COLOR_KEY] = value  # meta is shared by the whole command chain


color_option = click.option(
    "--color",
    type=click.Choice(COLOR_MODES),
    default=None,
    expose_value=False,
    is_eager=True,
    callback=_store_color,
    help="Colours: auto (default: on a terminal, unless NO_COLOR is set), always or never.",
)


def color_mode() -> str:
    """The `--color` given to this command (or its group), else "auto"."""
    ctx = click.get_current_context(silent=True)
    return str(ctx.meta.get(_COLOR_KEY, "auto")) if ctx is not None else "auto"


def stdout_console() -> Any:
    """The console for a command's results (stdout)."""
    return make_console(sys.stdout, color_mode())


def stderr_console() -> Any:
    """The console for what a command says about its work (stderr): stdout keeps the data."""
    return make_console(sys.stderr, color_mode())


def _refuse_remote(noun: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def refuse(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            raise click.UsageError(
                f"pyflare only runs locally, so it cannot use {param.opts[0]}: run the wrangler "
                f"command for the remote {noun} instead",
                ctx,
            )

    return refuse


def wrangler_flags(
    *,
    yes: bool = True,
    refused: tuple[str, ...] = ("--remote", "--preview"),
    noun: str = "resource",
) -> Callable[[F], F]:
    """wrangler's `--local` (a no-op: pyflare is always local), `--remote` and `--preview`
    (refused in one line naming the remote `noun`; `refused` says which, for a command whose
    `--preview` means something else) and `--yes/-y` (a no-op: pyflare never asks)."""

    def decorate(f: F) -> F:
        f = click.option(
            "--local",
            is_flag=True,
            expose_value=False,
            help="Accepted as wrangler has it; pyflare is always local.",
        )(f)
        for name in refused:
            f = click.option(
                name,
                is_flag=True,
                expose_value=False,
                callback=_refuse_remote(noun),
                hidden=True,
            )(f)
        if yes:
            f = click.option(
                "-y",
                "--yes",
                is_flag=True,
                expose_value=False,
                help="Accepted as wrangler has it; pyflare never asks.",
            )(f)
        return f

    return decorate


class JsonErrorCommand(click.Command):
    """A command whose errors, under `--json`, are printed as wrangler prints them:
    `{"error": {"text": "..."}}` on stdout, exit code 1 (2 for a bad command line)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        wants_json = "--json" in args
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if not wants_json:
                raise
            print_json_error(exc.format_message())
            ctx.exit(2)


def print_json(data: Any) -> None:
    """`data` as indented JSON on stdout, text as it is (not escaped to ASCII)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_json_error(text: str) -> None:
    """wrangler's `--json` error: `{"error": {"text": ...}}`, indented, on stdout."""
    print_json({"error": {"text": text}})


def error_text(exc: BaseException) -> str:
    """The one line a user error prints: an OSError names its file."""
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc)


@contextmanager
def user_errors(
    *kinds: type[BaseException],
    as_json: bool = False,
    text: Callable[[BaseException], str] = error_text,
) -> Iterator[None]:
    """Turn the errors a user can cause (`kinds`, and an OSError about a file) into one line
    on stderr (or wrangler's JSON error on stdout under `--json`) and exit code 1."""
    caught: tuple[type[BaseException], ...] = (*kinds, OSError)
    try:
        yield
    except caught as exc:
        if as_json:
            print_json_error(text(exc))
            raise click.exceptions.Exit(1) from None
        raise click.ClickException(text(exc)) from None


def state_folder(config: Path | None, persist_to: Path | None) -> Path:
    """`--persist-to`, else `.wrangler/state` next to the config (`--config`, or the first found
    here), else `.wrangler/state` here."""
    from ..config import ConfigError, find_config, persist_root

    if config is not None:
        return persist_root(config.resolve().parent, persist_to)
    try:
        found = find_config()
    except ConfigError:
        return persist_root(Path.cwd(), persist_to)
    return persist_root(found.resolve().parent, persist_to)


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """`KEY:VALUE` pairs from `--var` as a dict."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY:VALUE, got {pair!r}", param_hint="--var")
        result[key] = value
    return result
