"""Columns of numbers written for people to read, which TFX's CSV reader takes for text: decimal
commas (`16,99`, `1.234,5`, as spreadsheets in much of Europe write them) and thousands separators
(`5,380,000`). `tfxpipe init` would draft each as a text column, hashed or a vocabulary, every number
a category of its own; it refuses the file instead, saying how pandas converts it.

A column is written so when nearly all its present cells (all but FEW_MISFITS_SHARE, the slips
`init` names by line once the file is converted) are numbers in that writing or plain numbers it
allows, and at least one cell needs the writing: a column of plain integers never is, nor free text
with commas in it.
"""
import re
from typing import Dict, List, Optional, Sequence

from tensorflow_metadata.proto.v0 import schema_pb2

from schema import cell_lines
from schema.cell_counts import ColumnCells
from schema.columns import FEW_MISFITS_SHARE, InitError

# Writing -> (a cell that needs it, a plain cell it allows, the pandas call that reads it). Thousands
# first: `1,234` fits both, and is more often a thousand; `0,125` is no thousand.
WRITINGS = {
    "thousands separators": (re.compile(r"-?[1-9]\d{0,2}(,\d{3})+(\.\d+)?"), re.compile(r"-?\d+(\.\d+)?"),
                             "pd.read_csv(FILE, thousands=',')"),
    "decimal commas": (re.compile(r"-?(\d{1,3}(\.\d{3})+|\d+),\d+"), re.compile(r"-?(\d{1,3}(\.\d{3})+|\d+)"),
                       "pd.read_csv(FILE, decimal=',', thousands='.')"),
}


def writing(cells: ColumnCells, missing: Sequence[str]) -> Optional[str]:
    """The writing (a WRITINGS key) of a column of numbers written for people, by its counted
    cells but the `missing` ones; None for any other column."""
    present = {value: n for value, n in cells.counts.items() if value not in missing}
    for name, (needs, allows, _) in WRITINGS.items():
        needed = sum(n for value, n in present.items() if needs.fullmatch(value))
        allowed = sum(n for value, n in present.items() if allows.fullmatch(value))
        if needed and needed + allowed >= (1 - FEW_MISFITS_SHARE) * sum(present.values()):
            return name
    return None


def refuse_numbers_written_for_people(path: str, header: List[str], columns: Dict[str, ColumnCells],
                                      missing_values: List[str], text: Sequence[str]) -> None:
    """InitError naming each column of numbers written for people (but the `text` ones), a cell
    of each with its line, and how pandas converts the file."""
    written = {c: writing(columns[c], missing_values) for c in header if c not in text}
    written = {column: name for column, name in written.items() if name}
    if not written:
        return
    found = cell_lines.misfit_cells(path, {c: schema_pb2.FLOAT for c in written}, missing_values)
    told = "; ".join(
        f"{name} in " + ", ".join(f"{c!r} ({found[c].first[0]})" for c in written if written[c] == name)
        + f": convert the file, e.g. with pandas: {reader}.to_csv(NEW_FILE, index=False)"
        for name, (_, _, reader) in WRITINGS.items() if name in written.values())
    raise InitError(f"{len(written)} column(s) hold numbers written for people to read, which TFX's CSV "
                    f"reader takes for text, every number a category of its own: {told}; then run init "
                    "on the converted file")
