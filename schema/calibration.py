"""Drift and skew thresholds calibrated on the data itself (`tfxpipe calibrate`, and `init`'s draft).

TFDV measures the distances: Jensen-Shannon divergence between the value shares of categorical
columns (strings and integer codes) and between quantile histograms of numeric columns (`source:
QUANTILES`: equal-width histograms are dominated by outliers); why JSD for both in
`schema/distances.py`. TFDV has no opinion on the threshold, and none transfers between datasets:
the distance between two samples of the *same* data depends on their size, on the number of
distinct values and on ties. So `calibrate` measures that noise, the distance between two random
disjoint samples of the data, for many draws, and each threshold is a multiple of the largest
distance seen. The draws are TFDV slices of one statistics pass (a slice function picks the random
rows), so calibrating costs one pass over the data.

Noise grows as samples shrink, so there are two sizes: spans (drift between a span and the previous
one; halves of the data by default) and serving windows (skew against training and drift between
windows in `monitor`). Thresholds hold for spans and windows at least that large.
"""
import dataclasses
import math
import re
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

import schema as schema_package
from schema import columns
from schema.distances import (DEFAULT_QUANTILE_BUCKETS, is_categorical, quantile_buckets, set_quantile_buckets,
                              set_threshold, stats_options)

PAIRS = 20  # random draws per sample size
# threshold = FACTOR x the largest distance between two samples of the same data, by what JSD compares.
# Quantiles: 2x let 20 fresh draws cross it (the largest of 20 draws is itself noisy, more so in small
# samples, and JSD jumps when a quantile boundary crosses a tie); 3x did not, on any dataset.
# Value shares: between samples of the same data, JSD is a scaled chi-square with (values - 1)
# degrees of freedom, whose tail is long against the largest of 20 draws: 3x raised false alarms on
# penguins' two-valued `sex` (2 in 100 span pairs); by simulation, a fresh draw crosses 5x with
# probability 2.4e-4 for two values, 1.7e-5 for three, less for more.
FACTOR = {"quantiles": 3.0, "shares": 5.0}
# Smallest thresholds: data that never varied in the samples still may a little. Over value shares
# JSD is smaller for the same change (0.005: about an 8-point swing between the two values of a
# balanced two-valued column) than over quantiles.
FLOOR = {"quantiles": 0.02, "shares": 0.005}
# JSD is at most 1: a threshold there is crossed by no distance. Columns whose same-data samples
# already differ that much (names, free text: values that rarely repeat) get no drift or skew check
# rather than a number that reads like one (vega_datasets' car names: noise 0.84, 5x = 4.2).
JSD_MAX = 1.0
PRESENCE_FACTOR = 3.0  # an optional column's share of values may fall by 3x its noise...
PRESENCE_SLACK = 0.1  # ...or by a tenth of it, if more
# Quantile buckets of numeric columns (why more than TFDV's 10: `schema/distances.py`). 100 from span
# samples of 3,000 rows (30 rows a bucket), where they were measured: on the taxi sample's 6,000-row
# samples a miles -> km change on `trip_miles` went from 0.9x to 4x the same-data noise. Smaller
# spans keep 10: a bucket of a row or two is noise.
FINE_QUANTILE_BUCKETS = 100
FINE_BUCKETS_MIN_ROWS = 3000


def buckets_for(span_sample_rows: int) -> int:
    """The quantile buckets thresholds calibrated on span samples of `span_sample_rows` rows use."""
    return FINE_QUANTILE_BUCKETS if span_sample_rows >= FINE_BUCKETS_MIN_ROWS else DEFAULT_QUANTILE_BUCKETS


def _random_pairs(shares: Dict[str, float], pairs: int, seed: int):
    """TFDV slice function: per draw k and size, two disjoint random samples of the rows, each a
    `share` of them (slices `{size}{k}a` and `{size}{k}b`)."""

    def slices(batch: pa.RecordBatch) -> Iterator[Tuple[str, pa.RecordBatch]]:
        rng = np.random.default_rng([seed, batch.num_rows])
        for size, share in shares.items():
            for k in range(pairs):
                draw = rng.random(batch.num_rows)
                for name, mask in (("a", draw < share), ("b", (draw >= share) & (draw < 2 * share))):
                    if mask.any():
                        yield f"{size}{k}{name}", batch.filter(pa.array(mask))

    return slices


def only(statistics: statistics_pb2.DatasetFeatureStatisticsList, names) -> statistics_pb2.DatasetFeatureStatisticsList:
    """`statistics` of the columns `names` only (what a client sends: the model's features)."""
    result = statistics_pb2.DatasetFeatureStatisticsList()
    result.CopyFrom(statistics)
    for dataset in result.datasets:
        kept = [f for f in dataset.features if f.path.step[-1] in names]
        del dataset.features[:]
        dataset.features.extend(kept)
    return result


def _single(dataset: statistics_pb2.DatasetFeatureStatistics) -> statistics_pb2.DatasetFeatureStatisticsList:
    return statistics_pb2.DatasetFeatureStatisticsList(datasets=[dataset])


def distance_per_feature(current: statistics_pb2.DatasetFeatureStatisticsList,
              previous: statistics_pb2.DatasetFeatureStatisticsList,
              schema: schema_pb2.Schema, features: Sequence[str]) -> Dict[str, float]:
    """TFDV's distance between two samples for each of `features`, by the feature's measure."""
    probe = schema_pb2.Schema()
    probe.CopyFrom(schema)
    for feature in probe.feature:
        feature.ClearField("drift_comparator")
        feature.ClearField("skew_comparator")
        if feature.name in features:
            set_threshold(feature.drift_comparator, feature, 1e-12)  # reports every distance
    anomalies = tfdv.validate_statistics(current, probe, previous_statistics=previous)
    found = {name: 0.0 for name in features}
    for info in anomalies.drift_skew_info:
        for measurement in info.drift_measurements:
            found[info.path.step[-1]] = max(found[info.path.step[-1]], measurement.value)
    return found


def _presence(dataset: statistics_pb2.DatasetFeatureStatistics) -> Dict[str, float]:
    shares = {}
    for stats in (s for s in dataset.features if s.WhichOneof("stats")):
        common = getattr(stats, stats.WhichOneof("stats")).common_stats
        shares[stats.path.step[-1]] = common.num_non_missing / max(dataset.num_examples, 1)
    return shares


@dataclasses.dataclass(frozen=True)
class Noise:
    """Largest distance between two random samples of the same data, per feature."""
    over: str  # what JSD compares: "shares" of values (categorical) or "quantiles" (numeric)
    span: float  # between two spans (drift)
    window: float  # between two serving windows (skew)


@dataclasses.dataclass(frozen=True)
class Calibration:
    source: str
    rows: int
    span_rows: int
    window_rows: int
    pairs: int
    noise: Dict[str, Noise]
    presence: Dict[str, float]  # share of rows with a value, per column, in all the data
    presence_noise: Dict[str, float]  # largest difference of that share between two spans
    label: str = ""  # checked for drift only: serving requests carry no label
    quantile_buckets: int = DEFAULT_QUANTILE_BUCKETS  # of the numeric columns' histograms compared
    calendar_parts: Tuple[str, ...] = ()  # checked for skew only (is_calendar_part)

    def drift(self, name: str) -> Optional[float]:
        """The drift threshold of `name`; None: not checked (it would reach JSD_MAX, or it is a
        calendar part)."""
        return None if name in self.calendar_parts else _threshold(self.noise[name].span, self.noise[name].over)

    def skew(self, name: str) -> Optional[float]:
        """The skew threshold of `name`; None: not checked (the label, or it would reach JSD_MAX)."""
        if name == self.label:
            return None
        return _threshold(self.noise[name].window, self.noise[name].over)


def is_calendar_part(feature: schema_pb2.Feature) -> bool:
    """An integer column named as a part of the date (`trip_start_month`, `hour`) whose schema keeps
    it within that part's values (0..12 for a month; not `hours_per_week`, `max_hr`). Spans that are
    periods (a month's trips, a week's orders) move it by design, as years do: a drift check would
    refuse each new period (the taxi sample in time order: the month's JSD 0.49 between its first two
    spans). It gets none; requests are still compared with the data the served model learned from
    (skew)."""
    words = {word.lower() for word in columns.NAME_WORDS.findall(feature.name)}
    largest = max((columns.CALENDAR_PART_LARGEST[w] for w in words if w in columns.CALENDAR_PART_LARGEST),
                  default=None)
    domain = feature.int_domain
    return (largest is not None and feature.type == schema_pb2.INT and feature.HasField("int_domain")
            and domain.HasField("min") and domain.HasField("max") and 0 <= domain.min and domain.max <= largest)


CALENDAR_PART_NOTE = ("a calendar part (named so, within the part's values), which moves from one span to "
                      "the next where spans are periods (a month's data); requests are still compared with "
                      "the training data (skew)")


def _threshold(noise: float, over: str) -> Optional[float]:
    threshold = math.ceil(max(FACTOR[over] * noise, FLOOR[over]) * 1000) / 1000
    return threshold if threshold < JSD_MAX else None


Pair = Tuple[statistics_pb2.DatasetFeatureStatisticsList, statistics_pb2.DatasetFeatureStatisticsList]


@dataclasses.dataclass(frozen=True)
class Samples:
    """Statistics of random pairs of disjoint samples of one dataset, from one TFDV pass."""
    everything: statistics_pb2.DatasetFeatureStatisticsList
    spans: List[Pair]
    windows: List[Pair]
    span_rows: int
    window_rows: int


def span_sample_rows(rows: int, span_rows: int = 0) -> int:
    """The rows the gate compares in a span of `span_rows` rows (by default half the data's `rows`):
    its train split (`TRAIN_SHARE`)."""
    return round(schema_package.TRAIN_SHARE * min(span_rows or rows // 2, rows // 2))


def sample_pairs(statistics_of, schema: schema_pb2.Schema, rows: int, span_rows: int = 0,
                 window_rows: int = schema_package.WINDOW_ROWS, pairs: int = PAIRS, seed: int = 0
                 ) -> Samples:
    """`pairs` random pairs of spans (`span_sample_rows`) and of serving windows from data of `rows`
    rows, with the quantile buckets `schema` says. `statistics_of(options)` computes the data's
    statistics."""
    span_rows = span_sample_rows(rows, span_rows)
    window_rows = min(window_rows, rows // 2)
    shares = {"span": span_rows / rows, "window": window_rows / rows}
    # Sketch-based top-k: TFDV's exact top-k emits a statistics proto per slice and column, which
    # its final merge re-serializes quadratically (80 slices of the taxi sample: 12,000 merge
    # inputs, 200 MB, half the time of `calibrate`); the sketch's 1,024 counters count exactly
    # any column of up to 1,024 values, so every vocabulary `init` drafts (test_calibration.py
    # compares); above that (hashed strings) the counts of rare values are approximate. One
    # equal-width bucket: TFDV builds that histogram for every slice and column, and no check reads it
    # (sklearn's digits, 64 numeric columns: 22 s -> 18 s, the same thresholds).
    options = stats_options(schema, experimental_slice_functions=[_random_pairs(shares, pairs, seed)],
                            use_sketch_based_topk_uniques=True, num_histogram_buckets=1)
    sliced = {d.name: d for d in statistics_of(options).datasets}
    everything = next(d for name, d in sliced.items() if not re.match(r"(span|window)\d+[ab]$", name))
    found = {size: [(_single(sliced[f"{size}{k}a"]), _single(sliced[f"{size}{k}b"]))
                    for k in range(pairs) if f"{size}{k}a" in sliced and f"{size}{k}b" in sliced]
             for size in shares}
    return Samples(_single(everything), found["span"], found["window"], span_rows, window_rows)


def calibrate(statistics_of, schema: schema_pb2.Schema, features: Sequence[str], source: str,
              rows: int = 0, span_rows: int = 0, window_rows: int = schema_package.WINDOW_ROWS,
              pairs: int = PAIRS, seed: int = 0, label: str = "", dates: Sequence[str] = ()) -> Calibration:
    """Measures the noise of each of `features`, and of the `label` column (for drift: a changed
    class balance or target distribution is a change in the data too), in data of `rows` rows; of
    the `dates` among them only how often they are present (a later span is a later period: no
    threshold). `statistics_of(options)` computes the data's statistics with TFDV options (the
    caller knows how to read the data)."""
    columns = [*([label] if label else []), *(f for f in features if f != label)]
    features = [f for f in columns if f not in dates]
    rows = rows or statistics_of(stats_options(schema)).datasets[0].num_examples
    schema = with_quantile_buckets(schema, buckets_for(span_sample_rows(rows, span_rows)))
    samples = sample_pairs(statistics_of, schema, rows, span_rows, window_rows, pairs, seed)
    span_noise = [distance_per_feature(a, b, schema, features) for a, b in samples.spans]
    window_noise = [distance_per_feature(a, b, schema, features) for a, b in samples.windows]
    presence_gaps: Dict[str, float] = {}
    for a, b in samples.spans:
        share_a, share_b = _presence(a.datasets[0]), _presence(b.datasets[0])
        for name, share in share_a.items():
            presence_gaps[name] = max(presence_gaps.get(name, 0.0), abs(share - share_b.get(name, 0.0)))
    by_name = {f.name: f for f in schema.feature}
    noise = {name: Noise("shares" if is_categorical(by_name[name]) else "quantiles",
                         max((d[name] for d in span_noise), default=0.0),
                         max((d[name] for d in window_noise), default=0.0))
             for name in features if not schema_package.is_calendar_year(by_name[name])}  # no threshold
    presence = {name: share for name, share in _presence(samples.everything.datasets[0]).items()
                if name in columns}  # a column the model does not read may be left out
    parts = tuple(name for name in noise if name != label and is_calendar_part(by_name[name]))
    return Calibration(source, rows, samples.span_rows, samples.window_rows, pairs, noise,
                       presence, presence_gaps, label, quantile_buckets(schema), parts)


def with_quantile_buckets(schema: schema_pb2.Schema, buckets: int) -> schema_pb2.Schema:
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    set_quantile_buckets(result, buckets)
    return result


def mark_codes(schema: schema_pb2.Schema, codes: Sequence[str]) -> schema_pb2.Schema:
    """A copy of `schema` in which the integer columns `codes` are categorical (compared by value
    shares; TFDV's statistics then count each code)."""
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    for feature in result.feature:
        if feature.name in codes and feature.type == schema_pb2.INT:
            feature.int_domain.is_categorical = True
    return result


def apply(schema: schema_pb2.Schema, calibration: Calibration) -> schema_pb2.Schema:
    """A copy of `schema` with calibrated drift/skew comparators on the calibrated features (none on
    calendar years), the quantile buckets they hold for, and presence minimums on optional columns."""
    result = with_quantile_buckets(schema, calibration.quantile_buckets)
    for feature in result.feature:
        if schema_package.is_calendar_year(feature):  # moves by design
            feature.ClearField("drift_comparator")
            feature.ClearField("skew_comparator")
        elif feature.name in calibration.noise:
            for field, threshold in (("drift_comparator", calibration.drift(feature.name)),
                                     ("skew_comparator", calibration.skew(feature.name))):
                if threshold is not None:
                    set_threshold(getattr(feature, field), feature, threshold)
                else:
                    feature.ClearField(field)
        if feature.presence.min_fraction < 1.0 and feature.name in calibration.presence:
            share = calibration.presence[feature.name]
            margin = max(PRESENCE_FACTOR * calibration.presence_noise.get(feature.name, 0.0), PRESENCE_SLACK * share)
            feature.presence.min_fraction = max(0.0, math.floor((share - margin) * 100) / 100)
    return result
