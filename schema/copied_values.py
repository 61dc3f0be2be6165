"""Whether a column holds the label's own values, told from two columns' statistics alone (the same
count, mean, spread, extremes and median, or the same count of every value): what the gate's
`Copies the label` check (schema/checks.py) compares, since TFDV compares no column with another."""
import math
from typing import List, Optional, Sequence, Tuple

from tensorflow_metadata.proto.v0 import statistics_pb2

from schema import distances

MIN_VALUES = 100  # fewer values: a column of a few codes can match the label's counts by chance


def _values(stats: statistics_pb2.FeatureNameStatistics) -> Optional[tuple]:
    """What identifies a column's values in its statistics; None for two values or fewer, or fewer
    than MIN_VALUES values."""
    common = stats.num_stats.common_stats if stats.HasField("num_stats") else stats.string_stats.common_stats
    if common.num_non_missing < MIN_VALUES:
        return None
    if stats.HasField("num_stats"):
        numbers = stats.num_stats
        quantiles = distances.quantile_histogram(stats)
        if quantiles is None or len({v for b in quantiles.buckets for v in (b.low_value, b.high_value)}) < 3:
            return None
        return common.num_non_missing, numbers.mean, numbers.std_dev, numbers.min, numbers.median, numbers.max
    if stats.HasField("string_stats") and stats.string_stats.unique > 2:
        return (common.num_non_missing,
                tuple(sorted((b.label, b.sample_count) for b in stats.string_stats.rank_histogram.buckets)))
    return None


def _same(values: Optional[tuple], others: Optional[tuple]) -> bool:
    if values is None or others is None or len(values) != len(others):
        return False
    return all(math.isclose(a, b, rel_tol=1e-9) if isinstance(a, float) else a == b
               for a, b in zip(values, others))


def new_copies(statistics: statistics_pb2.DatasetFeatureStatisticsList,
               previous: statistics_pb2.DatasetFeatureStatisticsList,
               labels: Sequence[str]) -> List[Tuple[str, str]]:
    """(column, label) for each column that holds a label's values in `statistics` and did not in `previous`."""
    now = {s.path.step[-1]: _values(s) for s in statistics.datasets[0].features}
    before = {s.path.step[-1]: _values(s) for s in previous.datasets[0].features}
    return [(name, label) for label in labels if now.get(label) for name, values in now.items()
            if name != label and _same(values, now[label]) and not _same(before.get(name), before.get(label))]
