"""Checks data against the curated schema and says, per problem, what is wrong in plain words.

Two layers, shared by the pipeline's data gate and the `validate` command so both give one verdict:
- `check_csv_folder`: what TFX's CSV reader cannot even parse (empty or header-only files,
  undecodable bytes, a wrong delimiter, ragged rows) and a header that does not match the schema's
  columns (TFDV cannot tell an absent column from an empty optional one). Such files never reach
  CsvExampleGen.
- `check_statistics`: TFDV's validation of the statistics against the schema (types, presence,
  domains, ranges, new/dropped columns) and, given the previous span's statistics, drift with the
  schema's comparators. The schema is the one place where tolerances live.
"""
import csv
import dataclasses
import os
import re
import tempfile
from typing import List, Optional, Sequence, Tuple

import numpy as np
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from schema import distances

FILE = "(file)"  # `feature` of findings about a whole file
SPAN_FOLDER = re.compile(r"^span-(\d+)$")
DELIMITERS = (";", "\t", "|")
MAX_EXAMPLES = 5


@dataclasses.dataclass(frozen=True)
class Finding:
    feature: str
    problem: str
    detail: str
    expected: str
    actual: str
    examples: Tuple[str, ...] = ()


class DataValidationError(RuntimeError):
    """Raised when data does not meet the schema; the message is the readable report."""


def spans(data_root: str) -> List[Tuple[int, str]]:
    """(span number, folder) of `span-N/` sub-folders, oldest first; empty for a flat folder."""
    found = []
    for name in os.listdir(data_root):
        match = SPAN_FOLDER.match(name)
        if match and os.path.isdir(os.path.join(data_root, name)):
            found.append((int(match.group(1)), os.path.join(data_root, name)))
    return sorted(found)


def latest_and_previous(path: str) -> Tuple[str, Optional[str]]:
    """What a run reads from `path` and what it is compared with for drift: in a folder of `span-N/`
    folders the newest span and the one before it; else the file or folder itself, and nothing."""
    found = spans(path) if os.path.isdir(path) else []
    if not found:
        return path, None
    return found[-1][1], (found[-2][1] if len(found) > 1 else None)


def data_files(folder: str) -> List[str]:
    return sorted(
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if not name.startswith(".") and os.path.isfile(os.path.join(folder, name))
    )


def expected_columns(schema: schema_pb2.Schema, environment: str = "TRAINING") -> List[str]:
    return [f.name for f in schema.feature if environment not in f.not_in_environment]


def _listed(names: Sequence[str], width: int = 120) -> str:
    """Whole names, joined, up to about `width` characters, then how many more there are."""
    shown: List[str] = []
    for name in names:
        if shown and len(", ".join([*shown, name])) > width:
            return ", ".join(shown) + f", ... ({len(names) - len(shown)} more)"
        shown.append(name)
    return ", ".join(shown)


def _header_findings(name: str, header: List[str], columns: Sequence[str], dataset: str = ""
                     ) -> List[Finding]:
    shown = _listed(header)
    missing = [c for c in columns if c not in header]
    unexpected = [c for c in header if c not in columns]
    if dataset and len(missing) * 2 > len(columns):
        # Most of the dataset's columns absent: not a broken file of this dataset but other data.
        return [Finding(FILE, "Not this dataset's data",
                        f"{name} does not match dataset '{dataset}': {len(columns) - len(missing)} "
                        f"of its {len(columns)} columns are in the header. For a new dataset, draft "
                        f"its folder with `tfxpipe init {name} --label COLUMN`; else pass the right "
                        f"--dataset", f"the columns of dataset '{dataset}'", f"header: {shown}")]
    return [Finding(c, "Column missing", f"{name} has no '{c}' column", f"a '{c}' column",
                    f"header: {shown}") for c in missing] + [
            Finding(c, "Unexpected column", f"{name} has a '{c}' column the schema does not know",
                    "only the schema's columns", f"header: {shown}") for c in unexpected]


def check_csv_file(path: str, columns: Sequence[str] = (), dataset: str = "") -> List[Finding]:
    """Structural problems of one CSV file; with `columns`, also a header that does not match
    (with `dataset`, a header that has little in common with it is called out as such, once)."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.strip():
        return [Finding(FILE, "Empty file", f"{name} is empty", "a header row and data rows", "0 rows")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        bad = raw[error.start : error.start + 8]
        return [Finding(FILE, "Undecodable bytes", f"{name} is not UTF-8 text (line {line})",
                        "UTF-8 encoded CSV", f"byte {bad[:1]!r} at offset {error.start}", (repr(bad),))]
    rows = list(csv.reader(text.splitlines()))
    header = rows[0]
    if len(header) == 1:
        for delimiter in DELIMITERS:
            if delimiter in header[0]:
                return [Finding(FILE, "Wrong delimiter", f"{name} is not comma-separated",
                                "comma-separated columns", f"one column; {delimiter!r} separates the header",
                                (header[0][:80],))]
    data = [row for row in rows[1:] if row]
    if not data:
        return [Finding(FILE, "No data rows", f"{name} has a header but no rows",
                        "at least one data row", "header only", (_listed(header, 80),))]
    ragged = [i + 2 for i, row in enumerate(data) if len(row) != len(header)]
    if ragged:
        return [Finding(FILE, "Ragged rows", f"{name}: rows with a different number of fields than the header",
                        f"{len(header)} fields per row", f"{len(ragged)} rows differ",
                        tuple(f"line {n}" for n in ragged[:MAX_EXAMPLES]))]
    return _header_findings(name, header, columns, dataset) if columns else []


def check_csv_folder(folder: str, columns: Sequence[str] = (), dataset: str = "") -> List[Finding]:
    files = data_files(folder)
    if not files:
        return [Finding(FILE, "No data files", f"{folder} holds no CSV files", "CSV files", "none")]
    found = [finding for path in files for finding in check_csv_file(path, columns, dataset)]
    return found or _header_agreement(files)


def _header_agreement(files: Sequence[str]) -> List[Finding]:
    """The files of one folder are read as one table under one header (TFX's CSV reader refuses
    others with "Files in same split ... have different header", naming none)."""
    def header(path):
        with open(path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f))

    first = header(files[0])
    differ = [path for path in files[1:] if header(path) != first]
    if not differ:
        return []
    names = [os.path.basename(p) for p in differ]
    return [Finding(FILE, "Different headers",
                    f"{_listed(names, 80)} list(s) the columns differently from "
                    f"{os.path.basename(files[0])}: the files of one folder are read as one table. "
                    "Write every file with the same columns in the same order",
                    f"the header of {os.path.basename(files[0])}: {_listed(first)}",
                    f"{names[0]}: {_listed(header(differ[0]))}")]


def check_csv_path(path: str, columns: Sequence[str] = (), dataset: str = "") -> List[Finding]:
    """`check_csv_folder` for a folder, `check_csv_file` for a file."""
    if os.path.isdir(path):
        return check_csv_folder(path, columns, dataset)
    return check_csv_file(path, columns, dataset)


def _as_written(value: float) -> str:
    """A float32 of the schema as written there (49.6, not 49.599998474121094)."""
    return np.format_float_positional(np.float32(value), trim="-")


# Types in words: TFDV calls text BYTES in a schema and STRING in statistics, which reads as a mismatch.
_SCHEMA_TYPES = {schema_pb2.BYTES: "text", schema_pb2.INT: "integers", schema_pb2.FLOAT: "numbers"}
_DATA_TYPES = {statistics_pb2.FeatureNameStatistics.STRING: "text",
               statistics_pb2.FeatureNameStatistics.BYTES: "text",
               statistics_pb2.FeatureNameStatistics.INT: "integers",
               statistics_pb2.FeatureNameStatistics.FLOAT: "numbers"}


def _expected(feature: Optional[schema_pb2.Feature], schema: schema_pb2.Schema) -> str:
    if feature is None:
        return "no such column in the schema"
    parts = [_SCHEMA_TYPES.get(feature.type, "no type")]
    if feature.presence.min_fraction >= 1.0:
        parts.append("present in every row")
    elif feature.presence.min_fraction > 0:
        parts.append(f"present in at least {feature.presence.min_fraction:.0%} of rows")
    if feature.HasField("int_domain"):
        parts.append(f"values in [{feature.int_domain.min}, {feature.int_domain.max}]")
    if feature.HasField("float_domain"):
        low = _as_written(feature.float_domain.min) if feature.float_domain.HasField("min") else "-inf"
        high = _as_written(feature.float_domain.max) if feature.float_domain.HasField("max") else "inf"
        parts.append(f"values in [{low}, {high}]")
    if feature.domain:
        size = next((len(d.value) for d in schema.string_domain if d.name == feature.domain), 0)
        constraints = feature.distribution_constraints
        mass = constraints.min_domain_mass if feature.HasField("distribution_constraints") else 1.0
        parts.append(f"one of {size} known values" + (f" in at least {mass:.0%} of rows" if mass < 1 else ""))
    for comparator, against in ((feature.drift_comparator, "earlier data"),
                                (feature.skew_comparator, "training")):
        threshold = distances.threshold_of(comparator)
        if threshold is not None:
            parts.append(f"{distances.measure(comparator)} vs {against} <= {threshold:g}")
    return "; ".join(parts)


def _actual(stats: Optional[statistics_pb2.FeatureNameStatistics], rows: int) -> Tuple[str, Tuple[str, ...]]:
    """Plain description of a column's statistics, and its most frequent values (strings)."""
    if stats is None:
        return "column absent", ()
    kind = stats.WhichOneof("stats")
    common = getattr(stats, kind).common_stats
    present = common.num_non_missing / rows if rows else 0.0
    parts = [_DATA_TYPES.get(stats.type, "other"), f"present in {present:.1%} of rows"]
    values: Tuple[str, ...] = ()
    if kind == "num_stats":
        parts.append(f"min {stats.num_stats.min:g}, max {stats.num_stats.max:g}, mean {stats.num_stats.mean:g}")
    elif kind == "string_stats":
        parts.append(f"{stats.string_stats.unique} distinct values")
        values = tuple(b.label for b in stats.string_stats.rank_histogram.buckets)
    return "; ".join(parts), values


def _offending(feature: Optional[schema_pb2.Feature], schema: schema_pb2.Schema,
               stats: Optional[statistics_pb2.FeatureNameStatistics], values: Sequence[str]) -> Tuple[str, ...]:
    if feature is None or stats is None:
        return tuple(values[:MAX_EXAMPLES])
    if feature.domain:
        known = set(next((d.value for d in schema.string_domain if d.name == feature.domain), []))
        return tuple(v for v in values if v not in known)[:MAX_EXAMPLES]
    if stats.HasField("num_stats") and (feature.HasField("float_domain") or feature.HasField("int_domain")):
        return (f"min {stats.num_stats.min:g}", f"max {stats.num_stats.max:g}")
    return tuple(values[:MAX_EXAMPLES])


def check_statistics(
    statistics: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
    previous: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None,
    environment: str = "TRAINING",
) -> List[Finding]:
    anomalies = tfdv.validate_statistics(
        statistics, schema, environment=environment, previous_statistics=previous
    )
    return _findings(anomalies, statistics, schema, previous)


def check_skew(
    serving: statistics_pb2.DatasetFeatureStatisticsList,
    training: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
) -> List[Finding]:
    """A sample of serving data (e.g. logged requests) against the schema's SERVING environment, and
    its distance to the training data with the schema's skew comparators."""
    skew = tfdv.validate_statistics(training, schema, environment="TRAINING",
                                    serving_statistics=serving)
    skew_only = [f for f in _findings(skew, serving, schema, training) if is_skew(f)]
    return check_statistics(serving, schema, environment="SERVING") + skew_only


def is_skew(finding: Finding) -> bool:
    return "between training and serving" in finding.problem


def is_drift(finding: Finding) -> bool:
    return "between current and previous" in finding.problem


EMPTY_COLUMN = "Column empty"
# TFDV's aside on how its range messages round, glued to the numbers ("455000>910(upto six ...").
_UNSAID = re.compile(r"\s*\(upto six significant digits\)")


def _findings(anomalies, statistics: statistics_pb2.DatasetFeatureStatisticsList,
              schema: schema_pb2.Schema,
              before: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None) -> List[Finding]:
    """One finding per anomaly reason; drift and skew say what moved from `before` to `statistics`."""
    dataset = statistics.datasets[0]
    by_name = {s.path.step[-1]: s for s in dataset.features}
    before_by_name = {s.path.step[-1]: s for s in before.datasets[0].features} if before else {}
    schema_features = {f.name: f for f in schema.feature}
    findings = []
    for key, info in sorted(anomalies.anomaly_info.items()):
        name = info.path.step[-1] if info.path.step else key  # keys quote names with spaces
        feature, stats = schema_features.get(name), by_name.get(name)
        actual, values = _actual(stats, dataset.num_examples)
        for reason in info.reason:
            moved = reason.type in distances.COMPARATOR_TYPES
            problem, detail = reason.short_description, _UNSAID.sub("", reason.description)
            if problem == "Column dropped" and stats is not None:  # TFDV's words for "all empty"
                problem, detail = EMPTY_COLUMN, ("The column is in the data, but every cell is empty "
                                                 "(or a missing-value token).")
            findings.append(Finding(
                feature=name,
                problem=problem,
                detail=(distances.what_moved(reason, before_by_name.get(name), stats,
                                             distances.measured(anomalies, name))
                        if moved else detail),
                expected=_expected(feature, schema),
                actual=actual,
                examples=() if moved else _offending(feature, schema, stats, values),
            ))
    if anomalies.HasField("dataset_anomaly_info"):
        for reason in anomalies.dataset_anomaly_info.reason:
            findings.append(Finding(FILE, reason.short_description, reason.description,
                                    "schema's dataset constraints", f"{dataset.num_examples} rows"))
    return findings


def blank_missing_values(source: str, target: str, missing_values: Sequence[str]) -> int:
    """Copies CSV `source` to `target` with every cell in `missing_values` made empty (what TFX's
    CSV reader takes as "no value"; `NA` would otherwise turn a numeric column into strings).
    Returns the number of cells blanked."""
    tokens = {v for v in missing_values if v}
    blanked = 0
    with open(source, newline="", encoding="utf-8") as f_in, \
            open(target, "w", newline="", encoding="utf-8") as f_out:
        writer = csv.writer(f_out)
        for i, row in enumerate(csv.reader(f_in)):
            if i and tokens:
                hits = [cell in tokens for cell in row]
                blanked += sum(hits)
                row = ["" if hit else cell for cell, hit in zip(row, hits)]
            writer.writerow(row)
    return blanked


def statistics_of_csv(path: str, missing_values: Sequence[str] = ("",),
                      options: Optional[tfdv.StatsOptions] = None
                      ) -> statistics_pb2.DatasetFeatureStatisticsList:
    """TFDV statistics of a CSV file or of every file in a folder, cells in `missing_values` read
    as missing (as the pipeline's CsvExampleGen reads them). Give `options` made with the curated
    schema (`distances.stats_options`) for statistics the checks compare: integer codes as codes."""
    with tempfile.TemporaryDirectory(prefix="statistics-") as scratch:
        pattern = os.path.join(path, "*") if os.path.isdir(path) else path
        if {v for v in missing_values if v}:
            files = data_files(path) if os.path.isdir(path) else [path]
            for i, source in enumerate(files):
                blank_missing_values(source, os.path.join(scratch, f"{i:05d}.csv"), missing_values)
            pattern = os.path.join(scratch, "*.csv")
        # TFDV writes its result to a file as well, in a folder of its own it never deletes,
        # unless given one
        return tfdv.generate_statistics_from_csv(
            pattern, stats_options=options or tfdv.StatsOptions(),
            output_path=os.path.join(scratch, "statistics.tfrecord"))
