"""What `tfxpipe init` makes of a date or a timestamp (schema/columns.py excludes it as such: the model
would learn calendar time). Written as the graph reads dates (models/calendar.py), its calendar parts
that vary become a `date` feature; written otherwise, init prints the pandas line that adds them as
columns of their own, which `init` then drafts. pandas reads the dates; which parts of them vary, and
which the data has already, is this project's question, so it is written here."""
from typing import Callable, Counter, List, Mapping, Optional, Tuple

import pandas as pd

from models import calendar
from models.dataset import safe_name
from schema import date_cells
from schema.columns import DATE_SHARE, STRING, WRITTEN_DATES, YEAR_WORDS, Stats, has_name_word, time_unit

CYCLES = calendar.CYCLES
# Another column is a part already when a word of its name says so (taxi's trip_start_day) and it
# holds no more values than the part has: a `day` of 1..31 is the day of the month, an `hr` of
# 40..180 a heart rate; neither is the weekday or the hour.
PART_WORDS = {"hour": frozenset({"hour", "hr"}), "weekday": frozenset({"weekday", "wday", "dow", "dayofweek", "day"}),
              "month": frozenset({"month", "mnth", "mon"})}
PART_VALUES = {"hour": 24, "weekday": 7, "month": 12}


def _parsed(stat: Stats, cells: Counter) -> Optional[Tuple[str, pd.Series, bool]]:
    """(pd.to_datetime's arguments besides the column, as written in the hint; the times; whether
    they are in UTC) of the counted cells, or None when they are no dates."""
    values = pd.Series([v for v in cells if v])
    unit = time_unit(stat)
    if unit:
        shown = {"seconds": "s", "milliseconds": "ms"}[unit]
        return f", unit={shown!r}", pd.to_datetime(values.astype("int64"), unit=shown), True
    if stat.type != STRING:
        return None
    written = next((f for f in WRITTEN_DATES if pd.to_datetime(values, format=f, errors="coerce").notna().mean()
                    >= DATE_SHARE), None)
    options = {"format": written} if written else {}
    if not written and (values.str.extract(r"^(\d{1,2})/\d{1,2}/", expand=False).astype(float) > 12).any():
        options["dayfirst"] = True  # 31/01/2021: pandas reads d/m/y as m/d/y (US order) unless told
    if values.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$").any():  # offsets, which may change (summer time)
        options["utc"] = True
    options["errors"] = "coerce"  # a cell that is no date gives no parts, not an error
    times = pd.to_datetime(values, **options).dropna()
    if not pd.api.types.is_datetime64_any_dtype(times):
        return None
    return "".join(f", {key}={value!r}" for key, value in options.items()), times, bool(options.get("utc"))


def _is_there(part: str, times: pd.Series, others: Mapping[str, Counter]) -> bool:
    """Whether one of the other columns (name -> counted cells) is that calendar part of `times`
    already: named after it, and holding as many values as the part does in `times` and no more
    than the part can (a 0/1 `mon` is a Monday flag, not the month)."""
    least = getattr(times.dt, part).nunique()
    return any(has_name_word(name, PART_WORDS[part]) and least <= sum(1 for v in cells if v) <= PART_VALUES[part]
               for name, cells in others.items())


def _monthly(times: pd.Series) -> bool:
    """Every date on one day of its month: the first, or the last (month-end series, as R and
    pandas write them: 1967-06-30, 1967-07-31), whose weekday is no cycle of the data."""
    return times.dt.day.nunique() == 1 or bool(times.dt.is_month_end.all())


def _varying(times: pd.Series) -> List[str]:
    return [p for p in CYCLES if getattr(times.dt, p).nunique() > 1 and (p != "weekday" or not _monthly(times))]


def _new_parts(column: str, times: pd.Series, others: Mapping[str, Counter]) -> List[str]:
    """The calendar parts of `times` that vary (no weekday for monthly data: `_monthly`) and that
    no other column is already."""
    varying = _varying(times)
    # a column by the name the line would give a part is that part, or the line would overwrite it (a
    # date feature's part would share its model input's name)
    taken = {safe_name(name) for name in others}
    return [p for p in varying if not _is_there(p, times, others) and safe_name(f"{column}_{p}") not in taken]


def date_feature(column: str, stat: Stats, cells: Counter, others: Mapping[str, Counter],
                 timed_in_file: Optional[Callable[[], float]] = None) -> Optional[Tuple[dict, str]]:
    """(declaration, decision) of a date the model's graph reads (every counted cell written as
    calendar.WRITTEN, or integer seconds or milliseconds since 1970) whose calendar parts vary and
    are no column of the data already; None otherwise. The hour is a part where nearly every date
    carries a time (`schema/date_cells.py`), among `cells`, or, where those are only the first values
    counted, over the file (`timed_in_file`), as the gate then checks it."""
    values = [v for v in cells if v]
    unit = time_unit(stat)
    if unit:
        times = pd.to_datetime(pd.Series(values).astype("int64"), unit={"seconds": "s", "milliseconds": "ms"}[unit])
    elif stat.type == STRING and all(calendar.is_date(v) for v in values):
        read = pd.DataFrame([calendar.written_parts(v) for v in values], columns=["year", "month", "day", "hour"])
        # hours as written (the graph applies no offset); a date pandas cannot hold (9999-12-31 for "no
        # end") tells no part, and the graph reads it as any other
        times = pd.to_datetime(read.fillna({"hour": 0}).astype(int), errors="coerce").dropna()
    else:
        return None
    parts = _new_parts(column, times, others)
    timed = 1.0
    if "hour" in parts and not unit:
        timed = timed_in_file() if timed_in_file else date_cells.timed_share(cells)
    no_hour = ""
    if timed < date_cells.TIMED_SHARE_DECLARED:  # a part missing in many rows, which the gate would refuse
        parts.remove("hour")
        no_hour = (f"; no hour: {date_cells.share_text(timed)} of its dates carry a time of day, fewer than the "
                   f"{date_cells.TIMED_SHARE_DECLARED:.0%} the hour part needs")
    if not parts:
        return None
    read_from = f"its {unit} since 1970 (UTC; the gate keeps them in 2000-2100)" if unit else \
        "the date as written" + (", hours with no offset applied" if "hour" in parts else "")
    return ({"kind": "date", "parts": parts, **({"unit": unit} if unit else {})},
            f"date, parts {', '.join(parts)} ({', '.join(CYCLES[p] for p in parts)} cycles, computed in the model "
            f"from {read_from}; requests send the date itself{no_hour})")


def calendar_columns_hint(column: str, stat: Stats, cells: Counter, others: Mapping[str, Counter]) -> Optional[str]:
    """For a column `feature_decision` excluded as a date or a timestamp (`cells` its counted
    values, `others` the other columns'): the pandas line that adds the parts of it that vary (hour,
    weekday, month), cycles a model can learn from where the date itself is calendar time; monthly
    data (every date on the same day of the month) gets no weekday. Dates of which only the year
    varies (a car's model year written 1970-01-01) get the line that writes their year, which `init`
    keeps as years, like any column of years. None when nothing varies or the data has the parts
    already."""
    parsed = _parsed(stat, cells)
    if parsed is None:
        return None
    parse, times, in_utc = parsed
    parts = _new_parts(column, times, others)
    varying = _varying(times)
    if parts:
        added = ", ".join(f"df[{f'{column}_{part}'!r}]" for part in parts)
        return (f"{column}: its {', '.join(parts)} as columns of their own ({', '.join(CYCLES[p] for p in parts)} "
                "cycles; requests then carry them too), then init again, e.g. with pandas: "
                f"`t = pd.to_datetime(df[{column!r}]{parse}); {added} = {', '.join(f't.dt.{p}' for p in parts)}`"
                + (" (hours in UTC)" if in_utc and "hour" in parts else ""))
    years = times.dt.year
    # written offsets are read in UTC, where a year's first hours may fall in the year before
    if varying or not _monthly(times) or years.nunique() < 2 or "utc=" in parse \
            or any(has_name_word(name, YEAR_WORDS) for name in others):
        return None
    target = column if has_name_word(column, YEAR_WORDS) else f"{column}_year"
    return (f"{column}: only its year varies ({years.min()} to {years.max()}): as a number, which init keeps as "
            "years (a model year, the year built, a yearly figure's year), then init again, e.g. with pandas: "
            f"`df[{target!r}] = pd.to_datetime(df[{column!r}]{parse}).dt.year`")
