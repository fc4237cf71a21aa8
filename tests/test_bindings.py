"""The binding seam: the registry, a binding type plugged in from outside, and the bindings a
config names that pyflare does not emulate."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.bindings import (
    BindingHost,
    BindingInstance,
    BindingNotEmulatedError,
    BindingType,
    UnemulatedBinding,
    binding_types,
    registry,
)
from miniflare_py.config import ConfigError, load_config

# -- a binding type from outside: `[[counters]] binding = "C", start = N` -> env.C --------------

EVENTS: list[str] = []


@dataclass(frozen=True)
class CounterConfig:
    binding: str
    start: int


class Counter:
    def __init__(self, value: int) -> None:
        self.value = value

    async def next(self) -> int:
        self.value += 1
        return self.value


class Counters(BindingInstance):
    def __init__(self, counters: dict[str, Counter]) -> None:
        self.counters = counters

    def env_values(self) -> Mapping[str, Any]:
        return self.counters

    def handle(self) -> dict[str, Counter]:
        return self.counters

    async def start(self) -> None:
        EVENTS.append("start")

    def worker_changed(self, worker: Any) -> None:
        EVENTS.append("loaded" if worker is not None else "failed")

    async def stop(self) -> None:
        EVENTS.append("stop")

    async def close(self, *, keep_state: bool = False) -> None:
        EVENTS.append(f"close keep_state={keep_state}")


class CounterBinding(BindingType):
    name = "counters"
    config_keys = ("counters",)
    runtime_attribute = "counters"

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> tuple[Any, ...]:
        return tuple(
            (
                at,
                CounterConfig(
                    reader.required_string(item, "binding", at),
                    reader.integer(item, "start", at, 0, 0, 1000),
                ),
            )
            for at, item in reader.tables(section, "counters", where)
        )

    def binding_names(self, parsed: tuple[Any, ...]) -> list[tuple[str, str]]:
        return [(f"{at}.binding", c.binding) for at, c in parsed]

    def open(self, host: BindingHost, parsed: Any, previous: BindingInstance | None) -> Counters:
        kept = previous.counters if isinstance(previous, Counters) else {}
        return Counters({c.binding: kept.get(c.binding) or Counter(c.start) for _, c in parsed})


@pytest.fixture
def with_counters(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register `CounterBinding` as if its package had added its one registry line."""
    module = f"{__name__}:CounterBinding"
    monkeypatch.setattr(registry, "_BINDING_TYPES", (*registry._BINDING_TYPES, module))
    for cached in (registry.binding_types, registry.emulated_keys):
        cached.cache_clear()
    EVENTS.clear()
    yield
    monkeypatch.undo()
    for cached in (registry.binding_types, registry.emulated_keys):
        cached.cache_clear()


COUNTER_WORKER = """
from workers import Response

async def on_fetch(request, env):
    return Response(str(await env.C.next()))
"""


@pytest.mark.anyio
async def test_a_binding_type_plugs_in_with_one_registry_line(
    tmp_path: Path, with_counters: None
) -> None:
    config = write_worker(tmp_path, COUNTER_WORKER, '[[counters]]\nbinding = "C"\nstart = 41\n')
    assert [t.name for t in binding_types()][-1] == "counters"
    assert load_config(config).warnings == ()  # its key is known, not "unknown"
    async with Miniflare(config) as mf:
        assert await (await mf.fetch("/")).text() == "42"
        assert mf.counters["C"].value == 42
        assert EVENTS == ["start", "loaded"]
    assert EVENTS == ["start", "loaded", "stop", "close keep_state=False"]


@pytest.mark.anyio
async def test_a_config_restart_hands_a_binding_its_previous_state(
    tmp_path: Path, with_counters: None
) -> None:
    config = write_worker(tmp_path, COUNTER_WORKER, '[[counters]]\nbinding = "C"\n')
    first = Miniflare(config)
    await first.start()
    await first.fetch("/")
    await first.close(keep_state=True)
    async with Miniflare(config, inherit=first) as second:
        assert await (await second.fetch("/")).text() == "2"


def test_a_plugged_in_binding_name_clashes_with_a_var(tmp_path: Path, with_counters: None) -> None:
    config = write_worker(
        tmp_path, COUNTER_WORKER, '[vars]\nC = "x"\n[[counters]]\nbinding = "C"\n'
    )
    with pytest.raises(
        ConfigError,
        match=r'binding name "C" is used twice \(vars.C and '
        r"counters\[0\]\.binding\)",
    ):
        load_config(config)


@pytest.mark.anyio
async def test_a_worker_that_fails_to_load_is_reported_to_every_binding(
    tmp_path: Path, with_counters: None
) -> None:
    config = write_worker(tmp_path, COUNTER_WORKER, '[[counters]]\nbinding = "C"\n')
    async with Miniflare(config) as mf:
        (tmp_path / "worker.py").write_text("raise ImportError('no')\n")
        mf.reload()
        (tmp_path / "worker.py").write_text(COUNTER_WORKER)
        mf.reload()
    assert EVENTS[:4] == ["start", "loaded", "failed", "loaded"]


def test_mf_attributes_of_binding_types_need_a_started_runtime(tmp_path: Path) -> None:
    mf = Miniflare(write_worker(tmp_path, COUNTER_WORKER))
    with pytest.raises(AttributeError, match="once the runtime is started"):
        mf.d1  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        mf.nothing  # noqa: B018


# -- the built-in types through the registry -----------------------------------------------------


def test_d1_and_queues_are_registered_and_parsed_into_config_bindings(tmp_path: Path) -> None:
    config = load_config(
        write_worker(
            tmp_path,
            COUNTER_WORKER,
            '[[d1_databases]]\nbinding = "DB"\n[[queues.producers]]\nbinding = "Q"\nqueue = "q"\n',
        )
    )
    assert {"d1", "queues"} <= {t.name for t in binding_types()}
    assert [d.binding for d in config.binding("d1").databases] == ["DB"]
    assert config.d1_databases == config.binding("d1").databases  # kept for older callers
    assert [p.queue for p in config.queue_producers] == ["q"]
    with pytest.raises(AttributeError, match="no attribute 'kv_namespaces'"):
        config.kv_namespaces  # noqa: B018


def test_binding_config_classes_are_still_importable_from_config() -> None:
    from miniflare_py.config import D1DatabaseConfig, QueueConsumerConfig
    from miniflare_py.d1.config import D1DatabaseConfig as Own

    assert D1DatabaseConfig is Own
    assert QueueConsumerConfig("q").max_batch_size == 10
    with pytest.raises(ImportError):
        from miniflare_py.config import NoSuchThing  # noqa: F401


# -- bindings pyflare does not emulate -----------------------------------------------------------

UNEMULATED = """
[[vectorize]]
binding = "VECTORS"
index_name = "x"
[durable_objects]
bindings = [{ name = "ROOMS", class_name = "Room" }]
[browser]
binding = "BROWSER"
[logfwdr]
bindings = []
[text_blobs]
GREETING = "greeting.txt"
[[services]]
binding = "AUTH"
service = "auth"
"""


def test_each_unemulated_binding_is_one_warning_line(tmp_path: Path) -> None:
    config = load_config(write_worker(tmp_path, COUNTER_WORKER, UNEMULATED))
    message = "is not emulated by this pyflare version"
    label = str(tmp_path / "wrangler.toml")
    assert config.warnings == (
        f"{label}: vectorize: binding VECTORS {message}",
        f"{label}: browser: binding BROWSER {message}",
        f"{label}: logfwdr: not emulated by this pyflare version",
        f"{label}: text_blobs: binding GREETING {message}",
        f"{label}: services: binding AUTH {message}",
    )


@pytest.mark.anyio
async def test_a_worker_touching_an_unemulated_binding_gets_an_error_naming_it(
    tmp_path: Path,
) -> None:
    source = """
    from workers import Response

    async def on_fetch(request, env):
        return Response(await env.VECTORS.query("k"))
    """
    async with Miniflare(write_worker(tmp_path, source, UNEMULATED)) as mf:
        assert isinstance(mf.env.VECTORS, UnemulatedBinding)
        assert mf.env.VECTORS.__pyflare_unemulated__ is True
        assert "VECTORS" in mf.env and "ROOMS" in mf.env and "BROWSER" in mf.env
        with pytest.raises(BindingNotEmulatedError) as info:
            await mf.fetch("/")
    assert str(info.value) == (
        "env.VECTORS.query: vectorize: binding VECTORS is not emulated by this pyflare version"
    )


def test_an_env_section_reports_only_its_own_bindings_but_inherits_logfwdr(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        COUNTER_WORKER,
        '[[kv_namespaces]]\nbinding = "KV"\n[logfwdr]\nbindings = []\n'
        '[env.dev]\n[[env.dev.vectorize]]\nbinding = "V"\nindex_name = "i"\n',
    )
    warnings = load_config(config, env="dev").warnings
    assert [w.split(": ", 1)[1] for w in warnings] == [
        "logfwdr: not emulated by this pyflare version",
        "vectorize: binding V is not emulated by this pyflare version",
    ]


def test_an_unemulated_binding_name_clashes_with_a_var(tmp_path: Path) -> None:
    config = write_worker(tmp_path, COUNTER_WORKER, '[vars]\nAI = "x"\n[browser]\nbinding = "AI"\n')
    clash = r'binding name "AI" is used twice \(vars.AI and browser\)'
    with pytest.raises(ConfigError, match=clash):
        load_config(config)
