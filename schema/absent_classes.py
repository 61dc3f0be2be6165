"""A class of the label that the new data has no row of, where the accepted data before it had so many
that chance cannot explain its absence.

A filter or a join upstream that drops a class moves the label's value shares by less than its drift
threshold when there are many classes (one class of ten gone: JSD ~0.05), and the eval split, cut
from the same data, has no row of it either: a model that never predicts the class then ties with the
served one there and is pushed. TFDV has no per-value presence constraint, hence this check; it reads
TFDV's statistics (the label's value counts) and runs where drift does, in the gate and `validate`.
"""
from typing import Dict, Optional, Set, Tuple

from tensorflow_metadata.proto.v0 import statistics_pb2

from schema import distances

# A class absent by chance from n rows, which had a share p of the previous span's: (1 - p)^n. Below
# one in a million, the rows were dropped (one class of ten, from 132 rows on).
CHANCE = 1e-6


def _counted(statistics: statistics_pb2.DatasetFeatureStatisticsList, name: str) -> Tuple[int, Dict[str, float]]:
    """(rows with a value, each value's share) of column `name`, from TFDV's rank histogram."""
    stats = next((s for s in statistics.datasets[0].features if s.path.step[-1] == name), None)
    if stats is None or not stats.HasField("string_stats"):  # a numeric label: no classes to count
        return 0, {}
    return int(stats.string_stats.common_stats.num_non_missing), distances.value_shares(stats)


def absent(statistics: statistics_pb2.DatasetFeatureStatisticsList,
           previous: statistics_pb2.DatasetFeatureStatisticsList, label: str,
           declared: Optional[Set[str]] = None) -> Optional[Tuple[Dict[str, float], int]]:
    """The classes of `label` with no row in `statistics` that had too large a share of `previous`'s
    rows to be missed by chance, with those shares, and the rows that lack them; None if none.
    `declared`: the classes the schema's domain lists (a class taken out of it is gone by design)."""
    rows, now = _counted(statistics, label)
    _, before = _counted(previous, label)
    gone = {value: share for value, share in before.items()
            if value not in now and (declared is None or value in declared) and (1 - share) ** rows < CHANCE}
    return (gone, rows) if gone else None
