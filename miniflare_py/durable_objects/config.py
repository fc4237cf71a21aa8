"""`[[durable_objects.bindings]]` and `[[migrations]]`, checked with wrangler's messages.

Bindings are not inherited by `[env.NAME]` sections; `migrations` are (wrangler keeps one
migration history per worker), so `DurableObjectsBinding.choose` merges the two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config_base import ConfigReader

__all__ = [
    "DurableObjectBindingConfig",
    "DurableObjectsSection",
    "Migration",
    "parse_durable_objects",
]

_BINDING_KEYS = frozenset({"name", "class_name", "script_name", "environment"})
_MIGRATION_KEYS = frozenset(
    {
        "tag",
        "new_classes",
        "new_sqlite_classes",
        "renamed_classes",
        "deleted_classes",
        "transferred_classes",
    }
)


@dataclass(frozen=True)
class DurableObjectBindingConfig:
    name: str
    class_name: str
    script_name: str | None = None
    environment: str | None = None

    @property
    def external(self) -> bool:
        """Bound to a class of another worker (not emulated: pyflare runs one worker)."""
        return self.script_name is not None


@dataclass(frozen=True)
class Migration:
    tag: str
    new_classes: tuple[str, ...] = ()
    new_sqlite_classes: tuple[str, ...] = ()
    renamed_classes: tuple[tuple[str, str], ...] = ()
    deleted_classes: tuple[str, ...] = ()
    transferred_classes: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class DurableObjectsSection:
    bindings: tuple[DurableObjectBindingConfig, ...] = ()
    paths: tuple[str, ...] = ()
    migrations: tuple[Migration, ...] | None = None  # None: the section has no `migrations`

    def renames(self) -> dict[str, str]:
        """Old class name -> the name it has now, after every `renamed_classes` step."""
        moved: dict[str, str] = {}
        for migration in self.migrations or ():
            for old, new in migration.renamed_classes:
                for key, value in list(moved.items()):
                    if value == old:
                        moved[key] = new
                moved[old] = new
        return moved


def _js(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _string_array(reader: ConfigReader, value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise reader.error(f'Expected "{field}" to be an array of strings but got {_js(value)}')
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise reader.error(
                f'Expected "{field}.[{i}]" to be of type string but got {_js(item)}.'
            )
    return tuple(value)


def _parse_bindings(
    reader: ConfigReader, raw: Any, field: str
) -> tuple[tuple[DurableObjectBindingConfig, ...], tuple[str, ...]]:
    if raw is None:
        return (), ()
    if not isinstance(raw, dict):
        raise reader.error(f'The field "{field}" should be an object but got {_js(raw)}.')
    if "bindings" not in raw:
        raise reader.error(f'The field "{field}" is missing the required "bindings" property.')
    items = raw["bindings"]
    if not isinstance(items, list):
        raise reader.error(f'The field "{field}.bindings" should be an array but got {_js(items)}.')
    bindings, paths = [], []
    for i, item in enumerate(items):
        at = f"{field}.bindings[{i}]"
        if not isinstance(item, dict):
            raise reader.error(f'Expected "{at}" to be an object but got {_js(item)}')
        problems = []
        if not isinstance(item.get("name"), str):
            problems.append('binding should have a string "name" field.')
        if not isinstance(item.get("class_name"), str):
            problems.append('binding should have a string "class_name" field.')
        for optional in ("script_name", "environment"):
            if optional in item and not isinstance(item[optional], str):
                problems.append(f'the field "{optional}", when present, should be a string.')
        if "environment" in item and "script_name" not in item:
            problems.append(
                'binding should have a "script_name" field if "environment" is present.'
            )
        if problems:
            raise reader.error(f'"{at}": {_js(item)}: {" ".join(problems)}')
        extra = [f'"{k}"' for k in item if k not in _BINDING_KEYS]
        if extra:
            reader.warn(f"Unexpected fields found in {at} field: {','.join(extra)}")
        bindings.append(
            DurableObjectBindingConfig(
                item["name"], item["class_name"], item.get("script_name"), item.get("environment")
            )
        )
        paths.append(at)
    return tuple(bindings), tuple(paths)


def _parse_migrations(reader: ConfigReader, raw: Any) -> tuple[Migration, ...]:
    if not isinstance(raw, list):
        raise reader.error(
            f'The optional "migrations" field should be an array, but got {_js(raw)}'
        )
    migrations = []
    for i, item in enumerate(raw):
        at = f"migrations[{i}]"
        if not isinstance(item, dict):
            raise reader.error(f'Expected "{at}" to be an object but got {_js(item)}')
        extra = [f'"{k}"' for k in item if k not in _MIGRATION_KEYS]
        if extra:
            reader.warn(f"Unexpected fields found in migrations field: {','.join(extra)}")
        tag = item.get("tag")
        if tag is None:
            raise reader.error(f'"{at}.tag" is a required field.')
        if not isinstance(tag, str):
            raise reader.error(f'Expected "{at}.tag" to be of type string but got {_js(tag)}.')
        renamed = item.get("renamed_classes")
        if renamed is not None and (
            not isinstance(renamed, list)
            or any(
                not isinstance(c, dict)
                or not isinstance(c.get("from"), str)
                or not isinstance(c.get("to"), str)
                for c in renamed
            )
        ):
            raise reader.error(
                f'Expected "{at}.renamed_classes" to be an array of "{{from: string, to: string}}" '
                f"objects but got {_js(renamed)}."
            )
        transferred = item.get("transferred_classes")
        if transferred is not None and (
            not isinstance(transferred, list)
            or any(
                not isinstance(c, dict)
                or not all(isinstance(c.get(k), str) for k in ("from", "from_script", "to"))
                for c in transferred
            )
        ):
            raise reader.error(
                f'Expected "{at}.transferred_classes" to be an array of "{{from: string, '
                f'from_script: string, to: string}}" objects but got {_js(transferred)}.'
            )
        migrations.append(
            Migration(
                tag=tag,
                new_classes=_string_array(reader, item.get("new_classes"), f"{at}.new_classes"),
                new_sqlite_classes=_string_array(
                    reader, item.get("new_sqlite_classes"), f"{at}.new_sqlite_classes"
                ),
                renamed_classes=tuple((c["from"], c["to"]) for c in renamed or ()),
                deleted_classes=_string_array(
                    reader, item.get("deleted_classes"), f"{at}.deleted_classes"
                ),
                transferred_classes=tuple(
                    (c["from"], c["from_script"], c["to"]) for c in transferred or ()
                ),
            )
        )
    return tuple(migrations)


def parse_durable_objects(
    reader: ConfigReader, section: Mapping[str, Any], where: str
) -> DurableObjectsSection:
    field = reader.join(where, "durable_objects")
    bindings, paths = _parse_bindings(reader, section.get("durable_objects"), field)
    migrations = (
        _parse_migrations(reader, section["migrations"]) if "migrations" in section else None
    )
    return DurableObjectsSection(bindings, paths, migrations)


def check_durable_objects(reader: ConfigReader, section: DurableObjectsSection) -> None:
    """Warn where local emulation differs from a deploy: another worker's classes, classes that
    no migration created (wrangler's deploy would refuse them; pyflare runs them anyway)."""
    created: set[str] = set()
    for migration in section.migrations or ():
        created.update(migration.new_classes, migration.new_sqlite_classes)
        for old, new in migration.renamed_classes:
            created.discard(old)
            created.add(new)
        for _, _, new in migration.transferred_classes:
            created.add(new)
        created.difference_update(migration.deleted_classes)
    for at, binding in zip(section.paths, section.bindings, strict=True):
        if binding.external:
            reader.warn(
                f'{at}: binding {binding.name} uses class "{binding.class_name}" of worker '
                f'"{binding.script_name}": Durable Objects of other workers are not emulated '
                "(calls to it raise)"
            )
        elif section.migrations is not None and binding.class_name not in created:
            reader.warn(
                f'{at}: class "{binding.class_name}" is not created by any [[migrations]] entry '
                f"(add it to new_sqlite_classes); pyflare runs it as a SQLite-backed class"
            )
