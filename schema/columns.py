"""How `tfxpipe init` reads each column of a CSV: which cell tokens mean "missing", the label's task
and classes, and each feature's kind or the reason it is excluded (see schema/infer.py for what comes
from TFDV's statistics and what from plain cell counts, and why).
"""
import collections
import math
import re
from datetime import datetime, timezone
from typing import Counter, Dict, List, Optional, Sequence, Tuple

import pandas as pd
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

import schema as schema_package
from schema.cell_counts import ColumnCells, ColumnType, column_type, is_number

MISSING_TOKENS = ("NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None", "?", "-")
# A column of numbers but for a few cells (a decimal comma "13,2", a word such as "n.a.") is read as
# text: hashed or a vocabulary, every number a category of its own. At most this share of its cells
# and this many distinct values: `init` names them rather than draft such a column.
FEW_MISFITS_SHARE, FEW_MISFITS_VALUES = 0.02, 5
ID_SHARE, ID_MIN_ROWS = 0.95, 20  # distinct values / present rows from which a column is an identifier
# Integer IDs number the rows (1..n, 10001..10120): at most twice as wide as they are many. Counts and
# amounts of a small table are all distinct too, but spread wider (employment 129,726..143,093 in
# 120 monthly rows): they stay numeric.
ID_SPREAD = 2
# A column named as an identifier (`id`, `PID`, `user_id`, `customerId`, `key`, `SEQN`: a whole word of its
# name, not `width` or `paid`) is one when its values are distinct (ID_SHARE), however they are spread
# (counties numbered 561..3052); an all-distinct column not named so may be a measurement
ID_WORDS = frozenset({"id", "pid", "uid", "uuid", "guid", "key", "identifier", "seqn"})  # seqn: NHANES' respondent
# ... or ending in `nr`, "number" as German, Dutch and Nordic data name a record's key (Kunden-Nr,
# lfd_nr; Ecdat's Males panel: `nr`), where its values are all distinct or it is the whole name;
# `nr_of_items`, `nr_rooms` are counts, `floor_nr` an ordinal
ID_LAST_WORDS = frozenset({"nr"})
# Named so, its values repeating, a column is the key of a group: a panel's person seen each year
# (plm's LaborSupply: 532 workers, 10 rows each), a patient's visits. As a number it means nothing;
# as a category the model learns these groups only, and new ones are unknown. From GROUP_KEY_VALUES
# values (fewer, 5 stores or 12 regions, are categories a later span keeps) of at most
# GROUP_KEY_ROWS rows each on average, or more values than a vocabulary holds (MAX_VOCAB: 10,000
# customers of 100 orders each): keys of fewer values of more rows each may be a lookup table's
# codes (a category's or a store's id, 200 rows each in 5,000), read as the other columns are.
GROUP_KEY_VALUES, GROUP_KEY_ROWS = 20, 20
NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")  # user_id, customerId, PID, HTTPStatus
DATE_SHARE = 0.8  # share of a string column's values that must look like dates
# Integer codes (hours, months, ratings, grades): at most 32 distinct values (MAX_PLAIN_CODES unless
# named as a calendar part) in [0, 1000], the least 0
# or 1 (codes count from there), that fill at least half of 0..their largest (the model gives each of
# 0..max an id of its own). Fewer values spread wider, or starting past 1, are a quantity seen in a
# small sample (ages 15..87 in 63 rows: 30 values; wheelbases 90..119 in inches; two-digit years
# 63..92; highway mpg 12..44), which a model reads better as a number than as unrelated codes, and
# whose next value (47 mpg) is no unknown code.
MAX_CODES, MAX_CODE, CODE_FILL, FIRST_CODES = 32, 1000, 0.5, (0, 1)
# Counts (children, nodes, visits, dependants) look like codes, 0..a small largest value, but a later
# span may hold a larger count, which as a code would be an unknown category the gate refuses (and
# the model reads as one shared "other" id). Their shares fall off towards the largest: under
# COUNT_TAIL of the rows lie in the upper half of the range (children under 6 in 0..3: 4 %; positive
# nodes in 1..38), where codes spread over theirs (hours, months, weekdays: about half). So they are
# numbers, with a plausible range up to about twice their largest. Two or three values are flags and
# levels, kept as codes. A count of larger mean (visits 0..22 around 10) spreads like codes and
# stays one: `dataset.yaml` says so, and `numeric` changes it.
COUNT_TAIL, COUNT_MIN_VALUES = 0.1, 4
# Codes of more than MAX_PLAIN_CODES values are calendar parts, named so (hour, month, day, weekday,
# week, quarter: a whole word of the name). Otherwise 13 to 32 integers from 0 or 1 are more often
# a quantity (years in the majors 1..24, errors 0..32, an advertising budget 0..29, years of school
# 0..18), whose next span may hold a larger one: as a code, the gate would refuse it.
MAX_PLAIN_CODES = 12
# The largest value of each calendar part, by the words that name it.
CALENDAR_PART_LARGEST = {"hour": 24, "hr": 24, "day": 31, "dom": 31, "weekday": 7, "wday": 7, "dow": 7, "dayofweek": 7,
                         "week": 53, "wk": 53, "month": 12, "mnth": 12, "mon": 12, "quarter": 4, "qtr": 4}
CALENDAR_WORDS = frozenset(CALENDAR_PART_LARGEST)
YEAR_WORDS = frozenset({"year", "yr", "yyyy"})
# Fractional numbers named as a date or a time whose values all lie in schema.CALENDAR_YEARS are
# years too: R's decimal years (2000.083 for February 2000, as `time()` of a monthly series writes
# them). Not integers: a clock time written HHMM (19:30 is 1930) or seconds would be taken for years.
DATED_WORDS = frozenset({"date", "time"})
MAX_VOCAB, HASH_BUCKETS = 1000, 100
# Integer numbers with at most this many distinct values (counts, years, ratings) are compared by
# their values' shares, not by quantile histograms: with a tenth of the rows per bucket, bucket
# bounds sit on tied values, and JSD between two random halves of the same data jumps when one
# moves to the next value (a survey's 7 years: 0.0002 in most draws, 0.10 in one; vega cars'
# 5 cylinder counts: 0.006 median, 0.10). Calibration's 20 draws can miss the jump, so the gate then
# refuses good spans; over shares the same halves stay within 0.001 and 0.02. Shares need rows to
# settle, though: with fewer than ROWS_PER_VALUE rows per value in a span's train split (halves of the
# data, as calibration assumes) their noise can reach JSD's top and leave no check at all, and the
# column keeps its quantiles (20 values in 120 rows; cars' 17 rounded accelerations in 406).
FEW_VALUES, ROWS_PER_VALUE = 20, 10
HASH_SHARE = 0.5  # strings with more distinct values than half their rows: hashed, not a vocabulary
CALENDAR = "the model would learn calendar time; add calendar columns to the CSV if they matter"
DATE_REASON = f"date: {CALENDAR}"
# Integers that are all times from 2000 to 2100 (UTC) in one of these units are timestamps: excluded
# like dates, and the schema keeps them in those years, so a unit change fails the gate; no drift
# check (each new span is a later period by nature).
EPOCH = (946684800, 4102444800)  # 2000-01-01 and 2100-01-01 in seconds since 1970
TIME_UNITS = {"seconds": 1, "milliseconds": 1000}
DATE = re.compile(r"\d{4}(-\d{2}-|/\d{2}/)\d{2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
                  r"|\d{1,2}/\d{1,2}/\d{4}( \d{1,2}:\d{2}(:\d{2})?( ?[AaPp][Mm])?)?")
# Dates as European spreadsheets, monthly reports and US exports write them (31.01.2011, Jan 2011,
# January 2011, Jan 31 2011, Jan 31, 2011, January 31, 2011): strptime formats, parsed by pandas
WRITTEN_DATES = ("%d.%m.%Y", "%b %Y", "%B %Y", "%b %d %Y", "%b %d, %Y", "%B %d, %Y")
Stats = statistics_pb2.FeatureNameStatistics
INT, FLOAT, STRING = Stats.INT, Stats.FLOAT, Stats.STRING


class InitError(ValueError):
    """`init` refuses the data; the message says what is wrong and what to do."""


def missing_tokens(columns: Dict[str, ColumnCells], given: Sequence[str] = ()) -> Dict[str, List[str]]:
    """Token -> columns where it stands for "missing": the column's other non-empty cells are numbers
    (or `given` words for "no value")."""
    found: Dict[str, List[str]] = collections.defaultdict(list)
    for column, cells in columns.items():
        tokens = [c for c in cells.counts if c in MISSING_TOKENS]
        others = [c for c in cells.counts if c and c not in MISSING_TOKENS and c not in given]
        if tokens and others and not cells.text_past_counts and column_type(others) != ColumnType.STRING:
            for token in tokens:
                found[token].append(column)
    return found


def tokens_read_as_values(columns: Dict[str, ColumnCells], missing_values: Sequence[str]) -> Dict[str, List[str]]:
    """Token -> columns where a MISSING_TOKENS word is read as a value (it is not in `missing_values`):
    in a text column it may be one (a code `NA`, a `-` rating), or mean "no value" (airports with
    state `NA`), which only the user knows, so `init` says so."""
    found: Dict[str, List[str]] = collections.defaultdict(list)
    for column, cells in columns.items():
        for token in MISSING_TOKENS:
            if token not in missing_values and cells.counts[token]:
                found[token].append(column)
    return found


def may_be_numbers(cells: ColumnCells, missing: List[str]) -> bool:
    """Whether a text column may be numbers with a few slips (FEW_MISFITS_*), by its counted cells:
    a few non-numbers among them, or none and text past them. The file then tells (`is_few`)."""
    present = {v: n for v, n in cells.counts.items() if v not in missing}
    misfits = {v: n for v, n in present.items() if not is_number(v, schema_pb2.FLOAT)}
    if not misfits:
        return cells.text_past_counts and bool(present)
    return len(misfits) < len(present) and len(misfits) <= FEW_MISFITS_VALUES and \
        sum(misfits.values()) <= FEW_MISFITS_SHARE * sum(present.values())


def is_few(misfits: int, distinct: int, present: int) -> bool:
    """`misfits` cells of `distinct` values among `present` ones are slips, not a text column."""
    return 0 < misfits <= FEW_MISFITS_SHARE * present and distinct <= FEW_MISFITS_VALUES


def present_count(stat: Optional[Stats]) -> int:
    return getattr(stat, stat.WhichOneof("stats")).common_stats.num_non_missing if stat else 0


def _is_date(cells: Counter) -> bool:
    """Whether at least DATE_SHARE of the counted cells are dates (DATE or WRITTEN_DATES)."""
    values = pd.Series([value.strip() for value in cells], dtype=object)
    dated = values.map(lambda value: bool(DATE.fullmatch(value)))
    for written in WRITTEN_DATES:
        dated |= pd.to_datetime(values, format=written, errors="coerce").notna()
    return sum(n for n, is_date in zip(cells.values(), dated) if is_date) >= DATE_SHARE * sum(cells.values())


def has_name_word(column: str, words: frozenset) -> bool:
    """Whether a whole word of the column's name (NAME_WORDS, any case) is one of `words`."""
    return any(word.lower() in words for word in NAME_WORDS.findall(column))


def is_identifier_name(column: str, distinct: bool = False) -> bool:
    """Whether a word of the column's name (ID_WORDS) says it identifies the row; or its last word
    (ID_LAST_WORDS) for a column whose values are `distinct` (one per row), or its whole name:
    `floor_nr` repeating is an ordinal, `Kunden-Nr` all distinct and `nr` are keys."""
    words = [word.lower() for word in NAME_WORDS.findall(column)]
    return has_name_word(column, ID_WORDS) or bool(words) and words[-1] in ID_LAST_WORDS and (
        distinct or len(words) == 1)


def is_year(column: str, stat: Stats) -> bool:
    """Whether a column of numbers is calendar years: named so (a whole word of its name: `year`,
    `yr`; `date`, `time` for decimal years, which are floats), its values within
    schema.EARLIEST_CALENDAR_YEAR to the end of schema.CALENDAR_YEARS (written `2007`, `2007.0` with
    gaps, or `2007.083`)."""
    low, high = schema_package.EARLIEST_CALENDAR_YEAR, schema_package.CALENDAR_YEARS[1]
    named = has_name_word(column, YEAR_WORDS) or (stat.type == FLOAT and has_name_word(column, DATED_WORDS))
    return stat.type in (INT, FLOAT) and named and low <= stat.num_stats.min and stat.num_stats.max <= high


def is_calendar_name(column: str) -> bool:
    """Whether a word of the column's name (CALENDAR_WORDS) says it is a part of a date."""
    return has_name_word(column, CALENDAR_WORDS)


def time_unit(stat: Stats) -> Optional[str]:
    """The unit of an integer column whose every value is a time from 2000 to 2100, else None."""
    if stat.type != INT:
        return None
    return next((unit for unit, scale in TIME_UNITS.items() if EPOCH[0] * scale <= stat.num_stats.min
                 and stat.num_stats.max <= EPOCH[1] * scale), None)


UNNAMED_REASON = ("unnamed: most often a row index (pandas' to_csv writes one by default), not a "
                  "property of the row; name the column in the header to use it")
UNNAMED_EMPTY_REASON = "unnamed and empty: a comma at the end of every line"


def _share(part: int, whole: int) -> str:
    """`part` of `whole` (some, not all) as a percentage that reads neither 100 % nor 0 % (227 of
    228: 99.6%; 1 of 300: 0.3%)."""
    for text in (f"{part / whole:.0%}", f"{part / whole:.1%}"):
        if not text.startswith("100") and text.strip("0.%"):
            return text
    return "over 99.9%" if part * 2 > whole else "under 0.1%"


def compared_by_shares(distinct: int, rows: int) -> bool:
    """Whether an integer number of `distinct` values in `rows` rows is compared by value shares."""
    return distinct <= FEW_VALUES and rows / 2 * schema_package.TRAIN_SHARE >= ROWS_PER_VALUE * distinct


def upper_half_share(cells: Counter, low: int, high: int) -> float:
    """The share of the counted cells (integers) that lie in the upper half of low..high."""
    middle = (low + high) / 2
    return sum(n for cell, n in cells.items() if float(cell) > middle) / (sum(cells.values()) or 1)


def feature_decision(column: str, stat: Optional[Stats], cells: Counter, rows: int,
                     estimate: Optional[int] = None) -> Tuple[Optional[dict], str, int]:
    """(spec or None when excluded, decision or exclusion reason, distinct values) of one column.
    `cells`: the counted values; `estimate`: the distinct values when there are more."""
    present = present_count(stat)
    if not column:
        return None, UNNAMED_REASON if present else UNNAMED_EMPTY_REASON, 0
    if not present:
        return None, "no values: every cell is empty", 0
    kind = stat.type
    distinct = stat.string_stats.unique if kind == STRING else estimate or len({float(c) for c in cells})
    gaps = f", {_share(present, rows)} present" if present < rows else ""
    if distinct == 1:
        return None, f"constant: its only value is {next(iter(cells))}", 1
    if kind == STRING and _is_date(cells):
        return None, DATE_REASON, distinct
    unit = time_unit(stat)
    if unit:
        first, last = (datetime.fromtimestamp(v / TIME_UNITS[unit], timezone.utc).date()
                       for v in (stat.num_stats.min, stat.num_stats.max))
        return (None, f"timestamp in {unit} since 1970 ({first} to {last}): {CALENDAR}; the gate "
                      "keeps its values in 2000-2100", distinct)
    if kind in (INT, FLOAT) and is_year(column, stat):  # one row a year too (a yearly series): no identifier
        first, last = schema_package.calendar_years(stat.num_stats.min)
        return ({"kind": "numeric"},
                f"numeric (years {stat.num_stats.min:g} to {stat.num_stats.max:g}{gaps}; kept in {first}..{last}, "
                "no drift or skew check: a new span may bring later years)", distinct)
    # whole numbers written as floats (233.0: pandas writes an integer column with gaps so) number rows too
    many = present > ID_MIN_ROWS and distinct >= ID_SHARE * present
    if many and (kind in (INT, STRING) or (kind == FLOAT and all(float(c).is_integer() for c in cells))):
        if kind == STRING:
            return None, f"ID-like ({distinct} distinct values in {present} rows)", distinct
        low, high = int(stat.num_stats.min), int(stat.num_stats.max)
        if high - low + 1 <= ID_SPREAD * distinct:
            return None, (f"ID-like ({distinct} distinct values in {present} rows, numbered "
                          f"{low}..{high})"), distinct
        if is_identifier_name(column, distinct=True):
            return None, (f"ID-like ({distinct} distinct values in {present} rows, {low}..{high}, "
                          "named as an identifier)"), distinct
    named = is_identifier_name(column) and (kind != FLOAT or all(float(c).is_integer() for c in cells))
    if named and distinct >= GROUP_KEY_VALUES and (present <= GROUP_KEY_ROWS * distinct or distinct > MAX_VOCAB):
        return None, (f"ID-like ({distinct} distinct values in {present} rows, named as an identifier: "
                      f"the key of a group of rows, {present / distinct:.1f} rows each on average, such as "
                      "a panel's person or a patient's visits; to learn from these groups, declare it a "
                      "category)"), distinct
    if kind == FLOAT:
        low, high = stat.num_stats.min, stat.num_stats.max
        return {"kind": "numeric"}, f"numeric (float values from {low:g} to {high:g}{gaps})", distinct
    if kind == INT:
        low, high = int(stat.num_stats.min), int(stat.num_stats.max)
        counts = ""
        most = MAX_CODES if is_calendar_name(column) else MAX_PLAIN_CODES
        if distinct <= most and low in FIRST_CODES and high <= MAX_CODE and distinct >= CODE_FILL * (high + 1):
            tail = upper_half_share(cells, low, high)
            if distinct < COUNT_MIN_VALUES or tail >= COUNT_TAIL:
                return ({"kind": "categorical_int", "max_value": high},
                        f"categorical_int, max_value {high} (integer codes: {distinct} distinct values in "
                        f"{low}..{high}{gaps})", distinct)
            counts = (f"; counts, not codes: most are small ({_share(round(tail * present), present)} in "
                      f"{math.floor((low + high) / 2) + 1}..{high}), so a later span may hold a larger one")
        shares = "; drift compared by each value's share" if compared_by_shares(distinct, rows) else ""
        return ({"kind": "numeric"},
                f"numeric (integers, {distinct} distinct from {low} to {high}{gaps}{counts}{shares})", distinct)
    if distinct <= MAX_VOCAB and distinct <= HASH_SHARE * present:
        return ({"kind": "categorical_string", "vocab_size": distinct, "oov_buckets": 1},
                f"categorical_string, vocab_size {distinct}, oov_buckets 1 "
                f"({distinct} distinct strings{gaps})", distinct)
    return ({"kind": "hashed", "buckets": HASH_BUCKETS},
            f"hashed, buckets {HASH_BUCKETS} ({distinct} distinct strings in {present} rows: too many for "
            f"a vocabulary, too few for an ID{gaps})", distinct)
