"""Read wrangler.toml / wrangler.jsonc / wrangler.json into frozen, validated dataclasses.

`load_config()` parses the file, applies an `[env.NAME]` section, reads secrets from `.dev.vars`
and checks every value pyflare uses against Cloudflare's limits.

A mistake the user must fix raises `ConfigError` with a one-line message of the form
``<file>: <key path> ...``, where ``<file>`` is the config path exactly as the caller passed it
(or the bare file name when `find_config()` located it) and the key path is written the way
wrangler writes it, e.g. ``env.staging.queues.consumers[0].max_retries``. Anything that still
works but looks wrong (an unknown key, a consumer with no producer in this worker) ends up in
`WorkerConfig.warnings` with the same ``<file>:`` prefix.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import json5

__all__ = [
    "CONFIG_FILE_NAMES",
    "ConfigError",
    "D1DatabaseConfig",
    "QueueConsumerConfig",
    "QueueProducerConfig",
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


class ConfigError(Exception):
    """A configuration mistake a user can fix; the message names file, key, value and range."""


@dataclass(frozen=True)
class QueueProducerConfig:
    binding: str
    queue: str
    delivery_delay: int = 0  # seconds, 0-86400


@dataclass(frozen=True)
class QueueConsumerConfig:
    queue: str
    max_batch_size: int = 10  # 1-100
    max_batch_timeout: float = 5  # seconds, 0-60
    max_retries: int = 3  # 0-100
    dead_letter_queue: str | None = None
    retry_delay: int = 0  # seconds, 0-86400
    max_concurrency: int | None = None  # None: 1 locally


@dataclass(frozen=True)
class D1DatabaseConfig:
    binding: str
    database_name: str | None = None
    database_id: str | None = None
    preview_database_id: str | None = None
    migrations_dir: str = "migrations"  # relative to the config file's folder
    migrations_table: str = "d1_migrations"

    @property
    def persist_id(self) -> str:
        """The id wrangler uses to name the local SQLite file."""
        return self.preview_database_id or self.database_id or self.binding


@dataclass(frozen=True)
class WorkerConfig:
    path: Path  # absolute path of the config file
    name: str | None
    main: Path  # absolute path of the worker module
    compatibility_date: str | None = None
    compatibility_flags: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    secrets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    queue_producers: tuple[QueueProducerConfig, ...] = ()
    queue_consumers: tuple[QueueConsumerConfig, ...] = ()
    d1_databases: tuple[D1DatabaseConfig, ...] = ()
    crons: tuple[str, ...] = ()
    env_name: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        """The folder holding the config file; relative paths are resolved from here."""
        return self.path.parent


# ---------------------------------------------------------------------------------------------
# Loader

_Table = dict[str, Any]

_USED_KEYS = frozenset(
    {
        "name",
        "main",
        "compatibility_date",
        "compatibility_flags",
        "vars",
        "queues",
        "d1_databases",
        "triggers",
    }
)

# Real wrangler keys that pyflare does not emulate: a config written for wrangler loads without
# noise. Anything else is probably a typo and gets a warning.
_IGNORED_KEYS = frozenset(
    {
        "$schema",
        "access",
        "account_id",
        "addresses",
        "agent_memory",
        "ai",
        "ai_search",
        "ai_search_namespaces",
        "alias",
        "analytics_engine_datasets",
        "artifacts",
        "assets",
        "base_dir",
        "browser",
        "build",
        "cache",
        "cloudchamber",
        "compliance_region",
        "connect",
        "containers",
        "data_blobs",
        "define",
        "dependencies_instrumentation",
        "dev",
        "dispatch_namespaces",
        "durable_objects",
        "exports",
        "find_additional_modules",
        "first_party_worker",
        "flagship",
        "hyperdrive",
        "images",
        "jsx_factory",
        "jsx_fragment",
        "keep_names",
        "keep_vars",
        "kv_namespaces",
        "legacy_env",
        "limits",
        "logfwdr",
        "logpush",
        "media",
        "migrations",
        "minify",
        "mtls_certificates",
        "no_bundle",
        "node_compat",
        "observability",
        "pages_build_output_dir",
        "pipelines",
        "placement",
        "preserve_file_names",
        "preview_urls",
        "previews",
        "python_modules",
        "r2_buckets",
        "ratelimits",
        "route",
        "routes",
        "rules",
        "secrets",
        "secrets_store_secrets",
        "send_email",
        "send_metrics",
        "services",
        "site",
        "stream",
        "streaming_tail_consumers",
        "tail_consumers",
        "text_blobs",
        "tsconfig",
        "unsafe",
        "unsafe_hello_world",
        "upload",
        "upload_source_maps",
        "usage_model",
        "vectorize",
        "version_metadata",
        "vpc_networks",
        "vpc_services",
        "wasm_modules",
        "worker_loaders",
        "workers_dev",
        "workflows",
        "zone_id",
    }
)

# Wrangler's non-inheritable bindings (`vars`, `queues`, `d1_databases`, by their parsed names):
# an [env.NAME] section starts from nothing for these. Wrangler does inherit `triggers`.
_NOT_INHERITED = frozenset({"vars", "producers", "consumers", "d1_databases"})

_PRODUCER_KEYS = frozenset({"binding", "queue", "delivery_delay", "remote"})
_CONSUMER_KEYS = frozenset(
    {
        "queue",
        "type",
        "max_batch_size",
        "max_batch_timeout",
        "max_retries",
        "dead_letter_queue",
        "retry_delay",
        "max_concurrency",
        "visibility_timeout_ms",
    }
)
_D1_KEYS = frozenset(
    {
        "binding",
        "database_name",
        "database_id",
        "preview_database_id",
        "migrations_dir",
        "migrations_table",
        "migrations_pattern",
        "database_internal_env",
        "remote",
    }
)
_MAX_DELAY = 86400

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
    reader = _Reader(label)
    raw = reader.parse(file)
    absolute = file.resolve()
    root = absolute.parent

    top = reader.section(raw, "")
    if env is None:
        chosen = top
        name = top.get("name")
    else:
        own = reader.section(reader.env_section(raw, env), f"env.{env}")
        chosen = {k: v for k, v in top.items() if k not in _NOT_INHERITED} | own
        name = own.get("name")
        if "name" not in own and top.get("name"):
            # Wrangler deploys each environment as its own worker named "<name>-<env>".
            name = f"{top['name']}-{env}"

    main = reader.main(chosen.get("main"), root, required=require_main)
    file_vars: Mapping[str, Any] = chosen.get("vars", {})
    all_vars = dict(file_vars)
    if vars is not None:
        for key, value in vars.items():
            if not isinstance(key, str):
                raise reader.error(f"var override names must be strings, got {_show(key)}")
            all_vars[key] = value
    producers: list[tuple[str, QueueProducerConfig]] = chosen.get("producers", [])
    consumers: list[tuple[str, QueueConsumerConfig]] = chosen.get("consumers", [])
    databases: list[tuple[str, D1DatabaseConfig]] = chosen.get("d1_databases", [])
    reader.cross_check(all_vars, producers, consumers, databases, env)
    secrets = reader.secrets(root, Path(label).parent, env)

    return WorkerConfig(
        path=absolute,
        name=name,
        main=main,
        compatibility_date=chosen.get("compatibility_date"),
        compatibility_flags=chosen.get("compatibility_flags", ()),
        vars=MappingProxyType(all_vars),
        secrets=MappingProxyType(secrets),
        queue_producers=tuple(p for _, p in producers),
        queue_consumers=tuple(c for _, c in consumers),
        d1_databases=tuple(d for _, d in databases),
        crons=chosen.get("crons", ()),
        env_name=env,
        warnings=tuple(reader.warnings),
    )


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _show(value: Any) -> str:
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


def _is_valid_cron(expression: str) -> bool:
    """Five fields (or an alias such as @daily) that the cron scheduler can run."""
    if expression in _CRON_ALIASES:
        return True
    if len(expression.split()) != 5:
        return False  # croniter would also take 6 or 7 fields (seconds, year)
    from croniter import croniter  # imported late: only workers with crons pay for it

    return bool(croniter.is_valid(expression))


class _Reader:
    """Parses one config file, collecting warnings and raising errors prefixed with its label."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.warnings: list[str] = []

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.label}: {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.label}: {message}")

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
        allowed = _USED_KEYS | _IGNORED_KEYS | ({"env"} if not where else set())
        self.check_keys(raw, where, allowed)
        out: _Table = {}
        if "name" in raw:
            out["name"] = self.string(raw, "name", where)
        if "main" in raw:
            out["main"] = (self.string(raw, "main", where), _join(where, "main"))
        if "compatibility_date" in raw:
            out["compatibility_date"] = self.compatibility_date(raw, where)
        if "compatibility_flags" in raw:
            out["compatibility_flags"] = self.strings(raw, "compatibility_flags", where)
        if "vars" in raw:
            out["vars"] = self.table(raw["vars"], _join(where, "vars"))
        if "queues" in raw:
            queues_where = _join(where, "queues")
            queues = self.table(raw["queues"], queues_where)
            self.check_keys(queues, queues_where, {"producers", "consumers"})
            out["producers"] = [
                (at, self.producer(item, at))
                for at, item in self.tables(queues, "producers", queues_where)
            ]
            out["consumers"] = [
                (at, consumer)
                for at, item in self.tables(queues, "consumers", queues_where)
                if (consumer := self.consumer(item, at)) is not None
            ]
        if "d1_databases" in raw:
            out["d1_databases"] = [
                (at, self.d1(item, at)) for at, item in self.tables(raw, "d1_databases", where)
            ]
        if "triggers" in raw:
            triggers_where = _join(where, "triggers")
            triggers = self.table(raw["triggers"], triggers_where)
            self.check_keys(triggers, triggers_where, {"crons", "events"})
            crons = self.strings(triggers, "crons", triggers_where)
            for i, cron in enumerate(crons):
                if not _is_valid_cron(cron):
                    raise self.error(
                        f"{triggers_where}.crons[{i}] = {_show(cron)} is not a valid cron "
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
                f"{_join(where, 'compatibility_date')} = {_show(text)} must be a date like "
                '"2024-09-23"'
            )
        return text

    def main(self, found: tuple[str | None, str] | None, root: Path, required: bool) -> Path:
        if found is None or found[0] is None:
            if not required:
                return root
            raise self.error('key "main" is required: the path of the worker\'s Python module')
        value, key = found
        main = (root / value).resolve()
        if required and not main.is_file():
            raise self.error(f"{key} = {_show(value)}: no such file {main}")
        return main

    # -- entries ------------------------------------------------------------------------------

    def producer(self, item: _Table, where: str) -> QueueProducerConfig:
        self.check_keys(item, where, _PRODUCER_KEYS)
        return QueueProducerConfig(
            binding=self.required_string(item, "binding", where),
            queue=self.required_string(item, "queue", where),
            delivery_delay=self.integer(item, "delivery_delay", where, 0, 0, _MAX_DELAY),
        )

    def consumer(self, item: _Table, where: str) -> QueueConsumerConfig | None:
        self.check_keys(item, where, _CONSUMER_KEYS)
        queue = self.required_string(item, "queue", where)
        kind = self.string(item, "type", where)
        if kind not in (None, "worker"):
            self.warn(f'{where} has type = {_show(kind)}; pyflare only runs "worker" consumers')
            return None
        max_concurrency = None
        if item.get("max_concurrency") is not None:
            max_concurrency = self.integer(item, "max_concurrency", where, 1, 1, 250)
        return QueueConsumerConfig(
            queue=queue,
            max_batch_size=self.integer(item, "max_batch_size", where, 10, 1, 100),
            max_batch_timeout=self.number(item, "max_batch_timeout", where, 5, 0, 60),
            max_retries=self.integer(item, "max_retries", where, 3, 0, 100),
            dead_letter_queue=self.string(item, "dead_letter_queue", where),
            retry_delay=self.integer(item, "retry_delay", where, 0, 0, _MAX_DELAY),
            max_concurrency=max_concurrency,
        )

    def d1(self, item: _Table, where: str) -> D1DatabaseConfig:
        self.check_keys(item, where, _D1_KEYS)
        return D1DatabaseConfig(
            binding=self.required_string(item, "binding", where),
            database_name=self.string(item, "database_name", where),
            database_id=self.string(item, "database_id", where),
            preview_database_id=self.string(item, "preview_database_id", where),
            migrations_dir=self.string(item, "migrations_dir", where) or "migrations",
            migrations_table=self.string(item, "migrations_table", where) or "d1_migrations",
        )

    # -- checks across the whole worker -------------------------------------------------------

    def cross_check(
        self,
        all_vars: Mapping[str, Any],
        producers: list[tuple[str, QueueProducerConfig]],
        consumers: list[tuple[str, QueueConsumerConfig]],
        databases: list[tuple[str, D1DatabaseConfig]],
        env: str | None,
    ) -> None:
        vars_key = f"env.{env}.vars" if env else "vars"
        owners: dict[str, str] = {name: f"{vars_key}.{name}" for name in all_vars}
        bindings = [(at, p.binding) for at, p in producers] + [
            (at, d.binding) for at, d in databases
        ]
        for at, binding in bindings:
            if binding in owners:
                raise self.error(
                    f'binding name "{binding}" is used twice ({owners[binding]} and {at}.binding)'
                )
            owners[binding] = f"{at}.binding"

        produced = {p.queue for _, p in producers}
        # A dead letter queue is fed by the broker itself, so it needs no producer binding.
        dead_letter_queues = {c.dead_letter_queue for _, c in consumers if c.dead_letter_queue}
        consumed: dict[str, str] = {}
        for at, consumer in consumers:
            if consumer.queue in consumed:
                raise self.error(
                    f'queue "{consumer.queue}" has two consumers ({consumed[consumer.queue]} and '
                    f"{at}); a queue can have only one"
                )
            consumed[consumer.queue] = at
            if consumer.dead_letter_queue == consumer.queue:
                raise self.error(
                    f"{at}.dead_letter_queue = {_show(consumer.queue)} is the consumer's own "
                    "queue; a queue cannot be its own dead letter queue"
                )
            if consumer.queue not in produced and consumer.queue not in dead_letter_queues:
                self.warn(
                    f'queue "{consumer.queue}" has a consumer but no producer binding in this '
                    "worker (it may be fed by another worker)"
                )

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

    # -- typed getters --------------------------------------------------------------------------

    def check_keys(self, table: _Table, where: str, known: frozenset[str] | set[str]) -> None:
        for key in table:
            if key not in known:
                self.warn(f'unknown key "{_join(where, key)}"')

    def table(self, value: Any, where: str) -> _Table:
        if not isinstance(value, dict):
            raise self.error(f"{where} must be a table, got {_show(value)}")
        return value

    def tables(self, parent: _Table, key: str, where: str) -> list[tuple[str, _Table]]:
        """An array of tables, each paired with its key path (`queues.producers[0]`)."""
        full = _join(where, key)
        value = parent.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"{full} must be an array of tables ([[{full}]]), got {_show(value)}")
        return [(f"{full}[{i}]", self.table(item, f"{full}[{i}]")) for i, item in enumerate(value)]

    def string(self, table: _Table, key: str, where: str) -> str | None:
        value = table.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.error(f"{_join(where, key)} must be a string, got {_show(value)}")

    def required_string(self, table: _Table, key: str, where: str) -> str:
        value = self.string(table, key, where)
        if not value:
            raise self.error(f'{where} is missing required key "{key}"')
        return value

    def strings(self, table: _Table, key: str, where: str) -> tuple[str, ...]:
        value = table.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{_join(where, key)} must be an array of strings, got {_show(value)}")
        return tuple(value)

    def integer(
        self, table: _Table, key: str, where: str, default: int, low: int, high: int
    ) -> int:
        value = table.get(key)
        if value is None:
            return default
        if not _is_int(value):
            raise self.error(f"{_join(where, key)} must be an integer, got {_show(value)}")
        self.check_range(value, key, where, low, high)
        return int(value)

    def number(
        self, table: _Table, key: str, where: str, default: float, low: float, high: float
    ) -> float:
        value = table.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"{_join(where, key)} must be a number, got {_show(value)}")
        self.check_range(value, key, where, low, high)
        return value

    def check_range(self, value: float, key: str, where: str, low: float, high: float) -> None:
        # Written so that NaN fails too.
        if not low <= value <= high:
            raise self.error(
                f"{_join(where, key)} = {_show(value)} is out of range (allowed {low}-{high})"
            )


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
