"""`tfxpipe init`'s drafting (schema/infer.py) on small crafted CSVs and on iris: each column decision,
the schema draft, writing, and each refusal."""
import collections
import csv
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from benchmarks import public_datasets
from models import dataset as ds
from schema import calibration, cell_counts, checks, columns, csv_files, csv_statistics, distances, infer, \
    label_copies, written_numbers
from tests.conftest import TAXI_CSV

pytestmark = pytest.mark.usefixtures("few_calibration_draws")

ROWS = 600


def _crafted(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(rows * 2 // 3)]  # 400 distinct strings in 600 rows: hashed, not an ID
    comment = np.array(words + list(rng.choice(words, rows - len(words))))
    rng.shuffle(comment)
    weight = rng.normal(70, 10, rows).round(1).astype(str)
    weight[rng.random(rows) < 0.1] = "NA"
    days = pd.date_range("2021-01-01", periods=200).strftime("%Y-%m-%d")
    return pd.DataFrame({
        "sample_id": [f"S{i:05d}" for i in range(rows)],
        "recorded": rng.choice(days, rows),
        "weight": weight,
        "source": "lab",
        "comment": comment,
        "grade": rng.integers(0, 7, rows),
        "age": rng.choice(np.arange(18, 90, 3), rows),  # 24 integers spread over 18..87
        "ratio": rng.random(rows),
        "colour": rng.choice(["red", "green", "blue", "grey"], rows),
        "outcome": rng.choice(["yes", "no"], rows),
    })


def _csv(folder, frame: pd.DataFrame, name: str = "data.csv") -> str:
    path = folder / name
    frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    path = _csv(tmp_path_factory.mktemp("crafted"), _crafted(), "Trial Data.csv")
    return path, infer.infer(path, "outcome")


def _decision(draft: infer.Draft, column: str) -> str:
    [line] = [d for d in draft.decisions if d.startswith(f"{column}: ")]
    return line


def _feature(draft: infer.Draft, column: str) -> schema_pb2.Feature:
    [feature] = [f for f in draft.schema.feature if f.name == column]
    return feature


def test_identifier_column_is_excluded_as_id_like(crafted):
    _, draft = crafted
    assert draft.declaration["excluded"]["sample_id"] == "ID-like (600 distinct values in 600 rows)"
    assert _decision(draft, "sample_id") == "sample_id: excluded, ID-like (600 distinct values in 600 rows)"


@pytest.mark.parametrize("counted", [cell_counts.COUNTED, 30], ids=["all-counted", "estimated"])
def test_integer_ids_number_the_rows_while_all_distinct_counts_stay_numeric(tmp_path, monkeypatch, counted):
    """vega_datasets' US employment: 120 months of job counts in thousands, mostly all distinct (a
    small table), plus the row number a spreadsheet export carries. Decided alike when a column's
    distinct values are estimated past the counted ones, as in a large file."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(cell_counts, "COUNTED", counted)
    frame = pd.read_csv(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "us-employment.csv"))
    frame.insert(0, "row_number", range(1, len(frame) + 1))
    draft = infer.infer(_csv(tmp_path, frame, "employment.csv"), "nonfarm_change")
    assert draft.declaration["excluded"]["row_number"] == \
        "ID-like (120 distinct values in 120 rows, numbered 1..120)"
    counts = [c for c in frame.columns[2:] if frame[c].dtype.kind == "i" and c != "nonfarm_change"]
    assert draft.declaration["features"]["nonfarm"] == {"kind": "numeric"}  # 120 distinct in 120 rows
    assert {c: draft.declaration["features"].get(c) for c in counts} == {c: {"kind": "numeric"} for c in counts}


def test_an_iso_date_column_is_a_date_feature_of_its_parts_not_calendar_time(crafted):
    """200 days from 2021-01-01: weekday and month vary, no time of day; never a number."""
    _, draft = crafted
    assert draft.declaration["features"]["recorded"] == {"kind": "date", "parts": ["weekday", "month"]}
    assert "recorded" not in draft.declaration["excluded"]


@pytest.mark.parametrize("cell, is_date", [
    ("2021-01-31", True), ("2021-01-31T12:30:00Z", True), ("2021-01-31 12:30:00.5+01:00", True),
    ("2010/01/01 00:00", True), ("1/31/2021 3:15 PM", True),
    ("2021", False), ("12/31", False), ("2021/01-31", False), ("20210131", False), ("1.5", False)])
def test_dates_are_recognised_in_their_common_written_forms(cell, is_date):
    assert bool(columns.DATE.fullmatch(cell)) is is_date


@pytest.mark.parametrize("cell", ["31.01.2021", "Jan 2021", "January 2021", "Jan 31 2021", "Jan 31, 2021",
                                  "January 31, 2021"])
def test_dates_written_with_dots_or_month_names_count_as_dates(cell):
    assert columns._is_date(collections.Counter({cell: 1}))
    assert not columns._is_date(collections.Counter({cell.replace("2021", "20x1"): 1}))


@pytest.mark.parametrize("unit, scale", [("seconds", 1), ("milliseconds", 1000)])
def test_epoch_timestamps_are_date_features_kept_in_2000_to_2100_in_their_unit(tmp_path, unit, scale):
    """Seattle's weather days as seconds since 1970 (and the same in milliseconds): a date whose
    weekday and month the model reads (daily data: no hour), not a number nor an ID; the schema
    bounds it to this century in its unit, without a drift check (a later span is a later period)."""
    public_datasets.SEATTLE_WEATHER.write_csv(str(tmp_path / "seconds.csv"))
    frame = pd.read_csv(tmp_path / "seconds.csv")
    frame["date"] *= scale
    path = _csv(tmp_path, frame, "weather.csv")
    draft = infer.infer(path, "weather")
    assert draft.declaration["features"]["date"] == {"kind": "date", "parts": ["weekday", "month"], "unit": unit}
    assert _decision(draft, "date").startswith(f"date: date, parts weekday, month (weekly, yearly cycles, "
                                               f"computed in the model from its {unit} since 1970")
    date = _feature(draft, "date")
    assert (date.int_domain.min, date.int_domain.max) == (946684800 * scale, 4102444800 * scale)
    assert not date.HasField("drift_comparator") and not date.HasField("skew_comparator")
    assert not checks.check_statistics(csv_statistics.statistics_of_csv(path, [""]), draft.schema)
    frame["date"] *= 1000  # the next unit up: out of range
    findings = checks.check_statistics(csv_statistics.statistics_of_csv(_csv(tmp_path, frame), [""]), draft.schema)
    assert [f.feature for f in findings] == ["date"]


def test_na_tokens_are_declared_missing_and_their_column_stays_numeric(crafted):
    _, draft = crafted
    assert draft.declaration["missing_values"] == ["", "NA"]
    assert draft.declaration["features"]["weight"] == {"kind": "numeric"}
    weight = _feature(draft, "weight")
    assert weight.type == schema_pb2.FLOAT
    # Optional, with a calibrated minimum: about 90 % have a value; at least a tenth of those (more in
    # small samples: 3x the noise between two 240-row spans) may go missing.
    assert 0.5 < weight.presence.min_fraction < 0.82 and not weight.presence.min_count
    assert "missing values: 'NA' read as missing (found in weight)" in draft.decisions


def test_a_feature_without_gaps_in_the_draft_lets_a_few_pass_and_refuses_a_column_gone_mostly_empty(tmp_path):
    """A draft from half of penguins without gaps; the other half, as the same data's next span, has
    one: it passes. A tenth of a column's cells gone empty is refused."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins().dropna().sample(frac=1.0, random_state=0)
    first, second = frame.iloc[: len(frame) // 2], frame.iloc[len(frame) // 2:].copy()
    draft = infer.infer(_csv(tmp_path, first, "first.csv"), "species")
    length = _feature(draft, "bill_length_mm")
    assert length.presence.min_fraction == 0.9 and _feature(draft, "species").presence.min_fraction == 1.0

    def gaps_found(frame):
        statistics = csv_statistics.statistics_of_csv(_csv(tmp_path, frame, "next.csv"), ("", "NA"),
                                                      distances.stats_options(draft.schema))
        return [f.problem for f in checks.check_statistics(statistics, draft.schema) if f.feature == "bill_length_mm"]
    second.iloc[0, second.columns.get_loc("bill_length_mm")] = None
    assert gaps_found(second) == []
    second.iloc[: len(second) // 8, second.columns.get_loc("bill_length_mm")] = None
    assert gaps_found(second) == [checks.MISSING_VALUES]


def test_constant_column_is_excluded(crafted):
    _, draft = crafted
    assert draft.declaration["excluded"]["source"] == "constant: its only value is lab"


def test_high_cardinality_strings_are_hashed_and_get_no_schema_domain(crafted):
    _, draft = crafted
    assert draft.declaration["features"]["comment"] == {"kind": "hashed", "buckets": 100}
    assert not _feature(draft, "comment").domain
    assert "comment" not in {d.name for d in draft.schema.string_domain}
    assert "400 distinct strings in 600 rows" in _decision(draft, "comment")


def test_small_integer_codes_are_categorical_with_their_largest_code(crafted):
    _, draft = crafted
    assert draft.declaration["features"]["grade"] == {"kind": "categorical_int", "max_value": 6}
    grade = _feature(draft, "grade")
    assert (grade.int_domain.min, grade.int_domain.max, grade.int_domain.is_categorical) == (0, 6, True)
    # compared by the share of each code, not by quantiles
    assert grade.drift_comparator.HasField("jensen_shannon_divergence")
    assert not grade.drift_comparator.jensen_shannon_divergence.HasField("source")


def test_few_integers_spread_over_a_wide_range_are_a_numeric_quantity_not_codes(crafted):
    _, draft = crafted
    assert draft.declaration["features"]["age"] == {"kind": "numeric"}
    assert _decision(draft, "age") == "age: numeric (integers, 24 distinct from 18 to 87)"
    assert _feature(draft, "age").type == schema_pb2.INT


def test_a_column_with_one_gap_is_never_said_to_be_100_percent_present(tmp_path):
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins().dropna()
    frame.loc[frame.index[0], "bill_length_mm"] = None
    draft = infer.infer(_csv(tmp_path, frame, "penguins.csv"), "species")
    share = (len(frame) - 1) / len(frame)
    assert _decision(draft, "bill_length_mm").endswith(f", {share:.1%} present)") and share > 0.995


def test_classes_with_too_few_rows_to_learn_or_measure_are_named_with_their_counts(tmp_path):
    """palmerpenguins with all but 3 Chinstraps left out: init drafts the label and names the class
    whose eval split may hold none of its rows."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins().dropna()
    few = pd.concat([frame[frame["species"] != "Chinstrap"], frame[frame["species"] == "Chinstrap"].head(3)])
    draft = infer.infer(_csv(tmp_path, few, "penguins.csv"), "species")
    assert _decision(draft, "species") == (
        "species: label, multiclass with 3 classes (Adelie, Chinstrap, Gentoo; 1 class(es) with fewer "
        "than 5 rows, too few to learn or to measure: Chinstrap (3); merge them or gather more rows)")
    assert "fewer than" not in _decision(infer.infer(_csv(tmp_path, frame, "all.csv"), "species"), "species")


def test_integers_that_fill_a_range_far_from_zero_are_a_quantity_not_codes(tmp_path):
    """Gentoo penguins' flippers, 203..231 mm in 25 distinct values: they fill their own range, but
    codes count from 0 or 1; read as codes, 0..202 would be ids never seen and 232 mm an unknown code."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins()
    gentoo = frame[frame["species"] == "Gentoo"].dropna().astype({"flipper_length_mm": int, "body_mass_g": int})
    gentoo = gentoo.drop(columns=["species", "island"]).rename(columns={"year": "cohort"})  # not named a year
    draft = infer.infer(_csv(tmp_path, gentoo, "gentoo.csv"), "sex")
    assert draft.declaration["features"]["flipper_length_mm"] == {"kind": "numeric"}
    assert _decision(draft, "flipper_length_mm") == "flipper_length_mm: numeric (integers, 25 distinct from 203 to 231)"
    assert draft.declaration["features"]["cohort"] == {"kind": "numeric"}  # 2007..2009: past any code
    assert distances.is_categorical(_feature(draft, "cohort")) and not distances.is_categorical(
        _feature(draft, "flipper_length_mm"))  # 3 values compared by their shares, 25 lengths by quantiles
    assert _decision(draft, "cohort").endswith("3 distinct from 2007 to 2009; drift compared by each value's share)")


def test_calendar_years_have_no_drift_check_and_keep_to_calendar_years(tmp_path):
    """Penguins observed 2007..2009: a later span of 2010 alone is no drift (each span may bring
    later years), but years written with two digits are out of range; `calibrate` adds no check."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins()
    draft = infer.infer(_csv(tmp_path, frame, "penguins.csv"), "species")
    year = _feature(draft, "year")
    assert _decision(draft, "year").startswith("year: numeric (years 2007 to 2009; kept in 1900..2100, no drift")
    assert (year.int_domain.min, year.int_domain.max) == (1900, 2100)
    assert not year.HasField("drift_comparator") and not year.HasField("skew_comparator")
    before = csv_statistics.statistics_of_csv(_csv(tmp_path, frame, "before.csv"), ["", "NA"],
                                              distances.stats_options(draft.schema))

    def problems(years) -> set:
        later = frame.assign(year=years)
        statistics = csv_statistics.statistics_of_csv(_csv(tmp_path, later, "later.csv"), ["", "NA"],
                                                      distances.stats_options(draft.schema))
        return {(f.feature, f.problem) for f in checks.check_statistics(statistics, draft.schema, before)}
    assert problems(2010) == set()
    assert problems(frame["year"] - 2000) == {("year", checks.OUT_OF_RANGE)}
    measured = calibration.calibrate(lambda options: before, draft.schema, ["year"], "penguins", pairs=2)
    assert not calibration.apply(draft.schema, measured).feature[
        [f.name for f in draft.schema.feature].index("year")].HasField("drift_comparator")
    gappy = frame.astype({"year": float})
    gappy.loc[gappy.index[:5], "year"] = None  # pandas writes the column 2007.0 then
    floats = infer.infer(_csv(tmp_path, gappy, "gappy.csv"), "species")
    year = _feature(floats, "year")
    assert year.type == schema_pb2.FLOAT and (year.float_domain.min, year.float_domain.max) == (1900, 2100)
    assert not year.HasField("drift_comparator") and "year" not in "".join(floats.calibration)


def test_years_one_row_each_are_years_not_an_identifier(tmp_path):
    """vega_datasets' driving (miles and gas price per year, 1956..2010): each year once, numbered
    as row IDs are, but named a year and in calendar years: a feature, kept as years."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    frame = pd.read_json(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "driving.json"))
    assert frame["year"].is_unique
    draft = infer.infer(_csv(tmp_path, frame, "driving.csv"), "gas")
    assert _decision(draft, "year").startswith("year: numeric (years 1956 to 2010; kept in 1900..2100")
    assert draft.declaration["features"]["year"] == {"kind": "numeric"}


def test_decimal_years_named_as_a_date_are_years_and_a_later_span_is_no_drift(tmp_path):
    """palmerpenguins' raw table's egg dates as R writes a date as a number (`time()` of a series,
    plotnine's txhousing `date`): 2007.86 for 11 November 2007. Each span brings later dates, so
    like a year column it has no drift check, and `calibrate` adds none."""
    path = str(tmp_path / "raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    frame = pd.read_csv(path)
    laid = pd.to_datetime(frame["Date Egg"])
    frame = frame[["Species", "Culmen Length (mm)"]].assign(
        date=(laid.dt.year + (laid.dt.dayofyear - 1) / 365).round(3))
    assert (frame["date"] % 1 > 0).all()
    draft = infer.infer(_csv(tmp_path, frame, "eggs.csv"), "Species")
    assert draft.declaration["features"]["date"] == {"kind": "numeric"}
    # integers named so are not: a clock time written HHMM (19:30 is 1930) would be taken for years
    timed = frame.assign(time=frame["date"].round().astype(int))
    assert "years" not in _decision(infer.infer(_csv(tmp_path, timed, "timed.csv"), "Species"), "time")
    decision = _decision(draft, "date")
    assert decision.startswith("date: numeric (years 2007.8") and " to 2009.9" in decision
    assert "; kept in 1900..2100, no drift or skew check" in decision
    date = _feature(draft, "date")
    assert (date.float_domain.min, date.float_domain.max) == (1900, 2100) and not date.HasField("drift_comparator")
    assert "date" not in "".join(draft.calibration)
    before = csv_statistics.statistics_of_csv(_csv(tmp_path, frame, "before.csv"), ["", "NA"],
                                              distances.stats_options(draft.schema))
    later = csv_statistics.statistics_of_csv(_csv(tmp_path, frame.assign(date=frame["date"] + 3), "later.csv"),
                                             ["", "NA"], distances.stats_options(draft.schema))
    assert checks.check_statistics(later, draft.schema, before) == []


def test_counts_that_fall_off_towards_their_largest_are_numbers_and_a_larger_count_later_passes(tmp_path):
    """Children per household (0..a few, most none) look like codes 0..max, but the next span may
    hold a larger count: as a code the gate would refuse it as unknown. Hours fill their range and
    stay codes, whose next value past 23 is refused."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"children": rng.geometric(0.6, ROWS) - 1, "hour": rng.integers(0, 24, ROWS),
                          "outcome": rng.choice(["yes", "no"], ROWS)})
    draft = infer.infer(_csv(tmp_path, frame, "households.csv"), "outcome")
    assert draft.declaration["features"]["children"] == {"kind": "numeric"}
    assert "counts, not codes" in _decision(draft, "children")
    assert draft.declaration["features"]["hour"] == {"kind": "categorical_int", "max_value": 23}
    later = frame.copy()
    later.loc[later.index[:3], "children"] = frame["children"].max() + 2
    later.loc[later.index[:3], "hour"] = 24
    statistics = csv_statistics.statistics_of_csv(_csv(tmp_path, later, "later.csv"), [""])
    assert {f.feature for f in checks.check_statistics(statistics, draft.schema)} == {"hour"}


def test_more_than_twelve_codes_are_a_calendar_part_named_so_else_a_quantity(tmp_path):
    """The taxi sample's start hours (0..23) are codes under their own name; the same cells under a
    name that says no calendar part are a quantity (years in the majors, errors, a budget: a later
    span may hold a larger one). Months (12 values) are codes whatever their name."""
    frame = pd.read_csv(TAXI_CSV, usecols=["trip_start_hour", "trip_start_month", "payment_type"]).head(3000)
    frame["slot"], frame["period"] = frame["trip_start_hour"], frame["trip_start_month"]
    features = infer.infer(_csv(tmp_path, frame, "taxi.csv"), "payment_type").declaration["features"]
    assert features["trip_start_hour"] == {"kind": "categorical_int", "max_value": 23}
    assert features["slot"] == {"kind": "numeric"}
    assert features["trip_start_month"] == features["period"] == {"kind": "categorical_int", "max_value": 12}


@pytest.mark.all_draws  # its check must survive the noise of every draw
def test_a_number_of_few_values_keeps_its_quantiles_where_too_few_rows_would_leave_its_shares_unsettled(tmp_path):
    """60 penguins: a span's train split holds 24 rows, 8 per cohort (their year, under another
    name), under the 10 per value that value shares need to settle (with fewer, their noise can reach
    JSD's top and leave no check at all): the cohort keeps its quantiles, and its check."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    few = palmerpenguins.load_penguins().sample(60, random_state=0).rename(columns={"year": "cohort"})
    draft = infer.infer(_csv(tmp_path, few, "few.csv"), "species")
    cohort = _feature(draft, "cohort")
    assert not distances.is_categorical(cohort) and cohort.HasField("drift_comparator")
    assert _decision(draft, "cohort").endswith("3 distinct from 2007 to 2009)")


def test_floats_are_numeric_within_their_range_widened_by_its_width(crafted):
    _, draft = crafted
    assert draft.declaration["features"]["ratio"] == {"kind": "numeric"}
    ratio = _feature(draft, "ratio")  # values in [0, 1): never negative, up to about twice the max
    assert ratio.float_domain.min == 0.0 and 1.9 < ratio.float_domain.max <= 2.0
    assert ratio.drift_comparator.jensen_shannon_divergence.source.type == \
        schema_pb2.HistogramSelection.QUANTILES
    assert _decision(draft, "ratio").startswith("ratio: numeric (float values from 0")


def test_string_categories_get_a_vocabulary_a_tolerant_domain_and_a_slice(crafted):
    _, draft = crafted
    assert draft.declaration["features"]["colour"] == {
        "kind": "categorical_string", "vocab_size": 4, "oov_buckets": 1}
    colour = _feature(draft, "colour")
    [domain] = [d for d in draft.schema.string_domain if d.name == colour.domain]
    assert sorted(domain.value) == ["blue", "green", "grey", "red"]
    assert colour.distribution_constraints.min_domain_mass == pytest.approx(0.9)
    drift = colour.drift_comparator.jensen_shannon_divergence.threshold
    skew = colour.skew_comparator.jensen_shannon_divergence.threshold
    [line] = [c for c in draft.calibration if c.startswith("#   colour ")]
    _, _, measure, noise_span, shown_drift, noise_window, shown_skew = line.split()
    assert (measure, shown_drift, shown_skew) == ("shares", f"{drift:.3f}", f"{skew:.3f}")
    noise_span, noise_window = float(noise_span), float(noise_window)
    factor, floor = calibration.FACTOR["shares"], calibration.FLOOR["shares"]
    # thresholds are rounded up to 0.001, noises shown to 0.0001
    tolerance = 1e-3 + factor * 5e-5
    assert drift == pytest.approx(max(factor * noise_span, floor), abs=tolerance) and 0 < noise_span < 0.2
    assert skew == pytest.approx(max(factor * noise_window, floor), abs=tolerance)
    assert draft.declaration["slices"] == ["colour"]


def test_string_label_is_binary_required_and_absent_at_serving(crafted):
    _, draft = crafted
    assert draft.declaration["task"] == "binary"
    assert draft.declaration["label"] == {"column": "outcome", "classes": ["no", "yes"]}
    label = _feature(draft, "outcome")
    assert list(label.not_in_environment) == ["SERVING"] and label.presence.min_fraction == 1.0
    assert list(draft.schema.default_environment) == ["TRAINING", "SERVING"]
    [domain] = [d for d in draft.schema.string_domain if d.name == label.domain]
    assert list(domain.value) == ["no", "yes"]


def test_schema_has_every_csv_column_and_the_data_meets_it(crafted):
    path, draft = crafted
    header = list(pd.read_csv(path, nrows=0).columns)
    assert checks.expected_columns(draft.schema) == header
    assert "outcome" not in checks.expected_columns(draft.schema, "SERVING")
    statistics = csv_statistics.statistics_of_csv(path, draft.declaration["missing_values"],
                                                  distances.stats_options(draft.schema))  # as the gate's
    assert checks.check_statistics(statistics, draft.schema) == []


def test_draft_parses_as_a_declaration_named_after_the_file(crafted):
    _, draft = crafted
    dataset = ds.parse(draft.declaration)
    assert dataset.name == "trial_data"
    assert set(dataset.feature_names()) == {"recorded", "weight", "comment", "grade", "age", "ratio", "colour"}
    assert set(dataset.excluded) == {"sample_id", "source"}


def test_write_creates_a_loadable_folder_and_refuses_to_overwrite_it(crafted, tmp_path):
    _, draft = crafted
    yaml_path, schema_path = infer.write(draft, str(tmp_path / "trial"), "/data/trial")
    assert open(yaml_path, encoding="utf-8").read().startswith("# ")
    dataset = ds.load(str(tmp_path / "trial"))
    assert dataset.data == "/data/trial" and dataset.task is ds.Task.BINARY
    assert tfdv.load_schema_text(schema_path) == draft.schema
    with pytest.raises(infer.InitError, match="already exists"):
        infer.write(draft, str(tmp_path / "trial"), "/data/trial")


def test_integer_label_with_few_values_gets_classes_in_numeric_order(tmp_path):
    frame = _crafted(120).assign(outcome=np.resize([0, 2, 10], 120))
    draft = infer.infer(_csv(tmp_path, frame), "outcome")
    assert draft.declaration["task"] == "multiclass"
    assert draft.declaration["label"]["classes"] == ["0", "2", "10"]
    label = _feature(draft, "outcome")
    assert (label.int_domain.min, label.int_domain.max) == (0, 10)


def test_integer_label_with_many_values_is_a_regression_target(tmp_path):
    frame = _crafted(120).assign(outcome=np.arange(120) % 40)
    draft = infer.infer(_csv(tmp_path, frame), "outcome", name="counts")
    assert draft.declaration["task"] == "regression" and "classes" not in draft.declaration["label"]
    assert draft.declaration["name"] == "counts"
    assert ds.parse(draft.declaration).task is ds.Task.REGRESSION


def test_a_folder_is_read_as_one_dataset_named_after_it(tmp_path):
    folder = tmp_path / "Two Parts"
    folder.mkdir()
    frame = _crafted(60)
    _csv(folder, frame[:30], "a.csv")  # 30 rows each: too few alone, enough together
    _csv(folder, frame[30:], "b.csv")
    draft = infer.infer(str(folder), "outcome")
    assert draft.declaration["name"] == "two_parts"
    assert "sample_id: excluded, ID-like (60 distinct values in 60 rows)" in draft.decisions


def test_iris_is_multiclass_with_three_classes_and_four_numeric_features(tmp_path):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    iris = sklearn_datasets.load_iris(as_frame=True).frame
    draft = infer.infer(_csv(tmp_path, iris, "iris.csv"), "target")
    assert draft.declaration["task"] == "multiclass"
    assert draft.declaration["label"]["classes"] == ["0", "1", "2"]
    assert draft.declaration["features"] == {c: {"kind": "numeric"} for c in iris.columns[:4]}
    assert draft.declaration["excluded"] == {}
    ds.parse(draft.declaration)


def test_few_whole_number_labels_are_classes_written_as_integers_or_floats_and_init_says_how_to_switch(tmp_path):
    """statsmodels writes every column as floats: iris' species codes 0.0/1.0/2.0 are the classes they
    are as 0/1/2; 25 distinct flipper lengths are a quantity. Either guess names the other --task."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    palmerpenguins = pytest.importorskip("palmerpenguins")
    iris = sklearn_datasets.load_iris(as_frame=True).frame
    iris["target"] = iris["target"].astype(float)
    draft = infer.infer(_csv(tmp_path, iris, "iris.csv"), "target")
    assert (draft.declaration["task"], draft.declaration["label"]["classes"]) == ("multiclass", ["0", "1", "2"])
    assert "target: label, multiclass with 3 classes (0, 1, 2; --task regression if they are a quantity)" \
        in draft.decisions
    penguins = palmerpenguins.load_penguins()
    gentoo = penguins[penguins["species"] == "Gentoo"].dropna()
    draft = infer.infer(_csv(tmp_path, gentoo.drop(columns=["species", "island"]), "gentoo.csv"),
                        "flipper_length_mm")
    assert draft.declaration["task"] == "regression"
    assert "flipper_length_mm: label, regression (numbers from 203 to 231; 25 whole values: --task " \
           "multiclass if they are classes)" in draft.decisions


def test_a_0_1_label_written_as_floats_is_binary_and_other_float_labels_regression(tmp_path):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    cancer = sklearn_datasets.load_breast_cancer(as_frame=True).frame
    cancer = cancer[["mean radius", "mean texture", "mean smoothness", "target"]].copy()  # faster
    cancer["target"] = cancer["target"].astype(float)  # written 0.0 / 1.0
    path = _csv(tmp_path, cancer, "cancer.csv")
    draft = infer.infer(path, "target")
    assert (draft.declaration["task"], draft.declaration["label"]["classes"]) == ("binary", ["0", "1"])
    assert "target: label, binary with 2 classes (0, 1)" in draft.decisions  # no --task hint for 0/1
    # classes written 1.0 are read as 1: the label is INT, so a fraction is a type change, not class 0
    label = tfdv.get_feature(draft.schema, "target")
    assert label.type == schema_pb2.INT and label.int_domain.is_categorical
    assert (label.int_domain.min, label.int_domain.max) == (0, 1)

    def statistics(file):
        return csv_statistics.statistics_of_csv(file, ("",), distances.stats_options(draft.schema))

    drafted_from = statistics(path)
    assert checks.check_statistics(drafted_from, draft.schema) == []
    # the class balance changed (63 % -> 16 % ones): the classes' shares say it
    shifted = pd.concat([cancer[cancer["target"] == 0], cancer[cancer["target"] == 1].head(40)])
    moved = checks.check_statistics(statistics(_csv(tmp_path, shifted, "shifted.csv")), draft.schema, drafted_from)
    drift = next(f.detail for f in moved if f.feature == "target" and checks.is_drift(f))
    ones, zeros = (f"'1' in {cancer['target'].mean():.1%} -> {shifted['target'].mean():.1%} of rows",
                   f"'0' in {1 - cancer['target'].mean():.1%} -> {1 - shifted['target'].mean():.1%} of rows")
    assert ones in drift or zeros in drift, drift  # both moved as much
    halves = cancer.copy()
    halves.loc[halves.index[:3], "target"] = 0.5
    typed = checks.check_statistics(statistics(_csv(tmp_path, halves, "halves.csv")), draft.schema)
    assert [f.problem for f in typed if f.feature == "target"] == [checks.WRONG_TYPE], typed
    cancer["target"] = cancer["target"] * 2 + cancer["mean radius"] / 100  # a quantity
    assert infer.infer(_csv(tmp_path, cancer, "cancer.csv"), "target").declaration["task"] == "regression"


@pytest.mark.parametrize("column, values, task, message", [
    ("outcome", None, "auto", r"'nope' is not in .*; its columns: 'sample_id', 'recorded', 'weight'"),
    ("", None, "auto", r"--label is empty: name the column the model predicts"),
    ("outcome", ["same"], "auto", r"label 'outcome' has one value \('same'\)"),
    ("outcome", ["yes", "no"], "regression", r"--task regression needs a numeric label"),
    ("outcome", ["yes", "no", ""], "auto", r"missing in 40 of 120 rows: every training row needs a label"),
    ("outcome", [f"c{i}" for i in range(110)], "multiclass", r"110 distinct values.*--task regression"),
    ("outcome", ["yes", "no", "maybe"], "binary", r"--task binary needs a label with two values"),
])
def test_unlearnable_labels_are_refused_with_what_to_do(tmp_path, column, values, task, message):
    frame = _crafted(120)
    if values is not None:
        frame[column] = np.resize(values, 120)
    elif column:
        column = "nope"
    with pytest.raises(infer.InitError, match=message):
        infer.infer(_csv(tmp_path, frame), column, task=task)


def test_too_few_rows_are_refused(tmp_path):
    with pytest.raises(infer.InitError, match="too few rows: .* has 49, at least 50"):
        infer.infer(_csv(tmp_path, _crafted(49)), "outcome")


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """palmerpenguins' CSV as the package ships it, the frame read from it, and its draft."""
    path = str(tmp_path_factory.mktemp("penguins") / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    return path, pd.read_csv(path, keep_default_na=False), infer.infer(path, "species", name="penguins")


@pytest.mark.all_draws  # compared with the `penguins` draft, made with all draws
def test_a_csv_saved_by_excel_or_r_drafts_the_same_dataset_as_the_plain_file(tmp_path, penguins):
    """Excel's "CSV UTF-8" starts with a byte-order mark and ends lines with CRLF; R's write.csv
    quotes every name and string. The mark must not become part of the first column's name."""
    _, frame, plain = penguins
    frame.to_csv(tmp_path / "saved.csv", index=False, encoding="utf-8-sig", lineterminator="\r\n",
                 quoting=csv.QUOTE_NONNUMERIC)
    saved = infer.infer(str(tmp_path / "saved.csv"), "species", name="penguins")
    assert saved.declaration == plain.declaration and saved.schema == plain.schema
    assert saved.decisions == plain.decisions


@pytest.mark.all_draws  # compared with the `penguins` draft, made with all draws
def test_a_draft_from_bounded_cell_counts_equals_the_draft_from_every_value_counted(penguins, monkeypatch):
    """Past `COUNTED` distinct values a column is estimated (a large file in bounded memory): with
    20 counted, every penguin measurement is, and `NA` cells past them must still read as missing."""
    path, _, exact = penguins
    monkeypatch.setattr(cell_counts, "COUNTED", 20)
    bounded = infer.infer(path, "species", name="penguins")
    assert bounded.declaration == exact.declaration and bounded.schema == exact.schema
    assert bounded.decisions == exact.decisions


def test_an_unnamed_index_column_as_pandas_writes_it_is_excluded_and_the_rest_drafted_alike(
        tmp_path, penguins):
    _, frame, plain = penguins
    frame.to_csv(tmp_path / "indexed.csv")  # index=True: an unnamed first column
    indexed = infer.infer(str(tmp_path / "indexed.csv"), "species", name="penguins")
    assert indexed.declaration["features"] == plain.declaration["features"]
    assert indexed.declaration["excluded"] == {"": columns.UNNAMED_REASON}
    assert f"(unnamed column): excluded, {columns.UNNAMED_REASON}" in indexed.decisions
    dataset = ds.parse(indexed.declaration)
    infer.write(indexed, str(tmp_path / "drafted"), str(tmp_path / "indexed.csv"))
    written = (tmp_path / "drafted" / ds.DECLARATION_FILE).read_text(encoding="utf-8")
    assert "\n  '': 'unnamed: " in written and "? ''" not in written  # a plain key, as users write
    assert ds.load(str(tmp_path / "drafted")).excluded == {"": columns.UNNAMED_REASON}
    # the same rows saved without the index (to_csv(index=False)) meet the draft, header and statistics
    plain_path = str(tmp_path / "plain.csv")
    frame.to_csv(plain_path, index=False)
    optional = checks.optional_columns(indexed.schema, dataset.read_columns())
    assert optional == [""]
    assert csv_files.check_csv_file(plain_path, checks.expected_columns(indexed.schema), "penguins", optional) == []
    assert checks.check_statistics(csv_statistics.statistics_of_csv(
        plain_path, ("", "NA"), tfdv.StatsOptions(schema=indexed.schema, infer_type_from_schema=True)),
        indexed.schema) == []
    without_mass = str(tmp_path / "no_mass.csv")
    frame.drop(columns="body_mass_g").to_csv(without_mass, index=False)  # a feature stays required
    assert [f.feature for f in csv_files.check_csv_file(
        without_mass, checks.expected_columns(indexed.schema), "penguins", optional)] == ["body_mass_g"]


def test_a_comma_at_the_end_of_every_line_makes_an_empty_unnamed_column_that_is_excluded(
        tmp_path, penguins):
    path, _, plain = penguins
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    (tmp_path / "trailing.csv").write_text("".join(line + ",\n" for line in lines), encoding="utf-8")
    trailing = infer.infer(str(tmp_path / "trailing.csv"), "species", name="penguins")
    assert trailing.declaration["features"] == plain.declaration["features"]
    assert trailing.declaration["excluded"] == {"": columns.UNNAMED_EMPTY_REASON}


def test_a_file_that_is_not_comma_separated_is_refused_naming_the_file_once(tmp_path):
    public_datasets.PENGUINS.write_csv(str(tmp_path / "comma.csv"))
    path = str(tmp_path / "penguins.csv")
    pd.read_csv(tmp_path / "comma.csv").to_csv(path, sep=";", index=False)
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, "species")
    assert str(refused.value) == ("penguins.csv is not comma-separated (one column; ';' separates the "
                                  "header); expected comma-separated columns (convert it, e.g. with "
                                  "pandas: pd.read_csv(FILE, sep=';').to_csv(NEW_FILE, index=False), "
                                  "adding decimal=',' for numbers written 3,14): fix the file")
    (tmp_path / "folder").mkdir()  # in a folder of files, moving it out is a way too
    os.replace(path, tmp_path / "folder" / "b.csv")
    public_datasets.PENGUINS.write_csv(str(tmp_path / "folder" / "a.csv"))
    with pytest.raises(infer.InitError, match=r"^b\.csv is not comma-separated .*: fix the file or move it out "
                                              r"of the data folder$"):
        infer.infer(str(tmp_path / "folder"), "species")


@pytest.mark.parametrize("make, message", [
    (lambda tmp: str(tmp / "absent.csv"), "does not exist"),
    (lambda tmp: str(tmp), "holds no CSV files"),
])
def test_missing_data_is_refused(tmp_path, make, message):
    with pytest.raises(infer.InitError, match=message):
        infer.infer(make(tmp_path), "outcome")


def test_unknown_task_is_refused_with_the_choices(tmp_path):
    with pytest.raises(infer.InitError, match="unknown task 'ranking': use one of auto, binary"):
        infer.infer(_csv(tmp_path, _crafted(60)), "outcome", task="ranking")


def test_a_few_words_among_numbers_are_named_by_line_not_drafted_as_text(tmp_path, penguins):
    """One decimal comma or one `n.a.` would make a measurement a text column (hashed, each number a
    category): init names the cells; a word for "no value" is then passed as --missing-value."""
    _, frame, plain = penguins
    frame = frame.copy()
    frame.loc[10, "bill_length_mm"] = "39,1"
    frame.loc[[20, 30], "body_mass_g"] = "n.a."
    path = _csv(tmp_path, frame, "penguins.csv")
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, "species")
    message = str(refused.value)
    assert message.startswith("2 column(s) hold numbers but for a few cells"), message
    assert "'bill_length_mm': 1 cell(s), line 12: '39,1'; 'body_mass_g': 2 cell(s), line 22: 'n.a.', " \
           "line 32: 'n.a.'" in message
    assert "--missing-value WORD" in message

    frame.loc[10, "bill_length_mm"] = "39.1"
    draft = infer.infer(_csv(tmp_path, frame, "penguins.csv"), "species", name="penguins", missing=["n.a."])
    assert draft.declaration["missing_values"] == ["", "NA", "n.a."]  # NA still found beside the word
    assert draft.declaration["features"] == plain.declaration["features"]
    assert "missing values: 'n.a.' read as missing (--missing-value)" in draft.decisions


def test_text_columns_with_some_numbers_are_drafted_as_text(tmp_path):
    """palmerpenguins' raw table: sample numbers, comments and IDs mix words and numbers on purpose."""
    path = str(tmp_path / "raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    draft = infer.infer(path, "Species")
    assert draft.declaration["features"]  # drafted, not refused


def test_init_into_an_existing_dataset_folder_is_refused_before_reading_the_data(tmp_path, capsys):
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / ds.DECLARATION_FILE).write_text("name: taken\n")
    assert cli.main(["init", str(tmp_path / "absent.csv"), "--label", "y", "--out", str(tmp_path / "taken")]) == 1
    out = capsys.readouterr().out
    assert "dataset.yaml already exists" in out and "Drafting" not in out and "does not exist" not in out


def test_two_folders_drafted_from_one_file_are_named_after_their_folders(tmp_path, capsys):
    """Two labels of one file: two datasets, so two pipelines, each with its runs and served model
    (named after the file, both would compare a species model with the served island one)."""
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    path = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    for label in ("species", "island"):
        assert cli.main(["init", path, "--label", label, "--out", str(tmp_path / f"by_{label}")]) == 0
        assert f"Dataset 'by_{label}' (multiclass, label '{label}')" in capsys.readouterr().out
    assert [ds.load(str(tmp_path / f"by_{label}")).name for label in ("species", "island")] == \
        ["by_species", "by_island"]


def test_a_folder_of_spans_is_drafted_from_its_newest_span_and_declared_whole(tmp_path, capsys):
    """The layout a run reads (`span-N/` folders): init drafts from the newest span, as a run trains
    on it, and declares the whole folder as the data."""
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    frame = pd.read_csv(public_datasets.PENGUINS.write_folder(str(tmp_path / "raw")) + "/penguins.csv",
                        keep_default_na=False, dtype=str)
    for span, part in ((1, frame[:172]), (2, frame[172:])):
        (tmp_path / "data" / f"span-{span}").mkdir(parents=True)
        part.to_csv(tmp_path / "data" / f"span-{span}" / "penguins.csv", index=False)
    assert cli.main(["init", str(tmp_path / "data"), "--label", "species", "--out", str(tmp_path / "spans")]) == 0
    assert f"Drafting a dataset from {tmp_path / 'data' / 'span-2'}" in capsys.readouterr().out
    assert ds.load(str(tmp_path / "spans")).data == str(tmp_path / "data")


def test_a_category_collapsed_to_one_value_is_refused_where_drift_cannot_tell(tmp_path, penguins):
    """Every penguin from one island (a broken export): the draft's least number of distinct values
    refuses it, whether or not the island's drift threshold is checked on 344 rows; a column whose
    eval split could hold one value by chance (one value in 99 % of rows) gets no such floor."""
    path, frame, draft = penguins
    several = {f.name for f in draft.schema.feature if f.unique_constraints.min == 2}
    assert several == {"island", "species", "sex"}, several
    collapsed = frame.assign(island="Biscoe")
    statistics = csv_statistics.statistics_of_csv(_csv(tmp_path, collapsed), ("", "NA"),
                                                  tfdv.StatsOptions(schema=draft.schema, infer_type_from_schema=True))
    found = checks.check_statistics(statistics, draft.schema)
    assert [(f.feature, f.problem) for f in found] == [("island", "Low number of unique values")], found
    assert "at least 2 distinct values" in found[0].expected
    # a window of requests may all come from one island: not checked at serving time
    requests = csv_statistics.statistics_of_csv(_csv(tmp_path, collapsed.drop(columns="species"), "requests.csv"),
                                                ("", "NA"), distances.stats_options(draft.schema))
    assert checks.check_statistics(requests, draft.schema, environment="SERVING") == []
    assert checks.check_statistics(csv_statistics.statistics_of_csv(
        path, ("", "NA"), tfdv.StatsOptions(schema=draft.schema, infer_type_from_schema=True)), draft.schema) == []

    mostly_one = frame.assign(island=["Torgersen" if i % 100 == 0 else "Biscoe" for i in range(len(frame))])
    rare = infer.infer(_csv(tmp_path, mostly_one, "rare.csv"), "species")
    assert not _feature(rare, "island").HasField("unique_constraints")  # 4 of 344: a split may hold none


def test_a_word_among_numbers_past_the_counted_cells_is_named_too(tmp_path, penguins, monkeypatch):
    """A large file's columns are counted up to `COUNTED` distinct values; a slip further down
    still makes the column text, and is found by reading the file again."""
    _, frame, _ = penguins
    frame = frame.copy()
    frame.loc[330, "flipper_length_mm"] = "n.a."
    monkeypatch.setattr(cell_counts, "COUNTED", 20)
    monkeypatch.setattr(infer, "CHUNK_ROWS", 50)  # counted as a large file is: a chunk at a time
    with pytest.raises(infer.InitError, match=r"^1 column\(s\) hold numbers but for a few cells.*"
                                              r"'flipper_length_mm': 1 cell\(s\), line 332: 'n.a.'"):
        infer.infer(_csv(tmp_path, frame, "late.csv"), "species")


def test_a_column_of_codes_with_a_few_words_is_kept_as_text_when_asked(tmp_path, penguins):
    """Floors 1, 2, G: numbers and a word, text as they are (--text-column)."""
    _, frame, _ = penguins
    frame = frame.copy()
    frame["floor"] = np.resize(["1", "2", "3"], len(frame))
    frame.loc[5, "floor"] = "G"
    path = _csv(tmp_path, frame, "floors.csv")
    with pytest.raises(infer.InitError, match="'floor': 1 cell.*--text-column NAME"):
        infer.infer(path, "species")
    draft = infer.infer(path, "species", text_columns=["floor"])
    assert draft.declaration["features"]["floor"]["kind"] == "categorical_string"


def test_a_word_given_as_missing_does_not_hide_the_common_tokens_beside_it(tmp_path, penguins):
    _, frame, _ = penguins
    frame = frame.copy()
    mass = frame["body_mass_g"].copy()
    frame = frame.replace("NA", "")  # NA left in one column only, beside the given word
    frame["body_mass_g"] = mass
    frame.loc[[20, 30], "body_mass_g"] = "n.a."
    draft = infer.infer(_csv(tmp_path, frame, "mass.csv"), "species", missing=["n.a."])
    assert draft.declaration["missing_values"] == ["", "NA", "n.a."]
    assert draft.declaration["features"]["body_mass_g"] == {"kind": "numeric"}


def test_infinite_numbers_are_named_by_line_and_a_word_for_them_can_be_read_as_missing(tmp_path, penguins):
    """R writes infinities as `Inf`; TFX's CSV reader takes them for numbers, which no model can
    scale: init names the cells rather than crash on the range or draft a feature that turns NaN."""
    _, frame, plain = penguins
    frame = frame.copy()
    frame.loc[[4, 9, 12], "flipper_length_mm"] = ["Inf", "-Inf", "1e39"]  # 1e39: past float32's range
    path = _csv(tmp_path, frame, "infinite.csv")
    with pytest.raises(infer.InitError, match=r"^1 column\(s\) hold infinite values.*'flipper_length_mm': "
                                              r"3 cell\(s\), line 6: 'Inf', line 11: '-Inf', line 14: '1e39'\. Make those cells empty"):
        infer.infer(path, "species")
    frame.loc[12, "flipper_length_mm"] = "NA"
    path = _csv(tmp_path, frame, "infinite.csv")
    draft = infer.infer(path, "species", name="penguins", missing=["Inf", "-Inf"])
    assert draft.declaration["features"] == plain.declaration["features"]


def test_a_label_text_column_or_missing_word_the_data_does_not_have_is_told(tmp_path, penguins):
    """A misspelt label or --text-column refuses the draft, naming the header's near match (a name
    with a trailing space looks the same when listed unquoted); a --missing-value word found in no
    cell is said."""
    path, frame, _ = penguins
    spaced = _csv(tmp_path, frame.rename(columns={"species": "species "}), "spaced.csv")
    with pytest.raises(infer.InitError, match=r"label column 'species' is not in .* \(did you mean 'species '\?\); "
                                              r"its columns: 'species ', 'island'"):
        infer.infer(spaced, "species")
    with pytest.raises(infer.InitError, match=r"--text-column 'Island': no such column in .* \(did you mean "
                                              r"'island'\?\); its columns: "
                                              "'species', 'island',"):
        infer.infer(path, "species", text_columns=["Island"])
    draft = infer.infer(path, "species", missing=["n.a."])
    assert "missing values: 'n.a.' (--missing-value) is in no cell of the data: read as missing if it comes" \
        in draft.decisions


def test_integers_that_fill_a_range_starting_past_1_are_a_quantity_not_codes(tmp_path):
    """vega_datasets' cars: cylinders 3..8, and accelerations rounded to whole seconds 8..25, fill
    half of 0..their largest as codes do, but codes count from 0 or 1 (hours, months, ratings): read
    as codes, a later 10-cylinder engine or 26 s would be an unknown code, refused by the gate."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    frame = pd.read_json(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "cars.json"))
    frame["Acceleration"] = frame["Acceleration"].round().astype(int)
    draft = infer.infer(_csv(tmp_path, frame, "cars.csv"), "Origin")
    shares = "; drift compared by each value's share"  # 5 counts in a span's 162 rows; 17 too many
    assert _decision(draft, "Cylinders") == f"Cylinders: numeric (integers, 5 distinct from 3 to 8{shares})"
    assert _decision(draft, "Acceleration") == "Acceleration: numeric (integers, 17 distinct from 8 to 25)"
    assert not distances.is_categorical(_feature(draft, "Acceleration"))
    assert _feature(draft, "Acceleration").drift_comparator.jensen_shannon_divergence.source.type == \
        schema_pb2.HistogramSelection.QUANTILES


def test_a_label_of_57_us_states_is_classes_and_a_state_written_na_may_mean_no_value(tmp_path):
    """vega_datasets' airports: `state` holds 57 states and territories, and `NA` where an airport
    has none, in `city` too. Text columns may hold `NA` as a value, so init reads it as one and says
    how to read it as missing; a label of thousands of values (`city`) is no classes."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    path = shutil.copy(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "airports.csv"), tmp_path)
    draft = infer.infer(path, "state")
    assert draft.declaration["task"] == "multiclass" and len(draft.declaration["label"]["classes"]) == 57
    assert "NA" in draft.declaration["label"]["classes"] and "NA" not in draft.declaration["missing_values"]
    assert "missing values: 'NA' read as a value in 'city', 'state' (text): if it means no value there, run init " \
           "again with --missing-value 'NA' (rows without a label are then to be dropped or filled)" in draft.decisions
    with pytest.raises(infer.InitError, match=r"label 'state' is missing in 12 of 3376 rows"):
        infer.infer(path, "state", missing=["NA"])
    with pytest.raises(infer.InitError, match=r"label 'city' has (about )?\d+ distinct values, more than 100 classes"):
        infer.infer(path, "city")


def _penguin_measurements(folder) -> pd.DataFrame:
    """palmerpenguins as the package ships it, read as numbers (empty where `NA`)."""
    public_datasets.PENGUINS.write_csv(str(folder / "shipped.csv"))
    return pd.read_csv(folder / "shipped.csv")


TEXT_COLUMN_WAY_OUT = ". A column that is not numbers at all is kept as text with --text-column NAME"


@pytest.mark.parametrize("written, write, told, read", [
    ("decimal commas", lambda frame, path: frame.to_csv(path, index=False, decimal=","),
     "4 column(s) hold numbers written for people to read, which TFX's CSV reader takes for text, every "
     "number a category of its own: decimal commas in 'bill_length_mm' (line 2: '39,1'), 'bill_depth_mm' "
     "(line 2: '18,7'), 'flipper_length_mm' (line 2: '181,0'), 'body_mass_g' (line 2: '3750,0'): convert "
     "the file, e.g. with pandas: pd.read_csv(FILE, decimal=',').to_csv(NEW_FILE, index=False); then run "
     "init on the converted file", {"decimal": ","}),
    ("thousands separators", lambda frame, path: frame.assign(
        body_mass_g=frame["body_mass_g"].map("{:,.0f}".format, na_action="ignore")).to_csv(path, index=False),
     "1 column(s) hold numbers written for people to read, which TFX's CSV reader takes for text, every "
     "number a category of its own: thousands separators in 'body_mass_g' (line 2: '3,750'): convert the "
     "file, e.g. with pandas: pd.read_csv(FILE, thousands=',').to_csv(NEW_FILE, index=False). The cells "
     "of 'body_mass_g' also read as decimal commas (1,250 as 1.25, as fuel prices are written): check "
     "which is meant; then run init on the converted file", {"thousands": ","}),
])
def test_a_column_of_numbers_written_with_decimal_commas_or_thousands_separators_is_refused_with_the_conversion(
        tmp_path, written, write, told, read):
    """Read as text, each such number would be a category of its own; the pandas call init names
    reads the file back as the numbers it holds."""
    frame = _penguin_measurements(tmp_path)
    path = str(tmp_path / f"{written}.csv")
    write(frame, path)
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, "species")
    assert str(refused.value) == told + TEXT_COLUMN_WAY_OUT
    pd.testing.assert_frame_equal(pd.read_csv(path, **read), frame)


def test_text_with_commas_and_plain_numbers_are_not_numbers_written_for_people(tmp_path):
    """palmerpenguins' raw table: stages written with a comma and a number ("Adult, 1 Egg Stage"),
    integers, decimals, IDs and comments; none is a column of numbers written with commas."""
    path = str(tmp_path / "raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert frame["Stage"].str.contains(",").all()
    written = {}
    for column in frame.columns:
        cells = cell_counts.ColumnCells(("", "NA"))
        cells.add(list(frame[column]))
        written[column] = written_numbers.writing(cells, ["", "NA"])
    assert written == {column: None for column in frame.columns}


def test_dates_written_with_dots_or_month_names_are_excluded_as_dates(tmp_path):
    """palmerpenguins' raw table's egg dates as European spreadsheets (11.11.2007) and monthly
    reports (Nov 2007, November 2007) write them, and vega_datasets' stock prices' dates as the
    package ships them (Jan 1 2000)."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    path = str(tmp_path / "raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    frame = pd.read_csv(path)
    stocks = pd.read_csv(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "stocks.csv"))
    laid = pd.to_datetime(frame["Date Egg"])
    dates = {"laid": laid.dt.strftime("%d.%m.%Y"), "laid_month": laid.dt.strftime("%b %Y"),
             "laid_month_name": laid.dt.strftime("%B %Y"), "priced": stocks["date"].head(len(frame))}
    frame = frame[["Species", "Culmen Length (mm)"]].assign(**dates)
    draft = infer.infer(_csv(tmp_path, frame, "dated.csv"), "Species")
    assert draft.declaration["excluded"] == {column: columns.DATE_REASON for column in dates}


@pytest.mark.parametrize("written", [int, float], ids=["as-integers", "as-floats"])
def test_distinct_integers_named_as_an_identifier_are_excluded_however_they_are_spread(tmp_path, written):
    """palmerpenguins' raw table numbers its samples per species (1..152): species and number make
    an ID, 1001..3124, as counties' PIDs are made (not the row numbers: 344 values over 2124). Its
    name says what it is; the sample numbers, which repeat, stay numeric. Written `1001.0` as pandas
    writes an integer column that had gaps, it is the same ID."""
    path = str(tmp_path / "raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    frame = pd.read_csv(path)
    species = frame["Species"].astype("category").cat.codes + 1
    frame = frame[["Island", "Sample Number", "Culmen Length (mm)"]]
    frame.insert(0, "PID", (species * 1000 + frame["Sample Number"]).astype(written))
    draft = infer.infer(_csv(tmp_path, frame, "identified.csv"), "Island")
    assert draft.declaration["excluded"] == {
        "PID": "ID-like (344 distinct values in 344 rows, 1001..3124, named as an identifier)"}
    assert draft.declaration["features"]["Sample Number"] == {"kind": "numeric"}


@pytest.mark.parametrize("name, is_identifier", [
    ("id", True), ("ID", True), ("PID", True), ("user_id", True), ("customerId", True), ("CustomerID", True),
    ("key", True), ("Individual ID", True), ("width", False), ("valid", False), ("paid", False),
    ("monkey", False), ("Sample Number", False), ("SEQN", True), ("sequence", False)])
def test_a_column_is_named_an_identifier_by_a_word_of_its_name_not_by_letters_inside_one(name, is_identifier):
    assert columns.is_identifier_name(name) is is_identifier


def test_a_utf16_file_is_refused_as_such_with_how_to_convert_it_by_init_and_by_the_gate(tmp_path, penguins):
    """Excel's "Unicode text" and Windows tools write UTF-16. The check is the gate's (`run`,
    `validate`, `score`), and the conversion it names gives a file the gate accepts."""
    _, frame, _ = penguins
    path = str(tmp_path / "penguins.csv")
    frame.to_csv(path, index=False, encoding="utf-16")
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, "species")
    assert str(refused.value) == (
        "penguins.csv is UTF-16 text, not UTF-8 (starts with the UTF-16 byte-order mark b'\\xff\\xfe'); "
        "expected UTF-8 encoded CSV (convert it, e.g. with pandas: pd.read_csv(FILE, encoding='utf-16')"
        ".to_csv(NEW_FILE, index=False)): fix the file")
    assert [f.detail for f in csv_files.check_csv_file(path)] == ["penguins.csv is UTF-16 text, not UTF-8"]
    converted = str(tmp_path / "converted.csv")
    pd.read_csv(path, encoding="utf-16", keep_default_na=False).to_csv(converted, index=False)
    assert csv_files.check_csv_file(converted) == []


def test_a_numeric_label_measured_again_in_other_features_is_named_as_copied_by_them(tmp_path):
    """scikit-learn's breast cancer tumours: the mean area is πr² of the mean radius and grows with
    the mean perimeter. As the label, the radius is the label on another scale (in its order in
    every row): excluded, with the reason; the perimeter is named; the worst area (rank correlation
    0.98, a different measurement) is not, nor is any feature for the diagnosis."""
    path = str(tmp_path / "breast_cancer.csv")
    public_datasets.BREAST_CANCER.write_csv(path)
    by_area = infer.infer(path, "mean area", name="tumour_area")
    assert "mean radius" not in by_area.declaration["features"]
    assert by_area.declaration["excluded"]["mean radius"].startswith(
        "the label in another unit or scale (rank correlation +1.000): known only with it")
    assert "mean radius: excluded, the label in another unit or scale" in "\n".join(by_area.decisions)
    [check] = by_area.checks
    assert check.startswith("'mean perimeter' (rank correlation +0.997) predicts the label nearly perfectly on "
                            "its own. Where a feature's value is known only with or after the label")
    assert "move it from `features` to `excluded` in dataset.yaml" in check
    assert "'worst area'" not in check
    infer.write(by_area, str(tmp_path / "tumour_area"), path)
    with open(tmp_path / "tumour_area" / "dataset.yaml", encoding="utf-8") as f:
        assert f"# Check: {check}\n" in f.read()
    assert infer.infer(path, "diagnosis").checks == []


@pytest.mark.parametrize("label, source, derive", [
    ("heavy", "body_mass_g", lambda f: np.where(f["body_mass_g"].astype(float) > 4000, "yes", "no")),
    ("adelie", "species", lambda f: np.where(f["species"] == "Adelie", "yes", "no")),
], ids=["from-a-number", "from-a-category"])
def test_a_label_derived_from_a_column_the_csv_keeps_names_that_column(tmp_path, penguins, label, source, derive):
    """A binary label made from a kept column (heavier than 4 kg; Adelie or not) is predicted by that
    column alone on held-out rows; palmerpenguins' own species label is copied by no column."""
    _, frame, draft = penguins
    assert draft.checks == []
    frame = frame[frame["body_mass_g"] != "NA"].copy()
    frame[label] = derive(frame)
    [check] = infer.infer(_csv(tmp_path, frame), label).checks
    assert check.startswith(f"{source!r} (accuracy 1.000 on held-out rows, 0.5")
    assert "predicts the label nearly perfectly" in check


def test_a_copy_is_not_told_from_the_few_rows_where_a_feature_is_present(tmp_path):
    """Any 3 rows rank-correlate perfectly: the mean radius present in 40 tumours says nothing."""
    path = str(tmp_path / "breast_cancer.csv")
    public_datasets.BREAST_CANCER.write_csv(path)
    frame = pd.read_csv(path, dtype=str)
    features = {"mean radius": {"kind": "numeric"}}
    assert [c.column for c in label_copies.label_copies(path, "mean area", "regression", features, [""], 569)] == \
        ["mean radius"]
    frame.loc[40:, "mean radius"] = ""
    sparse = _csv(tmp_path, frame, "sparse.csv")
    assert label_copies.label_copies(sparse, "mean area", "regression", features, [""], 569) == []


def test_a_column_filled_in_only_for_one_class_is_named_by_where_it_is_missing(tmp_path, penguins):
    """Gentoo penguins' body mass kept, the others' left empty, as a record filled in only once the
    outcome is known: among the rows where it is present, every penguin is a Gentoo, so only its
    missing cells tell the classes apart; they are one more value, not rows left out."""
    _, frame, _ = penguins
    frame = frame.copy()
    frame["gentoo_mass"] = np.where(frame["species"] == "Gentoo", frame["body_mass_g"], "NA")
    frame.loc[frame["gentoo_mass"] == "NA", "gentoo_mass"] = ""
    frame["gentoo"] = np.where(frame["species"] == "Gentoo", "yes", "no")
    frame = frame.drop(columns=["species", "body_mass_g"])
    copies = label_copies.label_copies(_csv(tmp_path, frame), "gentoo", "binary",
                                       {"gentoo_mass": {"kind": "numeric"}, "island": {"kind": "categorical_string"}},
                                       ["", "NA"], len(frame))
    majority = (frame["gentoo"] == "no").mean()
    assert [c.column for c in copies] == ["gentoo_mass"]
    assert copies[0].score.startswith("accuracy 1.000 on held-out rows, 0.")
    assert abs(float(copies[0].score.rsplit(", ", 1)[1].split()[0]) - majority) < 0.1


def test_a_file_sorted_by_its_label_is_sampled_over_all_its_rows(tmp_path, monkeypatch):
    """Tumours sorted by diagnosis, 212 malignant first, and a sample of 150 rows: read from the top,
    the sample would hold one class, which every feature "predicts". Drawn over the file, no feature
    copies the diagnosis; a file of one class gets no check at all."""
    path = str(tmp_path / "breast_cancer.csv")
    public_datasets.BREAST_CANCER.write_csv(path)
    frame = pd.read_csv(path, dtype=str).sort_values("diagnosis")
    features = {c: {"kind": "numeric"} for c in frame.columns if c != "diagnosis"}
    monkeypatch.setattr(label_copies, "SAMPLE_ROWS", 150)
    by_label = _csv(tmp_path, frame, "sorted.csv")
    drawn = label_copies.sample(by_label, ["diagnosis", "mean radius"], [""], len(frame))["diagnosis"]
    assert 100 < len(drawn) < 200 and 0.25 < (drawn == "malignant").mean() < 0.5
    assert label_copies.label_copies(by_label, "diagnosis", "binary", features, [""], len(frame)) == []
    one_class = _csv(tmp_path, frame[frame["diagnosis"] == "malignant"], "malignant.csv")
    assert label_copies.label_copies(one_class, "diagnosis", "binary", features, [""], 212) == []


def test_ragged_rows_are_refused_with_their_line_numbers(tmp_path, penguins):
    _, frame, _ = penguins
    path = tmp_path / "penguins.csv"
    frame.to_csv(path, index=False)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[50] += ",extra"  # line 51 of the file
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(infer.InitError) as refused:
        infer.infer(str(path), "species")
    assert str(refused.value) == ("penguins.csv: rows with a different number of fields than the header "
                                  f"(1 row differs: line 51); expected {len(frame.columns)} fields per row: fix the file")


def test_numbers_written_for_no_value_are_named_for_review_and_real_extremes_are_not(tmp_path):
    """palmerpenguins with its missing body masses written 9999 and bill lengths -999, as database
    exports write them: init names both codes and the `--missing-value` that reads them as gaps;
    drafted again so, the codes are gone. The penguins as published get no such check."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins()
    assert not any("no value" in line for line in infer.infer(_csv(tmp_path, frame, "p.csv"), "species").checks)
    gaps = frame["body_mass_g"].isna()
    frame["body_mass_g"] = frame["body_mass_g"].fillna(9999).astype(int)
    frame["bill_length_mm"] = frame["bill_length_mm"].fillna(-999)
    path = _csv(tmp_path, frame, "coded.csv")
    coded = infer.infer(path, "species")
    checks_ = coded.checks
    assert f"body_mass_g: 9999 in {gaps.sum()} row(s), far from its other values (2700 to 6300): a code for " \
           "\"no value\"? If so, draft again with `--missing-value 9999`" in "\n".join(checks_), checks_
    assert any(line.startswith("bill_length_mm: -999.0 in 2 row(s)") for line in checks_), checks_
    again = infer.infer(path, "species", missing=["9999", "-999.0"])
    assert not any("no value" in line for line in again.checks), again.checks
    assert _feature(again, "body_mass_g").int_domain.max < _feature(coded, "body_mass_g").int_domain.max


def test_a_date_and_the_label_alone_train_on_its_parts_or_are_refused_with_the_columns_to_add(tmp_path):
    """vega_datasets' hourly Seattle temperatures: the date is the only column besides the label.
    As the package writes it (2010/01/01 00:00), the model reads its hour, weekday and month; written
    US style (01/01/2010 00:00), which the graph does not read, init names the columns to add."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    path = str(tmp_path / "seattle-temps.csv")
    shutil.copy(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "seattle-temps.csv"), path)
    assert infer.infer(path, "temp").declaration["features"] == {
        "date": {"kind": "date", "parts": ["hour", "weekday", "month"]}}
    frame = pd.read_csv(path)
    us_style = _csv(tmp_path, frame.assign(date=pd.to_datetime(frame["date"]).dt.strftime("%m/%d/%Y %H:%M")), "us.csv")
    with pytest.raises(columns.InitError, match=r"no usable feature columns, .*date: its hour, weekday, month as "
                                                r"columns of their own .*`t = pd.to_datetime\(df\['date'\], errors='coerce'\); "):
        infer.infer(us_style, "temp")
