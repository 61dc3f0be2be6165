"""Where the cells are that make a numeric column fail the gate's type or range check: how many, and
on which lines ("line 57: 'lost'", "line 12: '5000000'"); and the cells of a date feature written as
text that the model reads only in part (`schema/date_cells.py`: statistics cannot tell them from a
good date).

TFDV's statistics tell that a column of numbers holds text, with at most one such value in words and
the column's most frequent values (numbers, mostly) beside it: not enough to find a typo in a large
file. Statistics hold no line numbers, so the file is read again, only when such a problem was found
and only for those columns (`validate`, `schema-diff`; `init` for a column of numbers with a few
words, or with infinite values).
"""
import csv
import dataclasses
import math
import os
from typing import Callable, Dict, List, Sequence, Set

import numpy as np
from tensorflow_metadata.proto.v0 import schema_pb2

from models import calendar
from schema import date_cells, ranges
from schema.cell_counts import ColumnCells, ColumnType, is_number
from schema.checks import NO_TIME, NOT_A_DATE, OUT_OF_RANGE, WRONG_TYPE, Finding, is_training_only, is_type_problem
from schema.columns import InitError, is_few, may_be_numbers
from schema.csv_files import ENCODING
from schema.data_folder import data_files
from schema.descriptions import MAX_EXAMPLES


FLOAT32_MAX = float(np.finfo(np.float32).max)
DISTINCT_KEPT = 100  # distinct misfit values kept: enough to tell a few slips from a text column


@dataclasses.dataclass
class Misfits:
    count: int = 0
    first: List[str] = dataclasses.field(default_factory=list)  # "line 57: 'lost'", the first few
    values: Set[str] = dataclasses.field(default_factory=set)  # distinct, up to DISTINCT_KEPT


def misfit_cells(path: str, columns: Dict[str, int], missing_values: Sequence[str] = ("",)
                 ) -> Dict[str, Misfits]:
    """Per column (name -> schema type, INT or FLOAT): its cells that are neither empty, a
    missing-value token, nor a value of that type. `path`: a CSV file or a folder of them."""
    return _cells_where(path, {column: lambda cell, kind=kind: not is_number(cell, kind)
                               for column, kind in columns.items()}, missing_values)


def infinite_cells(path: str, columns: Sequence[str], missing_values: Sequence[str] = ("",)
                   ) -> Dict[str, Misfits]:
    """Per column, its cells that the CSV reader takes for an infinite number (`Inf`, `-inf`, `1e999`)."""
    def is_infinite(cell: str) -> bool:  # as the reader's float32 holds it (1e39 is infinite there too)
        return is_number(cell, schema_pb2.FLOAT) and abs(float(cell)) > FLOAT32_MAX
    return _cells_where(path, {column: is_infinite for column in columns}, missing_values)


def _cells_where(path: str, columns: Dict[str, Callable[[str], bool]], missing_values: Sequence[str]
                 ) -> Dict[str, Misfits]:
    """Per column, its cells (neither empty nor a missing-value token) for which its test holds."""
    sorted_cells = _cells_by(path, {column: lambda cell, test=test: "found" if test(cell) else ""
                                    for column, test in columns.items()}, missing_values)
    return {column: by.get("found", Misfits()) for column, by in sorted_cells.items()}


def _cells_by(path: str, columns: Dict[str, Callable[[str], str]], missing_values: Sequence[str]
              ) -> Dict[str, Dict[str, Misfits]]:
    """Per column, its cells (neither empty nor a missing-value token) by what its test says of
    them; "" for the cells it says nothing of, which are only counted."""
    files = data_files(path) if os.path.isdir(path) else [path]
    found: Dict[str, Dict[str, Misfits]] = {column: {} for column in columns}
    skipped = set(missing_values) | {""}
    for file in files:
        where = f"{os.path.basename(file)} line" if len(files) > 1 else "line"
        with open(file, encoding=ENCODING, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            wanted = [(header.index(c), c, test) for c, test in columns.items() if c in header]
            while True:
                line = reader.line_num + 1  # where the record starts (a quoted line break spans lines)
                row = next(reader, None)
                if row is None:
                    break
                for index, column, test in wanted:
                    cell = row[index] if index < len(row) else ""
                    if cell in skipped:
                        continue
                    said = test(cell)
                    misfits = found[column].setdefault(said, Misfits())
                    misfits.count += 1
                    if not said:
                        continue
                    if len(misfits.values) < DISTINCT_KEPT:
                        misfits.values.add(cell)
                    if len(misfits.first) < MAX_EXAMPLES:
                        misfits.first.append(f"{where} {line}: {cell!r}")
    return found


def undated_cells(path: str, columns: Sequence[str], missing_values: Sequence[str] = ("",),
                  timed: Sequence[str] = ()) -> List[Finding]:
    """Findings for the date features of `columns` (written as text) whose cells in `path` the
    model's graph reads only in part (`schema/date_cells.py`): any that are no date (each calendar part
    missing), and, for those of them `timed` (the hour is one of their parts), dates without a time of
    day where times are rarer than the gate allows."""
    found = _cells_by(path, {column: lambda cell, hour=column in timed: date_cells.reading(cell, hour)
                             for column in columns}, missing_values)
    findings = []
    for column, by in found.items():
        undated, untimed = by.get(date_cells.NO_DATE, Misfits()), by.get(date_cells.NO_TIME, Misfits())
        if undated.count:
            findings.append(Finding(
                column, NOT_A_DATE,
                f"{undated.count} cell(s) are no date the model reads, which it would take for a missing "
                f"one: write them {calendar.WRITTEN}, or leave them empty where there is no date",
                expected=calendar.WRITTEN, actual=f"{undated.count} other cell(s)", examples=tuple(undated.first)))
        dated = untimed.count + by.get("", Misfits()).count
        if date_cells.too_few_times(untimed.count, dated):
            findings.append(Finding(
                column, NO_TIME,
                f"{untimed.count:,} of {dated:,} dates carry no time of day, so the hour, a part of this "
                "feature in dataset.yaml, would be missing for them: write the time as the data did "
                "(2021-01-31 08:05); if the data has no times any more, take `hour` out of the feature's "
                "parts in dataset.yaml (the next model then reads no hour)",
                expected=f"a time of day in at least {date_cells.TIMED_SHARE_MIN:.0%} of the dates",
                actual=f"{date_cells.share_text((dated - untimed.count) / dated)} with a time",
                examples=tuple(untimed.first)))
    return findings


def timed_share_in(path: str, column: str, missing_values: Sequence[str] = ("",)) -> float:
    """The share of the dates of `column` in `path` that carry a time of day, over every cell."""
    by = _cells_by(path, {column: lambda cell: date_cells.reading(cell, True)}, missing_values)[column]
    timed, untimed = by.get("", Misfits()).count, by.get(date_cells.NO_TIME, Misfits()).count
    return timed / (timed + untimed) if timed + untimed else 0.0


def located(findings: List[Finding], path: str, schema: schema_pb2.Schema,
            missing_values: Sequence[str] = ("",)) -> List[Finding]:
    """`findings`, each type problem of a numeric column saying how many cells of `path` are not
    its numbers, on which lines, and what to do about such cells; a text column of numbers throughout
    told what that likely is; values past a column's range counted and named by line."""
    features = {f.name: f for f in schema.feature}
    types = {name: feature.type for name, feature in features.items()}
    columns = {f.feature: types[f.feature] for f in findings if is_type_problem(f, schema)}
    cells = misfit_cells(path, columns, missing_values) if columns else {}
    bounds = {f.feature: ranges.domain_bounds(features[f.feature]) for f in findings
              if f.problem == OUT_OF_RANGE and f.feature in features and f.feature not in columns}
    bounds = {column: low_high for column, low_high in bounds.items() if low_high}
    below, above = ({} if not bounds else _cells_where(path, {
        column: lambda cell, low_high=low_high, side=side: ranges.side_of(cell, low_high) == side
        for column, low_high in bounds.items()}, missing_values) for side in (-1, 1))
    result = []
    for finding in findings:
        misfits = cells[finding.feature] if is_type_problem(finding, schema) else None
        if finding.problem == OUT_OF_RANGE and finding.feature in bounds:
            low = any(word in finding.detail.lower() for word in ("low", "small"))
            found = (below if low else above)[finding.feature]
            if found.count:
                edge = bounds[finding.feature][0 if low else 1]
                finding = dataclasses.replace(finding, examples=tuple(found.first), detail=(
                    f"{finding.detail.rstrip('.')}. {found.count} cell(s) {'below' if low else 'above'} {ranges.plain(edge)}"))
        elif misfits and misfits.count:
            finding = dataclasses.replace(finding, detail=_what_to_do(
                misfits, columns[finding.feature], is_training_only(features.get(finding.feature))),
                                          examples=tuple(misfits.first))
        elif finding.problem == WRONG_TYPE and types.get(finding.feature) == schema_pb2.BYTES:
            finding = dataclasses.replace(finding, detail=NUMBERS_FOR_TEXT)
        result.append(finding)
    return result


# A text column whose every cell is a number: most often codes written in place of the names
NUMBERS_FOR_TEXT = (
    "Every value is a number where the schema expects text: codes in place of names (1, 2, 3 for "
    "the categories)? Write the names the schema lists; if the column holds numbers from now on, it "
    "is a new column to the model: draft the dataset again with `tfxpipe init`")


def _what_to_do(misfits: Misfits, schema_type: int, label: bool = False) -> str:
    """How many cells do not fit, and the advice that fits what they are: words, or fractions in a
    column of integers (whole numbers written as floats, `540.0`, are its integers: `as_integer`);
    in the `label`'s column, a fraction is no class at all, and no feature advice applies."""
    numbers = [float(v) for v in misfits.values if is_number(v, schema_pb2.FLOAT) and math.isfinite(float(v))]
    if schema_type == schema_pb2.INT and numbers and len(numbers) == len(misfits.values):
        if label:
            return (f"{misfits.count} cell(s) are fractions in the label's column of integers: correct them (a "
                    "class is one of the values dataset.yaml declares), or, for a regression label that now "
                    "holds fractions, make it `type: FLOAT` in schema.pbtxt (a `float_domain` for its range)")
        return (f"{misfits.count} cell(s) are fractions in a column of integers: correct them, or, if the "
                "column now holds fractions, make it a FLOAT column in schema.pbtxt (`type: FLOAT`, a "
                "`float_domain` for its range) and a numeric feature in dataset.yaml")
    kind = "integers" if schema_type == schema_pb2.INT else "numbers"
    return (f"{misfits.count} cell(s) are not {kind}: correct them, or, for a word that means no value "
            "(such as 'n.a.'), list it under `missing_values` in dataset.yaml")


def refuse_misfits_among_numbers(path: str, header: List[str], columns: Dict[str, ColumnCells],
                                  missing_values: List[str], rows: int, text: Sequence[str]) -> None:
    """InitError naming the cells (and lines) of each column of numbers that a few other cells
    would make a text column; not for the `text` columns (codes such as floors 1, 2, G)."""
    candidates = [c for c in header if c not in text and columns[c].column_type(missing_values) == ColumnType.STRING
                  and may_be_numbers(columns[c], missing_values)]
    if not candidates:
        return
    found = misfit_cells(path, {c: schema_pb2.FLOAT for c in candidates}, missing_values)
    slips = [c for c in candidates if is_few(found[c].count, len(found[c].values),
                                             rows - sum(columns[c].counts[v] for v in missing_values))]
    if not slips:
        return
    told = "; ".join(f"{c!r}: {found[c].count} cell(s), {', '.join(found[c].first)}" for c in slips)
    raise InitError(f"{len(slips)} column(s) hold numbers but for a few cells, which would make each a "
                    f"text column, every number a category of its own: {told}. Correct those cells (a "
                    "decimal comma: 13.2, not 13,2), or, for a word that means no value, pass "
                    "--missing-value WORD (as many times as there are such words); then run init again. "
                    "A column of codes that are text at times (floors 1, 2, G) is kept as text with "
                    "--text-column NAME")


def refuse_infinities(path: str, statistics, missing_values: List[str]) -> None:
    """InitError naming the cells (and lines) of each numeric column that holds an infinite value
    (R writes `Inf`): a model can neither scale nor learn from one, and no range bounds it."""
    infinite = [s.path.step[0] for s in statistics.datasets[0].features if s.HasField("num_stats")
                and (math.isinf(s.num_stats.min) or math.isinf(s.num_stats.max))]
    if not infinite:
        return
    found = infinite_cells(path, infinite, missing_values)
    told = "; ".join(f"{c!r}: {found[c].count} cell(s), {', '.join(found[c].first)}" for c in infinite)
    raise InitError(f"{len(infinite)} column(s) hold infinite values, which a model can neither scale nor "
                    f"learn from: {told}. Make those cells empty (no value), or, where a word such as "
                    "Inf stands for no value, pass --missing-value WORD (once per word: Inf, -Inf); then run "
                    "init again")
