"""A numeric column whose non-zero values moved by a large factor: a unit change (millimetres sent as
inches, dollars as cents) that drift alone misses where most values are zero.

JSD over quantile histograms weighs the share of rows that moved, so a column that is zero in 60 % of
rows (daily rain) moves by at most about 0.4 whatever happens to its other values; its sampling noise
on small spans is about a quarter of that, so its calibrated threshold sits near what millimetres ->
inches measures (Seattle's rain: 0.238 against a threshold of 0.239, the change passed). The mean of the
non-zero values, which TFDV's statistics give exactly (mean, count, zeros), moves by the unit's
factor. A factor of FACTOR either way is far past what samples of the same data differ by when each
holds MIN_VALUES such values, and short of what a real unit change moves (x2.54 and more); smaller
factors (miles -> km, x1.6) are drift's to find. Checked where drift or skew is (a column with a
comparator in the schema), for columns of values >= 0 (a ratio of means then says how far they moved).
"""
from typing import Dict, Optional, Tuple

from tensorflow_metadata.proto.v0 import statistics_pb2

FACTOR = 3.0
MIN_VALUES = 30
PROBLEM = "Non-zero values rescaled"


def _nonzero(stats: Optional[statistics_pb2.FeatureNameStatistics]) -> Optional[Tuple[float, float]]:
    """(mean of the non-zero values, share of zeros) of a numeric column of values >= 0 with at least
    MIN_VALUES non-zero ones; None otherwise."""
    if stats is None or not stats.HasField("num_stats"):
        return None
    numbers = stats.num_stats
    present = numbers.common_stats.num_non_missing
    nonzero = present - numbers.num_zeros
    if numbers.min < 0 or nonzero < MIN_VALUES:
        return None
    return numbers.mean * present / nonzero, numbers.num_zeros / present


def rescaled(current: statistics_pb2.DatasetFeatureStatisticsList,
             reference: statistics_pb2.DatasetFeatureStatisticsList,
             names) -> Dict[str, Tuple[str, str, str]]:
    """Column -> (detail, expected, actual) for each of `names` whose non-zero values' mean moved by
    FACTOR or more from `reference` to `current`."""
    now = {s.path.step[-1]: s for s in current.datasets[0].features}
    before = {s.path.step[-1]: s for s in reference.datasets[0].features}
    found = {}
    for name in names:
        was, is_now = _nonzero(before.get(name)), _nonzero(now.get(name))
        if was is None or is_now is None:
            continue
        ratio = is_now[0] / was[0]
        if max(ratio, 1 / ratio) < FACTOR:
            continue
        found[name] = (
            f"the mean of its non-zero values moved {was[0]:.4g} -> {is_now[0]:.4g} (x{ratio:.3g}), zeros in "
            f"{was[1]:.0%} -> {is_now[1]:.0%} of rows: most often a unit change (millimetres as inches is "
            "x0.039, dollars as cents x100), which its drift alone does not show when most values are zero",
            f"non-zero values within x{FACTOR:g} of the earlier data's (mean {was[0]:.4g})",
            f"mean {is_now[0]:.4g}")
    return found
