"""Numbers that stand for "no value": survey and database exports write a missing number as 99,
999999, -999 or 7777 rather than leave the cell empty. Read as numbers, they train the model on a
huge value and stretch the schema's drafted range to about twice the code, so that a unit change no
longer fails the gate. `init` cannot know what a column's code means, so it names what looks like
one and leaves the decision (`--missing-value`) to the person reviewing the draft.

Hand-written because TFDV's statistics show such a code only as a maximum far from the rest, which
a real outlier gives too; what tells a code is how it is written (one repeated digit) and the gap.
"""
import re
from typing import Counter, List, Optional, Tuple

from schema.ranges import plain

# 99, 999999, -999, 7777, 666.0: surveys' "refused" (7), "don't know" (8), "missing" (9), and 666
REPEATED_DIGIT = re.compile(r"-?([6-9])\1+(\.0+)?")
MAX_SHARE = 0.5  # a code marks some rows; a column mostly of it is another matter


def codes_for_missing(cells: Counter) -> List[Tuple[str, int]]:
    """(cell, rows) of the values of a numeric column's counted `cells` that look like codes for
    "no value": one digit of 6 to 9 repeated, past the rest of the column by at least the rest's
    width (above it, or negative below a rest that is never negative), in under MAX_SHARE of the
    rows."""
    total = sum(cells.values())
    found = []
    for cell, count in cells.items():
        if not REPEATED_DIGIT.fullmatch(cell.strip()) or count >= MAX_SHARE * total:
            continue
        code = float(cell)
        rest = {float(c) for c in cells} - {code}
        if len(rest) < 2:
            continue
        width = max(rest) - min(rest)
        if code > 0 and code >= max(rest) + width or code < 0 <= min(rest) and code <= min(rest) - width:
            found.append((cell, count))
    return sorted(found, key=lambda pair: -pair[1])


def check_line(column: str, cells: Counter, all_counted: bool = True, label: bool = False) -> Optional[str]:
    """What `init` asks the reviewer to look at in a numeric column, if anything. `all_counted`:
    whether `cells` counts every row (a column of many distinct values is counted up to a limit,
    `schema/cell_counts.py`); `label`: the column is the label, whose rows without a value are dropped,
    not read as gaps."""
    codes = codes_for_missing(cells)
    if not codes:
        return None
    rest = {float(c) for c in cells} - {float(cell) for cell, _ in codes}
    told = ", ".join(f"{cell} in {'' if all_counted else 'at least '}{count:,} row(s)" for cell, count in codes)
    flags = " ".join(f"--missing-value {cell}" for cell, _ in codes)
    fix = ("drop those rows: the label needs a value" if label
           else f"draft again with `{flags}`; as it is, the model reads it as a number and the schema's "
                "range stretches to hold it")
    return (f"{column}: {told}, far from its other values ({plain(min(rest))} to {plain(max(rest))}): a code "
            f"for \"no value\"? If so, {fix}.")
