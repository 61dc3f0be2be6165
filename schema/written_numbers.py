"""Columns of numbers written for people to read, which TFX's CSV reader takes for text: decimal
commas (`16,99`, `1.234,5`, as spreadsheets in much of Europe write them) and thousands separators
(`5,380,000`). `tfxpipe init` would draft each as a text column, hashed or a vocabulary, every number
a category of its own; it refuses the file instead, saying how pandas converts it.

A column is written so when nearly all its present cells (all but FEW_MISFITS_SHARE, the slips
`init` names by line once the file is converted) are numbers in that writing or plain numbers it
allows, and the cells that need the writing are more than a few (`columns.is_few`: more than
FEW_MISFITS_SHARE of the present cells, or more than FEW_MISFITS_VALUES distinct values). A column
of plain integers never is, nor free text with commas in it; one stray `1,5` among numbers is a slip,
which `infer` then names by its line.

The conversion told must not corrupt other columns: a single `pd.read_csv(FILE, ...)` applies its
separators to every column (`thousands='.'` reads a dot decimal 3.5 as 35, `thousands=','` a list
`1,2,3` as 123), so it is told only when no other column holds a cell it would read otherwise;
else each column is read as text and converted on its own.
"""
import re
from typing import Dict, List, Optional, Sequence

from tensorflow_metadata.proto.v0 import schema_pb2

from schema import cell_lines
from schema.cell_counts import ColumnCells
from schema.columns import InitError, FEW_MISFITS_SHARE, is_few

# Writing -> (a cell that needs it, a plain cell it allows, how pandas converts a column of it read as
# text). Thousands first: `1,234` fits both, and is more often a thousand; `0,125` is no thousand.
WRITINGS = {
    "thousands separators": (re.compile(r"-?[1-9]\d{0,2}(,\d{3})+(\.\d+)?"), re.compile(r"-?\d+(\.\d+)?"),
                             ".str.replace(',', '', regex=False)"),
    "decimal commas": (re.compile(r"-?(\d{1,3}(\.\d{3})+|\d+),\d+"), re.compile(r"-?(\d{1,3}(\.\d{3})+|\d+)"),
                       ".str.replace(',', '.', regex=False)"),
}
AMBIGUOUS = re.compile(r"-?\d{1,3},\d{3}")  # a thousand, or a decimal comma with 3 decimals (1,759 EUR/l)
DOT_THOUSANDS = re.compile(r"-?\d{1,3}(\.\d{3})+(,\d+)?")  # 1.234,5 and 1.234, as decimal commas go
NUMERIC = re.compile(r"-?[\d.,]*\d[\d.,]*")  # digits with dots or commas: what a separator call re-reads
TEXT_COLUMN = "A column that is not numbers at all is kept as text with --text-column NAME"


def _present(cells: ColumnCells, missing: Sequence[str]) -> Dict[str, int]:
    return {value: n for value, n in cells.counts.items() if value not in missing}


def _needing(cells: ColumnCells, missing: Sequence[str], name: str) -> Dict[str, int]:
    """The present cells (value -> count) that need the writing `name` to be read as numbers."""
    return {v: n for v, n in _present(cells, missing).items() if WRITINGS[name][0].fullmatch(v)}


def writing(cells: ColumnCells, missing: Sequence[str]) -> Optional[str]:
    """The writing (a WRITINGS key) of a column of numbers written for people, by its counted
    cells but the `missing` ones; None for any other column (a few stray cells among numbers too)."""
    present = _present(cells, missing)
    for name, (_, allows, _) in WRITINGS.items():
        needed = _needing(cells, missing, name)
        allowed = sum(n for value, n in present.items() if allows.fullmatch(value))
        total = sum(present.values())
        if needed and not is_few(sum(needed.values()), len(needed), total) and \
                sum(needed.values()) + allowed >= (1 - FEW_MISFITS_SHARE) * total:
            return name
    return None


def _one_call(written: Dict[str, str], columns: Dict[str, ColumnCells], missing: Sequence[str]
              ) -> Optional[str]:
    """The one `pd.read_csv` call that reads every `written` column (name -> writing) right and
    leaves all others as they are; None where there is none (both writings, or another column with
    a cell the call's separators would read otherwise: a dot decimal where decimals are commas)."""
    if len(set(written.values())) > 1:
        return None
    if "thousands separators" in written.values():
        call, separators = "pd.read_csv(FILE, thousands=',')", ","
    else:
        dotted = any(DOT_THOUSANDS.fullmatch(v) for c in written for v in _present(columns[c], missing))
        call = "pd.read_csv(FILE, decimal=',', thousands='.')" if dotted else "pd.read_csv(FILE, decimal=',')"
        separators = ",."  # `3.5` is no number to decimal=',', and 35 to thousands='.'
    others = [c for c in columns if c not in written]
    misread = any(NUMERIC.fullmatch(v) and set(v) & set(separators)
                  for c in others for v in _present(columns[c], missing))
    return None if misread else call


def _conversion(column: str, name: str, cells: ColumnCells, missing: Sequence[str]) -> str:
    """The pandas statement that converts `column`, read as text, from the writing `name`."""
    dots = ".str.replace('.', '', regex=False)" if name == "decimal commas" and any(
        DOT_THOUSANDS.fullmatch(v) for v in _present(cells, missing)) else ""
    return f"df[{column!r}] = df[{column!r}]{dots}{WRITINGS[name][2]}.astype(float)"


def refuse_numbers_written_for_people(path: str, header: List[str], columns: Dict[str, ColumnCells],
                                      missing_values: List[str], text: Sequence[str]) -> None:
    """InitError naming each column of numbers written for people (but the `text` ones), a cell
    of each with its line, and how pandas converts the file: one `read_csv` call where it reads
    every column right, else a conversion per column; cells that read as either writing are said."""
    written = {c: writing(columns[c], missing_values) for c in header if c not in text}
    written = {column: name for column, name in written.items() if name}
    if not written:
        return
    found = cell_lines.misfit_cells(path, {c: schema_pb2.FLOAT for c in written}, missing_values)
    named = "; ".join(f"{name} in " + ", ".join(f"{c!r} ({found[c].first[0]})" for c in written
                                               if written[c] == name)
                      for name in WRITINGS if name in written.values())
    call = _one_call(written, columns, missing_values)
    if call:
        told = f"convert the file, e.g. with pandas: {call}.to_csv(NEW_FILE, index=False)"
    else:
        told = ("no single pd.read_csv call reads every column of this file right, so convert each column "
                "read as text, e.g. with pandas: df = pd.read_csv(FILE, dtype={"
                + ", ".join(f"{c!r}: str" for c in written) + "}); "
                + "; ".join(_conversion(c, n, columns[c], missing_values) for c, n in written.items())
                + "; df.to_csv(NEW_FILE, index=False)")
    ambiguous = [c for c, name in written.items() if name == "thousands separators"
                 and all(AMBIGUOUS.fullmatch(v) for v in _needing(columns[c], missing_values, name))]
    if ambiguous:
        told += (". The cells of " + ", ".join(map(repr, ambiguous)) + " also read as decimal commas "
                 "(1,250 as 1.25, as fuel prices are written): check which is meant")
    raise InitError(f"{len(written)} column(s) hold numbers written for people to read, which TFX's CSV "
                    f"reader takes for text, every number a category of its own: {named}: {told}; then run "
                    f"init on the converted file. {TEXT_COLUMN}")
