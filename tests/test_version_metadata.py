"""`[version_metadata]`: the object in `env`, its values, and the config checks."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.config import ConfigError, load_config
from miniflare_py.version_metadata.binding import iso_timestamp
from miniflare_py.workers.jsobject import JsProxy
from miniflare_py.workers.rpc import _BindingWrapper

WORKER = """
from workers import Response

async def on_fetch(request, env):
    v = env.VERSION
    return Response(f"{v.id}|{v.tag}|{v.timestamp}|{v['id'] == v.id}")
"""
CONFIG = 'version_metadata = { binding = "VERSION" }\n'
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")


@pytest.mark.anyio
async def test_the_worker_reads_id_tag_and_timestamp(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        started = mf.clock.now()
        text = await (await mf.fetch("/")).text()
        version_id, tag, timestamp, same = text.split("|")
        assert uuid.UUID(version_id).version == 4  # a random UUID, as wrangler dev makes up
        assert tag == ""
        assert _ISO.match(timestamp)
        assert timestamp == iso_timestamp(started)
        assert same == "True"
        assert mf.version_metadata is mf.env.VERSION


@pytest.mark.anyio
async def test_it_is_a_plain_object_not_a_binding_class(tmp_path: Path) -> None:
    # On Cloudflare it is a JSON binding: the SDK does not wrap it.
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        version = mf.env.VERSION
        assert isinstance(version, JsProxy)
        assert not isinstance(version, _BindingWrapper)
        assert version.constructor.name == "Object"
        assert version.to_py() == {"id": version.id, "tag": "", "timestamp": version.timestamp}


@pytest.mark.anyio
async def test_one_runtime_keeps_its_version_a_new_one_gets_a_new_one(tmp_path: Path) -> None:
    config = write_worker(tmp_path, WORKER, CONFIG)
    async with Miniflare(config) as mf:
        first = await (await mf.fetch("/")).text()
        await mf.clock.advance(3600)
        assert await (await mf.fetch("/")).text() == first
        async with Miniflare(config, inherit=mf) as reloaded:  # a config reload
            assert reloaded.env.VERSION.id != mf.env.VERSION.id


@pytest.mark.anyio
async def test_the_timestamp_is_the_runtimes_clock_at_start(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        stamp = datetime.strptime(mf.env.VERSION.timestamp, "%Y-%m-%dT%H:%M:%S.%f%z")
        assert stamp.tzinfo == UTC
        assert abs(stamp.timestamp() - mf.clock.now()) < 0.001


def test_iso_timestamp_is_javascripts_to_iso_string() -> None:
    assert iso_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert iso_timestamp(1785320430.1239) == "2026-07-29T10:20:30.123Z"


def test_config_checks(tmp_path: Path) -> None:
    label = tmp_path / "wrangler.toml"
    with pytest.raises(ConfigError, match=r'version_metadata is missing required key "binding"'):
        load_config(write_worker(tmp_path, WORKER, "version_metadata = {}\n"))
    with pytest.raises(ConfigError, match=r'version_metadata must be a table, got "VERSION"'):
        load_config(write_worker(tmp_path, WORKER, 'version_metadata = "VERSION"\n'))
    config = load_config(
        write_worker(tmp_path, WORKER, 'version_metadata = { binding = "V", bindng = "x" }\n')
    )
    assert config.warnings == (
        f'{label}: unknown key "version_metadata.bindng" (did you mean "binding"?)',
    )
    with pytest.raises(ConfigError, match=r'binding name "V" is used twice'):
        load_config(
            write_worker(tmp_path, WORKER, '[vars]\nV = "x"\n[version_metadata]\nbinding = "V"\n')
        )


def test_an_environment_does_not_inherit_it(tmp_path: Path) -> None:
    config = write_worker(tmp_path, WORKER, CONFIG + "[env.dev]\n")
    assert load_config(config, env="dev").binding("version_metadata") is None
    assert load_config(config).binding("version_metadata").binding == "VERSION"
    assert load_config(config).warnings == ()  # emulated: no "not emulated" line
