"""`pyflare r2 object put|get|delete BUCKET/KEY`, as wrangler has them (locally).

The bucket is named as in `wrangler r2 object`, by its bucket name; its objects live under the
state folder (`.wrangler/state` next to the config, or `--persist-to`), where `pyflare dev` and
`wrangler dev` keep them. `get` writes the object's bytes exactly as stored, to stdout or to
`--file`; what the command says about its work then goes to stderr, so piped output is only
the data.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .options import (
    color_option,
    config_option,
    persist_option,
    state_folder,
    user_errors,
    wrangler_flags,
)

if TYPE_CHECKING:
    from ..r2 import R2Bucket

__all__ = ["r2"]


class _NotFound(Exception):
    pass


def _split(object_path: str) -> tuple[str, str]:
    bucket, slash, key = object_path.partition("/")
    if not slash or not bucket or not key:
        raise click.UsageError(
            f"The object path must be in the form of {{bucket}}/{{key}}, got {object_path!r}"
        )
    return bucket, key


@contextmanager
def _bucket(name: str, config: Path | None, persist_to: Path | None) -> Iterator[R2Bucket]:
    from ..r2 import R2Error, open_bucket

    with user_errors(R2Error, _NotFound, ValueError, TypeError):
        bucket = open_bucket(state_folder(config, persist_to), name)
        try:
            yield bucket
        finally:
            bucket.close()


def _full_name(bucket: str, jurisdiction: str | None) -> str:
    return f"{bucket} ({jurisdiction})" if jurisdiction else bucket


@click.group()
@color_option
def r2() -> None:
    """R2 buckets in local state."""


@r2.group("object")
def r2_object() -> None:
    """Put, get and delete objects (BUCKET/KEY)."""


def _put_options(f: Any) -> Any:
    for name, alias, text in (
        ("--content-type", "--ct", "A MIME type for the object."),
        ("--content-disposition", "--cd", "Presentational information for the object."),
        ("--content-encoding", "--ce", "Content encodings applied to the object."),
        ("--content-language", "--cl", "The language the content is in."),
        ("--cache-control", "--cc", "Caching behaviour along the request/reply chain."),
    ):
        f = click.option(name, alias, default=None, help=text)(f)
    f = click.option(
        "--expires", default=None, help="When the object stops being cacheable (ms or a date)."
    )(f)
    f = click.option("--storage-class", "-s", default=None, help="Standard or InfrequentAccess.")(f)
    return f


jurisdiction_option = click.option(
    "--jurisdiction", "-J", default=None, help="Accepted as wrangler has it (names the bucket)."
)


@r2_object.command("put")
@click.argument("object_path")
@click.option("--file", "-f", "file", default=None, metavar="PATH", help="The file to upload.")
@click.option("--pipe", "-p", is_flag=True, help="Read the object from stdin.")
@_put_options
@jurisdiction_option
@config_option
@persist_option
@wrangler_flags(yes=False)
@color_option
def put(
    object_path: str,
    file: str | None,
    pipe: bool,
    content_type: str | None,
    content_disposition: str | None,
    content_encoding: str | None,
    content_language: str | None,
    cache_control: str | None,
    expires: str | None,
    storage_class: str | None,
    jurisdiction: str | None,
    config: Path | None,
    persist_to: Path | None,
) -> None:
    """Create an object from --file or stdin (--pipe)."""
    if file is not None and pipe:
        raise click.UsageError("--file and --pipe cannot be used together.")
    if file is None and not pipe:
        raise click.UsageError("Either the --file or --pipe options are required.")
    bucket_name, key = _split(object_path)
    http: dict[str, Any] = {
        "contentType": content_type,
        "contentDisposition": content_disposition,
        "contentEncoding": content_encoding,
        "contentLanguage": content_language,
        "cacheControl": cache_control,
    }
    if expires is not None:
        http["cacheExpiry"] = int(expires) if expires.strip().isdigit() else expires
    if file is not None and not Path(file).is_file():
        raise click.ClickException(f'The file "{file}" does not exist.')
    with_class = f" with {storage_class} storage class" if storage_class else ""
    click.echo(
        f'Creating object "{key}"{with_class} in bucket "{_full_name(bucket_name, jurisdiction)}".'
    )
    with _bucket(bucket_name, config, persist_to) as bucket:
        options = {"httpMetadata": http, "storageClass": storage_class}
        if file is not None:
            with open(file, "rb") as source:
                asyncio.run(bucket.put(key, source, options))
        else:
            asyncio.run(bucket.put(key, sys.stdin.buffer, options))
    click.echo("Upload complete.")


@r2_object.command("get")
@click.argument("object_path")
@click.option("--file", "-f", "file", default=None, metavar="PATH", help="Write the object here.")
@click.option("--pipe", "-p", is_flag=True, help="Write only the object's bytes to stdout.")
@jurisdiction_option
@config_option
@persist_option
@wrangler_flags(yes=False)
@color_option
def get(
    object_path: str,
    file: str | None,
    pipe: bool,
    jurisdiction: str | None,
    config: Path | None,
    persist_to: Path | None,
) -> None:
    """Fetch an object: its bytes to stdout, or to --file."""
    bucket_name, key = _split(object_path)
    # The data goes to stdout unless --file names a file: the messages must not mix with it.
    say = (
        (lambda text: None)
        if pipe
        else (click.echo if file is not None else (lambda text: click.echo(text, err=True)))
    )
    say(f'Downloading "{key}" from "{_full_name(bucket_name, jurisdiction)}".')
    with _bucket(bucket_name, config, persist_to) as bucket:
        asyncio.run(_download(bucket, key, file))
    say("Download complete.")


async def _download(bucket: R2Bucket, key: str, file: str | None) -> None:
    found = await bucket.get(key)
    if found is None or not hasattr(found, "body"):
        raise _NotFound("The specified key does not exist.")
    out = open(file, "wb") if file is not None else sys.stdout.buffer  # noqa: SIM115
    try:
        async for chunk in found.body:
            out.write(chunk if isinstance(chunk, bytes) else chunk.to_bytes())
    finally:
        if file is not None:
            out.close()
        else:
            out.flush()


@r2_object.command("delete")
@click.argument("object_path")
@jurisdiction_option
@config_option
@persist_option
@wrangler_flags(yes=False)
@color_option
def delete(
    object_path: str, jurisdiction: str | None, config: Path | None, persist_to: Path | None
) -> None:
    """Delete an object."""
    bucket_name, key = _split(object_path)
    click.echo(f'Deleting object "{key}" from bucket "{_full_name(bucket_name, jurisdiction)}".')
    with _bucket(bucket_name, config, persist_to) as bucket:
        asyncio.run(bucket.delete(key))
    click.echo("Delete complete.")
