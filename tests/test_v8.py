"""The V8 structured-clone codec (`miniflare_py.v8`): bytes as workerd writes them, a size that
agrees with the bytes, and reading back."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniflare_py.v8 import SMI_MAX, SMI_MIN, DataCloneError, deserialize, serialize
from miniflare_py.v8 import serialized_size as size
from miniflare_py.workers.jsdict import JsDict

# Bytes workerd wrote for these values: a JavaScript Durable Object (Miniflare 4.20260426.0)
# stored the JavaScript value in the comment, and the hex is the `value` column of its `_cf_KV`
# table. The Python value is what the SDK converts to that JavaScript value.
_shared = [1]
_cycle: dict[str, Any] = {}
_cycle["self"] = _cycle
WORKERD = [
    # 1073741823: the largest Smi with pointer compression (31 bits)
    (2**30 - 1, "ff0f49feffffff07"),
    (2**30, "ff0f4e000000000000d041"),  # 1073741824: a double
    (-(2**30), "ff0f49ffffffff07"),
    (-(2**30) - 1, "ff0f4e000040000000d0c1"),
    (3.0, "ff0f4906"),  # a whole number is a Smi
    (-0.0, "ff0f4e0000000000000080"),  # -0 is not
    # {b: 1, 2: "x", a: 2, 1: "y", 1073741824: "big"}: indices first, ascending, as numbers
    (
        {"b": 1, 2: "x", "a": 2, "1": "y", 2**30: "big"},
        "ff0f6f490222017949042201784e000000000000d0412203626967220162490222016149047b05",
    ),
    ([_shared, _shared], "ff0f4102410149022400015e01240002"),  # [s, s]: a back-reference
    (b"\x01\x02\x03", "ff0f42030102035642000300"),  # new Uint8Array([1, 2, 3])
    (["é", "€"], "ff0f41022201e9006302ac20240002"),  # a padding byte aligns the two-byte string
    (datetime.fromtimestamp(1_700_000_000, UTC), "ff0f4400008056febc7842"),
    ({1, "a"}, None),  # a Set (order of a Python set is not fixed: checked by size below)
    (2**64, "ff0f5a2000000000000000000100000000000000"),  # 2n ** 64n
    (-(2**70), "ff0f5a2100000000000000004000000000000000"),
    (_cycle, "ff0f6f220473656c665e007b01"),  # const o = {}; o.self = o
    (["€", "€"], "ff0f41026302ac206302ac20240002"),
    ({"é": "€"}, "ff0f6f2201e96302ac207b01"),
    ([1, 2, "€"], "ff0f4103490249046302ac20240003"),
]


@pytest.mark.parametrize(("value", "expected"), WORKERD)
def test_bytes_are_those_workerd_writes(value: Any, expected: str | None) -> None:
    data = serialize(value)
    if expected is not None:
        assert data.hex() == expected
    assert size(value) == len(data)


def test_the_smi_range_is_31_bits() -> None:
    assert (SMI_MIN, SMI_MAX) == (-(2**30), 2**30 - 1)
    assert serialize(SMI_MAX)[2] == ord("I") and serialize(SMI_MAX + 1)[2] == ord("N")
    assert serialize(SMI_MIN)[2] == ord("I") and serialize(SMI_MIN - 1)[2] == ord("N")
    assert serialize(float(SMI_MAX))[2] == ord("I") and serialize(SMI_MAX + 0.5)[2] == ord("N")


def test_a_number_key_is_named_as_javascript_writes_the_number() -> None:
    # String(2 ** 60) is "1152921504606847000" in JavaScript: the shortest digits that read
    # back as the same double, then zeros (not the double's exact value, 1152921504606846976).
    found = deserialize(serialize({2.0**60: "a", 0.5: "b", 1e21: "c", 1e-7: "d"}))
    assert found == {"1152921504606847000": "a", "0.5": "b", "1e+21": "c", "1e-7": "d"}


def test_a_map_that_javascript_wrote_reads_as_a_dict() -> None:
    # new Map([[1, "a"]]) and new Set([1, "a"]), as workerd wrote them
    assert deserialize(bytes.fromhex("ff0f3b49022201613a02")) == {1: "a"}
    assert deserialize(bytes.fromhex("ff0f2749022201612c02")) == {1, "a"}


def test_reading_back() -> None:
    value = {"list": [1, 2.5, "s", None, True], "bytes": b"\x00", "big": 2**80, "é": "€" * 3}
    got = deserialize(serialize(value))
    assert got == value and isinstance(got, JsDict) and got.list == value["list"]
    assert deserialize(serialize((1, (2,)))) == [1, [2]]  # tuples are Arrays
    assert deserialize(serialize(frozenset({1}))) == {1}
    # dict keys become property keys, as Object.fromEntries makes them
    assert deserialize(serialize({1: "a", None: "b", (1, 2): "c", 1.5: "d"})) == {
        "1": "a",
        "null": "b",
        "1,2": "c",
        "1.5": "d",
    }
    assert deserialize(serialize({1: "first", "1": "last"})) == {"1": "last"}
    offset = datetime(2024, 1, 2, 3, 4, 5, 678_901, tzinfo=timezone(timedelta(hours=2)))
    assert deserialize(serialize(offset)) == offset.replace(microsecond=678_000)
    assert math.isnan(deserialize(serialize(math.nan)))
    assert deserialize(serialize(-0.0)) == 0.0
    shared = [1]
    pair = deserialize(serialize([shared, shared]))
    assert pair == [[1], [1]] and pair[0] is pair[1]
    looped = deserialize(serialize(_cycle))
    assert looped["self"] is looped


def test_what_cannot_be_cloned() -> None:
    for value in (object(), print, {"k": object()}, [datetime.now(UTC).date()]):
        with pytest.raises(DataCloneError, match="could not be cloned"):
            serialize(value)
        with pytest.raises(DataCloneError, match="could not be cloned"):
            size(value)
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(DataCloneError, match="too deeply nested"):
        serialize(deep)
    with pytest.raises(DataCloneError, match="too deeply nested"):
        size(deep)


def test_damaged_bytes_are_a_value_error() -> None:
    for data in (b"\xff\x0f", b"\xff\x0f\x22\x05ab", b"\xff\x0fQ", b"\xff\x0f\x41\x02\x49"):
        with pytest.raises(ValueError):
            deserialize(data)


# -- the size agrees with the bytes, for any value -----------------------------------------------

_keys = st.one_of(
    st.text(max_size=6),
    st.integers(-5, 2**33),
    st.sampled_from(["0", "01", "4294967294", "4294967295", "-1", "1.5", "€", "é"]),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.tuples(st.integers(0, 3), st.none()),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(SMI_MIN - 2, SMI_MIN + 2),
    st.integers(SMI_MAX - 2, SMI_MAX + 2),
    st.integers(-(2**53) - 2, -(2**53) + 2),
    st.floats(),
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=300),
    st.binary(max_size=200),
    st.datetimes(timezones=st.just(UTC)),
)


def _tree(with_sets: bool) -> st.SearchStrategy[Any]:
    def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        shapes = [
            st.lists(inner, max_size=5),
            st.lists(inner, max_size=5).map(tuple),
            st.dictionaries(_keys, inner, max_size=5),
            # the same objects met more than once: back-references
            st.lists(inner, min_size=1, max_size=3).map(lambda items: [items, items[0], items]),
        ]
        if with_sets:
            shapes.append(st.frozensets(st.one_of(st.integers(), st.text(max_size=4)), max_size=4))
        return st.one_of(*shapes)

    return st.recursive(_scalars, containers, max_leaves=40)


_values = _tree(with_sets=True)


@settings(max_examples=600, deadline=None)
@given(_values)
def test_the_size_is_the_length_of_the_bytes(value: Any) -> None:
    assert size(value) == len(serialize(value))


@settings(max_examples=300, deadline=None)
@given(_tree(with_sets=False))  # a set read back may iterate in another order
def test_what_is_read_back_writes_the_same_bytes(value: Any) -> None:
    data = serialize(value)
    assert serialize(deserialize(data)) == data
