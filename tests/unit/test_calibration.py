"""Thresholds from the data's own noise (schema/calibration.py) and drift in words
(schema/distances.py), on real data: palmerpenguins, vega_datasets' cars and the taxi sample."""
import argparse
import dataclasses
import os
import shutil
import re

import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from benchmarks import public_datasets
from cli import main as cli
from pipeline.configs import ConfigError
from schema import calibration, checks, csv_statistics, distances, infer, maintain, schema_text
from tests.bad_data import drift_between, shuffled_slices, taxi_rows, write_rows
from tests.conftest import DRAFTING_DRAWS, TAXI, TAXI_SCHEMA

PENGUIN_FEATURES = ["island", "bill_length_mm", "flipper_length_mm", "sex"]


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """The penguins CSV, a schema inferred by TFDV, and its statistics reader."""
    path = str(tmp_path_factory.mktemp("penguins") / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    schema = tfdv.infer_schema(csv_statistics.statistics_of_csv(path, ("", "NA")))
    return path, schema, lambda options: csv_statistics.statistics_of_csv(path, ("", "NA"), options)


def test_each_threshold_is_its_measures_multiple_of_the_largest_distance_between_two_samples(penguins):
    path, schema, statistics_of = penguins
    measured = calibration.calibrate(statistics_of, schema, PENGUIN_FEATURES, "penguins.csv", rows=344)
    # Spans: the train split (4/5) of halves, what the gate compares; windows: half the data at most.
    assert (measured.span_rows, measured.window_rows, measured.pairs) == (138, 172, 20)
    assert measured.noise["island"].over == "shares"
    assert measured.noise["bill_length_mm"].over == "quantiles"
    for name, noise in measured.noise.items():
        assert 0 < noise.span < 0.5, name
        factor, floor = calibration.FACTOR[noise.over], calibration.FLOOR[noise.over]
        assert measured.drift(name) == pytest.approx(max(factor * noise.span, floor), abs=1e-3)
    applied = calibration.apply(schema, measured)
    island = next(f for f in applied.feature if f.name == "island")
    assert island.drift_comparator.jensen_shannon_divergence.threshold == measured.drift("island")
    assert not island.drift_comparator.jensen_shannon_divergence.HasField("source")  # over value shares
    bill = next(f for f in applied.feature if f.name == "bill_length_mm")
    assert bill.drift_comparator.jensen_shannon_divergence.source.type == schema_pb2.HistogramSelection.QUANTILES
    assert bill.skew_comparator.jensen_shannon_divergence.threshold == measured.skew("bill_length_mm")


@pytest.fixture(scope="module")
def cars_csv(tmp_path_factory) -> str:
    """vega_datasets' cars (406 rows) as a CSV: its model names nearly all differ."""
    import pandas as pd  # pylint: disable=import-outside-toplevel
    import vega_datasets  # pylint: disable=import-outside-toplevel

    path = str(tmp_path_factory.mktemp("cars") / "cars.csv")
    pd.read_json(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "cars.json")).to_csv(
        path, index=False)
    return path


def test_a_count_of_few_values_is_compared_by_its_shares_so_a_span_without_one_of_them_is_refused(
        cars_csv, tmp_path, capsys):
    """Cars' cylinders (3..8: five counts, read as a number). Over quantiles, bucket bounds sit on
    tied counts and the distance between halves of the same data jumps (0.006 in most draws, 0.10 in
    some): its threshold came out at 0.30, and a span without the 8-cylinder cars (a quarter of them)
    passed. Over each count's share the noise is steady and that span is refused, by name."""
    import pandas as pd  # pylint: disable=import-outside-toplevel

    draft = infer.infer(cars_csv, "Origin")
    cylinders, weight = (next(f for f in draft.schema.feature if f.name == n) for n in ("Cylinders", "Weight_in_lbs"))
    assert draft.declaration["features"]["Cylinders"] == {"kind": "numeric"}  # the model reads a number
    assert distances.is_categorical(cylinders) and (cylinders.int_domain.min, cylinders.int_domain.max) == (0, 16)
    assert "drift compared by each value's share" in next(d for d in draft.decisions if d.startswith("Cylinders:"))
    assert not distances.is_categorical(weight)  # integers too, 356 distinct: quantiles
    infer.write(draft, str(tmp_path / "cars"), cars_csv)
    frame = pd.read_csv(cars_csv)
    frame[frame["Cylinders"] != 8].to_csv(tmp_path / "no_eights.csv", index=False)
    assert cli.main(["validate", str(tmp_path / "no_eights.csv"), "--previous", cars_csv,
                     "--dataset", str(tmp_path / "cars"), "--work-dir", str(tmp_path / "work")]) == 1
    output = capsys.readouterr().out
    assert "- Cylinders: High approximate Jensen-Shannon divergence" in output and "no row has '8'" in output, output


def test_a_column_whose_values_rarely_repeat_gets_no_check_rather_than_one_nothing_can_cross(cars_csv):
    """The car model names differ between any two samples of the same data, so 5x that noise
    passes JSD's largest value, 1: no distance could cross it."""
    path = cars_csv
    schema = tfdv.infer_schema(csv_statistics.statistics_of_csv(path))
    measured = calibration.calibrate(lambda options: csv_statistics.statistics_of_csv(path, ("",), options),
                                     schema, ["Name", "Horsepower"], "cars.csv", rows=406, pairs=4)
    assert measured.drift("Name") is None and measured.skew("Name") is None
    assert measured.noise["Name"].span * calibration.FACTOR["shares"] >= calibration.JSD_MAX
    assert calibration.JSD_MAX > measured.drift("Horsepower") and calibration.JSD_MAX > measured.skew("Horsepower")
    applied = {f.name: f for f in calibration.apply(schema, measured).feature}
    assert not applied["Name"].HasField("drift_comparator") and not applied["Name"].HasField("skew_comparator")
    assert applied["Horsepower"].drift_comparator.jensen_shannon_divergence.threshold == measured.drift("Horsepower")
    row = next(line for line in schema_text.comment(measured) if line.startswith("#   Name "))
    assert row.split()[4] == "-" and row.split()[6] == "-", row


def test_init_says_which_columns_get_no_drift_check(cars_csv):
    from schema import infer  # pylint: disable=import-outside-toplevel

    draft = infer.infer(cars_csv, "Origin")
    assert [d for d in draft.decisions if d.startswith("no ")] == [
        "no drift or skew check on Name: two samples of the same data already differ almost entirely "
        "(its values rarely repeat)"]


def test_a_number_left_unchecked_is_said_to_need_more_rows_not_to_never_repeat(tmp_path):
    """vega_datasets' LA riots (63 rows): coordinates never repeat, which quantiles compare as well as
    anything; what leaves some unchecked is samples of 25 rows."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    path = shutil.copy(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "la-riots.csv"), tmp_path)
    draft = infer.infer(path, "type")
    over_quantiles = {line.split()[1] for line in draft.calibration if line.split()[2:3] == ["quantiles"]}
    unchecked = {line.split(" check on ")[1].split(":")[0]: line for line in draft.decisions if line.startswith("no ")}
    assert "latitude" in over_quantiles & set(unchecked)  # else this checks nothing
    for name in over_quantiles & set(unchecked):
        assert unchecked[name].endswith("(too few rows for its quantiles to settle: calibrate again when there "
                                        "is more data)"), unchecked[name]


def test_smaller_spans_are_noisier_so_their_thresholds_are_higher(penguins):
    _, schema, statistics_of = penguins
    halves = calibration.calibrate(statistics_of, schema, PENGUIN_FEATURES, "p", rows=344)
    small = calibration.calibrate(statistics_of, schema, PENGUIN_FEATURES, "p", rows=344, span_rows=40)
    assert small.span_rows == 32  # the train split of 40-row spans
    assert all(small.noise[n].span > halves.noise[n].span for n in PENGUIN_FEATURES)


def test_sketched_value_counts_give_the_same_noise_as_exact_ones(penguins, monkeypatch):
    """The calibration's sliced pass counts values with TFDV's sketch (it is faster): for columns of
    up to 1,024 values the distances must be those of TFDV's exact counts, which the gate uses."""
    _, schema, statistics_of = penguins
    sketched = calibration.calibrate(statistics_of, schema, PENGUIN_FEATURES, "p", rows=344, pairs=4)
    monkeypatch.setattr(calibration, "stats_options", lambda schema, **options: distances.stats_options(
        schema, **{**options, "use_sketch_based_topk_uniques": False}))
    exact = calibration.calibrate(statistics_of, schema, PENGUIN_FEATURES, "p", rows=344, pairs=4)
    assert sketched.noise == exact.noise and sketched.noise["island"].span > 0


def test_the_schema_comment_says_how_each_threshold_was_obtained_and_survives_recalibration(penguins, tmp_path):
    _, schema, statistics_of = penguins
    measured = calibration.calibrate(statistics_of, schema, PENGUIN_FEATURES, "penguins.csv", rows=344)
    path = str(tmp_path / "schema.pbtxt")
    schema_text.write(calibration.apply(schema, measured), path,
                      ["# Curated by hand."] + schema_text.comment(measured))
    assert tfdv.load_schema_text(path) == calibration.apply(schema, measured)
    assert schema_text.header_comment(path) == ["# Curated by hand."]  # the old block goes
    with open(path, encoding="utf-8") as f:
        text = f.read()
    row = next(line for line in text.splitlines() if line.startswith("#   island "))
    assert row.split()[2:5] == ["shares", f"{measured.noise['island'].span:.4f}",
                                f"{measured.drift('island'):.3f}"]
    assert "penguins.csv, 344 rows, in 20 draws" in " ".join(line.lstrip("# ") for line in text.splitlines()[:8])


def test_time_ordered_spans_move_the_parts_of_their_date_which_is_no_drift_but_still_skew(tmp_path):
    """The taxi sample in time order, cut into spans of 3,000 trips as an operator receives them: the
    second span's months are not the first's (JSD about 0.5, where random samples differ by 0.001),
    and the gate finds no drift. Requests are still compared with the training data on them (skew)."""
    rows = taxi_rows(15002)
    header, body = rows[0], rows[1:]
    stamp = header.index("trip_start_timestamp")
    body.sort(key=lambda row: int(row[stamp]))
    assert drift_between(str(tmp_path), header, body[:3000], body[3000:6000]) == []
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    for name in ("trip_start_month", "trip_start_hour", "trip_start_day"):
        feature = tfdv.get_feature(curated, name)
        assert not feature.HasField("drift_comparator"), name
        assert feature.skew_comparator.jensen_shannon_divergence.threshold > 0, name
    assert calibration.is_calendar_part(tfdv.get_feature(curated, "trip_start_month"))
    # Named with a calendar word but no part of the date: a count of hours, a quantity beyond the part's values.
    hours = schema_pb2.Feature(name="hours_per_week", type=schema_pb2.INT)
    hours.int_domain.min, hours.int_domain.max = 1, 198
    assert not calibration.is_calendar_part(hours)
    assert not calibration.is_calendar_part(schema_pb2.Feature(name="total_day_minutes", type=schema_pb2.FLOAT))


def test_a_drifted_number_is_reported_as_what_moved(tmp_path):
    header, (before, after) = shuffled_slices(3, 3000, 3000)
    fare = header.index("fare")
    after = [row[:fare] + [f"{float(row[fare]) * 10:.2f}"] + row[fare + 1:] for row in after]
    [drift] = drift_between(str(tmp_path), header, before, after)
    assert drift.feature == "fare"
    moved = re.match(r"median ([\d,.]+) -> ([\d,.]+), p10 .* -> .*, p90 ([\d,.]+) -> ([\d,.]+), mean .* -> .* "
                     r"\(JSD ([\d.]+) > ([\d.]+)\)$", drift.detail)
    assert moved, drift.detail
    median_before, median_after, p90_before, p90_after, jsd, threshold = (
        float(v.replace(",", "")) for v in moved.groups())
    assert median_after == pytest.approx(10 * median_before, rel=0.05)
    assert p90_after == pytest.approx(10 * p90_before, rel=0.1)
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    limit = tfdv.get_feature(curated, "fare").drift_comparator.jensen_shannon_divergence.threshold
    assert threshold == pytest.approx(limit, abs=0.005) and jsd > limit


def test_schema_changes_name_new_thresholds_and_integer_codes():
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    loosened = schema_pb2.Schema()
    loosened.CopyFrom(curated)
    area = tfdv.get_feature(loosened, "pickup_community_area")
    area.int_domain.is_categorical = False
    area.drift_comparator.jensen_shannon_divergence.threshold = 0.5
    changes = maintain.differences(curated, loosened)
    assert "'pickup_community_area' is compared by quantiles, not by its values' shares" in changes
    assert any(c.startswith("'pickup_community_area' JSD vs previous span: at most 0.5 (was 0.0") for c in changes)


def _one_class_lost(frame, label):
    """An upstream filter or join lost every row of the rarer class."""
    return frame[frame[label] == frame[label].mode()[0]]


def _rescale_target(frame, label):
    """The target recorded in another unit (a tenth): inside the label's plausible range, no
    feature changes."""
    return frame.assign(**{label: frame[label] / 10})


def _breast_cancer_codes(path: str) -> None:
    """scikit-learn's breast cancer with its own 0/1 `target`: classes as integer codes."""
    from sklearn import datasets  # pylint: disable=import-outside-toplevel

    datasets.load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)


BREAST_CANCER_CODES = public_datasets.PublicDataset("breast_cancer_codes", "target", "binary",
                                                    _breast_cancer_codes, "classes as 0/1")


@pytest.mark.parametrize("public, corrupt", [(public_datasets.BREAST_CANCER, _one_class_lost),
                                             (BREAST_CANCER_CODES, _one_class_lost),
                                             (public_datasets.DIABETES, _rescale_target)],
                         ids=["binary class lost", "integer class lost", "regression target rescaled"])
def test_a_changed_label_distribution_is_drift_on_the_label_and_an_unchanged_half_passes(
        public, corrupt, tmp_path):
    """`init` calibrates the label for drift (not skew: requests carry no label). One random half
    of the data is the earlier span; the other half passes as it is, and is refused for drift on
    the label once its label's distribution changed."""
    import pandas as pd  # pylint: disable=import-outside-toplevel
    from schema import infer  # pylint: disable=import-outside-toplevel

    path = str(tmp_path / "data.csv")
    public.write_csv(path)
    draft = infer.infer(path, public.label)
    label = tfdv.get_feature(draft.schema, public.label)
    assert label.drift_comparator.jensen_shannon_divergence.threshold > 0
    assert not label.HasField("skew_comparator")
    # Classes, names or integer codes, are compared by their shares; a target by its quantiles.
    assert distances.is_categorical(label) == (public.task != "regression")
    assert label.drift_comparator.jensen_shannon_divergence.HasField("source") == (public.task == "regression")
    frame = pd.read_csv(path)
    earlier = frame.sample(frac=0.5, random_state=0)
    later = frame.drop(earlier.index)
    compared = distances.stats_options(draft.schema)

    def statistics(part, name):
        part.to_csv(str(tmp_path / name), index=False)
        return csv_statistics.statistics_of_csv(str(tmp_path / name), options=compared)

    previous = statistics(earlier, "earlier.csv")
    assert checks.check_statistics(statistics(later, "later.csv"), draft.schema, previous) == []
    found = checks.check_statistics(statistics(corrupt(later, public.label), "corrupt.csv"),
                                    draft.schema, previous)
    assert (public.label, True) in [(f.feature, checks.is_drift(f)) for f in found], found
    # one class left in every row: also fewer distinct values than the draft allows, and a class missing
    collapsed = [f for f in found if f.problem in ("Low number of unique values", checks.CLASS_MISSING)]
    assert sorted(f.feature for f in collapsed) == ([public.label] * 2 if public.task != "regression" else [])
    assert all(checks.is_drift(f) for f in found if f not in collapsed), found


def test_monitor_says_when_its_window_holds_far_fewer_requests_than_the_thresholds_were_calibrated_for():
    calibrated = schema_text.calibrated_sample_rows(TAXI_SCHEMA, schema_text._WINDOW_ROWS)
    assert calibrated and calibrated >= 100
    note = schema_text.small_window_note(TAXI_SCHEMA, 16)
    assert note.startswith(f" The window holds 16 logged examples, fewer than the {calibrated:,} its thresholds were "
                           "calibrated for"), note
    assert "`tfxpipe calibrate --window-rows 16 --write`" in note
    assert schema_text.small_window_note(TAXI_SCHEMA, calibrated) == ""


def test_calibrate_on_a_folder_of_spans_measures_every_span_for_the_size_the_gate_compares(
        tmp_path, capsys, few_calibration_draws):
    """Three spans of 700 trips: calibrated on all of them for spans of 700 rows (the gate compares a
    span's 560-row train split), not on the newest span for half of it. A span size the data cannot
    give two of is said, not silently cut. (What is read and said, not the thresholds: few draws.)"""
    header, slices = shuffled_slices(5, 700, 700, 700, 100)
    data = tmp_path / "data"
    for span, rows in enumerate(slices[:3], 1):
        write_rows(str(data / f"span-{span}"), [header] + rows)
    # an older export with a row index: left out, said (read as the others' columns it would be garbage)
    write_rows(str(data / "span-0"), [["idx"] + header] + [[str(i)] + row for i, row in enumerate(slices[3])])
    with pytest.raises(ValueError, match="different headers"):
        csv_statistics.statistics_of_csv([str(data / "span-0"), str(data / "span-1")])
    taxi = os.path.dirname(TAXI_SCHEMA)
    args = ["calibrate", str(data), "--dataset", taxi, "--schema", str(tmp_path / "schema.pbtxt"),
            "--work-dir", str(tmp_path / "work")]
    shutil.copy(TAXI_SCHEMA, tmp_path / "schema.pbtxt")
    assert cli.main(args) == 0
    out = " ".join(capsys.readouterr().out.split())  # the comment block is wrapped
    assert f"Calibrating on spans 1-3 of {data} (not 0, whose columns differ), for spans of 700 rows" in out
    assert f"2100 rows, in {DRAFTING_DRAWS} draws" in out and "samples of 560 rows (drift" in out, out
    # the gate's advice for a column that moves by design, taken: calibrate --write keeps it
    edited = tfdv.load_schema_text(str(tmp_path / "schema.pbtxt"))
    next(f for f in edited.feature if f.name == "fare").ClearField("drift_comparator")
    schema_text.write(edited, str(tmp_path / "schema.pbtxt"), schema_text.header_comment(
        str(tmp_path / "schema.pbtxt"), keep_calibration=True))
    assert cli.main(args + ["--span-rows", "1500", "--write"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "note: two spans of 1500 rows need 3000 rows to be drawn from, and the data has 2100: calibrated " \
           "for spans of 1050 rows" in out
    assert "samples of 840 rows (drift" in out
    assert "Kept as set by hand (--discard-edits takes the calibrated ones): " \
           "- 'fare' drift vs previous span: unchecked (calibrated: " in out
    written = {f.name: f for f in tfdv.load_schema_text(str(tmp_path / "schema.pbtxt")).feature}
    assert not written["fare"].HasField("drift_comparator") and written["trip_miles"].HasField("drift_comparator")
    recorded = schema_text.calibrated_thresholds(str(tmp_path / "schema.pbtxt"))
    assert recorded["fare"][0] == schema_text.BY_HAND and recorded["trip_miles"][0] > 0  # the next one keeps it
    assert cli.main(args + ["--span-rows", "1500", "--write", "--discard-edits"]) == 0
    capsys.readouterr()
    written = {f.name: f for f in tfdv.load_schema_text(str(tmp_path / "schema.pbtxt")).feature}
    assert written["fare"].HasField("drift_comparator")
    assert schema_text.calibrated_thresholds(str(tmp_path / "schema.pbtxt"))["fare"][0] > 0


def _scaled(header, rows, column, factor):
    index = header.index(column)
    whole = column == "trip_seconds"
    return [row[:index] + [(str(round(float(row[index]) * factor)) if whole else f"{float(row[index]) * factor:.2f}")
                           if row[index] else ""] + row[index + 1:] for row in rows]


def test_unit_conversions_by_small_factors_are_drift_even_on_columns_with_many_ties(tmp_path):
    """Miles -> km and back, on trip_miles (many trips of 0 miles) and trip_seconds: with TFDV's 10
    quantile buckets two samples of the same data differed as much (docs/benchmarks.md); the taxi
    schema is calibrated over 100."""
    assert distances.quantile_buckets(tfdv.load_schema_text(TAXI_SCHEMA)) == calibration.FINE_QUANTILE_BUCKETS
    header, (before, after) = shuffled_slices(11, 6000, 6000)
    assert drift_between(str(tmp_path), header, before, after) == []
    for column, factor in (("trip_miles", 1.609), ("trip_miles", 0.621), ("trip_seconds", 1.609)):
        found = drift_between(str(tmp_path), header, before, _scaled(header, after, column, factor))
        assert [f.feature for f in found] == [column], (column, factor, found)


def test_statistics_made_before_a_recalibration_changed_the_bucket_count_leave_numeric_drift_unchecked_once(
        tmp_path):
    """A previous span's statistics over 10 quantile buckets against this span's over 100 (the schema
    recalibrated in between): the buckets alone would read as drift, so numeric drift waits for a
    reference of the schema's count; categorical drift is still checked."""
    header, (before, after) = shuffled_slices(12, 6000, 6000)
    write_rows(str(tmp_path / "before"), [header] + before)
    write_rows(str(tmp_path / "after"), [header] + after)
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    old = csv_statistics.statistics_of_csv(str(tmp_path / "before"), options=distances.stats_options(
        curated, num_quantiles_histogram_buckets=distances.DEFAULT_QUANTILE_BUCKETS))
    new = csv_statistics.statistics_of_csv(str(tmp_path / "after"), options=distances.stats_options(curated))
    assert "fare" in distances.uncompared(curated, new, old) and "payment_type" not in distances.uncompared(curated, new, old)
    assert distances.uncompared(curated, new, new) == set()
    assert checks.check_statistics(new, curated, old) == []
    payment = header.index("payment_type")
    card = [row[:payment] + ["Credit Card"] + row[payment + 1:] for row in after]
    write_rows(str(tmp_path / "after"), [header] + card)
    mixed = csv_statistics.statistics_of_csv(str(tmp_path / "after"), options=distances.stats_options(curated))
    assert [f.feature for f in checks.check_statistics(mixed, curated, old) if checks.is_drift(f)] == ["payment_type"]


def test_spans_of_thousands_of_rows_are_calibrated_over_100_quantile_buckets_and_the_schema_says_so(
        penguins, tmp_path):
    assert calibration.buckets_for(calibration.FINE_BUCKETS_MIN_ROWS) == calibration.FINE_QUANTILE_BUCKETS
    assert calibration.buckets_for(calibration.FINE_BUCKETS_MIN_ROWS - 1) == distances.DEFAULT_QUANTILE_BUCKETS
    _, schema, statistics_of = penguins
    measured = calibration.calibrate(statistics_of, schema, PENGUIN_FEATURES, "penguins.csv", rows=344)
    assert measured.quantile_buckets == distances.DEFAULT_QUANTILE_BUCKETS  # spans of 137 rows
    assert not calibration.apply(schema, measured).HasField("annotation")  # as schemas before: 10
    fine = dataclasses.replace(measured, quantile_buckets=calibration.FINE_QUANTILE_BUCKETS)
    path = str(tmp_path / "schema.pbtxt")
    schema_text.write(calibration.apply(schema, fine), path, schema_text.comment(fine))
    written = tfdv.load_schema_text(path)
    assert distances.stats_options(written).num_quantiles_histogram_buckets == calibration.FINE_QUANTILE_BUCKETS
    assert "quantile histograms of 100 buckets" in " ".join(schema_text.header_comment(path, keep_calibration=True))
    assert any("quantile histograms of 100 buckets (was 10)" in change
               for change in maintain.differences(schema, written))
    stats = statistics_of(distances.stats_options(written))
    bill = next(f for f in stats.datasets[0].features if f.path.step[-1] == "bill_length_mm")
    assert {len(h.buckets) for h in bill.num_stats.histograms if h.type == h.QUANTILES} == {100}


def test_calibrate_never_falls_back_on_a_span_excluded_by_hand(tmp_path, monkeypatch, capsys):
    """The gate accepted only span 3, since excluded (wrong labels): calibrate takes the newest span
    left in use, and refuses when none is."""
    from cli import calibrate_command  # pylint: disable=import-outside-toplevel

    header, slices = shuffled_slices(6, 50, 50, 50)
    for span, rows in enumerate(slices, 1):
        write_rows(str(tmp_path / f"span-{span}"), [header] + rows)
    excluded = {3}
    monkeypatch.setattr(calibrate_command, "accepted_spans", lambda *_: set())  # 3 less the excluded
    monkeypatch.setattr(calibrate_command, "excluded_spans", lambda *_: excluded)
    args = argparse.Namespace(span_rows=0)
    folders, rows = calibrate_command._calibrated_on(args, TAXI, str(tmp_path))  # pylint: disable=protected-access
    assert folders == [str(tmp_path / "span-2")] and rows == 50
    assert "(the data gate accepted none in use: the newest not excluded by hand)" in capsys.readouterr().out
    excluded.update({1, 2})
    with pytest.raises(ConfigError, match=r"every span of .* is excluded by hand .* `tfxpipe exclude-span N --undo`"):
        calibrate_command._calibrated_on(args, TAXI, str(tmp_path))  # pylint: disable=protected-access
