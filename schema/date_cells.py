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
import math
from typing import Dict, Mapping, Optional, Sequence

from models import calendar
from schema import ranges, tally

TIMED_SHARE_DECLARED = 0.95
TIMED_SHARE_MIN = 0.9
NO_DATE, NO_TIME = "no date", "no time"  # what `reading` says of a cell


def reading(cell: str, timed: bool) -> str:
    """What the model misses of a date feature's value `cell` (not a missing one): NO_DATE, NO_TIME
    (a date without the time of day, where the feature is `timed`: the hour is one of its parts), or
    "" (nothing)."""
    parts = calendar.written_parts(cell)
    if parts is None:
        return NO_DATE
    return NO_TIME if timed and parts[3] is None else ""


def share_text(share: float) -> str:
    """A share in percent, rounded down (89.96 % is no 90 %, the gate's minimum)."""
    return f"{math.floor(share * 1000) / 10:g}%"


def too_few_times(untimed: int, dated: int) -> bool:
    """Whether `untimed` dates of `dated` leave times rarer than TIMED_SHARE_MIN."""
    return untimed > 0 and dated - untimed < TIMED_SHARE_MIN * dated


def timed_share(cells: Mapping[str, int]) -> float:
    """The share of the dates among `cells` (value -> count) that carry a time of day."""
    read = [(calendar.written_parts(cell), n) for cell, n in cells.items()]
    total = sum(n for parts, n in read if parts is not None)
    return sum(n for parts, n in read if parts is not None and parts[3] is not None) / total if total else 0.0


class DateCells:
    """Per date feature, the cells with a value and those the model reads only in part (by
    `reading`), with the first few of those named."""

    def __init__(self):
        self.present = tally.Tally("dates_present")
        self.read = {NO_DATE: tally.Tally("dates_undated"), NO_TIME: tally.Tally("dates_untimed")}

    def check_cell(self, column: str, cell: Optional[str], timed: bool, missing_values: Sequence[str]) -> None:
        if not cell or cell in missing_values:
            return
        self.present.add(column)
        found = reading(cell, timed)
        if found:
            self.read[found].add(column, cell)

    def check(self, row: Mapping[str, str], timed: Mapping[str, bool], missing_values: Sequence[str]) -> None:
        """`timed`: each date feature written as text -> whether the hour is one of its parts."""
        for column, hour in timed.items():
            self.check_cell(column, row.get(column), hour, missing_values)

    def as_counters(self) -> Dict[str, int]:
        return {**self.present.as_counters(), **{k: v for t in self.read.values() for k, v in t.as_counters().items()}}

    @classmethod
    def from_counters(cls, counted: Mapping[str, int]) -> "DateCells":
        cells = cls()
        for each in (cells.present, *cells.read.values()):
            each.read_counters(counted)
        return cells

    def warning(self, rows: int, path: str, has_label: bool, dataset_flag: str = "") -> Optional[str]:
        """What `score` and `predict` print when the model reads dates of `path` without calendar
        parts (any such cell, as the gate refuses any) or without the hour (times rarer than the gate
        allows), naming the first values; None when neither."""
        told = []
        undated, untimed = self.read[NO_DATE], self.read[NO_TIME]
        for column in sorted(self.present.counts):
            if undated.counts.get(column):
                told.append(f"{column}: {undated.counts[column]:,} cell(s) are no date it reads "
                            f"({', '.join(map(repr, undated.values[column]))}), so every calendar part of "
                            f"those rows is missing; it reads {calendar.WRITTEN}")
            dated = self.present.counts[column] - undated.counts.get(column, 0)
            if too_few_times(untimed.counts.get(column, 0), dated):
                told.append(f"{column}: {untimed.counts[column]:,} of {dated:,} dates carry no time of day "
                            f"({', '.join(map(repr, untimed.values[column]))}), so their hour, a part the "
                            "model reads, is missing")
        if not told:
            return None
        return (f"warning: dates the model reads only in part, among {rows:,} rows: {'; '.join(told)}. Its "
                "answers there rest on the other features and parts alone. "
                f"`{ranges.validate_command(path, has_label, dataset_flag)}` checks the file against the schema.")
