"""Rate limiting: fixed windows per key on the virtual clock, the call's errors, the config."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from helpers import write_worker

from miniflare_py import Miniflare
from miniflare_py.config import ConfigError, load_config
from miniflare_py.ratelimit import Ratelimit, RateLimitCounters
from miniflare_py.workers.jsdict import JsDict
from miniflare_py.workers.jsobject import JsException
from miniflare_py.workers.rpc import _BindingWrapper

WORKER = """
from workers import Response

async def on_fetch(request, env):
    result = await env.LIMITER.limit({"key": request.headers.get("x-user", "anon")})
    if not result.success:
        return Response("slow down", status=429)
    return Response("ok")
"""
CONFIG = """
[[ratelimits]]
name = "LIMITER"
namespace_id = "1001"
simple = { limit = 3, period = 60 }
"""


def window_end(now: float, period: int) -> float:
    """The first instant of the window after the one `now` is in."""
    return (math.floor(now / period) + 1) * period


async def statuses(mf: Miniflare, count: int, user: str = "ada") -> list[int]:
    return [(await mf.fetch("/", headers={"x-user": user})).status for _ in range(count)]


@pytest.mark.anyio
async def test_a_key_gets_limit_calls_a_window_then_the_next_window_starts_afresh(
    tmp_path: Path,
) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        assert await statuses(mf, 4) == [200, 200, 200, 429]
        assert await statuses(mf, 1, user="bob") == [200]  # counted per key
        await mf.clock.advance(60)
        assert await statuses(mf, 4) == [200, 200, 200, 429]


@pytest.mark.anyio
async def test_windows_are_aligned_to_the_clock_not_to_the_first_call(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        end = window_end(mf.clock.now(), 60)
        await mf.clock.advance_to(end - 1)  # the last second of the window
        assert await statuses(mf, 4) == [200, 200, 200, 429]
        await mf.clock.advance_to(end)  # one second later: a new window
        assert await statuses(mf, 1) == [200]


def test_a_refused_call_is_not_counted() -> None:
    counters = RateLimitCounters()
    assert [counters.take("ns", "k", 1, 10, 5.0) for _ in range(3)] == [True, False, False]
    assert counters.take("ns", "k", 2, 10, 5.0) is True  # a higher limit sees the count of 1


@pytest.mark.anyio
async def test_bindings_sharing_a_namespace_share_counters(tmp_path: Path) -> None:
    config = CONFIG + "".join(
        f'[[ratelimits]]\nname = "{name}"\nnamespace_id = "{namespace}"\n'
        f"simple = {{ limit = 3, period = {period} }}\n"
        for name, namespace, period in [
            ("SAME", 1001, 60),
            ("OTHER", 2002, 60),
            ("SHORT", 1001, 10),
        ]
    )
    async with Miniflare(write_worker(tmp_path, WORKER, config)) as mf:
        env = mf.env
        for _ in range(3):
            assert (await env.LIMITER.limit({"key": "k"})).success is True
        assert (await env.SAME.limit({"key": "k"})).success is False
        assert (await env.OTHER.limit({"key": "k"})).success is True
        assert (await env.SHORT.limit({"key": "k"})).success is True  # its own period, own count


@pytest.mark.anyio
async def test_call_forms_and_the_result(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        limiter = mf.env.LIMITER
        assert isinstance(limiter, _BindingWrapper) and isinstance(limiter, Ratelimit)
        assert limiter.constructor.name == "Ratelimit"
        assert mf.ratelimits == {"LIMITER": limiter}
        result = await limiter.limit(key="kw")  # keywords fold into the options object
        assert isinstance(result, JsDict)
        assert result.success is True and result["success"] is True and result == {"success": True}
        # `limit` and `period` may be given per call.
        assert (await limiter.limit({"key": "one", "limit": 1})).success is True
        assert (await limiter.limit({"key": "one", "limit": 1})).success is False
        assert (await limiter.limit({"key": "one", "limit": 1, "period": 10})).success is True
        # No key counts under the empty key, as in Miniflare.
        assert (await limiter.limit({})).success is True
        assert (await limiter.limit({"key": ""})).success is True
        assert (await limiter.limit({"key": ""})).success is True
        assert (await limiter.limit({})).success is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (None, "invalid rate limit options"),
        ("k", "invalid rate limit options"),
        (5, "invalid rate limit options"),
        ({"key": "k", "cost": 2, "ttl": 1}, "bad rate limit options: [cost,ttl]"),
        ({"b": 1, 2: 1, "key": "k"}, "bad rate limit options: [2,b]"),
        (["k"], "bad rate limit options: [0]"),
        ({"key": 5}, "invalid key: 5"),
        ({"key": None}, "invalid key: null"),
        ({"key": 1.5}, "invalid key: 1.5"),
        ({"key": True}, "invalid key: true"),
        ({"key": {"id": 1}}, "invalid key: [object Object]"),
        ({"key": ["a", "b"]}, "invalid key: a,b"),
        ({"key": "k", "limit": "5"}, "limit must be a number: 5"),
        ({"key": "k", "limit": None}, "limit must be a number: null"),
        ({"key": "k", "period": "60"}, "period must be a number: 60"),
        ({"key": "k", "period": 30}, "unsupported period: 30"),
        ({"key": "k", "period": 1.5}, "unsupported period: 1.5"),
    ],
)
@pytest.mark.anyio
async def test_bad_options_raise_the_bindings_errors(
    tmp_path: Path, options: Any, message: str
) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        with pytest.raises(JsException) as info:
            await mf.env.LIMITER.limit(options)
    assert info.value.name == "Error"
    assert info.value.message == message


@pytest.mark.anyio
async def test_no_argument_and_values_the_sdk_refuses(tmp_path: Path) -> None:
    async with Miniflare(write_worker(tmp_path, WORKER, CONFIG)) as mf:
        with pytest.raises(JsException, match="invalid rate limit options"):
            await mf.env.LIMITER.limit()
        with pytest.raises(TypeError, match=r"<class 'tuple'> cannot be sent over RPC\."):
            await mf.env.LIMITER.limit({"key": ("a",)})


@pytest.mark.anyio
async def test_an_error_reaches_the_worker_as_a_js_exception(tmp_path: Path) -> None:
    worker = """
    from pyodide.ffi import JsException
    from workers import Response

    async def on_fetch(request, env):
        try:
            await env.LIMITER.limit({"key": 42})
        except JsException as error:
            return Response(str(error))
        return Response("no error")
    """
    async with Miniflare(write_worker(tmp_path, worker, CONFIG)) as mf:
        assert await (await mf.fetch("/")).text() == "Error: invalid key: 42"


@pytest.mark.anyio
async def test_a_config_reload_keeps_the_counts(tmp_path: Path) -> None:
    config = write_worker(tmp_path, WORKER, CONFIG)
    async with Miniflare(config) as mf:
        assert await statuses(mf, 3) == [200, 200, 200]
        await mf.close(keep_state=True)
        async with Miniflare(config, inherit=mf) as reloaded:
            assert await statuses(reloaded, 1) == [429]


@pytest.mark.anyio
async def test_the_older_unsafe_binding_form(tmp_path: Path) -> None:
    config = """
    [[unsafe.bindings]]
    name = "LIMITER"
    type = "ratelimit"
    namespace_id = "1001"
    simple = { limit = 1, period = 10 }

    [[unsafe.bindings]]
    name = "NO_NAMESPACE"
    type = "ratelimit"
    simple = { limit = 1, period = 10 }

    [[unsafe.bindings]]
    name = "SOMETHING"
    type = "metadata"
    """
    async with Miniflare(write_worker(tmp_path, WORKER, config)) as mf:
        assert set(mf.ratelimits) == {"LIMITER", "NO_NAMESPACE"}
        assert await statuses(mf, 2) == [200, 429]
        assert (await mf.env.NO_NAMESPACE.limit({"key": "ada"})).success is True
        assert mf.config.warnings == ()


# -- the config -----------------------------------------------------------------------------


def _error(tmp_path: Path, config: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write_worker(tmp_path, WORKER, config))
    label = f"{tmp_path / 'wrangler.toml'}: "
    assert str(info.value).startswith(label)
    return str(info.value)[len(label) :]


def test_config_errors_are_wranglers(tmp_path: Path) -> None:
    simple = "simple = { limit = 1, period = 10 }\n"
    assert _error(tmp_path, f'[[ratelimits]]\nnamespace_id = "1"\n{simple}') == (
        '"ratelimits[0]" bindings must have a string "name" field but got '
        '{"namespace_id":"1","simple":{"limit":1,"period":10}}.'
    )
    assert _error(tmp_path, f'[[ratelimits]]\nname = "L"\nnamespace_id = 1001\n{simple}') == (
        '"ratelimits[0]" bindings must have a string "namespace_id" field but got '
        '{"name":"L","namespace_id":1001,"simple":{"limit":1,"period":10}}.'
    )
    named = '[[ratelimits]]\nname = "L"\nnamespace_id = "1"\n'
    assert _error(tmp_path, named) == (
        '"ratelimits[0]" bindings must have a "simple" configuration object but got '
        '{"name":"L","namespace_id":"1"}.'
    )
    assert _error(tmp_path, named + 'simple = { limit = "5", period = 10 }\n') == (
        '"ratelimits[0]" bindings "simple.limit" must be a number but got '
        '{"limit":"5","period":10}.'
    )
    assert _error(tmp_path, named + "simple = { limit = 5 }\n") == (
        '"ratelimits[0]" bindings "simple.period" is required and must be a number but got '
        '{"limit":5}.'
    )
    assert _error(tmp_path, named + "simple = { limit = 5, period = 30 }\n") == (
        '"ratelimits[0]" bindings "simple.period" must be either 10 or 60 but got 30.'
    )
    unsafe = '[[unsafe.bindings]]\nname = "L"\ntype = "ratelimit"\n'
    assert _error(tmp_path, unsafe + "simple = { limit = 5, period = 1 }\n") == (
        '"unsafe.bindings[0]" bindings "simple.period" must be either 10 or 60 but got 1.'
    )
    in_env = '[env.dev]\n[[env.dev.ratelimits]]\nname = "L"\nnamespace_id = "1"\n'
    with pytest.raises(ConfigError, match=r'"env.dev.ratelimits\[0\]" bindings must have a "si'):
        load_config(write_worker(tmp_path, WORKER, in_env), env="dev")


def test_config_warnings_and_name_clashes(tmp_path: Path) -> None:
    config = load_config(
        write_worker(
            tmp_path,
            WORKER,
            '[[ratelimits]]\nname = "L"\nnamespace_id = "1"\nnamspace = "x"\n'
            "simple = { limit = 5, period = 10, burst = 2 }\n",
        )
    )
    label = tmp_path / "wrangler.toml"
    assert config.warnings == (
        f'{label}: unknown key "ratelimits[0].namspace" (did you mean "namespace_id"?)',
        f'{label}: unknown key "ratelimits[0].simple.burst"',
    )
    with pytest.raises(ConfigError, match=r'binding name "LIMITER" is used twice'):
        load_config(write_worker(tmp_path, WORKER, CONFIG + '[vars]\nLIMITER = "x"\n'))
