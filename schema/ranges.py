"""Plausible ranges for numeric columns: the bounds `init` and `calibrate` draft from the data's
observed range, wide enough for new extremes, narrow enough to catch a unit change; and the values
`score` and `predict` send outside them (a model extrapolates there: said, not refused)."""
import math
from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2


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
    (bounds curated by hand are kept; integer codes have both). Not for IDs and timestamps: they
    outgrow any observed range."""
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    by_name = {s.path.step[-1]: s for s in statistics.datasets[0].features}
    for feature in result.feature:
        stats = by_name.get(feature.name)
        if feature.name not in columns or stats is None or not stats.HasField("num_stats") or \
                feature.HasField("domain") or feature.HasField("bool_domain") or \
                not math.isfinite(stats.num_stats.max - stats.num_stats.min):  # no bound from `Inf` cells
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


def domain_bounds(feature: schema_pb2.Feature) -> Optional[Tuple[float, float]]:
    """The [min, max] of `feature`'s float or int domain (codes too), -inf/inf for an open side;
    None when it declares neither."""
    domain = feature.float_domain if feature.HasField("float_domain") else \
        feature.int_domain if feature.HasField("int_domain") else None
    if domain is None or not (domain.HasField("min") or domain.HasField("max")):
        return None
    return (domain.min if domain.HasField("min") else -math.inf, domain.max if domain.HasField("max") else math.inf)


def declared_ranges(schema: schema_pb2.Schema, numbers: Iterable[str]) -> Dict[str, Tuple[float, float]]:
    """(min, max) of each of the columns declared `numbers` that `schema` bounds (-inf/inf for an
    open side). Not integer codes: a code past them is an unknown category, not another unit (the
    declaration tells them apart: numbers of few values are `is_categorical` in the schema too)."""
    wanted = set(numbers)
    found = {f.name: domain_bounds(f) for f in schema.feature if f.name in wanted}
    return {name: bounds for name, bounds in found.items() if bounds}


def plain(value: float) -> str:
    """A number as a person reads it: whole numbers in full (7355420, not 7.35542e+06), others in
    6 significant digits."""
    return str(int(value)) if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15 \
        else f"{value:g}"


def side_of(cell: str, bounds: Tuple[float, float]) -> int:
    """-1 when a CSV cell's number lies below `bounds`, 1 above, 0 inside or not a number (text is a
    type problem, told elsewhere; NaN is no value). Compared as the pipeline reads it, in float32,
    as the schema holds its bounds: a cell written 0.9 is at a bound of 0.9, not past it."""
    try:
        value = float(cell)
    except ValueError:
        return 0
    if math.isnan(value) or bounds[0] <= value <= bounds[1]:
        return 0
    with np.errstate(over="ignore"):  # past float32's largest: infinite, as the reader holds it
        value = float(np.float32(value))
    return -1 if value < bounds[0] else 1 if value > bounds[1] else 0


def is_outside(cell: str, bounds: Tuple[float, float]) -> bool:
    """Whether a CSV cell is a number outside `bounds` (`side_of`)."""
    return side_of(cell, bounds) != 0


def outside_counts(rows: Iterable[Mapping[str, str]], bounds: Mapping[str, Tuple[float, float]],
                   missing_values: Sequence[str] = ("",)) -> Dict[str, int]:
    """Per bounded column, how many of `rows` (dicts of cells) hold a number outside its range
    (a missing-value token, even a number such as -999, is no value)."""
    counts = {name: 0 for name in bounds}
    for row in rows:
        for name, limits in bounds.items():
            cell = row.get(name)
            if cell and cell not in missing_values and is_outside(cell, limits):
                counts[name] += 1
    return {name: n for name, n in counts.items() if n}


def outside_warning(counts: Mapping[str, int], rows: int, bounds: Mapping[str, Tuple[float, float]],
                    path: str, has_label: bool, dataset_flag: str = "") -> str:
    """The warning `score` and `predict` print when values of `path` fall outside the schema's
    ranges, with the `validate` command that checks the file (as training data if it has the label,
    else as requests; `dataset_flag`: its `--dataset` option)."""
    told = ", ".join(f"{name} in {n:,} row(s) (range [{plain(bounds[name][0])}, {plain(bounds[name][1])}])"
                     for name, n in sorted(counts.items()))
    return (f"warning: values outside the schema's ranges: {told} of {rows:,}; the model never saw such "
            f"values (another unit?), its answers there are guesses. "
            f"`{validate_command(path, has_label, dataset_flag)}` checks the file against the schema.")


def validate_command(path: str, has_label: bool, dataset_flag: str = "") -> str:
    """The `validate` command that checks `path`: as training data if it has the label, else as
    requests; `dataset_flag`: its `--dataset` option."""
    return f"tfxpipe validate {path}{dataset_flag}" + ("" if has_label else " --skew-against TRAINING_DATA")
