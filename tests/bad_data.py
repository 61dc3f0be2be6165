"""Bad-data cases made from the bundled taxi sample: each writes a data folder and names the feature
and the problem a validation report must mention."""
import csv
import dataclasses
import io
import os
from typing import Callable, List, Optional, Tuple

import numpy as np

from tests.conftest import TAXI_CSV

ROWS = 3000


def taxi_rows(limit: int = ROWS) -> List[List[str]]:
    """Header + the first `limit` rows of the bundled sample, as strings."""
    with open(TAXI_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[: limit + 1]


def shuffled_slices(seed: int, *sizes: int) -> Tuple[List[str], List[List[List[str]]]]:
    """The bundled sample's header and disjoint slices of all its rows in a random order, one
    `size` long each: spans from the same distribution."""
    rows = taxi_rows(15002)
    header, body = rows[0], rows[1:]
    order = np.random.default_rng(seed).permutation(len(body))
    starts = np.cumsum((0,) + sizes)
    return header, [[body[i] for i in order[start:start + size]] for start, size in zip(starts, sizes)]


def write_rows(folder: str, rows: List[List[str]], delimiter: str = ",", name: str = "data.csv") -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)


def drift_between(folder: str, header: List[str], before: List[List[str]], after: List[List[str]]) -> list:
    """The drift findings of the taxi schema's checks on `after` against `before`, written as
    span-1 and span-2 under `folder`, their statistics computed as `validate` computes them."""
    # pylint: disable=import-outside-toplevel  (TFDV: only the tests that need it load it)
    import tensorflow_data_validation as tfdv

    from schema import checks, csv_statistics, distances
    from tests.conftest import TAXI_SCHEMA

    write_rows(os.path.join(folder, "span-1"), [header] + before)
    write_rows(os.path.join(folder, "span-2"), [header] + after)
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    compared = distances.stats_options(curated)
    previous, current = (csv_statistics.statistics_of_csv(os.path.join(folder, span), options=compared)
                         for span in ("span-1", "span-2"))
    return [f for f in checks.check_statistics(current, curated, previous) if checks.is_drift(f)]


def _set_column(rows, column, value_for_row):
    index = rows[0].index(column)
    for i, row in enumerate(rows[1:]):
        value = value_for_row(i, row[index])
        if value is not None:
            row[index] = value
    return rows


def _drop_column(rows, column):
    index = rows[0].index(column)
    return [row[:index] + row[index + 1:] for row in rows]


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[str], None]  # writes the case's data into a folder
    feature: str
    problem: str  # regular expression the report must match
    edit: Optional[Callable[[List[List[str]]], List[List[str]]]] = None  # of the sample's rows, when it is one


def _edited(name: str, edit, feature: str, problem: str) -> Case:
    """A case made by editing the sample's rows (so that cases in different columns combine)."""
    return Case(name, lambda folder: write_rows(folder, edit(taxi_rows())), feature, problem, edit)


def combined(cases: List[Case], folder: str) -> None:
    """Writes one span holding every case's edit (theirs in different columns)."""
    rows = taxi_rows()
    for case in cases:
        rows = case.edit(rows)
    write_rows(folder, rows)


def _bytes(folder: str, content: bytes) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "data.csv"), "wb") as f:
        f.write(content)


def _undecodable(folder: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(taxi_rows(200))
    content = buffer.getvalue().encode()
    _bytes(folder, content[:5000] + b"Caf\xe9 Cab \xff" + content[5000:])


def _fare_overwritten_by_tips(rows):
    fare, tips = rows[0].index("fare"), rows[0].index("tips")
    return [rows[0]] + [row[:fare] + [row[tips]] + row[fare + 1:] for row in rows[1:]]


CASES = [
    _edited("missing_column", lambda rows: _drop_column(rows, "payment_type"), "payment_type", "Column missing"),
    _edited("extra_column", lambda rows: [r + (["driver_rating"] if i == 0 else ["5"]) for i, r in enumerate(rows)],
            "driver_rating", "Unexpected column"),
    _edited("string_in_numeric", lambda rows: _set_column(rows, "fare", lambda i, v: "twelve" if i % 50 == 0 else None),
            "fare", "Unexpected data type"),
    _edited("unseen_category", lambda rows: _set_column(
        rows, "company", lambda i, v: f"Acme Cab {i % 3}" if i % 5 < 2 else None), "company", "Unexpected string values"),
    _edited("out_of_range", lambda rows: _set_column(rows, "trip_start_hour", lambda i, v: "30" if i % 20 == 0 else None),
            "trip_start_hour", "Out-of-range values"),
    _edited("required_all_empty", lambda rows: _set_column(rows, "payment_type", lambda i, v: ""),
            "payment_type", "Missing values|Column empty"),
    # Inside the schema's range: only the drift check against earlier data sees it.
    _edited("rescaled_within_range", lambda rows: _set_column(
        rows, "fare", lambda i, v: f"{float(v) / 10:.2f}" if v else None), "fare", r"JSD \d\.\d+"),
    # An export or join slip: a feature overwritten by the label, which drift alone misses in small spans.
    _edited("feature_overwritten_by_label", _fare_overwritten_by_tips, "fare", "Copies the label"),
    Case("empty_file", lambda d: _bytes(d, b""), "(file)", "Empty file"),
    Case("header_only", lambda d: write_rows(d, taxi_rows(0)), "(file)", "No data rows"),
    Case("wrong_delimiter", lambda d: write_rows(d, taxi_rows(), delimiter=";"),
         "(file)", "Wrong delimiter"),
    Case("undecodable_bytes", _undecodable, "(file)", "Undecodable bytes"),
    Case("repeated_column_name", lambda d: write_rows(d, [["tips" if c == "fare" else c for c in r]
                                                          if i == 0 else r
                                                          for i, r in enumerate(taxi_rows())]),
         "(file)", "Repeated column names"),
    # Two exports joined with `cat`, the second's header kept: a row of text in every column.
    Case("header_repeated", lambda d: write_rows(d, taxi_rows()[:1501] + taxi_rows()[:1] + taxi_rows()[1501:]),
         "(file)", "Header repeated"),
]
