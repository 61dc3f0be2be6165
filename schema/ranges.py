"""Plausible ranges for numeric columns: the bounds `init` and `calibrate` draft from the data's
observed range, wide enough for new extremes, narrow enough to catch a unit change."""
import math
from typing import Sequence, Tuple

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from schema.distances import is_categorical


def plausible_range(stats: statistics_pb2.FeatureNameStatistics) -> Tuple[float, float]:
    """The observed range widened on each side by its width or its largest value, whichever is more
    (so up to about twice the largest value); never below 0 for a column without negative values.
    Catches unit changes (x10, milliseconds for seconds) with room for new extremes."""
    low, high = stats.num_stats.min, stats.num_stats.max
    width = max(high - low, abs(high), 1.0)
    return (max(0.0, low - width) if low >= 0 else low - width), high + width


def _round_out(value: float, up: bool) -> float:
    """`value` rounded away from the range's inside to 3 significant digits (a readable bound)."""
    if value == 0:
        return 0.0
    step = 10 ** (math.floor(math.log10(abs(value))) - 2)
    return (math.ceil if up else math.floor)(value / step) * step


def with_plausible_ranges(schema: schema_pb2.Schema, statistics: statistics_pb2.DatasetFeatureStatisticsList,
                          columns: Sequence[str]) -> schema_pb2.Schema:
    """A copy of `schema` in which the numeric `columns` without a bound get their plausible range's
    (bounds curated by hand are kept). Not for IDs and timestamps: they outgrow any observed range."""
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    by_name = {s.path.step[-1]: s for s in statistics.datasets[0].features}
    for feature in result.feature:
        stats = by_name.get(feature.name)
        if feature.name not in columns or stats is None or not stats.HasField("num_stats") or \
                is_categorical(feature) or feature.HasField("domain") or feature.HasField("bool_domain"):
            continue
        low, high = (_round_out(value, up) for value, up in zip(plausible_range(stats), (False, True)))
        if feature.type == schema_pb2.INT:
            domain = feature.int_domain
            low, high = math.floor(low), math.ceil(high)
        else:
            domain = feature.float_domain
        if not domain.HasField("min"):
            domain.min = low
        if not domain.HasField("max"):
            domain.max = high
    return result
