"""Workers Analytics Engine (`[[analytics_engine_datasets]]`): `env.DATASET.writeDataPoint()`
with workerd's limits and errors; data points are kept in memory for tests
(`mf.analytics_engine["DATASET"].data_points`)."""

from .binding import AnalyticsEngineBinding, AnalyticsEngineDatasets
from .config import AnalyticsEngineConfig, AnalyticsEngineSection
from .dataset import AnalyticsEngineDataset, DataPoint, DatasetLog

__all__ = [
    "AnalyticsEngineBinding",
    "AnalyticsEngineConfig",
    "AnalyticsEngineDataset",
    "AnalyticsEngineDatasets",
    "AnalyticsEngineSection",
    "DataPoint",
    "DatasetLog",
]
