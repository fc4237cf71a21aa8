"""The config's types, and the typed reader every part of the config is parsed with.

`load_config()` (in `config.py`) builds a `WorkerConfig`; binding types parse their own keys with
a `ConfigReader`. Nothing here knows any binding type, so binding packages can import it freely.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = ["ConfigError", "ConfigReader", "WorkerConfig", "join_key", "show_value"]

_Table = dict[str, Any]
_T = TypeVar("_T")


class ConfigError(Exception):
    """A configuration mistake a user can fix; the message names file, key, value and range."""


@dataclass(frozen=True)
class WorkerConfig:
    path: Path  # absolute path of the config file
    name: str | None
    main: Path  # absolute path of the worker module
    compatibility_date: str | None = None
    compatibility_flags: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    secrets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Each binding type's parsed config, by registry name (`bindings["d1"]`).
    bindings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: `(key, name)` of bindings the config names but pyflare does not emulate.
    unemulated: tuple[tuple[str, str | None], ...] = ()
    #: Attributes binding types answer for callers that predate the registry
    #: (`config.d1_databases`): name -> (binding type name, getter).
    attributes: Mapping[str, tuple[str, Callable[[Any], Any]]] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )
    crons: tuple[str, ...] = ()
    env_name: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        """The folder holding the config file; relative paths are resolved from here."""
        return self.path.parent

    def binding(self, name: str) -> Any:
        """The parsed config of the binding type registered as `name`."""
        return self.bindings[name]

    def __getattr__(self, name: str) -> Any:
        found = None if name.startswith("_") else self.__dict__["attributes"].get(name)
        if found is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        binding_type, getter = found
        return getter(self.bindings[binding_type])


def join_key(where: str, key: str) -> str:
    """A key path as wrangler writes it: `queues.consumers[0]` + `max_retries`."""
    return f"{where}.{key}" if where else key


def show_value(value: Any) -> str:
    """Render a value the way it would be written in the config file."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _is_int(value: Any) -> bool:
    # JSON has one number type, so 3.0 is as good as 3 (wrangler sees no difference either).
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


class ConfigReader:
    """Reads the values of one config file, collecting warnings and raising errors prefixed
    with its label. Binding types parse their own keys with it, so every message has the same
    shape."""

    join = staticmethod(join_key)
    show = staticmethod(show_value)

    def __init__(self, label: str) -> None:
        self.label = label
        self.warnings: list[str] = []

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.label}: {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.label}: {message}")

    # -- typed getters --------------------------------------------------------------------------

    def check_keys(
        self, table: Mapping[str, Any], where: str, known: frozenset[str] | set[str]
    ) -> None:
        """Warn about keys not in `known`, suggesting the closest known key when one is near."""
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
                self.warn(f'unknown key "{join_key(where, key)}"{hint}')

    def table(self, value: Any, where: str) -> _Table:
        if not isinstance(value, dict):
            raise self.error(f"{where} must be a table, got {show_value(value)}")
        return value

    def tables(self, parent: Mapping[str, Any], key: str, where: str) -> list[tuple[str, _Table]]:
        """An array of tables, each paired with its key path (`queues.producers[0]`)."""
        full = join_key(where, key)
        value = parent.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(
                f"{full} must be an array of tables ([[{full}]]), got {show_value(value)}"
            )
        return [(f"{full}[{i}]", self.table(item, f"{full}[{i}]")) for i, item in enumerate(value)]

    def each(
        self,
        parent: Mapping[str, Any],
        key: str,
        where: str,
        parse: Callable[[ConfigReader, _Table, str], _T | None],
    ) -> tuple[tuple[_T, ...], tuple[str, ...]]:
        """Every table of the array `key` parsed by `parse(reader, table, key_path)`, and the
        key path of each (a binding section keeps them for its messages). A table `parse`
        returns None for is left out."""
        parsed: list[_T] = []
        paths: list[str] = []
        for at, item in self.tables(parent, key, where):
            value = parse(self, item, at)
            if value is not None:
                parsed.append(value)
                paths.append(at)
        return tuple(parsed), tuple(paths)

    def string(self, table: Mapping[str, Any], key: str, where: str) -> str | None:
        value = table.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.error(f"{join_key(where, key)} must be a string, got {show_value(value)}")

    def required_string(self, table: Mapping[str, Any], key: str, where: str) -> str:
        value = self.string(table, key, where)
        if not value:
            raise self.error(f'{where} is missing required key "{key}"')
        return value

    def strings(self, table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = table.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(
                f"{join_key(where, key)} must be an array of strings, got {show_value(value)}"
            )
        return tuple(value)

    def integer(
        self, table: Mapping[str, Any], key: str, where: str, default: int, low: int, high: int
    ) -> int:
        value = table.get(key)
        if value is None:
            return default
        if not _is_int(value):
            raise self.error(f"{join_key(where, key)} must be an integer, got {show_value(value)}")
        self.check_range(value, key, where, low, high)
        return int(value)

    def number(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        default: float,
        low: float,
        high: float,
    ) -> float:
        value = table.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"{join_key(where, key)} must be a number, got {show_value(value)}")
        self.check_range(value, key, where, low, high)
        return value

    def check_range(self, value: float, key: str, where: str, low: float, high: float) -> None:
        # Written so that NaN fails too.
        if not low <= value <= high:
            key_path = join_key(where, key)
            raise self.error(
                f"{key_path} = {show_value(value)} is out of range (allowed {low}-{high})"
            )
