"""`pyflare kv key put|get|list|delete`, as `wrangler kv key` has them (locally).

The namespace is named as wrangler names it: `--binding NAME` (from the config's
`[[kv_namespaces]]`, with wrangler's rules for `id` and `preview_id` and its `--preview` flag)
or `--namespace-id ID`. Its keys live under the state folder (`.wrangler/state` next to the
config, or `--persist-to`), where `pyflare dev` and `wrangler dev` keep them.

Output follows wrangler's: `put` and `delete` say what they do; `get` writes the value's bytes
exactly as stored (`--text` decodes them as UTF-8 and ends the line); `list` prints the keys as
the JSON array wrangler prints, off a terminal or with `--json`, and as a table on a terminal.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .options import (
    color_option,
    config_option,
    env_option,
    persist_option,
    state_folder,
    stdout_console,
    user_errors,
    wrangler_flags,
)

if TYPE_CHECKING:
    from ..kv import KvNamespace

__all__ = ["kv"]


class _UserError(Exception):
    """A mistake on the command line or in the config, worded as wrangler words it."""


@dataclass(frozen=True)
class _Where:
    """The options that name the namespace, as given on the command line."""

    binding: str | None
    namespace_id: str | None
    preview: bool | None
    config: Path | None
    env: str | None
    persist_to: Path | None


@dataclass(frozen=True)
class _Target:
    namespace_id: str
    binding: str | None
    persist_root: Path

    @property
    def shown(self) -> str:
        """How wrangler names the namespace in its messages."""
        if self.binding is None:
            return f'id: "{self.namespace_id}"'
        return f'binding: "{self.binding}" (id: "{self.namespace_id}")'


def _exactly_one(first: str, first_value: object, second: str, second_value: object) -> None:
    """wrangler's usage error when neither or both of two exclusive arguments are given."""
    if first_value is None and second_value is None:
        raise click.UsageError(f"Exactly one of the arguments {first} and {second} is required")
    if first_value is not None and second_value is not None:
        raise click.UsageError(f"Arguments {first} and {second} are mutually exclusive")


def _target(where: _Where, *, preview_default: bool | None = None) -> _Target:
    """The namespace `--binding` or `--namespace-id` names, by wrangler's rules (without
    `--preview`, `preview_default`: get and list read the production id)."""
    from ..config import ConfigError, find_config, load_config, persist_root

    binding = where.binding
    preview = preview_default if where.preview is None else where.preview
    _exactly_one("binding", binding, "namespace-id", where.namespace_id)
    if where.namespace_id is not None:
        return _Target(where.namespace_id, None, state_folder(where.config, where.persist_to))
    try:
        path = where.config if where.config is not None else find_config()
    except ConfigError:
        raise _UserError("--binding specified, but no config file was found.") from None
    worker = load_config(path, where.env, require_main=False)
    namespaces = worker.binding("kv").namespaces
    if not namespaces:
        raise _UserError(
            "No KV Namespaces configured! Either use --namespace-id to upload directly or add "
            "a KV namespace to your wrangler config file."
        )
    found = next((ns for ns in namespaces if ns.binding == binding), None)
    if found is None:
        raise _UserError(
            f'A namespace with binding name "{binding}" was not found in the configured '
            '"kv_namespaces".'
        )
    root = persist_root(worker.root, where.persist_to)
    if preview:
        if not found.preview_id:
            raise _UserError(
                f"No preview ID found for {binding}. Add one to your wrangler config file to "
                "use a separate namespace for previewing your worker."
            )
        return _Target(found.preview_id, binding, root)
    if preview is False:
        if not found.id:
            raise _UserError(
                f"No namespace ID found for {binding}. Add one to your wrangler config file "
                "or pass it via `--namespace-id`."
            )
        return _Target(found.id, binding, root)
    if found.id and found.preview_id:
        raise _UserError(
            f'{binding} has both a namespace ID and a preview ID. Specify "--preview" or '
            '"--preview false" to avoid writing data to the wrong namespace.'
        )
    # one id, or none: then the binding name, as `wrangler dev` and `pyflare dev` use it
    return _Target(found.id or found.preview_id or found.binding, binding, root)


@contextmanager
def _namespace(target: _Target) -> Iterator[KvNamespace]:
    from ..clock import RealClock
    from ..kv import KvNamespace, open_storage

    storage = open_storage(target.namespace_id, target.persist_root)
    try:
        yield KvNamespace(storage, RealClock(), target.binding or "", target.namespace_id)
    finally:
        storage.close()  # writes every value's file, for wrangler to read


def _user_errors() -> AbstractContextManager[None]:
    """The errors a user can cause, as one line on stderr and exit code 1."""
    from ..config import ConfigError
    from ..kv import KvError
    from ..state import StateError

    return user_errors(ConfigError, KvError, StateError, TypeError, _UserError)


class _KeyCommand(click.Command):
    """Reads wrangler's `--preview false` / `--preview true` (a boolean flag given a value)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        index = 0
        while index < len(args):
            arg = args[index]
            following = args[index + 1] if index + 1 < len(args) else None
            if arg == "--preview" and following in ("true", "false"):
                rewritten.append("--preview" if following == "true" else "--no-preview")
                index += 2
                continue
            if arg in ("--preview=true", "--preview=false"):
                arg = "--preview" if arg.endswith("true") else "--no-preview"
            rewritten.append(arg)
            index += 1
        return super().parse_args(ctx, rewritten)


def _namespace_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that name the namespace, passed to `command` together as `where`."""

    @functools.wraps(command)
    def f(
        *,
        binding: str | None,
        namespace_id: str | None,
        preview: bool | None,
        config: Path | None,
        env: str | None,
        persist_to: Path | None,
        **given: Any,
    ) -> None:
        command(where=_Where(binding, namespace_id, preview, config, env, persist_to), **given)

    # `--preview` names the preview namespace here, so wrangler_flags refuses only `--remote`
    f = wrangler_flags(yes=False, refused=("--remote",), noun="namespace")(f)
    f = persist_option(f)
    f = env_option(f)
    f = config_option(f)
    f = click.option(
        "--preview/--no-preview",
        default=None,
        help='Use the binding\'s preview_id ("--preview false": its id).',
    )(f)
    f = click.option(
        "--namespace-id", "namespace_id", default=None, help="The id of the namespace."
    )(f)
    f = click.option(
        "--binding", default=None, help="The binding name of the namespace (from the config)."
    )(f)
    return f


@click.group()
@color_option
def kv() -> None:
    """Workers KV namespaces in local state."""


@kv.group("key")
@color_option
def key_group() -> None:
    """Put, get, list and delete keys of a namespace (--binding NAME or --namespace-id ID)."""


@key_group.command("put", cls=_KeyCommand)
@click.argument("key")
@click.argument("value", required=False)
@click.option("--path", default=None, metavar="PATH", help="Read the value from this file.")
@click.option("--ttl", type=float, default=None, help="Seconds the entry stays visible.")
@click.option(
    "--expiration", type=float, default=None, help="Seconds since the epoch when it expires."
)
@click.option("--metadata", default=None, help="JSON stored with the key.")
@_namespace_options
@color_option
def put(
    key: str,
    value: str | None,
    path: str | None,
    ttl: float | None,
    expiration: float | None,
    metadata: str | None,
    where: _Where,
) -> None:
    """Write a single key/value pair to the namespace."""
    from ..kv.coerce import js_json

    _exactly_one("value", value, "path", path)
    parsed_metadata: Any = None
    if metadata is not None:
        try:
            parsed_metadata = json.loads(metadata)
        except ValueError as exc:
            raise click.UsageError(f"--metadata is not valid JSON ({exc}): {metadata}") from None
    with _user_errors():
        target = _target(where)
        data: str | bytes = Path(path).read_bytes() if path is not None else str(value)
        shown_metadata = ""
        if parsed_metadata is not None:
            shown_metadata = f' with metadata "{js_json(parsed_metadata)}"'  # as wrangler shows it
        if path is None:
            click.echo(
                f'Writing the value "{value}" to key "{key}" on namespace '
                f"{target.shown}{shown_metadata}."
            )
        else:
            click.echo(
                f'Writing the contents of {path} to the key "{key}" on namespace '
                f"{target.shown}{shown_metadata}."
            )
        options: dict[str, Any] = {}
        if expiration is not None:
            options["expiration"] = expiration
        if ttl is not None:
            options["expirationTtl"] = ttl
        if parsed_metadata is not None:
            options["metadata"] = parsed_metadata
        with _namespace(target) as namespace:
            asyncio.run(namespace.put(key, data, options))


@key_group.command("get", cls=_KeyCommand)
@click.argument("key")
@click.option("--text", is_flag=True, help="Decode the value as UTF-8 (and end the line).")
@_namespace_options
@color_option
def get(key: str, text: bool, where: _Where) -> None:
    """Read a single value: its bytes exactly as stored."""
    with _user_errors():
        # wrangler reads the production id here unless --preview is given
        target = _target(where, preview_default=False)
        with _namespace(target) as namespace:
            found = asyncio.run(namespace.get(key, "arrayBuffer"))
    if found is None:
        # (wrangler prints this on stdout and exits 0, where it reads like a stored value)
        click.echo("Value not found", err=True)
        raise click.exceptions.Exit(1)
    if text:
        click.echo(bytes(found).decode("utf-8", "replace"))
    else:
        sys.stdout.buffer.write(bytes(found))
        sys.stdout.buffer.flush()


@key_group.command("list", cls=_KeyCommand)
@click.option("--prefix", default=None, help="List only the keys that start with this.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default off a terminal).")
@_namespace_options
@color_option
def list_keys(prefix: str | None, as_json: bool, where: _Where) -> None:
    """List the keys of the namespace (all of them, page after page), in key order."""
    from ..console import is_terminal
    from ..kv.coerce import js_json

    with _user_errors():
        target = _target(where, preview_default=False)
        with _namespace(target) as namespace:
            keys = asyncio.run(_all_keys(namespace, prefix))
    if as_json or not is_terminal(sys.stdout):
        click.echo(js_json(keys, indent=2))
        return
    _print_table(keys)


async def _all_keys(namespace: KvNamespace, prefix: str | None) -> list[Any]:
    keys: list[Any] = []
    cursor = None
    while True:
        page = await namespace.list(prefix=prefix, cursor=cursor)
        keys.extend(page["keys"])
        if page["list_complete"]:
            return keys
        cursor = page["cursor"]


def _print_table(keys: list[Any]) -> None:
    from ..console import Column, print_table
    from ..kv.coerce import js_json

    if not keys:
        click.echo("No keys.")
        return
    rows = [
        [
            item["name"],
            ""
            if "expiration" not in item
            else datetime.fromtimestamp(item["expiration"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            js_json(item["metadata"]) if "metadata" in item else "",
        ]
        for item in keys
    ]
    print_table(stdout_console(), [Column("key"), Column("expires"), Column("metadata")], rows)


@key_group.command("delete", cls=_KeyCommand)
@click.argument("key")
@_namespace_options
@color_option
def delete(key: str, where: _Where) -> None:
    """Remove a single key/value pair from the namespace."""
    with _user_errors():
        target = _target(where)
        click.echo(f'Deleting the key "{key}" on namespace {target.shown}.')
        with _namespace(target) as namespace:
            asyncio.run(namespace.delete(key))
