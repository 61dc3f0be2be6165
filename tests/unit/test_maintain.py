"""Schema maintenance (`schema-diff`): what new data would change in the curated schema, and what
no change of the schema should accept, on a public dataset and the bundled one."""
import shutil

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from benchmarks import public_datasets
from cli import main as cli
from schema import checks, csv_statistics, distances, maintain, report, schema_text
from tests.bad_data import taxi_rows, write_rows
from tests.conftest import TAXI

LABEL = public_datasets.DIABETES.label


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    """scikit-learn's diabetes table and a curated schema of it: TFDV's inferred one, with the
    label left out of requests as `tfxpipe init` writes it."""
    folder = tmp_path_factory.mktemp("diabetes")
    path = str(folder / "diabetes.csv")
    public_datasets.DIABETES.write_csv(path)
    curated = tfdv.infer_schema(csv_statistics.statistics_of_csv(path))
    curated.default_environment.extend(["TRAINING", "SERVING"])
    tfdv.get_feature(curated, LABEL).not_in_environment.append("SERVING")
    return path, curated


def _proposal(tmp_path, frame: pd.DataFrame, curated: schema_pb2.Schema) -> maintain.Proposal:
    path = str(tmp_path / "new.csv")
    frame.to_csv(path, index=False)
    return maintain.propose(curated, csv_statistics.statistics_of_csv(path, options=distances.stats_options(curated)))


def test_a_word_among_numbers_is_refused_where_tfdv_would_deprecate_the_column(diabetes, tmp_path):
    """TFDV's update_schema marks a column DEPRECATED when its data changed type; Transform then
    does not read it and the run fails on a KeyError long after the gate passed."""
    path, curated = diabetes
    frame = pd.read_csv(path)
    frame = frame.astype({"bmi": object, LABEL: object})
    frame.loc[7, "bmi"], frame.loc[9, LABEL] = "n.a.", "lost"
    proposal = _proposal(tmp_path, frame, curated)

    tfdv_own = tfdv.update_schema(curated, csv_statistics.statistics_of_csv(str(tmp_path / "new.csv")))
    assert maintain.is_unread(tfdv.get_feature(tfdv_own, "bmi"))  # what this guards against
    assert not any(maintain.is_unread(f) for f in proposal.schema.feature)
    assert tfdv.get_feature(proposal.schema, "bmi") == tfdv.get_feature(curated, "bmi")
    assert not any("DEPRECATED" in change for change in proposal.changes), proposal.changes
    refused = {(f.feature, f.problem): f for f in proposal.refused}
    assert set(refused) == {("bmi", checks.WRONG_TYPE), (LABEL, checks.WRONG_TYPE)}, refused
    assert refused[("bmi", checks.WRONG_TYPE)].examples == ("n.a.",)  # the word, not the numbers beside it


def test_the_labels_presence_is_kept_and_rows_without_one_are_refused(diabetes, tmp_path):
    path, curated = diabetes
    frame = pd.read_csv(path)
    frame.loc[[3, 30], LABEL] = None
    frame.loc[[4, 40, 44], "bp"] = None
    proposal = _proposal(tmp_path, frame, curated)

    # 439 of 442 rows less a tenth (the splits the gate checks scatter around the file's share)
    assert "'bp' must be present in 89% of rows instead of 100%" in proposal.changes
    assert tfdv.get_feature(proposal.schema, LABEL).presence == tfdv.get_feature(curated, LABEL).presence
    (refused,) = proposal.refused
    assert (refused.feature, refused.problem) == (LABEL, checks.MISSING_VALUES)
    assert "every training row needs a label" in refused.detail
    # what `validate` and the gate then say to do: not `schema-diff --write`, which refuses it
    steps = report.next_steps([refused], curated)
    assert steps == report.LABEL_GAPS_NEXT_STEPS
    assert "schema-diff DATA --write" in report.next_steps(proposal.refused + [
        checks.Finding("bp", checks.MISSING_VALUES, "", "", "")], curated)  # a feature's gaps: the schema may accept


def test_new_values_and_wider_ranges_are_accepted_with_nothing_refused(diabetes, tmp_path):
    path, curated = diabetes
    frame = pd.read_csv(path)
    ranged = schema_pb2.Schema()
    ranged.CopyFrom(curated)
    tfdv.get_feature(ranged, "bmi").float_domain.CopyFrom(schema_pb2.FloatDomain(min=18, max=43.1))  # float32: 43.099998...
    frame.loc[0, "bmi"] = 50.5
    proposal = _proposal(tmp_path, frame, ranged)
    assert proposal.refused == []
    assert proposal.changes == ["'bmi' range widens from [18, 43.1] to [18, 50.5]"]


def test_a_range_drafted_where_there_was_none_is_said():
    """`calibrate` drafts ranges for numeric columns that have none."""
    old = schema_pb2.Schema()
    old.feature.add(name="miles", type=schema_pb2.FLOAT)
    new = schema_pb2.Schema()
    new.CopyFrom(old)
    new.feature[0].float_domain.max = 9.0
    assert maintain.differences(old, new) == ["'miles' gets the range [-inf, 9]"]


def test_a_threshold_that_calibration_drops_is_said_as_unchecked():
    """At a smaller span size a column's noise can leave no threshold at all (calibrate prints `-`)."""
    old = schema_pb2.Schema()
    old.feature.add(name="name", type=schema_pb2.BYTES).drift_comparator.jensen_shannon_divergence.threshold = 0.785
    new = schema_pb2.Schema()
    new.feature.add(name="name", type=schema_pb2.BYTES)
    assert maintain.differences(old, new) == ["'name' JSD vs previous span: unchecked (was 0.785)"]
    assert maintain.differences(new, old) == ["'name' JSD vs previous span: at most 0.785 (was unchecked)"]


def test_a_new_calibration_keeps_thresholds_raised_or_removed_by_hand_since_the_last_one():
    """The gate advises raising a moving column's drift threshold or removing its comparator; the
    next `calibrate --write` must not undo that. What the last calibration left unchecked as too
    noisy, or never measured, takes the new calibration."""
    calibrated = schema_text.calibrated_thresholds(TAXI.schema_file)
    assert calibrated["fare"][0] > 0 and calibrated["tips"][1] is None  # the label: no skew
    curated = tfdv.load_schema_text(TAXI.schema_file)
    by_name = {f.name: f for f in curated.feature}
    by_name["fare"].ClearField("drift_comparator")
    by_name["trip_miles"].drift_comparator.jensen_shannon_divergence.threshold = 0.5
    by_name["trip_seconds"].ClearField("drift_comparator")  # ... as the last calibration found it too noisy
    calibrated["trip_seconds"] = (None, calibrated["trip_seconds"][1])
    proposed = schema_pb2.Schema()  # a new calibration: every threshold a little higher
    proposed.CopyFrom(tfdv.load_schema_text(TAXI.schema_file))
    for feature in proposed.feature:
        for comparator in (feature.drift_comparator, feature.skew_comparator):
            if distances.threshold_of(comparator) is not None:
                comparator.jensen_shannon_divergence.threshold = round(distances.threshold_of(comparator) + 0.01, 3)
    calibrated_skew = calibrated.pop("company")[1]  # never calibrated: takes the new thresholds
    by_name["company"].skew_comparator.jensen_shannon_divergence.threshold = 0.9

    edits = maintain.keep_hand_edits(curated, proposed, calibrated)
    result, kept = edits.schema, edits.said
    new = {f.name: distances.threshold_of(f.drift_comparator) for f in proposed.feature}
    assert kept == [f"'fare' drift vs previous span: unchecked (calibrated: {new['fare']:g})",
                    f"'trip_miles' drift vs previous span: at most 0.5 (calibrated: {new['trip_miles']:g})"]
    assert edits.kept == {("fare", "drift"): None, ("trip_miles", "drift"): 0.5}  # marked in the comment
    features = {f.name: f for f in result.feature}
    assert not features["fare"].HasField("drift_comparator")
    assert features["fare"].skew_comparator == {f.name: f for f in proposed.feature}["fare"].skew_comparator
    assert distances.threshold_of(features["trip_miles"].drift_comparator) == 0.5
    assert distances.threshold_of(features["trip_seconds"].drift_comparator) == new["trip_seconds"]
    assert distances.threshold_of(features["company"].skew_comparator) == pytest.approx(calibrated_skew + 0.01)
    unedited = maintain.keep_hand_edits(tfdv.load_schema_text(TAXI.schema_file), proposed,
                                        schema_text.calibrated_thresholds(TAXI.schema_file))
    assert unedited.schema == proposed and unedited.said == []
    # marked as set by hand in the comment: kept, even where it equals what was calibrated then
    recorded = schema_text.calibrated_thresholds(TAXI.schema_file)
    marked = {**recorded, "fare": (schema_text.BY_HAND, recorded["fare"][1])}
    again = maintain.keep_hand_edits(tfdv.load_schema_text(TAXI.schema_file), proposed, marked)
    assert list(again.kept) == [("fare", "drift")] and list(again.kept.values()) == [calibrated["fare"][0]]


def _taxi_folder(tmp_path, rows):
    folder = shutil.copytree(TAXI.folder, tmp_path / "taxi")
    write_rows(str(tmp_path / "data"), rows)
    return folder, str(tmp_path / "data")


def test_schema_diff_writes_under_the_schemas_own_comments(tmp_path, capsys):
    rows = taxi_rows(300)
    company = rows[0].index("company")
    rows[5][company] = "Acme Cab"
    rows = [row + (["driver_rating"] if i == 0 else [str(i % 5)]) for i, row in enumerate(rows)]
    folder, data = _taxi_folder(tmp_path, rows)
    schema_file = folder / "schema.pbtxt"
    comments = [line for line in schema_file.read_text().splitlines() if line.startswith("#")]

    assert cli.main(["schema-diff", data, "--dataset", str(folder), "--write"]) == 0
    out = capsys.readouterr().out
    assert "- new column 'driver_rating' (INT)" in out and "'company' accepts 1 new value(s): 'Acme Cab'" in out
    written = schema_file.read_text().splitlines()
    assert written[:len(comments)] == comments
    assert "Acme Cab" in tfdv.get_domain(tfdv.load_schema_text(str(schema_file)), "company").value


def test_schema_diff_refuses_to_write_what_the_data_must_fix(tmp_path, capsys):
    rows = taxi_rows(300)
    fare = rows[0].index("fare")
    rows[12][fare] = "twelve"
    folder, data = _taxi_folder(tmp_path, rows)
    before = (folder / "schema.pbtxt").read_text()

    assert cli.main(["schema-diff", data, "--dataset", str(folder), "--write"]) == 1
    out = capsys.readouterr().out
    assert "- fare: Unexpected data type. 1 cell(s) are not numbers" in out, out
    assert "line 13: 'twelve'" in out and "Nothing was written" in out
    assert (folder / "schema.pbtxt").read_text() == before


def test_schema_diff_refuses_to_accept_a_known_value_written_differently(tmp_path, capsys):
    """`validate` calls `cash` for `Cash` a value to correct; `--write` must not accept it either,
    while a truly new value beside it would be accepted on its own."""
    rows = taxi_rows(300)
    payment = rows[0].index("payment_type")
    rows[7][payment] = rows[8][payment] = "cash"
    rows[9][payment] = "Ca"  # a new code, though it starts one the schema lists
    folder, data = _taxi_folder(tmp_path, rows)
    before = (folder / "schema.pbtxt").read_text()

    assert cli.main(["schema-diff", data, "--dataset", str(folder), "--write"]) == 1
    out = capsys.readouterr().out
    assert "- payment_type: Known value written differently. 'cash' for 'Cash'. To a model" in out, out
    assert "Nothing was written" in out and (folder / "schema.pbtxt").read_text() == before
    rows[7][payment] = rows[8][payment] = "Cash"
    write_rows(data, rows)
    assert cli.main(["schema-diff", data, "--dataset", str(folder), "--write"]) == 0
    assert "'payment_type' accepts 1 new value(s): 'Ca'" in capsys.readouterr().out
    assert "Ca" in tfdv.get_domain(tfdv.load_schema_text(str(folder / "schema.pbtxt")), "payment_type").value


def test_schema_diff_says_when_a_widened_range_still_leaves_a_run_stopped_by_drift(tmp_path, capsys):
    """Fares sent in cents (x100) in 5,000 rows of the taxi sample: `--write` widens the fare's range as
    asked, and says that drift against the dataset's own data would stop the run all the same, with
    what to do about drift (schema-diff changes no threshold)."""
    rows = taxi_rows(5000)
    fare = rows[0].index("fare")
    for row in rows[1:]:
        row[fare] = str(round(float(row[fare]) * 100, 2)) if row[fare] else row[fare]
    folder, data = _taxi_folder(tmp_path, rows)

    assert cli.main(["schema-diff", data, "--dataset", str(folder), "--write",
                     "--work-dir", str(tmp_path / "work")]) == 0
    out = capsys.readouterr().out
    assert "'fare' range widens from" in out, out
    assert f"Even so, a run of {data} stops on drift vs " in out, out
    assert "- fare: High approximate Jensen-Shannon divergence between current and previous" in out
    assert "raise the column's drift threshold" in out and f"Updated {folder / 'schema.pbtxt'}." in out


def test_a_range_widened_past_six_digits_is_said_with_every_digit_schema_pbtxt_writes():
    """A longitude's edge moved in its seventh digit is a change, written as schema.pbtxt has it (float32)."""
    old = schema_pb2.Schema()
    old.feature.add(name="longitude", type=schema_pb2.FLOAT).float_domain.CopyFrom(
        schema_pb2.FloatDomain(min=-122.419416, max=-122.3))
    new = schema_pb2.Schema()
    new.CopyFrom(old)
    new.feature[0].float_domain.min = -122.419457
    assert maintain.differences(old, new) == [
        "'longitude' range widens from [-122.41942, -122.3] to [-122.41946, -122.3]"]
