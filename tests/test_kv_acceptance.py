"""KV acceptance: pyflare against what Miniflare 4.20260426.0 was measured to do.

Each scenario below was run inside workerd by real Miniflare 4.20260426.0 (a worker calling its
`env.KV`, so workerd's own argument conversions and checks applied) and what it observed is
pinned in `OBSERVED`, in the same shape: errors as `{"error": <JS class>, "message": ...}`,
`undefined` as `{"undefined": True}`, bytes as hex, a JavaScript Map (bulk get) as `{"map": ...}`.
Python values stand in for the JavaScript ones the way Cloudflare's Python SDK converts them
(None -> null, dict -> object, bytes -> Uint8Array, an int beyond 2**53 -> BigInt). Every
scenario runs twice, in memory and on disk. Node is not needed to run these tests.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from miniflare_py.clock import VirtualClock
from miniflare_py.kv import KvError, KvNamespace, KvStream, KvSyntaxError, open_storage
from miniflare_py.workers.jsdict import JsDict

MiB = 1024 * 1024
#: The virtual clock's start: a fixed time, a quarter second past a whole second.
START = 1_800_000_000.25

Scenario = Callable[[KvNamespace, int], Awaitable[Any]]
SCENARIOS: dict[str, Scenario] = {}


def norm(v):
    if v is None:
        return None
    if isinstance(v, (bytes, memoryview)):
        return {"bytes": bytes(v).hex()}
    if isinstance(v, KvStream):
        return {"stream": True}
    if isinstance(v, JsDict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, dict):
        return {"map": {k: norm(x) for k, x in v.items()}}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


NAMES = {TypeError: "TypeError", KvError: "Error", KvSyntaxError: "SyntaxError"}


async def attempt(awaitable, void=False):
    try:
        result = await awaitable
    except (TypeError, KvError, KvSyntaxError) as exc:
        return {"error": NAMES[type(exc)], "message": str(exc)}
    if void:
        assert result is None
        return {"undefined": True}
    return norm(result)


def void(awaitable):
    return attempt(awaitable, void=True)


async def names(kv, **options):
    return [k["name"] for k in (await kv.list(**options))["keys"]]


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


@scenario
async def put_get_text(kv, now):
    await kv.put("k", "hello")
    return [
        await attempt(kv.get("k")),
        await attempt(kv.get("k", "text")),
        await attempt(kv.get("k", {"type": "text"})),
    ]


@scenario
async def get_missing(kv, now):
    return [
        await attempt(kv.get("nope")),
        await attempt(kv.get("nope", "json")),
        await attempt(kv.get("nope", "arrayBuffer")),
        await attempt(kv.get("nope", "stream")),
    ]


@scenario
async def overwrite(kv, now):
    await kv.put("k", "v1")
    await kv.put("k", "v2")
    return await attempt(kv.get("k"))


@scenario
async def empty_value(kv, now):
    await kv.put("k", "")
    return [await attempt(kv.get("k")), await attempt(kv.getWithMetadata("k"))]


@scenario
async def get_json(kv, now):
    await kv.put("k", '{"a":[1,2,{"b":null}],"c":"é"}')
    return [await attempt(kv.get("k", "json")), await attempt(kv.get("k", type="json"))]


@scenario
async def get_json_invalid(kv, now):
    await kv.put("k", "not json")
    return await attempt(kv.get("k", "json"))


@scenario
async def get_arraybuffer(kv, now):
    await kv.put("k", "héllo")
    return await attempt(kv.get("k", "arrayBuffer"))


@scenario
async def get_stream(kv, now):
    await kv.put("k", "streamed")
    return await (await kv.get("k", "stream")).text()


@scenario
async def get_unknown_type(kv, now):
    await kv.put("k", "v")
    return [await attempt(kv.get("k", "xml")), await attempt(kv.get("missing", "xml"))]


@scenario
async def get_cache_ttl(kv, now):
    await kv.put("k", "v")
    return [await attempt(kv.get("k", cacheTtl=t)) for t in (29, 30, 0, -1)]


@scenario
async def metadata_roundtrip(kv, now):
    await kv.put("k", "v", metadata={"a": 1, "b": ["x", None], "c": {"d": True}})
    return [await attempt(kv.getWithMetadata("k")), await attempt(kv.getWithMetadata("k", "json"))]


@scenario
async def get_with_metadata_missing(kv, now):
    return await attempt(kv.getWithMetadata("nope"))


@scenario
async def get_with_metadata_no_meta(kv, now):
    await kv.put("k", "v")
    return await attempt(kv.getWithMetadata("k"))


@scenario
async def get_with_metadata_types(kv, now):
    await kv.put("k", '{"x":1}', {"metadata": "m"})
    return [
        await attempt(kv.getWithMetadata("k", "json")),
        await attempt(kv.getWithMetadata("k", type="arrayBuffer")),
    ]


@scenario
async def metadata_scalar_and_null(kv, now):
    await kv.put("a", "v", metadata=5)
    await kv.put("b", "v", metadata=None)
    await kv.put("c", "v", metadata="")
    await kv.put("d", "v", metadata=[])
    return [*[await attempt(kv.getWithMetadata(k)) for k in "abcd"], await attempt(kv.list())]


@scenario
async def expiration_ttl_listed(kv, now):
    await kv.put("k", "v", expirationTtl=60)
    e = (await kv.list())["keys"][0]["expiration"]
    return {"delta_ok": 60 <= e - now <= 61, "int": isinstance(e, int)}


@scenario
async def expiration_ttl_too_small(kv, now):
    return [await void(kv.put("k", "v", expirationTtl=59)), await attempt(kv.get("k"))]


@scenario
async def expiration_ttl_zero_negative(kv, now):
    return [
        await void(kv.put("k", "v", expirationTtl=0)),
        await void(kv.put("k", "v", expirationTtl=-5)),
    ]


@scenario
async def expiration_ttl_fraction(kv, now):
    r = await void(kv.put("k", "v", expirationTtl=90.7))
    keys = (await kv.list())["keys"]
    return [r, keys[0]["expiration"] - now if keys else None]


def _replace(outcome, number, text):
    if "message" in outcome:
        outcome["message"] = outcome["message"].replace(str(number), text)
    return outcome


@scenario
async def expiration_past_and_soon(kv, now):
    return [
        _replace(await void(kv.put("k", "v", expiration=now - 10)), now - 10, "<past>"),
        _replace(await void(kv.put("k", "v", expiration=now + 30)), now + 30, "<soon>"),
        await void(kv.put("k", "v", expiration=0)),
        await attempt(kv.list()),
    ]


@scenario
async def expiration_absolute(kv, now):
    await kv.put("k", "v", expiration=now + 120)
    return (await kv.list())["keys"][0]["expiration"] - now


@scenario
async def expiration_and_ttl_both(kv, now):
    await kv.put("k", "v", expiration=now + 1000, expirationTtl=100)
    return (await kv.list())["keys"][0]["expiration"] - now


@scenario
async def expiration_ttl_wrong_type(kv, now):
    return [
        await void(kv.put("k", "v", expirationTtl="abc")),
        await void(kv.put("k", "v", expirationTtl="120")),
        await void(kv.put("k", "v", expiration="soon")),
    ]


@scenario
async def empty_key(kv, now):
    return [
        await void(kv.put("", "v")),
        await attempt(kv.get("")),
        await void(kv.delete("")),
        await attempt(kv.getWithMetadata("")),
    ]


@scenario
async def dot_keys(kv, now):
    return [
        await void(kv.put(".", "v")),
        await void(kv.put("..", "v")),
        await attempt(kv.get(".")),
        await void(kv.delete("..")),
        await void(kv.put("...", "v")),
        await attempt(kv.get("...")),
    ]


@scenario
async def key_length(kv, now):
    return [
        await void(kv.put("k" * 512, "v")),
        await void(kv.put("k" * 513, "v")),
        await void(kv.put("é" * 257, "v")),
        await attempt(kv.get("k" * 513)),
        await void(kv.delete("k" * 513)),
        await attempt(kv.getWithMetadata("k" * 600)),
        len((await kv.list())["keys"]),
    ]


@scenario
async def value_size(kv, now):
    top = 25 * MiB
    return [
        await void(kv.put("big", "x" * (top + 1))),
        await void(kv.put("big2", bytes(top + 1))),
        await attempt(kv.get("big")),
        await void(kv.put("ok", "x" * top)),
        len(await kv.get("ok", "arrayBuffer")),
    ]


@scenario
async def metadata_size(kv, now):
    return [
        await void(kv.put("k", "v", metadata="x" * 1022)),
        await void(kv.put("k2", "v", metadata="x" * 1023)),
        await void(kv.put("k3", "v", metadata={"é": "é" * 500})),
        await names(kv),
    ]


@scenario
async def key_utf8_order(kv, now):
    for k in ["b", "a", "B", "é", "z", "😀", "\uffff", "aa", "a\u0000", "~", "\u00ff", "\u0100"]:
        await kv.put(k, "v")
    return await names(kv)


@scenario
async def special_key_chars(kv, now):
    keys = ["a/b", "a?b=c", "100%", "a#b", "sp ace", "plus+", "new\nline", "../x", "./"]
    for k in keys:
        await kv.put(k, "v:" + k)
    return [[await kv.get(k) for k in keys], await names(kv)]


@scenario
async def list_prefix(kv, now):
    for k in ["user:1", "user:2", "user:10", "users", "usex", "other"]:
        await kv.put(k, "v")
    return [
        await names(kv, prefix="user:"),
        await names(kv, prefix="user"),
        norm(await kv.list(prefix="nomatch")),
        len(await names(kv, prefix="")),
        len(await names(kv, prefix=None)),
    ]


@scenario
async def list_pagination(kv, now):
    for i in range(5):
        await kv.put(f"p:{i}", "v")
    a = await kv.list(prefix="p:", limit=2)
    b = await kv.list(prefix="p:", limit=2, cursor=a["cursor"])
    c = await kv.list({"prefix": "p:", "limit": 2, "cursor": b["cursor"]})
    return norm([a, b, c])


@scenario
async def list_limit_exact(kv, now):
    for i in range(3):
        await kv.put(f"p:{i}", "v")
    return norm(await kv.list(limit=3))


@scenario
async def list_limit_bounds(kv, now):
    await kv.put("k", "v")
    return [await attempt(kv.list(limit=n)) for n in (0, -1, 1000, 1001, 2.9)]


@scenario
async def list_limit_wrong_type(kv, now):
    await kv.put("k", "v")
    return [await attempt(kv.list(limit="2")), await attempt(kv.list(limit="x"))]


@scenario
async def list_long_prefix(kv, now):
    return [await attempt(kv.list(prefix="p" * 512)), await attempt(kv.list(prefix="p" * 513))]


@scenario
async def list_cursor_garbage(kv, now):
    for k in "abc":
        await kv.put(k, "v")
    return [await attempt(kv.list(cursor=c)) for c in ("YQ==", "!!!", "")]


@scenario
async def list_cursor_sees_new_keys(kv, now):
    for k in "ace":
        await kv.put(k, "v")
    a = await kv.list(limit=1)
    await kv.put("b", "v")
    return [a["cursor"], await names(kv, cursor=a["cursor"])]


@scenario
async def list_metadata_expiration(kv, now):
    await kv.put("m", "v", metadata={"t": 1})
    await kv.put("plain", "v")
    return norm(await kv.list())


@scenario
async def list_empty(kv, now):
    return norm(await kv.list())


@scenario
async def list_null_options(kv, now):
    await kv.put("k", "v")
    return [await attempt(kv.list(None)), await attempt(kv.list()), await attempt(kv.list({}))]


@scenario
async def bulk_get(kv, now):
    await kv.put("a", "1")
    await kv.put("b", "two")
    return [
        await attempt(kv.get(["a", "b", "missing"])),
        await attempt(kv.get(["a", "b"], "text")),
        await attempt(kv.get(["a"], type="text")),
    ]


@scenario
async def bulk_get_json(kv, now):
    await kv.put("a", '{"x":1}')
    await kv.put("b", "[1,2]")
    return [
        await attempt(kv.get(["a", "b", "c"], "json")),
        await attempt(kv.get(["a", "b"], {"type": "json"})),
    ]


@scenario
async def bulk_get_json_invalid(kv, now):
    await kv.put("a", '{"x":1}')
    await kv.put("b", "nope")
    return await attempt(kv.get(["a", "b"], "json"))


@scenario
async def bulk_get_types(kv, now):
    await kv.put("a", "1")
    return [await attempt(kv.get(["a"], t)) for t in ("arrayBuffer", "stream", "xml")]


@scenario
async def bulk_get_counts(kv, now):
    await kv.put("a", "1")
    keys = [f"k{i}" for i in range(101)]
    hundred = await attempt(kv.get(keys[:100]))
    return [
        await attempt(kv.get(keys)),
        len(hundred["map"]) if "map" in hundred else hundred,
        await attempt(kv.get([])),
    ]


@scenario
async def bulk_get_bad_keys(kv, now):
    return [
        await attempt(kv.get(["a", ""])),
        await attempt(kv.get(["a", "k" * 513])),
        await attempt(kv.get(["."])),
    ]


@scenario
async def bulk_get_duplicates(kv, now):
    await kv.put("a", "1")
    return await attempt(kv.get(["a", "a", "b"]))


@scenario
async def bulk_get_cache_ttl(kv, now):
    await kv.put("a", "1")
    return [await attempt(kv.get(["a"], cacheTtl=10)), await attempt(kv.get(["a"], cacheTtl=60))]


@scenario
async def bulk_get_with_metadata(kv, now):
    await kv.put("a", "1", metadata={"m": 1})
    await kv.put("b", "2")
    return [
        await attempt(kv.getWithMetadata(["a", "b", "c"])),
        await attempt(kv.getWithMetadata(["a"], "json")),
    ]


@scenario
async def delete_semantics(kv, now):
    await kv.put("k", "v")
    return [
        await void(kv.delete("k")),
        await attempt(kv.get("k")),
        await void(kv.delete("k")),
        await void(kv.delete("never")),
    ]


@scenario
async def put_value_types(kv, now):
    out = []
    for k, v in [
        ("num", 123),
        ("flt", 1.5),
        ("bool", True),
        ("nul", None),
        ("big", 1e21),
        ("neg0", -0.0),
    ]:
        out.append(await void(kv.put(k, v)))
        out.append(await attempt(kv.get(k)))
    return out


@scenario
async def put_object_values(kv, now):
    return [
        await void(kv.put("o", {"a": 1})),
        await void(kv.put("l", [1, 2])),
        await void(kv.put("d", datetime(1970, 1, 1, tzinfo=UTC))),
        len((await kv.list())["keys"]),
    ]


@scenario
async def put_binary(kv, now):
    await kv.put("u8", bytes([0, 255, 1]))
    await kv.put("ab", memoryview(bytes([9, 8])))
    await kv.put("dv", memoryview(bytes([1, 2, 3, 4]))[1:3])
    return [
        norm(await kv.get("u8", "arrayBuffer")),
        norm(await kv.get("ab", "arrayBuffer")),
        norm(await kv.get("dv", "arrayBuffer")),
        await kv.get("u8"),
    ]


@scenario
async def put_stream(kv, now):
    async def chunks():
        yield b"ab"
        yield b"cd"

    await kv.put("s", chunks())
    return await kv.get("s")


@scenario
async def get_invalid_utf8_text(kv, now):
    await kv.put("b", bytes([0x66, 0xFF, 0x6F]))
    return [await attempt(kv.get("b")), await attempt(kv.get("b", "arrayBuffer"))]


@scenario
async def options_as_string_for_put(kv, now):
    return [await void(kv.put("k", "v", "json")), await attempt(kv.get("k"))]


@scenario
async def metadata_unserializable(kv, now):
    return [
        await void(kv.put("k", "v", metadata=2**60)),
        await void(kv.put("k2", "v", metadata={"f": lambda: 1, "n": math.nan})),
        await attempt(kv.getWithMetadata("k2")),
    ]


@scenario
async def get_type_null(kv, now):
    await kv.put("k", "v")
    return [
        await attempt(kv.get("k", None)),
        await attempt(kv.get("k", type=None)),
        await attempt(kv.get("k", {})),
    ]


@scenario
async def option_coercion_put(kv, now):
    out = []
    for o in [
        {"expirationTtl": None},
        {"expirationTtl": True},
        {"expirationTtl": 2**31},
        {"expirationTtl": 1e12},
        {"expirationTtl": "  90 "},
        {"expirationTtl": "0x50"},
        {"expirationTtl": math.nan},
        {"expirationTtl": math.inf},
        {"expiration": None},
        {"expiration": now + 60},
        {"expiration": now + 100 + 0.9},
        {"metadata": None},
    ]:
        out.append(await void(kv.put("k", "v", o)))
        keys = (await kv.list())["keys"]
        out.append(
            (keys[0]["expiration"] - now if "expiration" in keys[0] else "none")
            if keys
            else "absent"
        )
        await kv.delete("k")
    return out


@scenario
async def option_coercion_list(kv, now):
    for k in "abc":
        await kv.put(k, "v")
    out = []
    for o in [
        {"limit": "2"},
        {"limit": 2.9},
        {"limit": None},
        {"limit": True},
        {"limit": "x"},
        {"limit": 1.5},
        {"prefix": 1},
        {},
        {"cursor": None},
    ]:
        x = await attempt(kv.list(o))
        out.append(
            ",".join(k["name"] for k in x["keys"]) + ("" if x["list_complete"] else "+")
            if "keys" in x
            else x
        )
    return out


@scenario
async def option_coercion_get(kv, now):
    await kv.put("k", "v")
    return [
        await attempt(kv.get("k", cacheTtl="45")),
        await attempt(kv.get("k", cacheTtl=None)),
        await attempt(kv.get("k", cacheTtl=29.9)),
        await attempt(kv.get("k", cacheTtl=30.5)),
        await attempt(kv.get("k", 123)),
        await attempt(kv.get("k", "TEXT")),
        await attempt(kv.get("k", type="json", cacheTtl=10)),
    ]


@scenario
async def options_wrong_kind(kv, now):
    return [
        await attempt(kv.list("prefix")),
        await attempt(kv.list(5)),
        await attempt(kv.get("k", True)),
        await void(kv.put("k", "v", 5)),
        await void(kv.put("k", "v", None)),
        await void(kv.put("k2", "v")),
        await names(kv),
    ]


@scenario
async def key_coercion(kv, now):
    return [
        await void(kv.put(123, "num")),
        await void(kv.put(None, "nul")),
        await void(kv.put(True, "bool")),
        await void(kv.put({"a": 1}, "obj")),
        await attempt(kv.get(123)),
        await attempt(kv.get(None)),
        await names(kv),
        await attempt(kv.get([1, "null"])),
    ]


@scenario
async def list_default_limit(kv, now):
    for i in range(1001):
        await kv.put(f"k{i:04d}", "v")
    a = await kv.list()
    b = await kv.list(cursor=a["cursor"])
    return [
        len(a["keys"]),
        a["list_complete"],
        a["cursor"],
        [k["name"] for k in b["keys"]],
        b["list_complete"],
    ]


@scenario
async def expiration_exact_60(kv, now):
    return [
        _replace(await void(kv.put("k", "v", expiration=now + 59)), now + 59, "<n+59>"),
        await void(kv.put("k", "v", expiration=now + 60)),
        await void(kv.put("k", "v", expirationTtl=60)),
    ]


@scenario
async def get_with_metadata_cache_ttl(kv, now):
    await kv.put("k", "v", metadata=1)
    return [
        await attempt(kv.getWithMetadata("k", cacheTtl=5)),
        (await attempt(kv.getWithMetadata("k", type="stream")))["value"],
    ]


@scenario
async def put_error_keeps_old_value(kv, now):
    await kv.put("k", "old", metadata={"v": 1})
    out = [
        await void(kv.put("k", "new", expirationTtl=5)),
        await void(kv.put("k", "new", metadata="x" * 2000)),
        await void(kv.put("k", {"bad": 1})),
    ]
    out.append(norm(await kv.getWithMetadata("k")))
    return out


@scenario
async def bulk_get_order(kv, now):
    for k in "cab":
        await kv.put(k, k)
    return list(await kv.get(["c", "missing", "a", "b"]))


@scenario
async def metadata_json_shapes(kv, now):
    await kv.put(
        "k",
        "v",
        metadata={"big": 1e21, "f": 0.1, "neg": -0.0, "nested": [{"x": []}], "s": '\u2028é"'},
    )
    return [norm(await kv.getWithMetadata("k")), norm((await kv.list())["keys"][0]["metadata"])]


@pytest.mark.parametrize("persisted", [False, True], ids=["memory", "disk"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.anyio
async def test_scenario_matches_miniflare(name: str, persisted: bool, tmp_path: Path) -> None:
    clock = VirtualClock(start=START)
    storage = open_storage("acceptance", tmp_path if persisted else None)
    kv = KvNamespace(storage, clock, "KV", "acceptance")
    try:
        assert await SCENARIOS[name](kv, math.floor(clock.now())) == OBSERVED[name]
    finally:
        storage.close()


def test_every_observed_scenario_is_ported() -> None:
    assert set(SCENARIOS) == set(OBSERVED)
    assert len(OBSERVED) >= 30


# What Miniflare 4.20260426.0 returned for each scenario (see the module docstring).
OBSERVED: dict[str, Any] = {
    "put_get_text": ["hello", "hello", "hello"],
    "get_missing": [None, None, None, None],
    "overwrite": "v2",
    "empty_value": ["", {"value": "", "metadata": None, "cacheStatus": None}],
    "get_json": [{"a": [1, 2, {"b": None}], "c": "é"}, {"a": [1, 2, {"b": None}], "c": "é"}],
    "get_json_invalid": {
        "error": "SyntaxError",
        "message": "Unexpected token 'o', \"not json\" is not valid JSON",
    },
    "get_arraybuffer": {"bytes": "68c3a96c6c6f"},
    "get_stream": "streamed",
    "get_unknown_type": [
        {
            "error": "TypeError",
            "message": 'Unknown response type. Possible types are "text", '
            '"arrayBuffer", "json", and "stream".',
        },
        None,
    ],
    "get_cache_ttl": [
        {
            "error": "Error",
            "message": "KV GET failed: 400 Invalid cache_ttl of 29. Cache TTL must be at least 30.",
        },
        "v",
        {
            "error": "Error",
            "message": "KV GET failed: 400 Invalid cache_ttl of 0. Cache TTL must be at least 30.",
        },
        {
            "error": "Error",
            "message": "KV GET failed: 400 Invalid cache_ttl of -1. Cache TTL must be at least 30.",
        },
    ],
    "metadata_roundtrip": [
        {
            "value": "v",
            "metadata": {"a": 1, "b": ["x", None], "c": {"d": True}},
            "cacheStatus": None,
        },
        {"error": "SyntaxError", "message": "Unexpected token 'v', \"v\" is not valid JSON"},
    ],
    "get_with_metadata_missing": {"value": None, "metadata": None, "cacheStatus": None},
    "get_with_metadata_no_meta": {"value": "v", "metadata": None, "cacheStatus": None},
    "get_with_metadata_types": [
        {"value": {"x": 1}, "metadata": "m", "cacheStatus": None},
        {"value": {"bytes": "7b2278223a317d"}, "metadata": "m", "cacheStatus": None},
    ],
    "metadata_scalar_and_null": [
        {"value": "v", "metadata": 5, "cacheStatus": None},
        {"value": "v", "metadata": None, "cacheStatus": None},
        {"value": "v", "metadata": "", "cacheStatus": None},
        {"value": "v", "metadata": [], "cacheStatus": None},
        {
            "keys": [
                {"name": "a", "metadata": 5},
                {"name": "b"},
                {"name": "c", "metadata": ""},
                {"name": "d", "metadata": []},
            ],
            "list_complete": True,
            "cacheStatus": None,
        },
    ],
    "expiration_ttl_listed": {"delta_ok": True, "int": True},
    "expiration_ttl_too_small": [
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration_ttl of 59. "
            "Expiration TTL must be at least 60.",
        },
        None,
    ],
    "expiration_ttl_zero_negative": [
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration_ttl of 0. "
            "Please specify integer greater than 0.",
        },
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration_ttl of -5. "
            "Please specify integer greater than 0.",
        },
    ],
    "expiration_ttl_fraction": [{"undefined": True}, 90],
    "expiration_past_and_soon": [
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration of <past>. "
            "Please specify integer greater than the current number "
            "of seconds since the UNIX epoch.",
        },
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration of <soon>. "
            "Expiration times must be at least 60 seconds in the "
            "future.",
        },
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration of 0. Please "
            "specify integer greater than the current number of "
            "seconds since the UNIX epoch.",
        },
        {"keys": [], "list_complete": True, "cacheStatus": None},
    ],
    "expiration_absolute": 120,
    "expiration_and_ttl_both": 100,
    "expiration_ttl_wrong_type": [
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration_ttl of 0. "
            "Please specify integer greater than 0.",
        },
        {"undefined": True},
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration of 0. Please "
            "specify integer greater than the current number of "
            "seconds since the UNIX epoch.",
        },
    ],
    "empty_key": [
        {"error": "TypeError", "message": "Key name cannot be empty."},
        {"error": "TypeError", "message": "Key name cannot be empty."},
        {"error": "TypeError", "message": "Key name cannot be empty."},
        {"error": "TypeError", "message": "Key name cannot be empty."},
    ],
    "dot_keys": [
        {"error": "TypeError", "message": '"." is not allowed as a key name.'},
        {"error": "TypeError", "message": '".." is not allowed as a key name.'},
        {"error": "TypeError", "message": '"." is not allowed as a key name.'},
        {"error": "TypeError", "message": '".." is not allowed as a key name.'},
        {"undefined": True},
        "v",
    ],
    "key_length": [
        {"undefined": True},
        {
            "error": "Error",
            "message": "KV PUT failed: 414 UTF-8 encoded length of 513 exceeds key length "
            "limit of 512.",
        },
        {
            "error": "Error",
            "message": "KV PUT failed: 414 UTF-8 encoded length of 514 exceeds key length "
            "limit of 512.",
        },
        {
            "error": "Error",
            "message": "KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length "
            "limit of 512.",
        },
        {
            "error": "Error",
            "message": "KV DELETE failed: 414 UTF-8 encoded length of 513 exceeds key length "
            "limit of 512.",
        },
        {
            "error": "Error",
            "message": "KV GET failed: 414 UTF-8 encoded length of 600 exceeds key length "
            "limit of 512.",
        },
        1,
    ],
    "value_size": [
        {
            "error": "Error",
            "message": "KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.",
        },
        {
            "error": "Error",
            "message": "KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.",
        },
        None,
        {"undefined": True},
        26214400,
    ],
    "metadata_size": [
        {"undefined": True},
        {
            "error": "Error",
            "message": "KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.",
        },
        {"undefined": True},
        ["k", "k3"],
    ],
    "key_utf8_order": ["B", "a", "a\x00", "aa", "b", "z", "~", "é", "ÿ", "Ā", "\uffff", "😀"],
    "special_key_chars": [
        [
            "v:a/b",
            "v:a?b=c",
            "v:100%",
            "v:a#b",
            "v:sp ace",
            "v:plus+",
            "v:new\nline",
            "v:../x",
            "v:./",
        ],
        ["../x", "./", "100%", "a#b", "a/b", "a?b=c", "new\nline", "plus+", "sp ace"],
    ],
    "list_prefix": [
        ["user:1", "user:10", "user:2"],
        ["user:1", "user:10", "user:2", "users"],
        {"keys": [], "list_complete": True, "cacheStatus": None},
        6,
        6,
    ],
    "list_pagination": [
        {
            "keys": [{"name": "p:0"}, {"name": "p:1"}],
            "list_complete": False,
            "cursor": "cDox",
            "cacheStatus": None,
        },
        {
            "keys": [{"name": "p:2"}, {"name": "p:3"}],
            "list_complete": False,
            "cursor": "cDoz",
            "cacheStatus": None,
        },
        {"keys": [{"name": "p:4"}], "list_complete": True, "cacheStatus": None},
    ],
    "list_limit_exact": {
        "keys": [{"name": "p:0"}, {"name": "p:1"}, {"name": "p:2"}],
        "list_complete": True,
        "cacheStatus": None,
    },
    "list_limit_bounds": [
        {"keys": [{"name": "k"}], "list_complete": True, "cacheStatus": None},
        {"keys": [{"name": "k"}], "list_complete": True, "cacheStatus": None},
        {"keys": [{"name": "k"}], "list_complete": True, "cacheStatus": None},
        {
            "error": "Error",
            "message": "KV GET failed: 400 Invalid key_count_limit of 1001. Please "
            "specify an integer less than 1000.",
        },
        {"keys": [{"name": "k"}], "list_complete": True, "cacheStatus": None},
    ],
    "list_limit_wrong_type": [
        {"keys": [{"name": "k"}], "list_complete": True, "cacheStatus": None},
        {"keys": [{"name": "k"}], "list_complete": True, "cacheStatus": None},
    ],
    "list_long_prefix": [
        {"keys": [], "list_complete": True, "cacheStatus": None},
        {
            "error": "Error",
            "message": "KV GET failed: 414 UTF-8 encoded length of 513 exceeds key "
            "length limit of 512.",
        },
    ],
    "list_cursor_garbage": [
        {"keys": [{"name": "b"}, {"name": "c"}], "list_complete": True, "cacheStatus": None},
        {
            "keys": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "list_complete": True,
            "cacheStatus": None,
        },
        {
            "keys": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "list_complete": True,
            "cacheStatus": None,
        },
    ],
    "list_cursor_sees_new_keys": ["YQ==", ["b", "c", "e"]],
    "list_metadata_expiration": {
        "keys": [{"name": "m", "metadata": {"t": 1}}, {"name": "plain"}],
        "list_complete": True,
        "cacheStatus": None,
    },
    "list_empty": {"keys": [], "list_complete": True, "cacheStatus": None},
    "list_null_options": [
        {"keys": [{"name": "k"}], "list_complete": True, "cacheStatus": None},
        {"keys": [{"name": "k"}], "list_complete": True, "cacheStatus": None},
        {"keys": [{"name": "k"}], "list_complete": True, "cacheStatus": None},
    ],
    "bulk_get": [
        {"map": {"a": "1", "b": "two", "missing": None}},
        {"map": {"a": "1", "b": "two"}},
        {"map": {"a": "1"}},
    ],
    "bulk_get_json": [
        {"map": {"a": {"x": 1}, "b": [1, 2], "c": None}},
        {"map": {"a": {"x": 1}, "b": [1, 2]}},
    ],
    "bulk_get_json_invalid": {
        "error": "Error",
        "message": "KV GET_BULK failed: 400 At least one of the requested keys "
        "corresponds to a non-json value",
    },
    "bulk_get_types": [
        {
            "error": "Error",
            "message": 'KV GET_BULK failed: 400 "arrayBuffer" is not a valid type. Use '
            '"json" or "text"',
        },
        {
            "error": "Error",
            "message": 'KV GET_BULK failed: 400 "stream" is not a valid type. Use "json" or "text"',
        },
        {
            "error": "Error",
            "message": 'KV GET_BULK failed: 400 "xml" is not a valid type. Use "json" or "text"',
        },
    ],
    "bulk_get_counts": [
        {
            "error": "Error",
            "message": "KV GET_BULK failed: 400 You can request a maximum of 100 keys",
        },
        100,
        {
            "error": "Error",
            "message": "KV GET_BULK failed: 400 You must request a minimum of 1 key",
        },
    ],
    "bulk_get_bad_keys": [
        {"error": "Error", "message": "KV GET_BULK failed: 400 Key names must not be empty"},
        {
            "error": "Error",
            "message": "KV GET_BULK failed: 414 UTF-8 encoded length of 513 exceeds "
            "key length limit of 512.",
        },
        {
            "error": "Error",
            "message": 'KV GET_BULK failed: 400 Illegal key name ".". Please use a different name.',
        },
    ],
    "bulk_get_duplicates": {"map": {"a": "1", "b": None}},
    "bulk_get_cache_ttl": [
        {
            "error": "Error",
            "message": "KV GET_BULK failed: 400 Invalid cache_ttl of 10. Cache TTL "
            "must be at least 30.",
        },
        {"map": {"a": "1"}},
    ],
    "bulk_get_with_metadata": [
        {
            "map": {
                "a": {"value": "1", "metadata": {"m": 1}},
                "b": {"value": "2", "metadata": None},
                "c": None,
            }
        },
        {"map": {"a": {"value": 1, "metadata": {"m": 1}}}},
    ],
    "delete_semantics": [{"undefined": True}, None, {"undefined": True}, {"undefined": True}],
    "put_value_types": [
        {"undefined": True},
        "123",
        {"undefined": True},
        "1.5",
        {"undefined": True},
        "true",
        {"undefined": True},
        "null",
        {"undefined": True},
        "1e+21",
        {"undefined": True},
        "0",
    ],
    "put_object_values": [
        {
            "error": "TypeError",
            "message": "KV put() accepts only strings, ArrayBuffers, "
            "ArrayBufferViews, and ReadableStreams as values.",
        },
        {
            "error": "TypeError",
            "message": "KV put() accepts only strings, ArrayBuffers, "
            "ArrayBufferViews, and ReadableStreams as values.",
        },
        {
            "error": "TypeError",
            "message": "KV put() accepts only strings, ArrayBuffers, "
            "ArrayBufferViews, and ReadableStreams as values.",
        },
        0,
    ],
    "put_binary": [{"bytes": "00ff01"}, {"bytes": "0908"}, {"bytes": "0203"}, "\x00�\x01"],
    "put_stream": "abcd",
    "get_invalid_utf8_text": ["f�o", {"bytes": "66ff6f"}],
    "options_as_string_for_put": [
        {
            "error": "TypeError",
            "message": "Failed to execute 'put' on 'KvNamespace': parameter 3 "
            "is not of type 'PutOptions'.",
        },
        None,
    ],
    "metadata_unserializable": [
        {"error": "TypeError", "message": "Do not know how to serialize a BigInt"},
        {"undefined": True},
        {"value": "v", "metadata": {"n": None}, "cacheStatus": None},
    ],
    "get_type_null": [
        "v",
        {
            "error": "TypeError",
            "message": 'Unknown response type. Possible types are "text", "arrayBuffer", '
            '"json", and "stream".',
        },
        "v",
    ],
    "option_coercion_put": [
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration_ttl of 0. Please "
            "specify integer greater than 0.",
        },
        "absent",
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration_ttl of 1. Expiration "
            "TTL must be at least 60.",
        },
        "absent",
        {
            "error": "TypeError",
            "message": "Value out of range. Must be between -2147483648 and "
            "2147483647 (inclusive).",
        },
        "absent",
        {
            "error": "TypeError",
            "message": "Value out of range. Must be between -2147483648 and "
            "2147483647 (inclusive).",
        },
        "absent",
        {"undefined": True},
        90,
        {"undefined": True},
        80,
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration_ttl of 0. Please "
            "specify integer greater than 0.",
        },
        "absent",
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration_ttl of 0. Please "
            "specify integer greater than 0.",
        },
        "absent",
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration of 0. Please specify "
            "integer greater than the current number of seconds since "
            "the UNIX epoch.",
        },
        "absent",
        {"undefined": True},
        60,
        {"undefined": True},
        100,
        {"undefined": True},
        "none",
    ],
    "option_coercion_list": ["a,b+", "a,b+", "a,b,c", "a+", "a,b,c", "a+", "", "a,b,c", "a,b,c"],
    "option_coercion_get": [
        "v",
        {
            "error": "Error",
            "message": "KV GET failed: 400 Invalid cache_ttl of 0. Cache TTL must be at least 30.",
        },
        {
            "error": "Error",
            "message": "KV GET failed: 400 Invalid cache_ttl of 29. Cache TTL must be at least 30.",
        },
        "v",
        {
            "error": "TypeError",
            "message": 'Unknown response type. Possible types are "text", '
            '"arrayBuffer", "json", and "stream".',
        },
        {
            "error": "TypeError",
            "message": 'Unknown response type. Possible types are "text", '
            '"arrayBuffer", "json", and "stream".',
        },
        {
            "error": "Error",
            "message": "KV GET failed: 400 Invalid cache_ttl of 10. Cache TTL must be at least 30.",
        },
    ],
    "options_wrong_kind": [
        {
            "error": "TypeError",
            "message": "Failed to execute 'list' on 'KvNamespace': parameter 1 is "
            "not of type 'ListOptions'.",
        },
        {
            "error": "TypeError",
            "message": "Failed to execute 'list' on 'KvNamespace': parameter 1 is "
            "not of type 'ListOptions'.",
        },
        None,
        {
            "error": "TypeError",
            "message": "Failed to execute 'put' on 'KvNamespace': parameter 3 is not "
            "of type 'PutOptions'.",
        },
        {"undefined": True},
        {"undefined": True},
        ["k", "k2"],
    ],
    "key_coercion": [
        {"undefined": True},
        {"undefined": True},
        {"undefined": True},
        {"undefined": True},
        "num",
        "nul",
        ["123", "[object Object]", "null", "true"],
        {"map": {"null": "nul"}},
    ],
    "list_default_limit": [1000, False, "azA5OTk=", ["k1000"], True],
    "expiration_exact_60": [
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration of <n+59>. Expiration "
            "times must be at least 60 seconds in the future.",
        },
        {"undefined": True},
        {"undefined": True},
    ],
    "get_with_metadata_cache_ttl": [
        {
            "error": "Error",
            "message": "KV GET failed: 400 Invalid cache_ttl of 5. Cache TTL must be at least 30.",
        },
        {"stream": True},
    ],
    "put_error_keeps_old_value": [
        {
            "error": "Error",
            "message": "KV PUT failed: 400 Invalid expiration_ttl of 5. "
            "Expiration TTL must be at least 60.",
        },
        {
            "error": "Error",
            "message": "KV PUT failed: 413 Metadata length of 2002 exceeds limit of 1024.",
        },
        {
            "error": "TypeError",
            "message": "KV put() accepts only strings, ArrayBuffers, "
            "ArrayBufferViews, and ReadableStreams as values.",
        },
        {"value": "old", "metadata": {"v": 1}, "cacheStatus": None},
    ],
    "bulk_get_order": ["c", "missing", "a", "b"],
    "metadata_json_shapes": [
        {
            "value": "v",
            "metadata": {"big": 1e21, "f": 0.1, "neg": 0, "nested": [{"x": []}], "s": '\u2028é"'},
            "cacheStatus": None,
        },
        {"big": 1e21, "f": 0.1, "neg": 0, "nested": [{"x": []}], "s": '\u2028é"'},
    ],
}
