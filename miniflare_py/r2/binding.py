"""R2 as a binding type: `[[r2_buckets]]` -> `env.BUCKET`, `mf.r2`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..bindings.base import BindingHost, BindingInstance, BindingType
from .config import R2BucketConfig, R2Section, parse_r2

if TYPE_CHECKING:
    # Buckets and their store are imported when a config first opens one.
    from .bucket import R2Bucket

__all__ = ["R2Binding", "R2Buckets"]


class R2Buckets(BindingInstance):
    """The open buckets of one worker, by binding name."""

    def __init__(
        self, section: R2Section, buckets: dict[str, R2Bucket], by_id: dict[str, R2Bucket]
    ):
        self.section = section
        self.buckets = buckets
        self.by_id = by_id  # one open bucket per bucket name, shared by its bindings

    def env_values(self) -> Mapping[str, Any]:
        return self.buckets

    def handle(self) -> dict[str, R2Bucket]:
        return self.buckets

    async def close(self, *, keep_state: bool = False) -> None:
        if not keep_state:
            for bucket in self.by_id.values():
                bucket.close()


class R2Binding(BindingType):
    name = "r2"
    config_keys = ("r2_buckets",)
    runtime_attribute = "r2"
    config_attributes: ClassVar[Mapping[str, Any]] = {"r2_buckets": lambda s: s.buckets}
    exports = (R2BucketConfig,)
    cli_command = "miniflare_py.commands.r2:r2"
    explorer_view = "miniflare_py.explorer.views.r2:R2View"

    def empty(self) -> R2Section:
        return R2Section()

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> R2Section:
        return parse_r2(reader, section, where)

    def binding_names(self, parsed: R2Section) -> list[tuple[str, str]]:
        return [
            (f"{at}.binding", b.binding) for at, b in zip(parsed.paths, parsed.buckets, strict=True)
        ]

    def open(
        self, host: BindingHost, parsed: R2Section, previous: BindingInstance | None
    ) -> R2Buckets:
        # A config reload keeps the buckets whose name did not change (an in-memory bucket
        # would otherwise lose its objects); the others are closed.
        inherited = dict(previous.by_id) if isinstance(previous, R2Buckets) else {}
        by_id: dict[str, R2Bucket] = {}
        buckets: dict[str, R2Bucket] = {}
        for config in parsed.buckets:
            bucket_id = config.persist_id
            if bucket_id not in by_id:
                kept = inherited.pop(bucket_id, None)
                if kept is not None:
                    kept._now = host.clock.now  # the new runtime's clock
                else:
                    from .store import open_bucket  # only a config with buckets imports them

                    kept = open_bucket(host.persist_to, bucket_id, host.clock.now)
                by_id[bucket_id] = kept
            buckets[config.binding] = by_id[bucket_id]
        for leftover in inherited.values():
            leftover.close()
        return R2Buckets(parsed, buckets, by_id)
