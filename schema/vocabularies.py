"""Categories outside the schema's vocabulary: values of a categorical column that the schema does
not list (a string column's domain; an integer code past its range), in the rows `score` and
`predict` send. The model most likely never saw them: its vocabulary was learned from data the gate
held to that domain (a few new values tolerated, `min_domain_mass`, and the rarest cut by
`vocab_size`), so it reads each as an unknown category (TFT's out-of-vocabulary bucket) and its
answer for that row ignores what the value means. Said, not refused, as numbers outside the schema's
ranges are (`schema/ranges.py`). The values are named in the warning, as `validate` does not list a
handful of them (the tolerance again).
"""
import collections
import json
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from schema import descriptions, ranges, tally

Known = Union[FrozenSet[str], Tuple[int, int]]  # a vocabulary, or the range of integer codes


def known_values(schema: schema_pb2.Schema, categories: Iterable[str]) -> Dict[str, Known]:
    """The vocabulary of each of the columns declared `categories` that `schema` lists one for (not
    numbers: those of few values are `is_categorical` too, their range is a unit's)."""
    wanted, found = set(categories), {}
    for feature in (f for f in schema.feature if f.name in wanted):
        if feature.type == schema_pb2.BYTES:
            values = descriptions.domain_values(schema, feature)
            if values:
                found[feature.name] = frozenset(values)
        elif feature.type == schema_pb2.INT and feature.int_domain.is_categorical \
                and feature.int_domain.HasField("min") and feature.int_domain.HasField("max"):
            found[feature.name] = (feature.int_domain.min, feature.int_domain.max)
    return found


def let_through(statistics: Sequence[statistics_pb2.DatasetFeatureStatistics], schema: schema_pb2.Schema
                ) -> Dict[str, List[Tuple[str, int]]]:
    """Values of each string column that its domain does not list, with their rows over every
    split's `statistics` (TFDV's rank histograms), most common first (ties by value), of data the gate passed: what
    its tolerance (`min_domain_mass`) let through unsaid."""
    features = {f.name: f for f in schema.feature if f.type == schema_pb2.BYTES}
    found: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for split in statistics:
        for stat in split.features:
            feature = features.get(stat.path.step[0] if stat.path.step else stat.name)
            known = descriptions.known_values(feature, schema) if feature is not None else None
            for bucket in stat.string_stats.rank_histogram.buckets if known is not None else ():
                if bucket.label not in known:
                    found[feature.name][bucket.label] += int(bucket.sample_count)
    return {column: sorted(counts.items(), key=lambda item: (-item[1], item[0])) for column, counts in found.items()}


LET_THROUGH_KEPT = 20  # values recorded per column, the most common


def let_through_record(rows: int, values: Dict[str, List[Tuple[str, int]]]) -> str:
    """JSON {"rows": N, "values": {column: [[value, rows], ...]}, "more": {column: count}} of a span
    of `rows` rows and its `let_through` values: the LET_THROUGH_KEPT most common per column, and
    how many more."""
    return json.dumps({"rows": rows, "values": {c: v[:LET_THROUGH_KEPT] for c, v in values.items()},
                       "more": {c: len(v) - LET_THROUGH_KEPT for c, v in values.items() if len(v) > LET_THROUGH_KEPT}})


def is_unseen(cell: str, known: Known) -> bool:
    """Whether a CSV cell holds a category outside `known` (not a code at all: a type problem, told
    elsewhere)."""
    if isinstance(known, frozenset):
        return cell not in known
    try:
        code = float(cell)  # `30.0` too: pandas writes codes so in a column with gaps
    except ValueError:
        return False
    return code.is_integer() and not known[0] <= code <= known[1]


class Unseen(tally.Tally):
    """Counts of unseen categories per column, with the first few values of each."""

    def __init__(self):
        super().__init__("unseen")

    @classmethod
    def from_counters(cls, counted: Mapping[str, int]) -> "Unseen":
        return cls().read_counters(counted)

    def check_cell(self, column: str, cell: Optional[str], vocabulary: Known, missing_values: Sequence[str]) -> None:
        """Counts `cell` of `column` if it holds a value (not empty, not a missing-value token)
        outside `vocabulary`."""
        if cell and cell not in missing_values and is_unseen(cell, vocabulary):
            self.add(column, cell)

    def check(self, row: Mapping[str, str], known: Mapping[str, Known], missing_values: Sequence[str]) -> None:
        for column, vocabulary in known.items():
            self.check_cell(column, row.get(column), vocabulary, missing_values)


def unseen_warning(unseen: Unseen, rows: int, path: str, has_label: bool, dataset_flag: str = "") -> str:
    """The warning `score` and `predict` print when rows of `path` hold categories the schema does
    not list, naming them, with the `validate` command that checks the file."""
    told = "; ".join(f"{name} in {n:,} ({', '.join(map(repr, unseen.values.get(name, [])))})"
                     for name, n in sorted(unseen.counts.items()))
    return (f"warning: categories the schema does not list, among {rows:,} rows: {told}. The model most "
            "likely never saw them and reads each as an unknown category, so its answers there ignore "
            "what the value means (a new category, or a misspelt one?). "
            f"`{ranges.validate_command(path, has_label, dataset_flag)}` checks the file against the schema.")
