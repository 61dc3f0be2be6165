"""Cells of a date feature written as text that the model reads only in part: no date its graph
reads (`models/calendar.py`: every calendar part missing), or, where the hour is one of the feature's
parts, a date without the time of day (its hour missing). Statistics cannot tell either from a good
date (TFDV sees text), yet an export that starts writing `2021-01-31` for `2021-01-31 08:05`, or
`01/31/2021 08:05`, takes a part away from the model in every row. The gate and `validate` refuse such
data (`schema/cell_lines.py` names the lines); `score` and `predict` say so, as they do of values
outside the schema's ranges.

A few dates without a time can be real (an event recorded by day), so times are held to a share:
`init` declares the hour part only where at least `TIMED_SHARE_DECLARED` of the dates carry one, and
the gate refuses a span where fewer than `TIMED_SHARE_MIN` do, which leaves the drafted data room.
"""
import json
from typing import Dict, List, Mapping, Optional, Sequence

from models import calendar
from schema import ranges

TIMED_SHARE_DECLARED = 0.95
TIMED_SHARE_MIN = 0.9
NO_DATE, NO_TIME = "no date", "no time"  # what `reading` says of a cell
SHOWN = 3  # values named per column in a warning
# Counter names (`score` sums workers' counts with Beam's counters): + JSON [column, reading]
COUNT, PRESENT, VALUE = "date_cells:", "date_cells_present:", "date_cells_value:"


def reading(cell: str, timed: bool) -> str:
    """What the model misses of a date feature's value `cell` (not a missing one): NO_DATE, NO_TIME
    (a date without the time of day, where the feature is `timed`: the hour is one of its parts), or
    "" (nothing)."""
    parts = calendar.written_parts(cell)
    if parts is None:
        return NO_DATE
    return NO_TIME if timed and parts[3] is None else ""


def too_few_times(untimed: int, dated: int) -> bool:
    """Whether `untimed` dates of `dated` leave times rarer than TIMED_SHARE_MIN."""
    return untimed > 0 and dated - untimed < TIMED_SHARE_MIN * dated


def timed_share(cells: Mapping[str, int]) -> float:
    """The share of the dates among `cells` (value -> count) that carry a time of day."""
    dated = {cell: n for cell, n in cells.items() if calendar.written_parts(cell) is not None}
    total = sum(dated.values())
    return sum(n for cell, n in dated.items() if calendar.written_parts(cell)[3] is not None) / total if total else 0.0


class DateCells:
    """Per date feature, the cells with a value and those the model reads only in part (by
    `reading`), with the first few of those named."""

    def __init__(self):
        self.present: Dict[str, int] = {}
        self.counts: Dict[str, Dict[str, int]] = {}  # column -> reading -> cells
        self.values: Dict[str, Dict[str, List[str]]] = {}  # column -> reading -> the first SHOWN values

    def add(self, column: str, found: str, cell: str, count: int = 1) -> None:
        by_reading = self.counts.setdefault(column, {})
        by_reading[found] = by_reading.get(found, 0) + count
        kept = self.values.setdefault(column, {}).setdefault(found, [])
        if cell not in kept and len(kept) < SHOWN:
            kept.append(cell)

    def check_cell(self, column: str, cell: Optional[str], timed: bool, missing_values: Sequence[str]) -> None:
        if not cell or cell in missing_values:
            return
        self.present[column] = self.present.get(column, 0) + 1
        found = reading(cell, timed)
        if found:
            self.add(column, found, cell)

    def check(self, row: Mapping[str, str], timed: Mapping[str, bool], missing_values: Sequence[str]) -> None:
        """`timed`: each date feature written as text -> whether the hour is one of its parts."""
        for column, hour in timed.items():
            self.check_cell(column, row.get(column), hour, missing_values)

    def as_counters(self) -> Dict[str, int]:
        """The counts and named values as counters, which summed over workers `from_counters` reads."""
        counters = {PRESENT + json.dumps([column]): n for column, n in self.present.items()}
        for column, by_reading in self.counts.items():
            counters.update({COUNT + json.dumps([column, found]): n for found, n in by_reading.items()})
            counters.update({VALUE + json.dumps([column, found, value]): 1
                             for found, values in self.values[column].items() for value in values})
        return counters

    @classmethod
    def from_counters(cls, counted: Mapping[str, int]) -> "DateCells":
        cells = cls()
        for name, n in sorted(counted.items(), key=lambda item: -item[1]):  # the values most ranges met first
            if name.startswith(VALUE):
                column, found, value = json.loads(name[len(VALUE):])
                cells.add(column, found, value, 0)
        for name, n in counted.items():
            if name.startswith(COUNT):
                column, found = json.loads(name[len(COUNT):])
                cells.counts.setdefault(column, {})[found] = n
            elif name.startswith(PRESENT):
                cells.present[json.loads(name[len(PRESENT):])[0]] = n
        return cells

    def warning(self, rows: int, path: str, has_label: bool, dataset_flag: str = "") -> Optional[str]:
        """What `score` and `predict` print when the model reads dates of `path` without calendar
        parts (any such cell, as the gate refuses any) or without the hour (times rarer than the gate
        allows), naming the first values; None when neither."""
        told = []
        for column, by_reading in sorted(self.counts.items()):
            named = self.values.get(column, {})
            if by_reading.get(NO_DATE):
                told.append(f"{column}: {by_reading[NO_DATE]:,} cell(s) are no date it reads "
                            f"({', '.join(map(repr, named.get(NO_DATE, [])))}), so every calendar part of "
                            f"those rows is missing; it reads {calendar.WRITTEN}")
            dated = self.present.get(column, 0) - by_reading.get(NO_DATE, 0)
            if too_few_times(by_reading.get(NO_TIME, 0), dated):
                told.append(f"{column}: {by_reading[NO_TIME]:,} of {dated:,} dates carry no time of day "
                            f"({', '.join(map(repr, named.get(NO_TIME, [])))}), so their hour, a part the "
                            "model reads, is missing")
        if not told:
            return None
        return (f"warning: dates the model reads only in part, among {rows:,} rows: {'; '.join(told)}. Its "
                "answers there rest on the other features and parts alone. "
                f"`{ranges.validate_command(path, has_label, dataset_flag)}` checks the file against the schema.")
