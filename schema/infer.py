"""Drafts a dataset folder (`dataset.yaml` + `schema.pbtxt`) from a CSV file or folder: `tfxpipe init`.

TFDV computes the statistics (types, presence, distinct strings, ranges) and infers the schema. Plain
`csv` reads only what TFDV cannot tell: which cell tokens mean "missing" (TFDV reads `NA` as a string
and types the whole column STRING), which strings are dates (TFDV's semantic-domain detection is off
by default and knows no US dates), and the distinct values of integer columns and of the label (TFDV's
numeric statistics carry no distinct count; the classes are those values).
"""
import collections
import csv
import dataclasses
import os
import re
from datetime import datetime, timezone
from typing import Counter, Dict, List, Optional, Tuple

import tensorflow_data_validation as tfdv
import yaml
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from models import dataset as ds
from schema import calibration, checks

MISSING_TOKENS = ("NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?", "-")
TASKS = ("auto",) + tuple(t.value for t in ds.Task)
MIN_ROWS, MAX_CLASSES, AUTO_MAX_INT_CLASSES = 50, 50, 10
ID_SHARE, ID_MIN_ROWS = 0.95, 20  # distinct values / present rows from which a column is an identifier
DATE_SHARE = 0.8  # share of a string column's values that must look like dates
MAX_CODES, MAX_CODE = 32, 1000  # integer codes: at most 32 distinct values in [0, 1000]
MAX_VOCAB, HASH_BUCKETS, SLICE_MAX_VALUES = 1000, 100, 10
HASH_SHARE = 0.5  # strings with more distinct values than half their rows: hashed, not a vocabulary
DOMAIN_MASS = 0.9  # new categories tolerated up to 10 % of a column's values
CALENDAR = "the model would learn calendar time; add calendar columns to the CSV if they matter"
DATE_REASON = f"date: {CALENDAR}"
# Integers that are all times from 2000 to 2100 (UTC) in one of these units are timestamps: excluded
# like dates, and the schema keeps them in those years, so a unit change fails the gate; no drift
# check (each new span is a later period by nature).
EPOCH = (946684800, 4102444800)  # 2000-01-01 and 2100-01-01 in seconds since 1970
TIME_UNITS = {"seconds": 1, "milliseconds": 1000}
DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
                  r"|\d{1,2}/\d{1,2}/\d{4}( \d{1,2}:\d{2}(:\d{2})?( ?[AaPp][Mm])?)?")
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
Stats = statistics_pb2.FeatureNameStatistics
INT, FLOAT, STRING = Stats.INT, Stats.FLOAT, Stats.STRING


class InitError(ValueError):
    """`init` refuses the data; the message says what is wrong and what to do."""


@dataclasses.dataclass
class Draft:
    declaration: dict  # what `models.dataset.parse` accepts (the YAML content, without `data`)
    schema: schema_pb2.Schema  # curated-schema draft
    decisions: List[str]  # one readable line per decision, column by column
    calibration: List[str]  # the schema's comment: how its drift and skew thresholds were obtained


def _read(path: str) -> Tuple[List[str], Dict[str, Counter], int]:
    """The header, each column's cell counts and the number of rows, files checked as the gate does."""
    if not os.path.exists(path):
        raise InitError(f"{path} does not exist: give a CSV file or a folder of CSV files")
    files = checks.data_files(path) if os.path.isdir(path) else [path]
    if not files:
        raise InitError(f"{path} holds no CSV files: put the data's CSV file(s) in it")
    header: List[str] = []
    counts: Dict[str, Counter] = {}
    rows = 0
    for file in files:
        for finding in checks.check_csv_file(file, header):
            raise InitError(f"{file}: {finding.detail} ({finding.actual}); expected {finding.expected}: "
                            "fix the file or move it out of the data folder")
        with open(file, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = header or next(reader)
            if file != files[0]:
                next(reader)  # the same header again: check_csv_file compared it
            counts = counts or {column: collections.Counter() for column in header}
            for row in (r for r in reader if r):
                rows += 1
                for column, cell in zip(header, row):
                    counts[column][cell] += 1
    return header, counts, rows


def _missing_tokens(counts: Dict[str, Counter]) -> Dict[str, List[str]]:
    """Token -> columns where it stands for "missing": the column's other non-empty cells are numbers."""
    found: Dict[str, List[str]] = collections.defaultdict(list)
    for column, cells in counts.items():
        tokens = [c for c in cells if c in MISSING_TOKENS]
        others = [c for c in cells if c and c not in MISSING_TOKENS]
        if tokens and others and all(NUMBER.fullmatch(c.strip()) for c in others):
            for token in tokens:
                found[token].append(column)
    return found


def _present(stat: Optional[Stats]) -> int:
    return getattr(stat, stat.WhichOneof("stats")).common_stats.num_non_missing if stat else 0


def _is_date(cells: Counter) -> bool:
    dates = sum(n for value, n in cells.items() if DATE.fullmatch(value.strip()))
    return dates >= DATE_SHARE * sum(cells.values())


def _time_unit(stat: Stats) -> Optional[str]:
    """The unit of an integer column whose every value is a time from 2000 to 2100, else None."""
    if stat.type != INT:
        return None
    return next((unit for unit, scale in TIME_UNITS.items() if EPOCH[0] * scale <= stat.num_stats.min
                 and stat.num_stats.max <= EPOCH[1] * scale), None)


def _label(column: str, stat: Optional[Stats], cells: Counter, task: str, rows: int
           ) -> Tuple[str, List[str], str]:
    """(task, classes, decision) for the label column; InitError when it cannot be learned."""
    missing = rows - _present(stat)
    if missing:
        raise InitError(f"label {column!r} is missing in {missing} of {rows} rows: every training row "
                        "needs a label; fill in or drop those rows")
    kind = stat.type
    numbers = sorted({float(c) for c in cells}) if kind in (INT, FLOAT) else []
    values = ([str(int(v)) for v in numbers] if all(v.is_integer() for v in numbers) else
              [f"{v:g}" for v in numbers]) if numbers else sorted(cells)
    if len(values) < 2:
        raise InitError(f"label {column!r} has one value ({values[0]!r}) in all {rows} rows: there is "
                        "nothing to predict; choose another --label")
    if task == "auto":
        classify = kind == STRING or (kind == INT and len(values) <= AUTO_MAX_INT_CLASSES)
        task = ("binary" if len(values) == 2 else "multiclass") if classify else "regression"
    if task == "regression":
        if not numbers:
            raise InitError(f"--task regression needs a numeric label; {column!r} holds text (e.g. "
                            f"{', '.join(values[:3])}): use --task binary or multiclass")
        return task, [], f"{column}: label, regression (numbers from {numbers[0]:g} to {numbers[-1]:g})"
    if not all(v.is_integer() for v in numbers):
        raise InitError(f"label {column!r} holds fractional numbers, not classes: use --task regression")
    if len(values) > MAX_CLASSES:
        raise InitError(f"label {column!r} has {len(values)} distinct values, more than {MAX_CLASSES} "
                        "classes: if it is a quantity use --task regression, else group it into fewer classes")
    if task == "binary" and len(values) != 2:
        raise InitError(f"--task binary needs a label with two values; {column!r} has {len(values)}: "
                        "use --task multiclass")
    shown = ", ".join(values[:10]) + (", ..." if len(values) > 10 else "")
    return task, values, f"{column}: label, {task} with {len(values)} classes ({shown})"


def _feature(column: str, stat: Optional[Stats], cells: Counter, rows: int
             ) -> Tuple[Optional[dict], str, int]:
    """(spec or None when excluded, decision or exclusion reason, distinct values) of one column."""
    present = _present(stat)
    if not present:
        return None, "no values: every cell is empty", 0
    kind = stat.type
    distinct = stat.string_stats.unique if kind == STRING else len({float(c) for c in cells})
    gaps = f", {present / rows:.0%} present" if present < rows else ""
    if distinct == 1:
        return None, f"constant: its only value is {next(iter(cells))}", 1
    if kind == STRING and _is_date(cells):
        return None, DATE_REASON, distinct
    unit = _time_unit(stat)
    if unit:
        first, last = (datetime.fromtimestamp(v / TIME_UNITS[unit], timezone.utc).date()
                       for v in (stat.num_stats.min, stat.num_stats.max))
        return (None, f"timestamp in {unit} since 1970 ({first} to {last}): {CALENDAR}; the gate "
                      "keeps its values in 2000-2100", distinct)
    if kind in (INT, STRING) and present > ID_MIN_ROWS and distinct >= ID_SHARE * present:
        return None, f"ID-like ({distinct} distinct values in {present} rows)", distinct
    if kind == FLOAT:
        low, high = stat.num_stats.min, stat.num_stats.max
        return {"kind": "numeric"}, f"numeric (float values from {low:g} to {high:g}{gaps})", distinct
    if kind == INT:
        low, high = int(stat.num_stats.min), int(stat.num_stats.max)
        if distinct <= MAX_CODES and low >= 0 and high <= MAX_CODE:
            return ({"kind": "categorical_int", "max_value": high},
                    f"categorical_int, max_value {high} (integer codes: {distinct} distinct values in "
                    f"{low}..{high}{gaps})", distinct)
        return ({"kind": "numeric"},
                f"numeric (integers, {distinct} distinct from {low} to {high}{gaps})", distinct)
    if distinct <= MAX_VOCAB and distinct <= HASH_SHARE * present:
        return ({"kind": "categorical_string", "vocab_size": distinct, "oov_buckets": 1},
                f"categorical_string, vocab_size {distinct}, oov_buckets 1 "
                f"({distinct} distinct strings{gaps})", distinct)
    return ({"kind": "hashed", "buckets": HASH_BUCKETS},
            f"hashed, buckets {HASH_BUCKETS} ({distinct} distinct strings in {present} rows: too many for "
            f"a vocabulary, too few for an ID{gaps})", distinct)


def _schema(statistics, label: str, classes: List[str], features: Dict[str, dict], rows: int
            ) -> schema_pb2.Schema:
    schema = tfdv.infer_schema(statistics, max_string_domain_size=MAX_VOCAB, infer_feature_shape=False)
    schema.default_environment[:] = ["TRAINING", "SERVING"]
    by_name = {s.path.step[0]: s for s in statistics.datasets[0].features}
    present = {name: _present(s) for name, s in by_name.items()}
    for feature in schema.feature:
        spec = features.get(feature.name, {})
        if feature.name == label:
            feature.not_in_environment.append("SERVING")
            feature.presence.min_fraction, feature.presence.min_count = 1.0, 1
        elif present.get(feature.name, 0) < rows:  # optional: later data with gaps passes
            feature.ClearField("presence")
            feature.presence.min_fraction = 0.0
            feature.value_count.ClearField("min")
            feature.value_count.max = 1
        if spec.get("kind") == "categorical_string" and feature.domain:  # TFDV's domain, loosened
            feature.distribution_constraints.min_domain_mass = DOMAIN_MASS
        elif spec.get("kind") == "categorical_int":  # codes 0..max_value, compared as categories
            feature.ClearField("domain_info")
            feature.int_domain.min, feature.int_domain.max = 0, spec["max_value"]
            feature.int_domain.is_categorical = True
        elif feature.name == label and classes:  # the classes are the label's domain, nothing else
            feature.ClearField("domain_info")
            if feature.type == schema_pb2.BYTES:
                domain = next((d for d in schema.string_domain if d.name == label), None) or \
                    schema.string_domain.add(name=label)
                domain.ClearField("value")
                domain.value.extend(classes)
                feature.domain = label
            elif feature.type == schema_pb2.INT:
                feature.int_domain.min, feature.int_domain.max = int(classes[0]), int(classes[-1])
            else:
                feature.float_domain.min, feature.float_domain.max = map(float, (classes[0], classes[-1]))
        else:  # numbers: no hard range; hashed and excluded strings: new values pass
            feature.ClearField("domain_info")
        unit = feature.name != label and _time_unit(by_name[feature.name])
        if unit:
            feature.int_domain.min, feature.int_domain.max = (t * TIME_UNITS[unit] for t in EPOCH)
    kept = [d for d in schema.string_domain if d.name in {f.domain for f in schema.feature}]
    del schema.string_domain[:]
    schema.string_domain.extend(kept)
    return schema


def infer(path: str, label: str, task: str = "auto", name: Optional[str] = None) -> Draft:
    """Drafts the declaration and the curated schema of the CSV file or folder `path`."""
    if task not in TASKS:
        raise InitError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    header, counts, rows = _read(path)
    if label not in header:
        raise InitError(f"label column {label!r} is not in {path}; its columns: {', '.join(header)}")
    if rows < MIN_ROWS:
        raise InitError(f"too few rows: {path} has {rows}, at least {MIN_ROWS} are needed to train "
                        "and evaluate a model")
    tokens = _missing_tokens(counts)
    missing_values = [""] + [t for t in MISSING_TOKENS if t in tokens]
    decisions = [f"missing values: {t!r} read as missing (found in {', '.join(tokens[t])})"
                 for t in missing_values[1:]]
    cells = {c: collections.Counter({v: n for v, n in counts[c].items() if v not in missing_values})
             for c in header}
    statistics = checks.statistics_of_csv(path, missing_values)
    by_name = {s.path.step[0]: s for s in statistics.datasets[0].features}
    task, classes, decision = _label(label, by_name.get(label), cells[label], task, rows)
    decisions.append(decision)
    features: Dict[str, dict] = {}
    excluded: Dict[str, str] = {}
    names: Dict[str, str] = {}
    slices: List[str] = []
    for column in (c for c in header if c != label):
        spec, text, distinct = _feature(column, by_name.get(column), cells[column], rows)
        clash = names.get(ds.safe_name(column))
        if spec and clash:
            spec, text = None, f"same name as {clash!r} without punctuation and case; rename it to use it"
        if spec is None:
            excluded[column] = text
            decisions.append(f"{column}: excluded, {text}")
            continue
        names[ds.safe_name(column)] = column
        features[column] = spec
        decisions.append(f"{column}: {text}")
        if spec["kind"] == "categorical_string" and distinct <= SLICE_MAX_VALUES and not slices:
            slices.append(column)
    if not features:
        raise InitError("no usable feature columns, every column but the label is excluded: "
                        + "; ".join(decisions))
    default = os.path.splitext(os.path.basename(path))[0] if os.path.isfile(path) else \
        os.path.basename(os.path.normpath(path))
    declaration = {
        "name": name or ds.safe_name(default), "task": task,
        "label": {"column": label, **({"classes": classes} if classes else {})},
        "missing_values": missing_values, "features": features, "excluded": excluded, "slices": slices,
        "blessing": {"minimum": {}, "maximum": {}, "max_drop": 0.01, "naive_margin": 0.05},
    }
    try:
        ds.parse(declaration)
    except ds.DeclarationError as error:
        raise InitError(f"the drafted declaration does not parse: {error}") from None
    curated = _schema(statistics, label, classes, features, rows)
    measured = calibration.calibrate(
        lambda options: checks.statistics_of_csv(path, missing_values, options), curated, list(features),
        source=os.path.basename(os.path.normpath(path)), rows=rows)
    curated = calibration.with_plausible_ranges(calibration.apply(curated, measured), statistics,
                                                [label, *features])
    decisions.append(f"drift and skew thresholds: a multiple of the largest distance between random "
                     f"samples of this data ({measured.pairs} draws), per feature (see {ds.SCHEMA_FILE}); "
                     "numeric features accept up to about twice their largest value")
    return Draft(declaration, curated, decisions, calibration.comment(measured))


def write(draft: Draft, out_dir: str, data_path: str) -> Tuple[str, str]:
    """Writes `dataset.yaml` (data: `data_path`) and `schema.pbtxt` into `out_dir`; never overwrites."""
    paths = (os.path.join(out_dir, ds.DECLARATION_FILE), os.path.join(out_dir, ds.SCHEMA_FILE))
    for existing in (p for p in paths if os.path.exists(p)):
        raise InitError(f"{existing} already exists: edit it, or give another --out folder")
    os.makedirs(out_dir, exist_ok=True)
    declaration = {"name": draft.declaration["name"], "data": data_path, **draft.declaration}
    with open(paths[0], "w", encoding="utf-8") as f:
        f.write(f"# Drafted by `tfxpipe init` from {data_path}: check each feature's kind and each\n"
                f"# exclusion, and tighten {ds.SCHEMA_FILE} (ranges, required columns) before the first run.\n")
        for key, value in declaration.items():  # excluded: one reason a line; features: one a line
            f.write(yaml.safe_dump({key: value}, sort_keys=False, width=100,
                                   default_flow_style=None if isinstance(value, (list, dict))
                                   and key != "excluded" else False))
    calibration.write(draft.schema, paths[1], [
        f"# Drafted by `tfxpipe init` from {data_path}: review it with {ds.DECLARATION_FILE}.",
        *draft.calibration])
    return paths
