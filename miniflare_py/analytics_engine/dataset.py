"""`env.DATASET.writeDataPoint(...)`, its limits and errors, and the data points it records.

A Python worker's argument crosses into JavaScript as the SDK sends it (None -> null, dict ->
object, list -> array, bytes -> Uint8Array) and workerd converts it to its data point struct:
`indexes` and `blobs` are arrays whose items are buffers, strings, or anything else turned into
a string (null items are left empty); `doubles` is an array turned into numbers. Then its limits
apply, in workerd's order: 1 index of at most 96 bytes, 20 blobs of 16000 bytes together, 20
doubles. Every mistake is a `TypeError` with workerd's text, raised by the call itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from ..kv.coerce import check_rpc, js_string, js_to_number, to_utf8
from ..workers.jsbuffer import JsBuffer, as_bytes
from ..workers.jsobject import JsException, js_error, jsnull
from ..workers.rpc import _BindingWrapper

if TYPE_CHECKING:
    from ..clock import Clock

__all__ = [
    "MAX_ARRAY_MEMBERS",
    "MAX_BLOB_BYTES",
    "MAX_INDEXES",
    "MAX_INDEX_BYTES",
    "AnalyticsEngineDataset",
    "DataPoint",
    "DatasetLog",
]

MAX_INDEXES: Final = 1
MAX_INDEX_BYTES: Final = 96
MAX_ARRAY_MEMBERS: Final = 20
MAX_BLOB_BYTES: Final = 16000  # all blobs of one data point together
#: Data points kept per dataset; the oldest go first (a long `pyflare dev` session stays small).
KEEP: Final = 100_000

_PREFIX: Final = "writeDataPoint(): "
_NOT_AN_EVENT: Final = (
    "Failed to execute 'writeDataPoint' on 'AnalyticsEngine': parameter 1 is not of type "
    "'AnalyticsEngineEvent'."
)
_MISSING: Any = object()

Item = str | bytes | None


@dataclass(frozen=True)
class DataPoint:
    """One recorded data point: strings stay `str`, buffers are `bytes`, null items `None`
    (their position is kept, as blob N stays column blobN), doubles are floats."""

    dataset: str
    timestamp: datetime  # when it was written, on the runtime's clock (UTC)
    indexes: tuple[Item, ...] = ()
    blobs: tuple[Item, ...] = ()
    doubles: tuple[float, ...] = ()


class DatasetLog:
    """The data points written to one dataset in this runtime (what tests read)."""

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self._points: deque[DataPoint] = deque(maxlen=KEEP)

    @property
    def data_points(self) -> list[DataPoint]:
        """The data points, oldest first (a copy)."""
        return list(self._points)

    def append(self, point: DataPoint) -> None:
        self._points.append(point)

    def clear(self) -> None:
        self._points.clear()

    def __repr__(self) -> str:
        return f"<DatasetLog {self.dataset}: {len(self._points)} data points>"


def _type_error(message: str) -> JsException:
    return js_error("TypeError", message, TypeError)


def _fields(event: Any) -> Mapping[str, Any]:
    """The properties workerd reads from the argument, as the JavaScript value it arrives as."""
    if event is None or event is jsnull:
        return {}  # undefined and null are an empty data point
    if isinstance(event, Mapping):
        return event
    if isinstance(event, str | int | float):
        raise _type_error(_NOT_AN_EVENT)
    if isinstance(event, list | bytes | memoryview | JsBuffer):
        return {}  # an object, but without these properties
    # Any other Python object reaches JavaScript as a proxy showing its attributes.
    return {n: getattr(event, n) for n in ("indexes", "doubles", "blobs") if hasattr(event, n)}


def _array(fields: Mapping[str, Any], name: str) -> list[Any]:
    value = fields.get(name, _MISSING)
    if value is _MISSING:
        return []
    if not isinstance(value, list):  # null too: only a missing field may be left out
        raise _type_error(
            f"Incorrect type for the '{name}' field on 'AnalyticsEngineEvent': the provided "
            "value is not of type 'Array'."
        )
    return value


def _item(value: Any) -> Item:
    """A blob or index: bytes from a buffer, else a string (`String(value)`); null stays empty."""
    if value is None or value is jsnull:
        return None
    if isinstance(value, str):
        return value
    data = as_bytes(value)  # bytearray never gets here: the SDK refuses it first
    return data if data is not None else js_string(value)


def _size(item: Item) -> int:
    if item is None:
        return 0
    return len(item) if isinstance(item, bytes) else len(to_utf8(item))


def _double(value: Any) -> float:
    return js_to_number(None if value is jsnull else value)


def data_point(dataset: str, timestamp: datetime, event: Any) -> DataPoint:
    """The data point workerd writes for `event`, or its TypeError."""
    check_rpc(event)  # what the SDK refuses to send (tuples, bytearrays) fails first
    fields = _fields(event)
    # Converted in the order workerd declares the fields, then checked in the order it writes.
    indexes = [_item(v) for v in _array(fields, "indexes")]
    doubles = [_double(v) for v in _array(fields, "doubles")]
    blobs = [_item(v) for v in _array(fields, "blobs")]
    if len(indexes) > MAX_INDEXES:
        raise _type_error(f"{_PREFIX}Maximum of {MAX_INDEXES} indexes supported.")
    if indexes and _size(indexes[0]) > MAX_INDEX_BYTES:
        raise _type_error(f"{_PREFIX}Size of indexes[0] exceeds {MAX_INDEX_BYTES} bytes).")
    if len(blobs) > MAX_ARRAY_MEMBERS:
        raise _type_error(f"{_PREFIX}Maximum of {MAX_ARRAY_MEMBERS} blobs supported.")
    if sum(_size(blob) for blob in blobs) > MAX_BLOB_BYTES:
        raise _type_error(f"{_PREFIX}Cumulative size of blobs exceeds {MAX_BLOB_BYTES} bytes).")
    if len(doubles) > MAX_ARRAY_MEMBERS:
        raise _type_error(f"{_PREFIX}Maximum of {MAX_ARRAY_MEMBERS} doubles supported.")
    return DataPoint(dataset, timestamp, tuple(indexes), tuple(blobs), tuple(doubles))


class AnalyticsEngineDataset(_BindingWrapper):
    """`env.DATASET`: `env.DATASET.writeDataPoint({"blobs": [...], "doubles": [...],
    "indexes": [...]})`, called without `await`; returns None."""

    # workerd's class for the binding (`wrangler dev` gives a no-op `LocalAnalyticsEngineDataset`).
    _js_name = "AnalyticsEngine"

    def __init__(self, log: DatasetLog, clock: Clock) -> None:
        super().__init__()
        self._log = log
        self._clock = clock

    def writeDataPoint(self, event: Any = _MISSING, /, **kwargs: Any) -> None:
        """Record one data point (keyword arguments are folded into one object, as the SDK
        does: `writeDataPoint(blobs=[...])`)."""
        if event is _MISSING:
            event = kwargs or None
        timestamp = datetime.fromtimestamp(self._clock.now(), UTC)
        self._log.append(data_point(self._log.dataset, timestamp, event))
