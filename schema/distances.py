"""Which distance each column's drift and skew are measured with, and what moved, in words.

Every column is compared by TFDV's Jensen-Shannon divergence: categorical columns (strings, integer
codes) over the share of each value, numeric columns over quantile histograms. For categorical
columns JSD replaced TFDV's L-infinity (the largest change of one value's share), which missed real
changes in small spans: thresholds are a multiple of the noise between samples of the same data
(`schema/calibration.py`), and JSD weighs every value's change (by the square) where L-infinity
sees the largest one. Measured on palmerpenguins' three nearly even `studyName` values (spans of 137
rows): the most common collapsed into the second scores L-infinity 0.37 under its threshold 0.45,
JSD 0.20 over its 0.09. Schemas with L-infinity comparators still work.

TFDV's own anomaly text gives the distance only; a person needs what moved: "fare: median 7.25 ->
72.50, p90 15.00 -> 150.00 (JSD 0.62 > 0.08)", "payment_type: 'Credit Card' in 33.8% -> 99.5% of
rows (JSD 0.45 > 0.01)".
"""
from typing import Callable, Dict, List, Optional, Set, Tuple

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

L_INFINITY, JSD = "L-infinity", "JSD"
COMPARATOR_TYPES = {
    anomalies_pb2.AnomalyInfo.COMPARATOR_L_INFTY_HIGH: L_INFINITY,
    anomalies_pb2.AnomalyInfo.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH: JSD,
}
Stats = statistics_pb2.FeatureNameStatistics


def is_categorical(feature: schema_pb2.Feature) -> bool:
    """Strings, and integers marked as codes (`int_domain { is_categorical: true }`)."""
    return feature.type == schema_pb2.BYTES or (
        feature.HasField("int_domain") and feature.int_domain.is_categorical)


def measure(comparator: schema_pb2.FeatureComparator) -> str:
    """The distance a comparator measures (L-infinity in schemas calibrated before JSD)."""
    return L_INFINITY if comparator.HasField("infinity_norm") else JSD


def set_threshold(comparator: schema_pb2.FeatureComparator, feature: schema_pb2.Feature,
                  threshold: float) -> None:
    comparator.Clear()
    comparator.jensen_shannon_divergence.threshold = threshold
    if not is_categorical(feature):  # categorical columns: over value shares (rank histograms)
        comparator.jensen_shannon_divergence.source.type = schema_pb2.HistogramSelection.QUANTILES


# Quantile histograms of numeric columns: TFDV's default of 10 buckets turns a tied value (0 miles)
# into a zero-width bucket in some samples and not in others, which TFDV compares as point masses, so
# two samples of the same data differ by as much as a unit change (miles -> km) moves them; with 100,
# ties span many buckets in every sample (docs/benchmarks.md). Thresholds hold for the bucket count
# they were calibrated with, so the schema says it (`calibrate` writes it); a schema calibrated before
# says nothing and keeps TFDV's 10.
DEFAULT_QUANTILE_BUCKETS = 10
BUCKETS_TAG = "quantile_histogram_buckets: "


def quantile_buckets(schema: schema_pb2.Schema) -> int:
    """The quantile histogram buckets `schema`'s thresholds were calibrated for (an annotation tag)."""
    tag = next((t for t in schema.annotation.tag if t.startswith(BUCKETS_TAG)), None)
    if tag is None:
        return DEFAULT_QUANTILE_BUCKETS
    count = tag[len(BUCKETS_TAG):].strip()
    if not count.isdigit() or int(count) < 2:
        raise ValueError(f"the schema's annotation tag {tag!r} needs a whole number of buckets, at least 2: "
                         "give the count the drift thresholds were calibrated for, or delete the tag and run "
                         "`tfxpipe calibrate --write`, which sets it with the thresholds it holds for")
    return int(count)


def set_quantile_buckets(schema: schema_pb2.Schema, buckets: int) -> None:
    kept = [t for t in schema.annotation.tag if not t.startswith(BUCKETS_TAG)]
    del schema.annotation.tag[:]
    schema.annotation.tag.extend(kept + ([] if buckets == DEFAULT_QUANTILE_BUCKETS else [f"{BUCKETS_TAG}{buckets}"]))
    if not schema.annotation.tag and not schema.annotation.comment and not schema.annotation.extra_metadata:
        schema.ClearField("annotation")


def stats_options(schema: schema_pb2.Schema, **kwargs) -> tfdv.StatsOptions:
    """Statistics as the checks compare them: with the schema, integer codes get value shares, and
    numeric columns the quantile histograms its thresholds were calibrated for."""
    kwargs.setdefault("num_quantiles_histogram_buckets", quantile_buckets(schema))
    return tfdv.StatsOptions(schema=schema, **kwargs)


def quantile_histogram(stats: Stats) -> Optional[statistics_pb2.Histogram]:
    """A numeric column's quantile histogram in its statistics, or None."""
    return next((h for h in stats.num_stats.histograms if h.type == statistics_pb2.Histogram.QUANTILES), None)


def uncompared(schema: schema_pb2.Schema, *statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList]
               ) -> Set[str]:
    """Numeric columns whose quantile histograms in `statistics` are not all of the bucket count
    `schema`'s thresholds hold for: statistics made before a recalibration changed it (a previous
    span's, a training run's). Between counts the buckets alone differ (JSD 0.2-0.6 between 10 and
    100 buckets of the same data), and merging 100 buckets into 10 would hold 10 buckets' noise
    against thresholds calibrated for 100, so such a column's drift or skew is left unchecked until
    both sides have the schema's count: from the next span on (`calibrate --write` says so)."""
    wanted, found = quantile_buckets(schema), set()
    for stats in filter(None, statistics):
        for feature in stats.datasets[0].features:
            histogram = quantile_histogram(feature) if feature.HasField("num_stats") else None
            if histogram is not None and histogram.buckets and len(histogram.buckets) != wanted:
                found.add(feature.path.step[-1])
    return found


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


def _numbers(*values: float) -> Tuple[str, ...]:
    """Values compared with each other, written alike: 2005 -> 1998 (whole, as years and codes are,
    no separator), 7.85 -> 78.50, 12,345.00, 1.235e+06."""
    if all(float(v).is_integer() and abs(v) < 10_000 for v in values):
        return tuple(f"{v:.0f}" for v in values)
    return tuple(f"{v:,.2f}" if abs(v) < 1e6 else f"{v:.4g}" for v in values)


def quantile(stats: Stats, share: float) -> Optional[float]:
    """The value below which `share` of a numeric column's values lie, read from its quantile histogram."""
    histogram = quantile_histogram(stats)
    if histogram is None or not histogram.buckets:
        return None
    index = min(int(share * len(histogram.buckets)), len(histogram.buckets)) - 1
    return histogram.buckets[index].high_value


def value_shares(stats: Optional[Stats]) -> Dict[str, float]:
    """Each value's share of the rows with a value, most frequent first (TFDV's rank histogram)."""
    if stats is None or not stats.HasField("string_stats"):
        return {}
    present = stats.string_stats.common_stats.num_non_missing
    buckets = stats.string_stats.rank_histogram.buckets
    return {b.label: b.sample_count / present for b in buckets} if present else {}


NEW_VALUES_SHOWN = 3  # values a drifted categorical column did not have before, named in its finding
GONE_SHARE = 0.01  # a value no row has now is named from this share before (a rarer one comes and goes)


def _some(values: List[str], described: Callable[[str], str]) -> str:
    """The first NEW_VALUES_SHOWN `values` described, and how many in all when there are more."""
    shown = ", ".join(described(v) for v in values[:NEW_VALUES_SHOWN])
    return shown + (f" ({len(values)} in all)" if len(values) > NEW_VALUES_SHOWN else "")


def _distinct(distance: float, threshold: float) -> Tuple[str, str]:
    """A distance and its threshold with the digits that tell them apart (0.0104 > 0.0100, not
    0.01 > 0.01), never fewer than the threshold has in the schema (0.97 > 0.015, not 0.97 > 0.01)."""
    written = f"{threshold:g}"
    for digits in range(max(2, len(written.partition(".")[2]) if "e" not in written else 2), 6):
        shown = f"{distance:.{digits}f}", f"{threshold:.{digits}f}"
        if shown[0] != shown[1]:
            return shown
    return f"{distance:.3g}", f"{threshold:.3g}"  # tiny, or equal to 5 decimals


def what_moved(reason: anomalies_pb2.AnomalyInfo.Reason, before: Optional[Stats], after: Optional[Stats],
               distance: Optional[Tuple[float, float]]) -> str:
    """`reason` (a drift or skew anomaly) in words: the values that moved, then the distance."""
    kind = COMPARATOR_TYPES.get(reason.type)
    scored = f" ({kind} {' > '.join(_distinct(*distance))})" if distance and kind else ""
    shares_before, shares_after = value_shares(before), value_shares(after)
    if kind and (shares_before or shares_after):  # categorical: the value whose share moved most
        # New only when the earlier rank histogram holds every value it had (TFDV keeps the top 1,000)
        complete = bool(shares_before) and len(shares_before) >= before.string_stats.unique
        new = sorted((v for v in shares_after if v not in shares_before) if complete else (),
                     key=lambda v: -shares_after[v])
        named = f"new values {_some(new, lambda v: f'{v!r} {shares_after[v]:.1%}')}; " if new else ""
        # Gone only when the later rank histogram holds every value it has (a class no row has now)
        whole_after = after is not None and bool(shares_after) and len(shares_after) >= after.string_stats.unique
        gone = sorted((v for v in shares_before if v not in shares_after and shares_before[v] >= GONE_SHARE)
                      if whole_after else (),
                      key=lambda v: -shares_before[v])
        named += f"no row has {_some(gone, lambda v: f'{v!r} ({shares_before[v]:.1%} before)')}; " if gone else ""
        value = max((set(shares_before) - set(gone)) | (set(shares_after) - set(new)) or set(shares_before),
                    key=lambda v: abs(shares_after.get(v, 0.0) - shares_before.get(v, 0.0)))
        return (f"{named}{value!r} in {shares_before.get(value, 0.0):.1%} -> "
                f"{shares_after.get(value, 0.0):.1%} of rows {scored.strip()}")
    if kind == JSD and before is not None and after is not None and \
            before.HasField("num_stats") and after.HasField("num_stats"):
        pairs = [("median", before.num_stats.median, after.num_stats.median)]
        for share, label in ((0.1, "p10"), (0.9, "p90")):
            low, high = quantile(before, share), quantile(after, share)
            if low is not None and high is not None:
                pairs.append((label, low, high))
        # the mean too: a column of few values (0/1) can move with its quantiles put (a 0/1 column's
        # mean is its share of ones)
        pairs.append(("mean", before.num_stats.mean, after.num_stats.mean))
        return ", ".join(f"{label} {' -> '.join(_numbers(a, b))}" for label, a, b in pairs) + scored
    return reason.description
