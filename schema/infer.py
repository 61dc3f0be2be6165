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
import itertools
import os
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import tensorflow_data_validation as tfdv
import yaml
from tensorflow_metadata.proto.v0 import schema_pb2

from models import dataset as ds
from schema import calibration, cell_counts, cell_lines, checks, csv_files, csv_statistics, data_folder, descriptions, \
    foreign_files, label_copies, ranges, schema_draft, schema_text, sentinels, written_numbers
from schema.calendar_hint import calendar_columns_hint, date_feature
from schema.cell_counts import ColumnCells
from schema.columns import CALENDAR, HASH_SHARE, MISSING_TOKENS, InitError, compared_by_shares, feature_decision, \
    missing_tokens, present_count, tokens_read_as_values
from schema.label_column import label_decision, same_class_written_twice

TASKS = ("auto",) + tuple(t.value for t in ds.Task)
SLICE_MAX_VALUES = 10
CHUNK_ROWS = 10_000  # rows counted at a time, column by column


@dataclasses.dataclass
class Draft:
    declaration: dict  # what `models.dataset.parse` accepts (the YAML content, without `data`)
    schema: schema_pb2.Schema  # curated-schema draft
    decisions: List[str]  # one readable line per decision, column by column
    calibration: List[str]  # the schema's comment: how its drift and skew thresholds were obtained
    checks: List[str] = dataclasses.field(default_factory=list)  # what a person must look at (label copies)


def _read(path: str, missing: Sequence[str] = ()) -> Tuple[List[str], Dict[str, ColumnCells], int]:
    """The header, each column's cells and the number of rows, files checked as the gate does."""
    if not os.path.exists(path):
        raise InitError(f"{path} does not exist: give a CSV file or a folder of CSV files")
    files = data_folder.data_files(path) if os.path.isdir(path) else [path]
    if not files:
        raise InitError(f"{path} holds no CSV files: put the data's CSV file(s) in it")
    header: List[str] = []
    cells: Dict[str, ColumnCells] = {}
    rows = 0
    for file in files:
        for finding in csv_files.check_csv_file(file, header):
            at = f": {', '.join(finding.examples)}" if finding.problem == csv_files.RAGGED_ROWS else ""
            raise InitError(f"{finding.detail} ({finding.actual}{at}); expected {finding.expected}: fix the file"
                            + (" or move it out of the data folder" if len(files) > 1 else ""))
        with open(file, newline="", encoding=csv_files.ENCODING) as f:
            reader = csv.reader(f)
            header = header or next(reader)
            if file != files[0]:
                next(reader)  # the same header again: check_csv_file compared it
            cells = cells or {column: ColumnCells(("", *MISSING_TOKENS, *missing)) for column in header}
            while True:
                chunk = [r for r in itertools.islice(reader, CHUNK_ROWS) if r]
                if not chunk:
                    break
                rows += len(chunk)
                for column, values in zip(header, zip(*chunk)):
                    cells[column].add(list(values))
    return header, cells, rows


def _timed(step: str, started: float, note: str = "") -> str:
    """A progress line as `run` prints one per component: step, seconds since `started`, note."""
    return f"  {step:<34} {time.monotonic() - started:7.1f} s  {note}".rstrip()


def infer(path: str, label: str, task: str = "auto", name: Optional[str] = None,
          progress: Callable[[str], None] = lambda line: None, missing: Sequence[str] = (),
          text_columns: Sequence[str] = ()) -> Draft:
    """Drafts the declaration and the curated schema of the CSV file or folder `path`; `progress`
    gets one line per step with its time (a large file takes minutes). `missing`: cell values that
    mean "no value", besides the common ones found in the data (MISSING_TOKENS); `text_columns`:
    columns of numbers and a few words that are text as they are."""
    if task not in TASKS:
        raise InitError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    if not label.strip():  # an unset shell variable; the unnamed column is pandas' index
        raise InitError("--label is empty: name the column the model predicts")
    started = time.monotonic()
    header, columns, rows = _read(path, missing)
    progress(_timed("cells counted", started, f"{rows:,} rows, {len(header)} columns"))
    if label not in header:
        raise InitError(f"label column {label!r} is not in {path}{descriptions.near_name(label, header)}; its columns: "
                        f"{', '.join(map(repr, header))}")
    unknown = [c for c in text_columns if c not in header]
    if unknown:
        raise InitError(f"--text-column {', '.join(map(repr, unknown))}: no such column in {path}"
                        f"{descriptions.near_name(unknown[0], header)}; its columns: {', '.join(map(repr, header))}")
    if rows < checks.MIN_ROWS:
        raise InitError(f"too few rows: {path} has {rows}, at least {checks.MIN_ROWS} are needed to train "
                        "and evaluate a model")
    tokens = missing_tokens(columns, missing)
    missing_values = [""] + [t for t in MISSING_TOKENS if t in tokens]
    decisions = [f"missing values: {t!r} read as missing (found in {', '.join(tokens[t])})"
                 for t in missing_values[1:]]
    given = [t for t in missing if t not in missing_values]
    missing_values += given
    decisions += [f"missing values: {t!r} read as missing (--missing-value)" if any(
        columns[c].counts[t] for c in header) else f"missing values: {t!r} (--missing-value) is in no cell "
        "of the data: read as missing if it comes" for t in given]
    decisions += [f"missing values: {t!r} read as a value in {', '.join(map(repr, cs))} (text): if it means no "
                  f"value there, run init again with --missing-value {t!r}"
                  + (" (rows without a label are then to be dropped or filled)" if label in cs else "")
                  for t, cs in tokens_read_as_values(columns, missing_values).items()]
    written_numbers.refuse_numbers_written_for_people(path, header, columns, missing_values, text_columns)
    cell_lines.refuse_misfits_among_numbers(path, header, columns, missing_values, rows, text_columns)
    cells = {c: collections.Counter({v: n for v, n in columns[c].counts.items() if v not in missing_values})
             for c in header}
    started = time.monotonic()
    # The types are known from the cells, so TFDV need not infer them (see cell_counts.types_schema)
    typed = cell_counts.types_schema({c: columns[c].column_type(missing_values) for c in header})
    statistics = csv_statistics.statistics_of_csv(
        path, missing_values, tfdv.StatsOptions(schema=typed, infer_type_from_schema=True))
    progress(_timed("statistics (TFDV)", started))
    cell_lines.refuse_infinities(path, statistics, missing_values)
    by_name = {s.path.step[0]: s for s in statistics.datasets[0].features}
    task, classes, decision = label_decision(label, by_name.get(label), cells[label], task, rows,
                                             columns[label].estimate(missing_values),
                                             [t for t in missing_values if columns[label].counts[t]])
    distinct = {label: columns[label].estimate(missing_values) or len(cells[label])}
    distinct_share = {label: distinct[label] / rows}
    decisions.append(decision)
    features: Dict[str, dict] = {}
    excluded: Dict[str, str] = {}
    names: Dict[str, str] = {}
    slices: List[str] = []
    for column in (c for c in header if c != label):
        spec, text, distinct[column] = feature_decision(column, by_name.get(column), cells[column], rows,
                                                        columns[column].estimate(missing_values))
        distinct_share[column] = distinct[column] / max(present_count(by_name.get(column)), 1)
        dated_out = spec is None and CALENDAR in text  # a date or a timestamp, which the others tell more of
        others = {c: cells[c] for c in header if c != column} if dated_out else {}
        in_file = (lambda c=column: cell_lines.timed_share_in(path, c, missing_values)) \
            if columns[column].estimate(missing_values) else None  # more values than init counted
        dated = date_feature(column, by_name[column], cells[column], others, in_file) if dated_out else None
        if dated:
            spec, text = dated
        clash = names.get(ds.safe_name(column))
        if spec and clash:
            spec, text = None, f"same name as {clash!r} without punctuation and case; rename it to use it"
        if spec is None:
            excluded[column] = text
            decisions.append(f"{column or '(unnamed column)'}: excluded, {text}")
            hint = calendar_columns_hint(column, by_name[column], cells[column], others) \
                if CALENDAR in text and column in by_name else None
            tokens = [t for t in MISSING_TOKENS if cells[column][t] and t not in missing_values] if dated_out else []
            if tokens and date_feature(column, by_name[column], collections.Counter(
                    {v: n for v, n in cells[column].items() if v not in tokens}), others, in_file):
                flags = " ".join(f"--missing-value {t!r}" for t in tokens)
                hint = (f"{column}: dates but for {sum(cells[column][t] for t in tokens)} cell(s) "
                        f"{', '.join(map(repr, tokens))}, no date: where {' and '.join(map(repr, tokens))} means no "
                        f"value (in every column), init again with {flags}, and the model reads its calendar parts "
                        "itself")
            decisions += [hint] if hint else []
            continue
        names[ds.safe_name(column)] = column
        features[column] = spec
        decisions.append(f"{column}: {text}")
        if spec["kind"] == "categorical_string" and distinct[column] <= SLICE_MAX_VALUES and not slices:
            slices.append(column)
    if not features:
        raise InitError("no usable feature columns, every column but the label is excluded: "
                        + "; ".join(decisions))
    declaration = {
        "name": name or default_name(path), "task": task,
        "label": {"column": label, **({"classes": classes} if classes else {})},
        "missing_values": missing_values, "features": features, "excluded": excluded, "slices": slices,
        "blessing": {"minimum": {}, "maximum": {}, "max_drop": 0.01, "naive_margin": 0.05},
    }
    try:
        ds.parse(declaration)
    except ds.DeclarationError as error:
        raise InitError(f"the drafted declaration does not parse: {error}") from None
    started = time.monotonic()
    frame = label_copies.sample(path, [label, *features], missing_values, rows)
    copies = label_copies.label_copies(path, label, task, features, missing_values, rows, frame)
    progress(_timed("features checked for label copies", started))
    exact = [c for c in copies if c.exact]
    exact = exact if len(exact) < len(features) else []  # never every feature: one copy is then named only
    for copy in exact:  # features and excluded are the declaration's own
        del features[copy.column]
        excluded[copy.column] = label_copies.exclusion_reason(copy)
        decisions[:] = [f"{copy.column}: excluded, {excluded[copy.column]}" if line.startswith(f"{copy.column}: ")
                        else line for line in decisions]
    copies = [c for c in copies if c not in exact]
    combined = None if classes else label_copies.linear_combination(
        frame, label, [c for c, spec in features.items() if spec["kind"] in label_copies.NUMBER_KINDS])
    categories = [c for c, spec in features.items() if spec["kind"] in ("categorical_string", "categorical_int")]
    numbers = [c for c, spec in features.items() if spec["kind"] == "numeric"] + ([] if classes else [label])
    curated = schema_draft.curated_schema(
        statistics, label, classes, features,
        schema_draft.never_one_value(cells, categories + ([label] if classes else []), rows),
        [c for c in numbers if compared_by_shares(distinct[c], rows)])
    def statistics_of(options: tfdv.StatsOptions):  # the draft's types are the data's
        options.infer_type_from_schema = True
        return csv_statistics.statistics_of_csv(path, missing_values, options)

    started = time.monotonic()
    dates = [c for c, spec in features.items() if spec["kind"] == "date"]
    measured = calibration.calibrate(statistics_of, curated, list(features),
                                     source=os.path.basename(os.path.normpath(path)), rows=rows, label=label,
                                     dates=dates)
    progress(_timed("drift thresholds calibrated", started, f"{measured.pairs} random draws"))
    curated = ranges.with_plausible_ranges(calibration.apply(curated, measured), statistics,
                                                [label, *(c for c in features if c not in dates)])
    decisions.append(f"drift and skew thresholds: a multiple of the largest distance between random "
                     f"samples of this data ({measured.pairs} draws), per feature, and for the label drift only "
                     f"(see {ds.SCHEMA_FILE}); "
                     "numeric features accept up to about twice their largest value")
    for name in sorted(measured.noise):
        off = [check for check, threshold in (("drift", measured.drift(name)), ("skew", measured.skew(name)))
               if threshold is None and not (check == "skew" and name == label)]
        if off == ["drift"] and name in measured.calendar_parts:
            decisions.append(f"no drift check on {name}: {calibration.CALENDAR_PART_NOTE}")
        elif off:
            # quantiles need no repeated values (value shares do): only too few rows leave them unsettled
            measure = "values' shares" if measured.noise[name].over == "shares" else "quantiles"
            why = ("its values rarely repeat" if measure != "quantiles" and distinct_share.get(name, 0) >= HASH_SHARE
                   else f"too few requests in a serving window ({measured.window_rows:,}) for its {measure} "
                        "to settle: calibrate for larger windows (`tfxpipe calibrate --window-rows N --write`) and "
                        "give `monitor` windows that hold as many (`--window-minutes`)" if off == ["skew"]
                   else f"too few rows for its {measure} to settle: calibrate again when there is more data")
            decisions.append(f"no {' or '.join(off)} check on {name}: two samples of the same data "
                             f"already differ almost entirely ({why})")
    # (integer codes never reach a repeated-digit code: 66 and up would leave half of 0..max unfilled)
    coded = [sentinels.check_line(c, cells[c], columns[c].estimate(missing_values) is None, label=c == label)
             for c in numbers]
    return Draft(declaration, curated, decisions, schema_text.comment(measured),
                 [line for line in [foreign_files.header_of_data(header), same_class_written_twice(label, classes)] if line]
                 + ([label_copies.check_line(copies)] if copies else [])
                 + ([label_copies.combination_line(label, *combined)] if combined else [])
                 + [line for line in coded if line])


def default_name(path: str) -> str:
    """The dataset's name when none is given: its file's or folder's."""
    base = os.path.splitext(os.path.basename(path))[0] if os.path.isfile(path) else \
        os.path.basename(os.path.normpath(path))
    return ds.safe_name(base)


def refuse_existing(out_dir: str) -> Tuple[str, str]:
    """The paths `write` writes in `out_dir`; InitError when one exists (checked again as it writes,
    and before the work, which takes minutes on a large file)."""
    paths = (os.path.join(out_dir, ds.DECLARATION_FILE), os.path.join(out_dir, ds.SCHEMA_FILE))
    for existing in (p for p in paths if os.path.exists(p)):
        raise InitError(f"{existing} already exists: edit it, or give another --out folder")
    return paths


def write(draft: Draft, out_dir: str, data_path: str) -> Tuple[str, str]:
    """Writes `dataset.yaml` (data: `data_path`) and `schema.pbtxt` into `out_dir`; never overwrites."""
    paths = refuse_existing(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    declaration = {"name": draft.declaration["name"], "data": data_path, **draft.declaration}
    with open(paths[0], "w", encoding="utf-8") as f:
        f.write(f"# Drafted by `tfxpipe init` from {data_path}: check each feature's kind and each\n"
                f"# exclusion, and tighten {ds.SCHEMA_FILE} (ranges, presence minimums) before the first run.\n")
        f.writelines(f"# Check: {line}\n" for line in draft.checks)
        for key, value in declaration.items():  # excluded: one reason a line; features: one a line
            text = yaml.safe_dump({key: value}, sort_keys=False, width=100,
                                  default_flow_style=None if isinstance(value, (list, dict))
                                  and key != "excluded" else False)
            f.write(text.replace("? ''\n  : ", "'': "))  # PyYAML writes an empty name as a complex key
    schema_text.write(draft.schema, paths[1], [
        f"# Drafted by `tfxpipe init` from {data_path}: review it with {ds.DECLARATION_FILE}.",
        *draft.calibration])
    return paths
