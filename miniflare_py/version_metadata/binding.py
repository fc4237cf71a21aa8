"""`[version_metadata]` as a binding type: the config table, and the object put in `env`.

On Cloudflare the binding is a plain JSON value (`{id, tag, timestamp}`), not a binding class:
the SDK leaves it unwrapped, so a worker reads `env.VERSION.id` from a plain JavaScript object.
pyflare gives the same kind of object (`workers` `JsObject`: attribute and key access).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..bindings.base import BindingHost, BindingInstance, BindingType

if TYPE_CHECKING:
    from ..config_base import ConfigReader
    from ..workers.jsobject import JsObject

__all__ = ["VersionMetadataBinding", "VersionMetadataConfig", "VersionMetadataInstance"]

_KEY = "version_metadata"


@dataclass(frozen=True)
class VersionMetadataConfig:
    binding: str
    #: Where it was written (`version_metadata`, `env.dev.version_metadata`).
    path: str = _KEY


def iso_timestamp(seconds: float) -> str:
    """JavaScript's `Date.prototype.toISOString()`: `2026-07-29T10:20:30.123Z`."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_version(now: float) -> JsObject:
    """The metadata of a version `wrangler dev` makes up locally: a random UUID for `id`, an
    empty `tag`, and the start time as `timestamp`."""
    from ..workers.jsobject import JsObject  # the `workers` layer, only when a config asks

    return JsObject(id=str(uuid.uuid4()), tag="", timestamp=iso_timestamp(now))


class VersionMetadataInstance(BindingInstance):
    """The version of one runtime (None when the config has no `[version_metadata]`)."""

    def __init__(self, binding: str | None, metadata: JsObject | None) -> None:
        self.binding = binding
        self.metadata = metadata

    def env_values(self) -> Mapping[str, Any]:
        if self.binding is None:
            return {}
        return {self.binding: self.metadata}

    def handle(self) -> JsObject | None:
        return self.metadata


class VersionMetadataBinding(BindingType):
    name = "version_metadata"
    config_keys = (_KEY,)
    runtime_attribute = "version_metadata"

    def empty(self) -> VersionMetadataConfig | None:
        return None

    def parse(
        self, reader: ConfigReader, section: Mapping[str, Any], where: str
    ) -> VersionMetadataConfig:
        at = reader.join(where, _KEY)
        table = reader.table(section[_KEY], at)
        reader.check_keys(table, at, {"binding"})
        return VersionMetadataConfig(reader.required_string(table, "binding", at), at)

    def binding_names(self, parsed: VersionMetadataConfig | None) -> list[tuple[str, str]]:
        return [] if parsed is None else [(f"{parsed.path}.binding", parsed.binding)]

    def open(
        self,
        host: BindingHost,
        parsed: VersionMetadataConfig | None,
        previous: BindingInstance | None,
    ) -> VersionMetadataInstance:
        # A new runtime is a new version, as each reload of `wrangler dev` is: a config reload
        # gets a new id and timestamp; within one runtime they never change.
        if parsed is None:
            return VersionMetadataInstance(None, None)
        return VersionMetadataInstance(parsed.binding, new_version(host.clock.now()))
