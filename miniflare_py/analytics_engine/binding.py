"""Analytics Engine as a binding type: `[[analytics_engine_datasets]]` -> `env.DATASET`,
`mf.analytics_engine`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..bindings.base import BindingHost, BindingInstance, BindingType
from .config import AnalyticsEngineSection, parse_analytics_engine

if TYPE_CHECKING:
    # The datasets are imported when a config first names one.
    from .dataset import AnalyticsEngineDataset, DatasetLog

__all__ = ["AnalyticsEngineBinding", "AnalyticsEngineDatasets"]


class AnalyticsEngineDatasets(BindingInstance):
    """The dataset bindings of one worker, and the data points written to each dataset."""

    def __init__(
        self, bindings: dict[str, AnalyticsEngineDataset], logs: dict[str, DatasetLog]
    ) -> None:
        self.bindings = bindings
        #: By binding name; two bindings naming one dataset share one log, as they write to
        #: one table on Cloudflare.
        self.logs = logs

    def env_values(self) -> Mapping[str, Any]:
        return self.bindings

    def handle(self) -> dict[str, DatasetLog]:
        """`mf.analytics_engine["DATASET"].data_points`, by binding name."""
        return dict(self.logs)


class AnalyticsEngineBinding(BindingType):
    name = "analytics_engine"
    config_keys = ("analytics_engine_datasets",)
    runtime_attribute = "analytics_engine"

    def empty(self) -> AnalyticsEngineSection:
        return AnalyticsEngineSection()

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> AnalyticsEngineSection:
        return parse_analytics_engine(reader, section, where)

    def binding_names(self, parsed: AnalyticsEngineSection) -> list[tuple[str, str]]:
        return [
            (f"{at}.binding", ds.binding)
            for at, ds in zip(parsed.paths, parsed.datasets, strict=True)
        ]

    def open(
        self, host: BindingHost, parsed: AnalyticsEngineSection, previous: BindingInstance | None
    ) -> AnalyticsEngineDatasets:
        # In memory only; a config reload keeps the data points of datasets it still names.
        inherited: dict[str, DatasetLog] = {}
        if isinstance(previous, AnalyticsEngineDatasets):
            inherited = {log.dataset: log for log in previous.logs.values()}
        logs: dict[str, DatasetLog] = {}
        bindings: dict[str, AnalyticsEngineDataset] = {}
        for ds in parsed.datasets:
            from .dataset import AnalyticsEngineDataset, DatasetLog

            log = inherited.get(ds.dataset) or DatasetLog(ds.dataset)
            inherited[ds.dataset] = log
            logs[ds.binding] = log
            bindings[ds.binding] = AnalyticsEngineDataset(log, host.clock)
        return AnalyticsEngineDatasets(bindings, logs)
