"""Which distance each column's drift and skew are measured with, and what moved, in words.

Categorical columns (strings, integer codes) are compared by the share of each value (TFDV's
L-infinity distance); numeric columns by their distribution (TFDV's Jensen-Shannon divergence over
quantile histograms). TFDV's own anomaly text gives the distance only; a person needs what moved:
"fare: median 7.25 -> 72.50, p90 15.00 -> 150.00 (JSD 0.62 > 0.08)".
"""
import re
from typing import Optional, Tuple

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

L_INFINITY, JSD = "L-infinity", "JSD"
COMPARATOR_TYPES = {
    anomalies_pb2.AnomalyInfo.COMPARATOR_L_INFTY_HIGH: L_INFINITY,
    anomalies_pb2.AnomalyInfo.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH: JSD,
}
MAX_DIFFERENCE = re.compile(r"The feature value with maximum difference is: (.*)$")
Stats = statistics_pb2.FeatureNameStatistics


def is_categorical(feature: schema_pb2.Feature) -> bool:
    """Strings, and integers marked as codes (`int_domain { is_categorical: true }`)."""
    return feature.type == schema_pb2.BYTES or (
        feature.HasField("int_domain") and feature.int_domain.is_categorical)


def measure(feature: schema_pb2.Feature) -> str:
    return L_INFINITY if is_categorical(feature) else JSD


def set_threshold(comparator: schema_pb2.FeatureComparator, feature: schema_pb2.Feature,
                  threshold: float) -> None:
    comparator.Clear()
    if is_categorical(feature):
        comparator.infinity_norm.threshold = threshold
    else:
        comparator.jensen_shannon_divergence.threshold = threshold
        comparator.jensen_shannon_divergence.source.type = schema_pb2.HistogramSelection.QUANTILES


def stats_options(schema: schema_pb2.Schema, **kwargs) -> tfdv.StatsOptions:
    """Statistics as the checks compare them: with the schema, integer codes get value shares."""
    return tfdv.StatsOptions(schema=schema, **kwargs)


def threshold_of(comparator: schema_pb2.FeatureComparator) -> Optional[float]:
    for kind in ("infinity_norm", "jensen_shannon_divergence"):
        if comparator.HasField(kind):
            return getattr(comparator, kind).threshold
    return None


def measured(anomalies: anomalies_pb2.Anomalies, name: str) -> Optional[Tuple[float, float]]:
    """(distance, threshold) TFDV measured for feature `name`, the largest if several."""
    found = [(m.value, m.threshold) for info in anomalies.drift_skew_info if info.path.step[-1] == name
             for m in list(info.drift_measurements) + list(info.skew_measurements)]
    return max(found) if found else None


def _number(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 1e6 else f"{value:.4g}"


def _quantile(stats: Stats, share: float) -> Optional[float]:
    histogram = next((h for h in stats.num_stats.histograms
                      if h.type == statistics_pb2.Histogram.QUANTILES), None)
    if histogram is None or not histogram.buckets:
        return None
    index = min(int(share * len(histogram.buckets)), len(histogram.buckets)) - 1
    return histogram.buckets[index].high_value


def _share(stats: Optional[Stats], value: str) -> float:
    if stats is None or not stats.HasField("string_stats"):
        return 0.0
    present = stats.string_stats.common_stats.num_non_missing
    count = next((b.sample_count for b in stats.string_stats.rank_histogram.buckets if b.label == value), 0)
    return count / present if present else 0.0


def what_moved(reason: anomalies_pb2.AnomalyInfo.Reason, before: Optional[Stats], after: Optional[Stats],
               distance: Optional[Tuple[float, float]]) -> str:
    """`reason` (a drift or skew anomaly) in words: the values that moved, then the distance."""
    kind = COMPARATOR_TYPES.get(reason.type)
    scored = f" ({kind} {distance[0]:.2f} > {distance[1]:.2f})" if distance and kind else ""
    if kind == L_INFINITY:
        match = MAX_DIFFERENCE.search(reason.description)
        if match:
            value = match.group(1).strip()
            return (f"{value!r} in {_share(before, value):.1%} -> {_share(after, value):.1%} of rows "
                    f"{scored.strip()}")
    if kind == JSD and before is not None and after is not None and \
            before.HasField("num_stats") and after.HasField("num_stats"):
        parts = [f"median {_number(before.num_stats.median)} -> {_number(after.num_stats.median)}"]
        for share, label in ((0.1, "p10"), (0.9, "p90")):
            low, high = _quantile(before, share), _quantile(after, share)
            if low is not None and high is not None:
                parts.append(f"{label} {_number(low)} -> {_number(high)}")
        return ", ".join(parts) + scored
    return reason.description
