"""A class of the label that the new data has no row of, where the accepted data before it had so many
that chance cannot explain its absence; and values of an integer label that are no declared class.

A filter or a join upstream that drops a class moves the label's value shares by less than its drift
threshold when there are many classes (one class of ten gone: JSD ~0.05), and the eval split, cut
from the same data, has no row of it either: a model that never predicts the class then ties with the
served one there and is pushed. TFDV has no per-value presence constraint, hence this check; it reads
TFDV's statistics (the label's value counts) and runs where drift does, in the gate and `validate`.
"""
from typing import Dict, List, Optional, Sequence, Set, Tuple

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

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


def classes_to_check(schema: schema_pb2.Schema, label: str, classes: Sequence[str]) -> List[str]:
    """An integer label's declared `classes` where values between them are no class (0-5, 7, 8): the
    schema's int_domain bounds the label's values and cannot list them, as a string label's domain
    does, so a 6 would pass the gate and fail the Trainer. [] where the range holds only classes, or
    the label is text."""
    feature = next((f for f in schema.feature if f.name == label), None)
    if feature is None or feature.type != schema_pb2.INT or not classes or not all(
            c.lstrip("-").isdigit() for c in classes):
        return []
    numbers = sorted(int(c) for c in classes)
    domain = feature.int_domain  # as drafted, the classes' range; a hand-widened one lets more through
    low = domain.min if domain.HasField("min") else None
    high = domain.max if domain.HasField("max") else None
    if low is None or high is None:
        return list(classes)  # unbounded: any other number passes the schema
    inside = {n for n in numbers if low <= n <= high}
    return list(classes) if high - low + 1 > len(inside) else []  # a number in the range is no class


def undeclared(statistics: statistics_pb2.DatasetFeatureStatisticsList, label: str,
               classes: Sequence[str]) -> List[str]:
    """Values of `label` in `statistics` that are none of `classes`, in number order (TFDV's value
    counts: the curated schema marks an integer label categorical)."""
    _, shares = _counted(statistics, label)
    declared = set(classes)
    return sorted((v for v in shares if v not in declared),
                  key=lambda v: (0, int(v), "") if v.lstrip("-").isdigit() else (1, 0, v))
