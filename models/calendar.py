"""Calendar parts of a date feature (`kind: date`), computed inside the model's graph.

A date column is calendar time: as a number a model would learn "the past", which a new span never
repeats. Its cycles repeat: the hour of the day, the day of the week, the month of the year. Computed
here, in Transform's graph, the served model takes the date as the data writes it: clients send the
raw value, never parts they would have to compute the same way by hand (training/serving skew).

TensorFlow has no date parsing (no strptime op; tf.strings only splits and matches), so the formats a
graph reads are the ones written by machines, which name the year first: ISO 8601 dates and times
(`2021-01-31`, `2021-01-31T08:05:00.5+01:00`, `2021/01/31 08:05`) and integer seconds or
milliseconds since 1970 (UTC). Times are taken as written: the hour of `08:05+01:00` is 8, the
local hour, which is what daily cycles follow (a written offset is not applied). The days since 1970
come from Howard Hinnant's `days_from_civil` and the month of a timestamp from `civil_from_days`
(integer arithmetic, exact for every Gregorian date).

`is_date` is the same test in Python: the gate refuses cells the graph would read as no date.
"""
import datetime
import re
from typing import Dict, Optional, Tuple

PARTS = {"hour": 24, "weekday": 7, "month": 12}  # part -> its values; ids 0..n-1 (month 1 is id 0)
UNITS = {"seconds": 1, "milliseconds": 1000}  # integer timestamps since 1970
CYCLES = {"hour": "daily", "weekday": "weekly", "month": "yearly"}
# year, month, day; hour and minute (optional); seconds, fractions and a zone are read past
PATTERN = (r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})"
           r"(?:[T ]([0-9]{1,2}):([0-9]{2})(?::[0-9]{2}(?:[.,][0-9]+)?)?)?"
           r"(?:Z| ?[+-][0-9]{2}:?[0-9]{2})?")
WRITTEN = "ISO 8601 (2021-01-31, 2021-01-31T08:05:00Z, 2021/01/31 08:05)"
_MATCH = re.compile(PATTERN)
ASCII_SPACE = " \t\n\r\x0b\x0c"  # what tf.strings.strip strips (str.strip strips Unicode spaces too)
SECONDS_PER_DAY = 86_400
THURSDAY = 3  # 1970-01-01, with Monday 0 as pandas and Python count weekdays


def written_parts(cell: str) -> Optional[Tuple[int, int, int, Optional[int]]]:
    """(year, month, day, hour or None) of a date as the graph reads it, or None when it is no date
    (not the PATTERN, or no such day or time: 2021-02-30, 24:00)."""
    found = _MATCH.fullmatch(cell.strip(ASCII_SPACE))
    if not found:
        return None
    year, month, day, hour, minute = (int(g) if g is not None else None for g in found.groups())
    try:
        datetime.datetime(year, month, day, hour or 0, minute or 0)
    except ValueError:
        return None
    return year, month, day, hour


def is_date(cell: str) -> bool:
    return written_parts(cell) is not None


def _tf():
    import tensorflow as tf  # pylint: disable=import-outside-toplevel  # init and the gate need no TF
    return tf


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a Gregorian date (int64 tensors)."""
    tf = _tf()
    year = year - tf.cast(month <= 2, tf.int64)
    era = tf.math.floordiv(year, 400)
    year_of_era = year - era * 400
    day_of_year = (153 * tf.math.floormod(month + 9, 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def month_from_days(days):
    """The month (1..12) of the day `days` after 1970-01-01 (int64 tensor)."""
    tf = _tf()
    shifted = days + 719_468
    day_of_era = shifted - tf.math.floordiv(shifted, 146_097) * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_from_march = (5 * day_of_year + 2) // 153
    return tf.where(month_from_march < 10, month_from_march + 3, month_from_march - 9)


def _from_text(text):
    """(days since 1970, hour or -1 without a time, whether the cell is a date) of string cells."""
    tf = _tf()
    text = tf.strings.strip(text)
    matched = tf.strings.regex_full_match(text, PATTERN)
    # "0" before the optional groups: an absent time reads 0 there, told apart by `timed`
    fields = tf.strings.regex_replace(text, f"^{PATTERN}$", r"\1 \2 \3 0\4 0\5")
    fields = tf.where(matched, fields, "1970 1 1 0 0")
    year, month, day, hour, minute = tf.unstack(
        tf.strings.to_number(tf.strings.split(fields, " ").to_tensor(shape=[None, 5]), tf.int64), axis=-1)
    timed = tf.strings.regex_full_match(text, r"[0-9/-]+[T ][0-9].*")
    next_month = days_from_civil(year + month // 12, month % 12 + 1, tf.ones_like(day))
    valid = matched & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (hour <= 23) & (minute <= 59) \
        & (days_from_civil(year, month, day) < next_month)
    return days_from_civil(year, month, day), tf.where(timed, hour, -tf.ones_like(hour)), valid


def _from_timestamps(stamps, unit: str):
    tf = _tf()
    seconds = tf.math.floordiv(tf.cast(stamps, tf.int64), UNITS[unit])
    days = tf.math.floordiv(seconds, SECONDS_PER_DAY)
    return days, (seconds - days * SECONDS_PER_DAY) // 3600, tf.ones_like(days, tf.bool)


def part_ids(values, present, unit: str, parts) -> Dict[str, object]:
    """Part -> [batch, 1] int64 ids (0..PARTS[part]-1; PARTS[part] for a missing or unreadable
    value) of the dates `values` (strings, or integers since 1970 in `unit`) where `present` holds."""
    tf = _tf()
    values, present = tf.reshape(values, [-1]), tf.reshape(present, [-1])
    days, hour, valid = _from_timestamps(values, unit) if unit else _from_text(values)
    valid &= present
    found = {"hour": hour, "weekday": tf.math.floormod(days + THURSDAY, 7), "month": month_from_days(days) - 1}
    ids = {}
    for part in parts:
        known = valid & (found[part] >= 0)
        ids[part] = tf.reshape(tf.where(known, found[part], tf.constant(PARTS[part], tf.int64)), [-1, 1])
    return ids
