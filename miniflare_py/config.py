"""Read wrangler.toml / wrangler.jsonc / wrangler.json into frozen, validated dataclasses.

`load_config()` parses the file, applies an `[env.NAME]` section, reads secrets from `.dev.vars`
and checks every value pyflare uses against Cloudflare's limits.

A mistake the user must fix raises `ConfigError` with a one-line message of the form
``<file>: <key path> ...``, where ``<file>`` is the config path exactly as the caller passed it
(or the bare file name when `find_config()` located it) and the key path is written the way
wrangler writes it, e.g. ``env.staging.triggers.crons[0]``. Anything that still
works but looks wrong (an unknown key, a consumer with no producer in this worker) ends up in
`WorkerConfig.warnings` with the same ``<file>:`` prefix.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .bindings import binding_types, config_export, emulated_keys
from .bindings.unemulated import (
    BINDING_KEYS,
    INHERITED_KEYS,
    not_emulated_message,
    unemulated_bindings,
)
from .config_base import ConfigError, ConfigReader, WorkerConfig, join_key, show_value

__all__ = [
    "CONFIG_FILE_NAMES",
    "ConfigError",
    "ConfigReader",
    "WorkerConfig",
    "find_config",
    "load_config",
    "persist_root",
]

CONFIG_FILE_NAMES = ("wrangler.toml", "wrangler.jsonc", "wrangler.json")


#: Where wrangler keeps local state, relative to the folder of the config file.
DEFAULT_PERSIST = Path(".wrangler") / "state"


def persist_root(config_dir: Path, persist_to: Path | None = None) -> Path:
    """The folder for local state: `persist_to` (relative to the current folder, as wrangler's
    `--persist-to`), or `.wrangler/state` next to the config file."""
    return (persist_to if persist_to is not None else config_dir / DEFAULT_PERSIST).resolve()


def __getattr__(name: str) -> Any:
    # `from miniflare_py.config import QueueConsumerConfig` still works: binding types own
    # their config classes now, and export them here by name.
    if name.startswith("__"):
        raise AttributeError(name)  # importlib probes `__path__`: no registry for that
    return config_export(name)


# ---------------------------------------------------------------------------------------------
# Loader

_Table = dict[str, Any]

# The keys config.py reads itself; binding types read theirs (`registry.emulated_keys()`).
_USED_KEYS = frozenset(
    {"name", "main", "compatibility_date", "compatibility_flags", "vars", "triggers"}
)

# Real wrangler keys that are not bindings and that pyflare does not read: a config written for
# wrangler loads without noise. Binding keys are the bindings package's (`BINDING_KEYS`); anything
# else is probably a typo and gets a warning.
_IGNORED_KEYS = frozenset(
    {
        "$schema",
        "access",
        "account_id",
        "addresses",
        "agent_memory",
        "alias",
        "base_dir",
        "build",
        "cache",
        "cloudchamber",
        "compliance_region",
        "connect",
        "containers",
        "define",
        "dependencies_instrumentation",
        "dev",
        "exports",
        "find_additional_modules",
        "first_party_worker",
        "jsx_factory",
        "jsx_fragment",
        "keep_names",
        "keep_vars",
        "legacy_env",
        "limits",
        "logpush",
        "minify",
        "no_bundle",
        "node_compat",
        "observability",
        "pages_build_output_dir",
        "placement",
        "preserve_file_names",
        "preview_urls",
        "previews",
        "python_modules",
        "route",
        "routes",
        "rules",
        "secrets",
        "send_metrics",
        "site",
        "stream",
        "streaming_tail_consumers",
        "tail_consumers",
        "tsconfig",
        "unsafe_hello_world",
        "upload",
        "upload_source_maps",
        "usage_model",
        "workers_dev",
        "zone_id",
    }
)

_COMPAT_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_JSON5_ERROR = re.compile(r"<string>:(\d+) (.*)", re.DOTALL)
_DOTENV_LINE = re.compile(r"(?:export\s+)?([\w.-]+)\s*=\s*(.*)")
_DOTENV_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}

_CRON_ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


def find_config(cwd: Path | None = None) -> Path:
    """Return the first of wrangler.toml, wrangler.jsonc, wrangler.json found in `cwd`."""
    folder = Path.cwd() if cwd is None else Path(cwd)
    for name in CONFIG_FILE_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise ConfigError(f"No wrangler.toml, wrangler.jsonc or wrangler.json found in {folder}")


def load_config(
    path: str | Path | None = None,
    env: str | None = None,
    *,
    vars: Mapping[str, Any] | None = None,
    require_main: bool = True,
) -> WorkerConfig:
    """Load and validate a wrangler config file.

    `path` defaults to `find_config()`. `env` selects an `[env.NAME]` section. `vars` are
    overrides (``pyflare dev --var``) applied on top of the config's `[vars]`. Commands that
    never run the worker (`pyflare d1`, `pyflare queues`) pass `require_main=False`, as
    wrangler's d1 commands do not look at `main`.
    """
    if path is None:
        file = find_config()
        label = file.name
    else:
        file = Path(path)
        label = str(path)
    reader = _Loader(label)
    raw = reader.parse(file)
    absolute = file.resolve()
    root = absolute.parent

    top = reader.section(raw, "")
    if env is None:
        chosen = top
        name = top.get("name")
        chosen_raw = raw
    else:
        env_raw = reader.env_section(raw, env)
        own = reader.section(env_raw, f"env.{env}")
        # Wrangler does not inherit `vars` or bindings; binding types say what they inherit.
        chosen = {k: v for k, v in top.items() if k not in ("vars", "bindings")} | own
        chosen["bindings"] = {
            t.name: t.choose(top["bindings"].get(t.name, t.empty()), own["bindings"].get(t.name))
            for t in binding_types()
        }
        name = own.get("name")
        if "name" not in own and top.get("name"):
            # Wrangler deploys each environment as its own worker named "<name>-<env>".
            name = f"{top['name']}-{env}"
        chosen_raw = {k: v for k, v in raw.items() if k in INHERITED_KEYS} | env_raw

    main = reader.main(chosen.get("main"), root, required=require_main)
    file_vars: Mapping[str, Any] = chosen.get("vars", {})
    all_vars = dict(file_vars)
    if vars is not None:
        for key, value in vars.items():
            if not isinstance(key, str):
                raise reader.error(f"var override names must be strings, got {show_value(key)}")
            all_vars[key] = value
    bindings: dict[str, Any] = {
        t.name: chosen["bindings"].get(t.name, t.empty()) for t in binding_types()
    }
    unemulated = unemulated_bindings(chosen_raw, emulated_keys())
    reader.cross_check(all_vars, bindings, unemulated, env)
    secrets = reader.secrets(root, Path(label).parent, env)

    return WorkerConfig(
        path=absolute,
        name=name,
        main=main,
        compatibility_date=chosen.get("compatibility_date"),
        compatibility_flags=chosen.get("compatibility_flags", ()),
        vars=MappingProxyType(all_vars),
        secrets=MappingProxyType(secrets),
        bindings=MappingProxyType(bindings),
        unemulated=tuple(unemulated),
        attributes=MappingProxyType(
            {
                attribute: (t.name, getter)
                for t in binding_types()
                for attribute, getter in t.config_attributes.items()
            }
        ),
        crons=chosen.get("crons", ()),
        env_name=env,
        warnings=tuple(reader.warnings),
    )


def _is_valid_cron(expression: str) -> bool:
    """Five fields (or an alias such as @daily) that the cron scheduler can run."""
    if expression in _CRON_ALIASES:
        return True
    if len(expression.split()) != 5:
        return False  # croniter would also take 6 or 7 fields (seconds, year)
    from croniter import croniter  # imported late: only workers with crons pay for it

    return bool(croniter.is_valid(expression))


class _Loader(ConfigReader):
    """Reads one config file: its sections, environments, bindings and `.dev.vars`."""

    # -- file -----------------------------------------------------------------------------

    def parse(self, file: Path) -> _Table:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise self.error("config file not found") from None
        except UnicodeDecodeError as exc:
            raise self.error(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise self.error(f"cannot read config file ({exc.strerror})") from None
        if file.suffix == ".toml":
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise self.error(f"invalid TOML: {exc}") from None
        else:
            if not text.strip():
                raise self.error("invalid JSON at line 1: the file is empty")
            import json5  # only a wrangler.json(c) needs it

            try:
                data = json5.loads(text)
            except ValueError as exc:
                match = _JSON5_ERROR.match(str(exc))
                detail = f"at line {match[1]}: {match[2]}" if match else f"at line 1: {exc}"
                raise self.error(f"invalid JSON {detail}") from None
        if not isinstance(data, dict):
            raise self.error(f"the top level must be an object, got {type(data).__name__}")
        return data

    def env_section(self, raw: _Table, env: str) -> _Table:
        envs = raw.get("env")
        if not isinstance(envs, dict) or env not in envs:
            known = ", ".join(f'"{n}"' for n in envs) if isinstance(envs, dict) and envs else ""
            hint = f" (defined: {known})" if known else ""
            raise self.error(f'no environment named "{env}": add an [env.{env}] section{hint}')
        return self.table(envs[env], f"env.{env}")

    # -- one section (top level or [env.NAME]) --------------------------------------------------

    def section(self, raw: _Table, where: str) -> _Table:
        """Validate the keys pyflare uses; return only those present, already converted."""
        allowed = _USED_KEYS | emulated_keys() | BINDING_KEYS | _IGNORED_KEYS
        if not where:
            allowed |= {"env"}
        self.check_keys(raw, where, allowed)
        out: _Table = {"bindings": {}}
        if "name" in raw:
            out["name"] = self.string(raw, "name", where)
        if "main" in raw:
            out["main"] = (self.string(raw, "main", where), join_key(where, "main"))
        if "compatibility_date" in raw:
            out["compatibility_date"] = self.compatibility_date(raw, where)
        if "compatibility_flags" in raw:
            out["compatibility_flags"] = self.strings(raw, "compatibility_flags", where)
        if "vars" in raw:
            out["vars"] = self.table(raw["vars"], join_key(where, "vars"))
        # In the file's order, so warnings come out in the order a reader meets them.
        owners = {key: t for t in binding_types() for key in t.config_keys}
        for key in raw:
            owner = owners.get(key)
            if owner is not None and owner.name not in out["bindings"]:
                out["bindings"][owner.name] = owner.parse(self, raw, where)
        if "triggers" in raw:
            triggers_where = join_key(where, "triggers")
            triggers = self.table(raw["triggers"], triggers_where)
            self.check_keys(triggers, triggers_where, {"crons", "events"})
            crons = self.strings(triggers, "crons", triggers_where)
            for i, cron in enumerate(crons):
                if not _is_valid_cron(cron):
                    raise self.error(
                        f"{triggers_where}.crons[{i}] = {show_value(cron)} is not a valid cron "
                        'expression (expected 5 fields like "*/5 * * * *", or @daily/@hourly/...)'
                    )
            out["crons"] = crons
        return out

    def compatibility_date(self, raw: _Table, where: str) -> str | None:
        value = raw["compatibility_date"]
        # An unquoted TOML date is a date object; accept it rather than nag.
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        text = self.string(raw, "compatibility_date", where)
        if text is not None and not _COMPAT_DATE.fullmatch(text):
            raise self.error(
                f"{join_key(where, 'compatibility_date')} = {show_value(text)} must be a date like "
                '"2024-09-23"'
            )
        return text

    def main(self, found: tuple[str | None, str] | None, root: Path, required: bool) -> Path:
        value, key = found if found is not None else (None, "main")
        if value is None:
            if not required:
                return root
            raise self.error('key "main" is required: the path of the worker\'s Python module')
        main = (root / value).resolve()
        if required and not main.is_file():
            raise self.error(f"{key} = {show_value(value)}: no such file {main}")
        return main

    # -- checks across the whole worker -------------------------------------------------------

    def cross_check(
        self,
        all_vars: Mapping[str, Any],
        bindings: Mapping[str, Any],
        unemulated: list[tuple[str, str | None]],
        env: str | None,
    ) -> None:
        """No env name is used twice; then each binding type's own checks; then one warning
        per binding pyflare does not emulate."""
        vars_key = f"env.{env}.vars" if env else "vars"
        owners: dict[str, str] = {name: f"{vars_key}.{name}" for name in all_vars}
        for binding_type in binding_types():
            for at, binding in binding_type.binding_names(bindings[binding_type.name]):
                if binding in owners:
                    raise self.error(
                        f'binding name "{binding}" is used twice ({owners[binding]} and {at})'
                    )
                owners[binding] = at
        for key, name in unemulated:
            if name is not None and name in owners:
                raise self.error(f'binding name "{name}" is used twice ({owners[name]} and {key})')
            if name is not None:
                owners[name] = key
        for binding_type in binding_types():
            binding_type.check(self, bindings[binding_type.name], bindings)
        for key, name in unemulated:
            self.warn(not_emulated_message(key, name))

    # -- .dev.vars ------------------------------------------------------------------------------

    def secrets(self, root: Path, shown_root: Path, env: str | None) -> dict[str, str]:
        """Read `.dev.vars.<env>` if it exists, else `.dev.vars`, next to the config file."""
        names = ([f".dev.vars.{env}"] if env else []) + [".dev.vars"]
        for name in names:
            file = root / name
            if file.is_file():
                try:
                    text = file.read_text(encoding="utf-8-sig")
                except (OSError, UnicodeDecodeError) as exc:
                    raise ConfigError(f"{shown_root / name}: cannot read ({exc})") from None
                return _parse_dotenv(text, str(shown_root / name), self.warnings)
        return {}


def _parse_dotenv(text: str, label: str, warnings: list[str]) -> dict[str, str]:
    """Parse dotenv text as wrangler's dotenv does: KEY=value, quotes, comments, `export`."""
    lines = text.splitlines()
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        match = _DOTENV_LINE.fullmatch(line)
        if match is None:
            warnings.append(f"{label}: line {lineno}: ignored, expected KEY=value")
            continue
        key, rest = match[1], match[2]
        quote = rest[:1]
        if quote not in ('"', "'", "`"):
            # As in dotenv, `#` starts a comment in an unquoted value.
            out[key] = rest.split("#", 1)[0].strip()
            continue
        body = rest[1:]
        # A quoted value may run over several lines.
        while (end := _closing_quote(body, quote)) < 0:
            if i >= len(lines):
                raise ConfigError(
                    f"{label}: line {lineno}: {key} has an unterminated {quote} quote"
                )
            body += "\n" + lines[i]
            i += 1
        value = body[:end]
        if quote == '"':
            value = re.sub(r"\\(.)", lambda m: _DOTENV_ESCAPES.get(m[1], m[0]), value)
        out[key] = value
    return out


def _closing_quote(body: str, quote: str) -> int:
    if quote != '"':
        return body.find(quote)
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
        elif body[i] == '"':
            return i
        else:
            i += 1
    return -1
