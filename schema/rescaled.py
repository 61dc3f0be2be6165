"""A numeric column whose non-zero values moved by a large factor: a unit change (millimetres sent as
inches, dollars as cents) that drift alone misses where most values are zero.

JSD over quantile histograms weighs the share of rows that moved, so a column that is zero in 60 % of
rows (daily rain) moves by at most about 0.4 whatever happens to its other values; its sampling noise
on small spans is about a quarter of that, so its calibrated threshold sits near what millimetres ->
inches measures (Seattle's rain: 0.238 against a threshold of 0.239, the change passed). The mean of the
non-zero values, which TFDV's statistics give exactly (mean, count, zeros), moves by the unit's
factor, and so does their median (read from the quantiles), which one outlier does not move. A
factor of FACTOR either way for both is far past what samples of the same data differ by when each
holds MIN_VALUES such values, and short of what a real unit change moves (x2.54 and more); smaller
factors (miles -> km, x1.6) are drift's to find. Checked where drift or skew is (a column with a
comparator in the schema), for columns of values >= 0 (a ratio of means then says how far they moved).
"""
import math
from typing import Dict, Optional, Tuple

from tensorflow_metadata.proto.v0 import statistics_pb2

from schema import distances

FACTOR = 3.0
MIN_VALUES = 50
PROBLEM = "Non-zero values rescaled"


def _nonzero(stats: Optional[statistics_pb2.FeatureNameStatistics]) -> Optional[Tuple[float, float, float]]:
    """(mean, median, share of zeros) of the non-zero values of a numeric column of values >= 0 with
    at least MIN_VALUES of them; None otherwise. The median is read from the quantile histogram, at
    the share of rows past the zeros and half the rest (a bucket's edge: near enough for a factor)."""
    if stats is None or not stats.HasField("num_stats"):
        return None
    numbers = stats.num_stats
    present = numbers.common_stats.num_non_missing
    nonzero = present - numbers.num_zeros
    if numbers.min < 0 or nonzero < MIN_VALUES or not math.isfinite(numbers.mean):
        return None
    median = distances.quantile(stats, (numbers.num_zeros + nonzero / 2) / present)
    mean = numbers.mean * present / nonzero
    return (mean, median, numbers.num_zeros / present) if median and median > 0 and mean > 0 else None


def _factor(now: float, before: float) -> float:
    """How far `now` is from `before`, as a factor of at least 1 either way."""
    return max(now / before, before / now)


def rescaled(current: statistics_pb2.DatasetFeatureStatisticsList,
             reference: statistics_pb2.DatasetFeatureStatisticsList,
             names) -> Dict[str, Tuple[str, str, str]]:
    """Column -> (detail, expected, actual) for each of `names` whose non-zero values' mean and median
    both moved by FACTOR or more, the same way, from `reference` to `current` (one outlier moves the
    mean alone: a real 1,710-mile taxi trip in a few hundred rows tripled the mean of trip_miles)."""
    now = {s.path.step[-1]: s for s in current.datasets[0].features}
    before = {s.path.step[-1]: s for s in reference.datasets[0].features}
    found = {}
    for name in names:
        was, is_now = _nonzero(before.get(name)), _nonzero(now.get(name))
        if was is None or is_now is None:
            continue
        ratio = is_now[0] / was[0]
        if min(_factor(is_now[0], was[0]), _factor(is_now[1], was[1])) < FACTOR or \
                (ratio > 1) != (is_now[1] > was[1]):
            continue
        found[name] = (
            f"the mean of its non-zero values moved {was[0]:.4g} -> {is_now[0]:.4g} (x{ratio:.3g}), their median "
            f"about {was[1]:.4g} -> {is_now[1]:.4g}, zeros in {was[2]:.0%} -> {is_now[2]:.0%} of rows: most often "
            "a unit change (millimetres as inches is x0.039, dollars as cents x100), which its drift alone does "
            "not show when most values are zero",
            f"non-zero values within x{FACTOR:g} of the earlier data's (mean {was[0]:.4g})",
            f"mean {is_now[0]:.4g}")
    return found
