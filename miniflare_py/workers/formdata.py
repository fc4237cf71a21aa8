"""`workers.FormData`: the SDK's mutable mapping over JavaScript's FormData."""

from __future__ import annotations

from collections.abc import Generator, MutableMapping
from typing import Any

from .blob import Blob, File
from .jsbody import Blob as JsBlob
from .jsbody import File as JsFile
from .jsbody import FormData as JsFormData

__all__ = ["FormData", "FormDataValue"]

FormDataValue = "str | js.Blob | Blob"


def _to_js(value: Any) -> Any:
    return value.js_object if isinstance(value, Blob) else value


def _to_py(value: Any) -> Any:
    if isinstance(value, JsFile):
        return File(value, value.name)
    if isinstance(value, JsBlob):
        return Blob(value)
    return value


class FormData(MutableMapping[str, Any]):
    """Form fields, as `multidict` and the Fetch API's FormData have them: `form["name"]` is
    the first value, `get_all(name)` every one, `append` adds, `form[name] = v` replaces.

    As in the SDK, `len()` of a FormData is a TypeError (its `keys()` is a generator).
    """

    def __init__(self, form_data: Any = None) -> None:
        if not form_data:
            self._js_form_data = JsFormData()
            return
        if isinstance(form_data, dict):
            self._js_form_data = JsFormData()
            for key, value in form_data.items():
                self._js_form_data.append(key, _to_js(value))
            return
        if isinstance(form_data, JsFormData):
            self._js_form_data = form_data
            return
        raise TypeError("Expected form_data to be a dict or an instance of FormData")

    def __getitem__(self, key: str) -> Any:
        return _to_py(self._js_form_data.get(key))

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, list):
            raise TypeError("Expected single item in arguments to FormData.__setitem__")
        self._js_form_data.set(key, _to_js(value))

    def append(self, key: str, value: Any, filename: str | None = None) -> None:
        self._js_form_data.append(key, _to_js(value), filename)

    def delete(self, key: str) -> None:
        self._js_form_data.delete(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._js_form_data.has(key)

    def values(self) -> Generator[Any, None, None]:  # type: ignore[override]
        for value in self._js_form_data.values():
            yield _to_py(value)

    def keys(self) -> Generator[str, None, None]:  # type: ignore[override]
        yield from self._js_form_data.keys()

    def __iter__(self) -> Generator[str, None, None]:
        yield from self.keys()

    def items(self) -> Generator[tuple[str, Any], None, None]:  # type: ignore[override]
        for key, value in self._js_form_data.entries():
            yield key, _to_py(value)

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def __len__(self) -> int:
        return len(self.keys())  # type: ignore[arg-type]  # a TypeError, as in the SDK

    def get_all(self, key: str) -> list[Any]:
        return [_to_py(v) for v in self._js_form_data.getAll(key)]

    @property
    def js_object(self) -> JsFormData:
        return self._js_form_data

    def __repr__(self) -> str:
        return f"FormData({list(self._js_form_data.entries())!r})"
