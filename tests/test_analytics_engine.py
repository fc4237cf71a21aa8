"""Analytics Engine: `writeDataPoint`, workerd's limits and errors, the recorded data points,
and the config."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.analytics_engine import AnalyticsEngineDataset, DataPoint
from miniflare_py.config import ConfigError, load_config
from miniflare_py.workers.jsbuffer import Uint8Array
from miniflare_py.workers.jsobject import JsException
from miniflare_py.workers.rpc import _BindingWrapper

WORKER = """
from workers import Response

async def on_fetch(request, env):
    result = env.EVENTS.writeDataPoint({
        "blobs": [request.method, "/path"],
        "doubles": [1.5, 200],
        "indexes": ["tenant-1"],
    })
    return Response(repr(result))
"""
CONFIG = '[[analytics_engine_datasets]]\nbinding = "EVENTS"\ndataset = "events"\n'


@pytest.mark.anyio
async def test_a_worker_writes_without_await_and_tests_read_the_data_points(
    tmp_path: Path,
) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        assert await (await mf.fetch("/", method="POST")).text() == "None"
        await mf.clock.advance(5)
        await mf.fetch("/")
        first, second = mf.analytics_engine["EVENTS"].data_points
    assert first == DataPoint(
        dataset="events",
        timestamp=first.timestamp,
        indexes=("tenant-1",),
        blobs=("POST", "/path"),
        doubles=(1.5, 200.0),
    )
    assert first.timestamp.tzinfo == UTC
    assert (second.timestamp - first.timestamp).total_seconds() == pytest.approx(5)
    assert second.blobs == ("GET", "/path")


@pytest.mark.anyio
async def test_the_binding_is_an_sdk_binding(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        events = mf.env.EVENTS
        assert isinstance(events, _BindingWrapper) and isinstance(events, AnalyticsEngineDataset)
        assert events.constructor.name == "AnalyticsEngine"
        with pytest.raises(TypeError, match=r"AnalyticsEngine.*is not iterable"):
            iter(events)
        with pytest.raises(AttributeError, match=r"'AnalyticsEngine' object has no attribute"):
            events.data_points  # noqa: B018 - the test handle is not on the worker's object


@pytest.mark.anyio
async def test_conversions_as_workerd_makes_them(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        write = mf.env.EVENTS.writeDataPoint
        write({})
        write()
        write(None)
        write(blobs=["kw"])  # keywords fold into one object, as the SDK does
        write({"blobs": ["a", None, 5, 1.0, True, b"\x00\x01", Uint8Array(b"hi")]})
        write({"doubles": [1, "2.5", None, True, "x"], "indexes": [None]})
        points = mf.analytics_engine["EVENTS"].data_points
    assert [(p.indexes, p.blobs, p.doubles) for p in points[:4]] == [
        ((), (), ()),
        ((), (), ()),
        ((), (), ()),
        ((), ("kw",), ()),
    ]
    assert points[4].blobs == ("a", None, "5", "1", "true", b"\x00\x01", b"hi")
    assert points[5].indexes == (None,)
    assert points[5].doubles[:4] == (1.0, 2.5, 0.0, 1.0)
    assert points[5].doubles[4] != points[5].doubles[4]  # NaN, as Number("x")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"indexes": ["a", "b"]}, "writeDataPoint(): Maximum of 1 indexes supported."),
        ({"indexes": ["x" * 97]}, "writeDataPoint(): Size of indexes[0] exceeds 96 bytes)."),
        ({"indexes": ["é" * 49]}, "writeDataPoint(): Size of indexes[0] exceeds 96 bytes)."),
        ({"blobs": ["b"] * 21}, "writeDataPoint(): Maximum of 20 blobs supported."),
        (
            {"blobs": ["x" * 8000, "y" * 8001]},
            "writeDataPoint(): Cumulative size of blobs exceeds 16000 bytes).",
        ),
        ({"doubles": [1.0] * 21}, "writeDataPoint(): Maximum of 20 doubles supported."),
        (
            {"blobs": "not a list"},
            "Incorrect type for the 'blobs' field on 'AnalyticsEngineEvent': the provided value "
            "is not of type 'Array'.",
        ),
        (
            {"indexes": None},
            "Incorrect type for the 'indexes' field on 'AnalyticsEngineEvent': the provided value "
            "is not of type 'Array'.",
        ),
        (
            "a string",
            "Failed to execute 'writeDataPoint' on 'AnalyticsEngine': parameter 1 is not of type "
            "'AnalyticsEngineEvent'.",
        ),
        (
            # Fields are converted (doubles before blobs) before any limit is checked.
            {"blobs": 5, "doubles": 5, "indexes": ["a", "b"]},
            "Incorrect type for the 'doubles' field on 'AnalyticsEngineEvent': the provided value "
            "is not of type 'Array'.",
        ),
    ],
)
@pytest.mark.anyio
async def test_limits_and_types_raise_workerds_type_errors(
    tmp_path: Path, event: Any, message: str
) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        with pytest.raises(TypeError) as info:
            mf.env.EVENTS.writeDataPoint(event)
        assert mf.analytics_engine["EVENTS"].data_points == []  # nothing half-written
    assert isinstance(info.value, JsException)
    assert info.value.name == "TypeError"
    assert info.value.message == message


@pytest.mark.anyio
async def test_the_largest_data_point_is_accepted(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        mf.env.EVENTS.writeDataPoint(
            {"indexes": ["é" * 48], "blobs": ["x" * 800] * 20, "doubles": [0.0] * 20}
        )
        (point,) = mf.analytics_engine["EVENTS"].data_points
    assert len(point.blobs) == 20 and len(point.doubles) == 20


@pytest.mark.anyio
async def test_values_the_sdk_refuses_fail_before_workerd(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        with pytest.raises(TypeError, match=r"<class 'tuple'> cannot be sent over RPC\."):
            mf.env.EVENTS.writeDataPoint({"blobs": ("a", "b")})


@pytest.mark.anyio
async def test_a_worker_catches_the_error(tmp_path: Path) -> None:
    worker = """
    from workers import Response

    async def on_fetch(request, env):
        try:
            env.EVENTS.writeDataPoint({"doubles": list(range(21))})
        except TypeError as error:
            return Response(str(error), status=400)
        return Response("written")
    """
    async with Miniflare(write_worker(tmp_path, worker, CONFIG)) as mf:
        response = await mf.fetch("/")
        assert response.status == 400
        assert (
            await response.text() == "TypeError: writeDataPoint(): Maximum of 20 doubles supported."
        )


@pytest.mark.anyio
async def test_datasets_bindings_and_reloads(tmp_path: Path) -> None:
    config = write_worker(
        tmp_path,
        WORKER,
        CONFIG
        + '[[analytics_engine_datasets]]\nbinding = "SAME"\ndataset = "events"\n'
        + '[[analytics_engine_datasets]]\nbinding = "DEFAULT"\n',
    )
    async with Miniflare(config) as mf:
        mf.env.EVENTS.writeDataPoint({"blobs": ["one"]})
        mf.env.SAME.writeDataPoint({"blobs": ["two"]})
        mf.env.DEFAULT.writeDataPoint({"blobs": ["three"]})
        logs = mf.analytics_engine
        assert [p.blobs for p in logs["EVENTS"].data_points] == [("one",), ("two",)]
        assert logs["SAME"] is logs["EVENTS"]  # one dataset, one table
        assert logs["DEFAULT"].dataset == "DEFAULT"  # Cloudflare's default: the binding name
        assert [p.dataset for p in logs["DEFAULT"].data_points] == ["DEFAULT"]
        await mf.close(keep_state=True)
        async with Miniflare(config, inherit=mf) as reloaded:
            assert len(reloaded.analytics_engine["EVENTS"].data_points) == 2
            reloaded.analytics_engine["EVENTS"].clear()
            assert reloaded.analytics_engine["SAME"].data_points == []


# -- the config -----------------------------------------------------------------------------


def test_config_errors_are_wranglers(tmp_path: Path) -> None:
    label = f"{tmp_path / 'wrangler.toml'}: "
    with pytest.raises(ConfigError) as info:
        load_config(
            write_worker(tmp_path, WORKER, '[[analytics_engine_datasets]]\ndataset = "d"\n')
        )
    assert str(info.value) == (
        f'{label}"analytics_engine_datasets[0]" bindings should have a string "binding" field '
        'but got {"dataset":"d"}.'
    )
    with pytest.raises(ConfigError) as info:
        load_config(
            write_worker(
                tmp_path, WORKER, '[[analytics_engine_datasets]]\nbinding = "A"\ndataset = ""\n'
            )
        )
    assert str(info.value) == (
        f'{label}"analytics_engine_datasets[0]" bindings should, optionally, have a string '
        '"dataset" field but got {"binding":"A","dataset":""}.'
    )


def test_config_warnings_and_name_clashes(tmp_path: Path) -> None:
    config = load_config(
        write_worker(
            tmp_path,
            WORKER,
            CONFIG.replace('dataset = "events"', 'datset = "events"\nremote = true'),
        )
    )
    assert config.warnings == (
        f'{tmp_path / "wrangler.toml"}: unknown key "analytics_engine_datasets[0].datset" '
        '(did you mean "dataset"?)',
    )
    assert config.binding("analytics_engine").datasets[0].dataset == "EVENTS"
    with pytest.raises(ConfigError, match=r'binding name "EVENTS" is used twice'):
        load_config(write_worker(tmp_path, WORKER, CONFIG + '[vars]\nEVENTS = "x"\n'))
