"""`JsDict`: a dict with attribute access, as D1 rows and results are on Cloudflare."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from miniflare_py.workers import JsDict


def test_jsdict_is_a_dict_with_attribute_access() -> None:
    row = JsDict({"id": 1, "name": "ana"})
    assert isinstance(row, dict)
    assert row.id == 1
    assert row["name"] == "ana"
    assert row == {"id": 1, "name": "ana"}


def test_jsdict_attribute_writes_and_deletes_are_key_writes_and_deletes() -> None:
    row = JsDict()
    row.status = "done"
    assert row == {"status": "done"}
    del row.status
    assert row == {}


def test_jsdict_missing_attribute_raises_attribute_error() -> None:
    row = JsDict(a=1)
    with pytest.raises(AttributeError, match="missing"):
        row.missing  # noqa: B018
    with pytest.raises(AttributeError):
        del row.missing
    assert getattr(row, "missing", "default") == "default"
    assert not hasattr(row, "missing")


def test_jsdict_keys_shadowed_by_dict_methods_stay_reachable_by_index() -> None:
    row = JsDict({"items": 3, "keys": 4})
    assert row["items"] == 3
    assert callable(row.items)


def test_jsdict_to_py_gives_plain_dicts_all_the_way_down() -> None:
    result = JsDict(
        success=True,
        meta=JsDict(changes=1),
        results=[JsDict(id=1, tags=[JsDict(t="x")]), JsDict(id=2)],
    )
    plain = result.to_py()
    assert plain == {
        "success": True,
        "meta": {"changes": 1},
        "results": [{"id": 1, "tags": [{"t": "x"}]}, {"id": 2}],
    }
    assert type(plain) is dict
    assert type(plain["meta"]) is dict
    assert type(plain["results"][0]) is dict
    assert type(plain["results"][0]["tags"][0]) is dict


def test_jsdict_to_py_is_a_copy() -> None:
    row = JsDict(a=1)
    plain = row.to_py()
    plain["a"] = 2
    assert row.a == 1


def test_jsdict_survives_copy_deepcopy_and_pickle() -> None:
    row = JsDict(id=1, inner=JsDict(k="v"))
    for clone in (copy.copy(row), copy.deepcopy(row), pickle.loads(pickle.dumps(row))):
        assert clone == row
        assert isinstance(clone, JsDict)
        assert clone.inner.k == "v"


def test_jsdict_serialises_as_a_json_object() -> None:
    assert json.loads(json.dumps(JsDict(a=JsDict(b=1)))) == {"a": {"b": 1}}
