"""What a finding says in words: the schema's expectation of a column, the data's actual state, and
the offending values, as a person reads them (TFDV's own descriptions name proto fields and types
such as BYTES and STRING, which read as a mismatch)."""
import re
from typing import Collection, List, Optional, Sequence, Tuple

import numpy as np
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from schema import distances, foreign_files, ranges
from schema.cell_counts import is_number

MAX_EXAMPLES = 5
NUMBER_TYPES = (schema_pb2.INT, schema_pb2.FLOAT)


def _as_written(value: float) -> str:
    """A float32 of the schema as written there (49.6, not 49.599998474121094)."""
    return np.format_float_positional(np.float32(value), trim="-")


def range_text(feature: schema_pb2.Feature) -> Optional[str]:
    """A numeric feature's range as schema.pbtxt writes it (`[0, 29.7]`, `[-inf, 9]`), every digit
    kept; None without one."""
    for name, shown in (("int_domain", str), ("float_domain", _as_written)):
        domain = getattr(feature, name)
        if feature.HasField(name) and (domain.HasField("min") or domain.HasField("max")):
            low = shown(domain.min) if domain.HasField("min") else "-inf"
            high = shown(domain.max) if domain.HasField("max") else "inf"
            return f"[{low}, {high}]"
    return None


_SCHEMA_TYPES = {schema_pb2.BYTES: "text", schema_pb2.INT: "integers", schema_pb2.FLOAT: "numbers"}
_DATA_TYPES = {statistics_pb2.FeatureNameStatistics.STRING: "text",
               statistics_pb2.FeatureNameStatistics.BYTES: "text",
               statistics_pb2.FeatureNameStatistics.INT: "integers",
               statistics_pb2.FeatureNameStatistics.FLOAT: "numbers"}


def expected(feature: Optional[schema_pb2.Feature], schema: schema_pb2.Schema) -> str:
    if feature is None:
        return "no such column in the schema"
    parts = [_SCHEMA_TYPES.get(feature.type, "no type")]
    if feature.presence.min_fraction >= 1.0:
        parts.append("present in every row")
    elif feature.presence.min_fraction > 0:
        parts.append(f"present in at least {feature.presence.min_fraction:.0%} of rows")
    bounds = range_text(feature)
    if bounds:
        parts.append(f"values in {bounds}")
    if feature.domain:
        size = next((len(d.value) for d in schema.string_domain if d.name == feature.domain), 0)
        constraints = feature.distribution_constraints
        mass = constraints.min_domain_mass if feature.HasField("distribution_constraints") else 1.0
        parts.append(f"one of {size} known values" + (f" in at least {mass:.0%} of rows" if mass < 1 else ""))
    if feature.HasField("unique_constraints") and feature.unique_constraints.min > 1:
        parts.append(f"at least {feature.unique_constraints.min} distinct values")
    for comparator, against in ((feature.drift_comparator, "earlier data"),
                                (feature.skew_comparator, "training")):
        threshold = distances.threshold_of(comparator)
        if threshold is not None:
            parts.append(f"{distances.measure(comparator)} vs {against} <= {threshold:g}")
    return "; ".join(parts)


def actual(stats: Optional[statistics_pb2.FeatureNameStatistics], rows: int) -> Tuple[str, Tuple[str, ...]]:
    """Plain description of a column's statistics, and its most frequent values (strings)."""
    if stats is None:
        return "no value in any row", ()
    kind = stats.WhichOneof("stats")
    common = getattr(stats, kind).common_stats
    present = common.num_non_missing / rows if rows else 0.0
    parts = [_DATA_TYPES.get(stats.type, "other"), f"present in {present:.1%} of rows"]
    values: Tuple[str, ...] = ()
    if kind == "num_stats":
        numbers = stats.num_stats
        parts.append(f"min {ranges.plain(numbers.min)}, max {ranges.plain(numbers.max)}, mean {numbers.mean:g}")
    elif kind == "string_stats":
        parts.append(f"{stats.string_stats.unique} distinct values")
        values = tuple(b.label for b in stats.string_stats.rank_histogram.buckets)
    return "; ".join(parts), values


def domain_values(schema: schema_pb2.Schema, feature: schema_pb2.Feature) -> List[str]:
    """The string values `schema` accepts for `feature` (its own domain or one named at the schema's
    top level); none without a domain."""
    if feature.HasField("string_domain"):
        return list(feature.string_domain.value)
    return next((list(d.value) for d in schema.string_domain if d.name == feature.domain), [])


def known_values(feature: schema_pb2.Feature, schema: schema_pb2.Schema) -> Optional[set]:
    """The values a string column's domain lists, or None without a domain."""
    has_domain = feature.HasField("string_domain") or feature.domain
    return set(domain_values(schema, feature)) if has_domain else None


def offending(feature: Optional[schema_pb2.Feature], schema: schema_pb2.Schema,
               stats: Optional[statistics_pb2.FeatureNameStatistics], values: Sequence[str],
               out_of_range: bool = False) -> Tuple[str, ...]:
    if feature is None or stats is None:
        return tuple(values[:MAX_EXAMPLES])
    if feature.type in NUMBER_TYPES and stats.type == statistics_pb2.FeatureNameStatistics.STRING:
        return tuple(v for v in values if not is_number(v, feature.type))[:MAX_EXAMPLES]
    known = known_values(feature, schema)
    if known is not None:
        return tuple(v for v in values if v not in known)[:MAX_EXAMPLES]
    if stats.HasField("num_stats") and (feature.HasField("float_domain") or feature.HasField("int_domain")):
        return (f"min {ranges.plain(stats.num_stats.min)}", f"max {ranges.plain(stats.num_stats.max)}")
    if feature.int_domain.is_categorical and out_of_range:  # codes, counted as values: those past the range
        bounds = ranges.domain_bounds(feature)
        return tuple(v for v in values if bounds and ranges.is_outside(v, bounds))[:MAX_EXAMPLES]
    return tuple(values[:MAX_EXAMPLES])


# TFDV lists every value missing from the schema ("A (<1%), B'S (~5%)."), escaped as C strings: a
# column of names lists hundreds. The first MAX_LISTED are kept, with how many more and the share of
# rows they hold, against the share the schema tolerates: the number the verdict turns on.
MAX_LISTED = 10
_LISTED = re.compile(r"(.*?) \((<1|~?\d+)%\)(?:, |\.?\s*$)")


def unlisted(description: str, feature: Optional[schema_pb2.Feature], schema: schema_pb2.Schema,
              stats: Optional[statistics_pb2.FeatureNameStatistics]) -> str:
    head, _, listed = description.partition(": ")
    values = [m.group(1).replace("\\'", "'").replace('\\"', '"') for m in _LISTED.finditer(listed)]
    if not values or feature is None or stats is None or not stats.HasField("string_stats"):
        return description
    known = known_values(feature, schema) or set()
    histogram = stats.string_stats.rank_histogram.buckets
    present = stats.string_stats.common_stats.num_non_missing or 1
    unlisted = sum(b.sample_count for b in histogram if b.label not in known) / present
    whole = len(histogram) >= stats.string_stats.unique  # TFDV keeps the commonest values only
    mass = feature.distribution_constraints.min_domain_mass if feature.HasField("distribution_constraints") else 1.0
    shown = ", ".join(values[:MAX_LISTED]) + (f", and {len(values) - MAX_LISTED} more" if len(values) > MAX_LISTED else "")
    near = [(value, listed) for value in values[:MAX_LISTED] for listed in [written_for(value, known)] if listed]
    return (f"{head}: {len(values)} value(s), in {'' if whole else 'at least '}{unlisted:.1%} of the rows "
            f"holding a value (the schema tolerates {1 - mass:.0%}): {shown}." + (
                " Written differently from values it lists: " + ", ".join(f"'{v}' for '{k}'" for v, k in near)
                + ": to a model, categories it never saw; correct the data rather than accept them." if near else ""))


def loose_key(text: str) -> str:
    """`text` without case, spaces or punctuation, in any script: names and values that differ only
    so ("wine class", "Wine_Class") have one key; "" for punctuation alone."""
    return re.sub(r"[\W_]+", "", text.casefold())


def near_name(name: str, header: Sequence[str]) -> str:
    """" (did you mean 'Purchase '?)" for a header name that differs only in case or punctuation
    (`wine class` for `wine_class`); else, for a header of numbers, that the first line may be data."""
    key = loose_key(name)
    near = [c for c in header if key and loose_key(c) == key]
    headless = foreign_files.header_of_data(list(header))
    return f" (did you mean {near[0]!r}?)" if near else f" ({headless})" if headless else ""


def written_for(value: str, known: Collection[str]) -> Optional[str]:
    """The one listed value that `value` most likely stands for: the same but for case or punctuation
    (`homicide`, `Homicide`), or, for a word, its start (`M`, `Male`; not the code `1` for `10`);
    None if none, or several."""
    key = loose_key(value)
    same = [k for k in known if loose_key(k) == key]
    start = [k for k in known if not is_number(value, schema_pb2.FLOAT) and loose_key(k).startswith(key)]
    found = same or start
    return found[0] if len(found) == 1 and key else None
