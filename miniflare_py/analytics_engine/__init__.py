"""Workers Analytics Engine (`[[analytics_engine_datasets]]`): `env.DATASET.writeDataPoint()`
with workerd's limits and errors; data points are kept in memory for tests
(`mf.analytics_engine["DATASET"].data_points`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import export_dir, load_export

if TYPE_CHECKING:
    from .binding import AnalyticsEngineBinding, AnalyticsEngineDatasets
    from .config import AnalyticsEngineConfig, AnalyticsEngineSection
    from .dataset import AnalyticsEngineDataset, DataPoint, DatasetLog

# Each public name and the submodule that holds it, imported on first use (see `lazy`).
_EXPORTS = {
    "AnalyticsEngineBinding": ".binding",
    "AnalyticsEngineConfig": ".config",
    "AnalyticsEngineDataset": ".dataset",
    "AnalyticsEngineDatasets": ".binding",
    "AnalyticsEngineSection": ".config",
    "DataPoint": ".dataset",
    "DatasetLog": ".dataset",
}

__all__ = [
    "AnalyticsEngineBinding",
    "AnalyticsEngineConfig",
    "AnalyticsEngineDataset",
    "AnalyticsEngineDatasets",
    "AnalyticsEngineSection",
    "DataPoint",
    "DatasetLog",
]


def __getattr__(name: str) -> Any:
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return export_dir(__name__, _EXPORTS)
