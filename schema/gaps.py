"""Missing values in the rows `score` and `predict` send, beyond the share of a feature the schema
requires (`presence.min_fraction`, which the gate holds training data to). The model answers such
rows anyway, filling each gap in (a numeric feature's mean, a category's missing id), so its answers
there rest on the other features alone: said, not refused, as values outside the schema's ranges
are (`schema/ranges.py`). The usual cause is an export that lost a column's values.
"""
import math
from typing import Dict, Iterable, Mapping, Optional, Sequence

from tensorflow_metadata.proto.v0 import schema_pb2

from schema import ranges

CHANCE = 3


def required_shares(schema: schema_pb2.Schema, features: Iterable[str]) -> Dict[str, float]:
    """The share of rows with a value that `schema` requires of each of `features` (those it
    requires none of are left out)."""
    wanted = set(features)
    return {f.name: f.presence.min_fraction for f in schema.feature
            if f.name in wanted and f.HasField("presence") and f.presence.min_fraction > 0}


def missing_counts(rows: Iterable[Mapping[str, str]], features: Sequence[str],
                   missing_values: Sequence[str] = ("",)) -> Dict[str, int]:
    """Per feature, how many of `rows` (dicts of cells) have no value for it (an absent column,
    an empty cell or a missing-value token)."""
    tokens = set(missing_values) | {""}
    counts = {name: 0 for name in features}
    for row in rows:
        for name in features:
            if row.get(name, "") in tokens:
                counts[name] += 1
    return {name: n for name, n in counts.items() if n}


def short_of_required(counts: Mapping[str, int], rows: int, required: Mapping[str, float]) -> Dict[str, int]:
    """The features of `counts` missing in more of `rows` than `required` allows, beyond chance: a
    few rows sent may all lack a feature that one row in ten lacks (CHANCE standard deviations of
    the binomial count); one required in every row allows no gap."""
    def allowed(share: float) -> float:
        return rows * (1 - share) + CHANCE * math.sqrt(rows * share * (1 - share))
    return {name: n for name, n in counts.items() if name in required and n > allowed(required[name])}


def warning_for(schema: schema_pb2.Schema, counts: Mapping[str, int], rows: int, path: str,
                has_label: bool, dataset_flag: str = "") -> Optional[str]:
    """The warning `score` and `predict` print for the features of `counts` (rows without a value,
    of `rows` sent) that are short of what `schema` requires, or None."""
    required = required_shares(schema, counts)
    short = short_of_required(counts, rows, required)
    return missing_warning(short, rows, required, path, has_label, dataset_flag) if short else None


def missing_warning(short: Mapping[str, int], rows: int, required: Mapping[str, float], path: str,
                    has_label: bool, dataset_flag: str = "") -> str:
    """The warning for the features `short_of_required` found."""
    told = ", ".join(f"{name} has none in {n:,} (the schema requires one in "
                     f"{'every row' if required[name] >= 1 else format(required[name], '.1%') + ' of rows'})"
                     for name, n in sorted(short.items()))
    return (f"warning: values missing, among {rows:,} rows: {told}; the model fills them in, so its answers "
            f"there rest on the other features alone. "
            f"`{ranges.validate_command(path, has_label, dataset_flag)}` checks the file against the schema.")
