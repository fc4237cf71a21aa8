"""The JavaScript object model a Python Worker sees through Pyodide, emulated in Python.

On Cloudflare a worker reaches JavaScript values through Pyodide proxies. pyflare has no
JavaScript, so the JS values a worker can meet (a `Response`, `Headers`, a plain object, an
`ArrayBuffer` ...) are Python classes that behave like those proxies:

- every one subclasses `JsProxy` (what `pyodide.ffi.JsProxy` is here), and has a `constructor`
  whose `name` is the JavaScript class name (`x.constructor.name == "Response"`), which is how the
  SDK and libraries tell JS types apart; Python values have no `constructor`;
- a JS class is a `JsClass`: `js.Response.new(...)`, its static methods (`js.Response.json`),
  `isinstance(x, js.Response)`;
- calls fold Python keyword arguments into one trailing options object, as Pyodide does
  (`js.Response.new(body, status=201)` is `new Response(body, {status: 201})`);
- `jsnull` is JavaScript's `null` (distinct from `None`, which stands for `undefined`);
- a JS error is raised as `JsException` with `.name` and `.message`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from .jsdict import JsDict

__all__ = [
    "JsArray",
    "JsClass",
    "JsException",
    "JsNull",
    "JsObject",
    "JsProxy",
    "js_class",
    "js_error",
    "jsnull",
    "option",
    "options",
]


class JsClass:
    """A JavaScript class (constructor function) as Pyodide shows it: `.name`, `.new(...)`.

    Static methods are set as attributes (`js.Response.json`). `isinstance(x, js.Response)` is
    true for instances of the emulating Python class (and its subclasses).
    """

    def __init__(self, name: str, cls: type | None = None, **statics: Any) -> None:
        self.name = name
        self._cls = cls
        for key, value in statics.items():
            setattr(self, key, value)

    def new(self, *args: Any, **kwargs: Any) -> Any:
        """`new Name(...args)`: keyword arguments become one trailing options object."""
        if self._cls is None:
            raise JsException("TypeError", f"{self.name} is not a constructor")
        maker = getattr(self._cls, "_js_new", None)
        if maker is not None:
            return maker(*args, **kwargs)
        return self._cls(*args, **kwargs)

    def __instancecheck__(self, instance: Any) -> bool:
        return self._cls is not None and isinstance(instance, self._cls)

    @property
    def constructor(self) -> JsClass:
        return _FUNCTION

    def __repr__(self) -> str:
        return f"[class {self.name}]"


_FUNCTION = JsClass("Function")


class JsProxy:
    """Base class of every emulated JavaScript value (`pyodide.ffi.JsProxy` in a worker)."""

    __slots__ = ()

    #: The JavaScript class of instances; set by `js_class`.
    _js_class: ClassVar[JsClass] = JsClass("Object")

    @property
    def constructor(self) -> JsClass:
        """The JavaScript constructor; `x.constructor.name` is the JS class name."""
        return self._js_class

    @property
    def typeof(self) -> str:
        """What JavaScript's `typeof` says: "function" for callables, else "object"."""
        return "function" if callable(self) else "object"

    @property
    def js_id(self) -> int:
        return id(self)

    def to_py(
        self,
        *,
        depth: int = -1,
        default_converter: Callable[[Any, Callable[[Any], Any], Any], Any] | None = None,
    ) -> Any:
        """The value as Python data; a JS value with no Python equivalent comes back as is,
        or as `default_converter(value, convert, cache)` decides."""
        return convert_to_py(self, depth, default_converter)

    def object_keys(self) -> list[str]:
        return [k for k in dir(self) if not k.startswith("_")]

    def object_values(self) -> list[Any]:
        return [getattr(self, k) for k in self.object_keys()]

    def object_entries(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.object_keys()]


def js_class(name: str, **statics: Any) -> Callable[[type], type]:
    """Class decorator: the Python class emulates the JavaScript class `name`."""

    def decorate(cls: type) -> type:
        cls._js_class = JsClass(name, cls, **statics)  # type: ignore[attr-defined]
        return cls

    return decorate


class JsNull:
    """JavaScript's `null` (`pyodide.ffi.jsnull`): falsy, and not `None` (`undefined`)."""

    _instance: ClassVar[JsNull | None] = None

    def __new__(cls) -> JsNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "jsnull"

    @property
    def typeof(self) -> str:
        return "object"


jsnull = JsNull()


class JsException(Exception):
    """A JavaScript error raised into Python: `.name` ("TypeError", ...) and `.message`."""

    def __init__(self, name: str = "Error", message: str = "") -> None:
        if message == "" and name not in _ERROR_NAMES:
            # JsException("some text"): a message with the generic name.
            name, message = "Error", name
        super().__init__(message or name)
        self.name = name
        self.message = message

    def __str__(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name

    @property
    def js_error(self) -> JsObject:
        return JsObject(name=self.name, message=self.message)


_ERROR_NAMES = frozenset(
    {"Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "AbortError"}
)
_ERROR_CLASSES: dict[tuple[str, type[Exception] | None], type[JsException]] = {}


def js_error(name: str, message: str, python: type[Exception] | None = None) -> JsException:
    """A `JsException` named `name`; also an instance of `python` (e.g. `ValueError` for a
    RangeError) so code written for either the edge or plain Python catches it."""
    if python is None:
        return JsException(name, message)
    key = (name, python)
    cls = _ERROR_CLASSES.get(key)
    if cls is None:
        cls = type(f"Js{name}", (JsException, python), {})
        _ERROR_CLASSES[key] = cls
    return cls(name, message)


@js_class("Object")
class JsObject(JsDict, JsProxy):
    """A plain JavaScript object: keys read as attributes or items, `to_py()` gives a dict."""

    __slots__ = ()

    def to_py(
        self,
        *,
        depth: int = -1,
        default_converter: Callable[[Any, Callable[[Any], Any], Any], Any] | None = None,
    ) -> Any:
        """A plain dict (values converted as Pyodide's `to_py` does)."""
        return convert_to_py(self, depth, default_converter)

    def object_keys(self) -> list[str]:
        return list(self.keys())

    def object_values(self) -> list[Any]:
        return list(self.values())

    def object_entries(self) -> list[tuple[str, Any]]:
        return list(self.items())

    def as_object_map(self) -> JsObject:
        return self

    def __repr__(self) -> str:
        return f"[object Object] {dict.__repr__(self)}"


@js_class("Array")
class JsArray(list, JsProxy):  # type: ignore[type-arg]
    """A JavaScript array: a `list` with `length`, `push`, `to_py()`."""

    __slots__ = ()

    @property
    def length(self) -> int:
        return len(self)

    def push(self, *items: Any) -> int:
        self.extend(items)
        return len(self)

    def includes(self, item: Any) -> bool:
        return item in self

    def join(self, separator: str = ",") -> str:
        return separator.join("" if v is None or v is jsnull else str(v) for v in self)


def convert_to_py(
    value: Any,
    depth: int = -1,
    default_converter: Callable[[Any, Callable[[Any], Any], Any], Any] | None = None,
) -> Any:
    """Pyodide's `to_py`: JS objects become dicts, arrays lists, buffers memoryviews."""
    return _ToPy(default_converter).convert(value, depth)


class _ToPy:
    """One `to_py` call (a class, not a self-calling closure, so no reference cycle is left)."""

    __slots__ = ("cache", "default")

    def __init__(self, default: Callable[[Any, Callable[[Any], Any], Any], Any] | None) -> None:
        self.default = default
        self.cache: dict[int, Any] = {}

    def convert(self, value: Any, level: int) -> Any:
        if level == 0:
            return value
        if isinstance(value, JsObject):
            out: dict[Any, Any] = {}
            self.cache[id(value)] = out
            for key, item in value.items():
                out[key] = self.convert(item, level - 1)
            return out
        if isinstance(value, JsArray):
            return [self.convert(item, level - 1) for item in value]
        to_py = getattr(value, "_to_py", None)
        if to_py is not None:
            return to_py()
        if isinstance(value, JsProxy) and self.default is not None:
            return self.default(value, lambda x: self.convert(x, level - 1), self.cache)
        return value


def option(init: Any, kwargs: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """Read option `name` of a JS call: keyword arguments first, then the trailing options
    object (a dict, a JS object, or any object read by attribute, as JS reads an init)."""
    if name in kwargs:
        return kwargs[name]
    if init is None or init is jsnull:
        return default
    if isinstance(init, Mapping):
        return init.get(name, default)
    return getattr(init, name, default)


class _AttributeOptions:
    """Options read from an object's attributes (JS reads an init object by property)."""

    __slots__ = ("_init", "_kwargs")

    def __init__(self, init: Any, kwargs: Mapping[str, Any]) -> None:
        self._init = init
        self._kwargs = kwargs

    def get(self, name: str, default: Any = None) -> Any:
        if name in self._kwargs:
            return self._kwargs[name]
        return getattr(self._init, name, default)


def options(init: Any, kwargs: Mapping[str, Any]) -> Mapping[str, Any] | _AttributeOptions:
    """All the options of a JS call at once (see `option`), read with `.get(name)`."""
    if init is None or init is jsnull:
        return kwargs
    if isinstance(init, Mapping):
        return {**init, **kwargs} if kwargs else init
    return _AttributeOptions(init, kwargs)


def to_entries(value: Any) -> Iterable[tuple[Any, Any]]:
    """Entries of a mapping, a JS object, or an iterable of pairs."""
    if isinstance(value, Mapping):
        return value.items()
    pairs: Iterable[tuple[Any, Any]] = value
    return pairs
