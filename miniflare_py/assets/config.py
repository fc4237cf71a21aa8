"""`[assets]`: the static-assets part of a wrangler config (an `[env.NAME]` section inherits it
unless it has its own)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config_base import ConfigReader

__all__ = ["HTML_HANDLING", "NOT_FOUND_HANDLING", "AssetsConfig", "parse_assets"]

HTML_HANDLING = ("auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none")
NOT_FOUND_HANDLING = ("none", "404-page", "single-page-application")
_KEYS = frozenset(
    {
        "directory",
        "binding",
        "html_handling",
        "not_found_handling",
        "run_worker_first",
        "experimental_serve_directly",
    }
)


@dataclass(frozen=True)
class AssetsConfig:
    directory: Path  # absolute
    binding: str | None = None
    html_handling: str = "auto-trailing-slash"
    not_found_handling: str = "none"
    #: True: every request goes to the worker first; a tuple: the route patterns that do
    #: (`!pattern` sends matching paths to the assets instead).
    run_worker_first: bool | tuple[str, ...] = False


def parse_assets(
    reader: ConfigReader, section: Mapping[str, Any], where: str
) -> AssetsConfig | None:
    at = reader.join(where, "assets")
    table = reader.table(section["assets"], at)
    reader.check_keys(table, at, _KEYS)
    text = reader.string(table, "directory", at)
    if not text:
        raise reader.error(f'{at} is missing required key "directory"')
    # Relative to the config file, as wrangler resolves it; the label is the config's path.
    folder = (Path(reader.label).resolve().parent / text).resolve()
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise reader.error(f"{at}.directory = {reader.show(text)}: the folder {folder} {what}")
    return AssetsConfig(
        directory=folder,
        binding=reader.string(table, "binding", at),
        html_handling=_choice(reader, table, "html_handling", at, HTML_HANDLING),
        not_found_handling=_choice(reader, table, "not_found_handling", at, NOT_FOUND_HANDLING),
        run_worker_first=_run_worker_first(reader, table, at),
    )


def _choice(
    reader: ConfigReader, table: Mapping[str, Any], key: str, at: str, allowed: tuple[str, ...]
) -> str:
    value = reader.string(table, key, at)
    if value is None:
        return allowed[0]
    if value not in allowed:
        raise reader.error(
            f"{reader.join(at, key)} = {reader.show(value)} is not one of: {', '.join(allowed)}"
        )
    return value


def _run_worker_first(
    reader: ConfigReader, table: Mapping[str, Any], at: str
) -> bool | tuple[str, ...]:
    value = table.get("run_worker_first")
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    key = reader.join(at, "run_worker_first")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise reader.error(
            f"{key} must be true, false or an array of route patterns, got {reader.show(value)}"
        )
    for pattern in value:
        if not pattern.lstrip("!").startswith("/"):
            raise reader.error(
                f"{key}: the route pattern {reader.show(pattern)} must start with / (or !/)"
            )
    return tuple(value)
