"""Batch scoring (`tfxpipe score`): the taxi rows through a small model with the pipeline model's
serving signatures, on Beam; each answer compared with the model called in-process on the same
rows, each row compared with the file's."""
import csv
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv

from benchmarks import public_datasets
from cli import main as cli
from cli import score_command
from models import dataset, signatures
from pipeline import batch_scoring, csv_example_gen, profiles
from serving import examples, model_dir
from tests import serving_models
from tests.conftest import TAXI_CSV, TAXI_SCHEMA

# The declaration of the toy model's two features (tests/serving_models.py); the taxi rows'
# other columns are passed through.
TOY = dataset.parse({"name": "toy", "task": "binary", "missing_values": ["", "NA"],
                     "label": {"column": "tips", "classes": ["small", "big"]},
                     "features": {"trip_miles": "numeric",
                                  "payment_type": {"kind": "categorical_string", "vocab_size": 10}}})
SCHEMA = tfdv.load_schema_text(TAXI_SCHEMA)
LOCAL = profiles.beam_args("local", {})


@pytest.fixture(scope="module")
def version_dir(tmp_path_factory):
    return serving_models.build(str(tmp_path_factory.mktemp("served") / "toy" / "7"), 0.35)


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _in_process(version_dir, rows, header):
    """What the model answers for these rows, called as a client would call it."""
    types = examples.feature_types(SCHEMA)
    sent = [{name: row[header.index(name)] for name in TOY.feature_names()} for row in rows]
    serialized = [examples.to_example(r, types, TOY.missing_values).SerializeToString() for r in sent]
    answers = tf.saved_model.load(version_dir).signatures["serving_default"](
        examples=tf.constant(serialized))["probabilities"].numpy()
    return np.hstack([1 - answers, answers])


def _leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_every_row_comes_back_in_the_files_order_with_the_models_answers(version_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_example_gen, "CHUNK_BYTES", 40_000)  # ~60 ranges, joined in order
    out = str(tmp_path / "scored.csv")
    scored = batch_scoring.score(TAXI_CSV, out, TOY, SCHEMA, version_dir, LOCAL)
    header, *rows = _rows(TAXI_CSV)
    written_header, *written = _rows(out)
    assert written_header == header + ["predicted_tips", "probability_small", "probability_big"]
    assert scored.rows == len(written) == len(rows) == 15_002
    assert [row[:len(header)] for row in written] == rows
    probabilities = np.array([row[-2:] for row in written], dtype=np.float32)
    # within float32 rounding: TF's kernels may round differently by batch size
    np.testing.assert_allclose(probabilities, _in_process(version_dir, rows, header), rtol=1e-6, atol=1e-7)
    assert [row[-3] for row in written] == [TOY.label.classes[i] for i in probabilities.argmax(axis=1)]
    assert {row[-3] for row in written} == {"small", "big"}
    assert set(scored.passed_through) == set(header) - {"trip_miles", "payment_type"}
    assert scored.outside_range == {} and "trip_miles" in scored.bounds  # no warning
    assert _leftovers(tmp_path) == []


def test_a_missing_value_token_is_sent_as_no_value(version_dir, tmp_path):
    header = ["trip_miles", "payment_type", "id"]
    rows = [["NA", "Cash", "a"], ["", "Cash", "b"], ["3.5", "NA", "c"], ["3.5", "", "d"]]
    path = tmp_path / "rows.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    batch_scoring.score(str(path), str(tmp_path / "out.csv"), TOY, SCHEMA, version_dir, LOCAL)
    _, *written = _rows(tmp_path / "out.csv")
    assert [row[:3] for row in written] == rows  # written back as read
    assert written[0][-2:] == written[1][-2:] and written[2][-2:] == written[3][-2:]
    assert written[0][-2:] != written[2][-2:]


def _with_bad_cell(tmp_path, line: int) -> str:
    """The taxi file with a company name on two lines (file lines 4-5) and, on file line `line`,
    a trip_miles that is no number."""
    header, *rows = _rows(TAXI_CSV)
    rows[2][header.index("company")] = "Two\nLines Cab"
    rows[line - 3][header.index("trip_miles")] = "twelve"  # past the break: header + one more line
    path = str(tmp_path / "bad.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])
    with open(path, encoding="utf-8") as f:
        assert "twelve" in f.read().split("\n")[line - 1]
    return path


@pytest.mark.parametrize("profile", ["local", "local-multiprocess"])
def test_a_cell_that_is_not_its_columns_type_is_named_by_its_line_and_nothing_is_written(
        version_dir, tmp_path, monkeypatch, profile):
    monkeypatch.setattr(csv_example_gen, "CHUNK_BYTES", 40_000)
    path = _with_bad_cell(tmp_path, line=12_345)
    out = tmp_path / "scored.csv"
    out.write_text("an earlier result\n")
    with pytest.raises(batch_scoring.ScoringError) as raised:
        batch_scoring.score(path, str(out), TOY, SCHEMA, version_dir, profiles.beam_args(profile, {}))
    assert str(raised.value) == ("bad.csv line 12345: column 'trip_miles': 'twelve' is not a valid FLOAT "
                                 "value; if it means no value, list it under `missing_values` in dataset.yaml")
    assert out.read_text() == "an earlier result\n"
    assert _leftovers(tmp_path) == []


def test_a_file_without_a_feature_column_or_with_a_prediction_columns_name_is_refused(version_dir, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("trip_miles,id\n1.5,a\n")
    with pytest.raises(batch_scoring.ScoringError, match="rows.csv has no column payment_type: the model needs"):
        batch_scoring.score(str(path), str(tmp_path / "out.csv"), TOY, SCHEMA, version_dir, LOCAL)
    path.write_text("trip_miles,payment_type,probability_big\n1.5,Cash,1\n")
    with pytest.raises(batch_scoring.ScoringError, match="already has column.s. probability_big"):
        batch_scoring.score(str(path), str(tmp_path / "out.csv"), TOY, SCHEMA, version_dir, LOCAL)
    assert sorted(os.listdir(tmp_path)) == ["rows.csv"]


@pytest.mark.parametrize("declaration, message", [
    ({"task": "multiclass", "label": {"column": "tips", "classes": ["a", "b", "c"]}},
     r"answers probabilities of shape \[-1, 1\], but a multiclass model of 'other' answers 3 value"),
    ({"task": "regression", "label": {"column": "tips"}}, r"answers probabilities, not the 'predictions' of a regression model: is it a model of dataset 'other'"),
])
def test_a_model_of_another_dataset_is_refused(version_dir, declaration, message):
    other = dataset.parse({"name": "other", "features": {"trip_miles": "numeric"}, **declaration})
    with pytest.raises(batch_scoring.ScoringError, match=message):
        batch_scoring.check_signature(version_dir, other)


def test_the_command_refuses_what_it_cannot_score_in_one_line(version_dir, tmp_path, capsys):
    serving_dir = os.path.dirname(os.path.dirname(version_dir))
    common = ["--dataset", "datasets/taxi", "--serving-dir", serving_dir]
    assert cli.main(["score", TAXI_CSV, *common, "--model-name", "nope"]) == 1
    assert f"no model version under {serving_dir}/nope: run the pipeline first" in capsys.readouterr().err
    assert cli.main(["score", TAXI_CSV, *common, "--model-name", "toy", "--version", "8"]) == 1
    assert f"{serving_dir}/toy has no version 8; it has 7" in capsys.readouterr().err
    os.makedirs(os.path.join(serving_dir, "toy", model_dir.WITHDRAWN_PREFIX + "6"))
    assert cli.main(["score", TAXI_CSV, *common, "--model-name", "toy", "--version", "6"]) == 1
    assert (f"(version 6 was rolled back: `tfxpipe rollback --dataset datasets/taxi --serving-dir {serving_dir} "
            "--model-name toy --undo --version 6` puts it back)") in capsys.readouterr().err
    assert cli.main(["score", TAXI_CSV, *common, "--model-name", "toy", "--out", TAXI_CSV]) == 1
    assert "is the file being scored: name another file" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert cli.main(["score", str(empty), *common, "--model-name", "toy"]) == 1
    assert "empty.csv is empty" in capsys.readouterr().out
    penguins = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(penguins)  # another dataset's rows, --dataset left as the default
    assert cli.main(["score", penguins, "--serving-dir", str(tmp_path)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "penguins.csv does not match dataset 'taxi'" in out and "no model version" not in out, out


@pytest.mark.parametrize("profile", ["local", "local-multiprocess"])
def test_values_outside_the_schemas_range_unseen_categories_and_gaps_are_counted_and_said(
        version_dir, tmp_path, profile, capsys):
    """Miles sent as metres (x1000), payment types the schema does not list, and miles left empty in
    some rows (the schema requires them in every row): the model answers anyway; rows past the
    schema's range, unseen categories and gaps are counted over every worker, the categories named,
    and `score` says so."""
    header, *rows = _rows(TAXI_CSV)
    rows = rows[:3000]
    miles, payment = header.index("trip_miles"), header.index("payment_type")
    for row in rows[::3]:
        row[miles] = str(float(row[miles]) * 1000) if row[miles] else row[miles]
    for row in rows[1::10]:
        row[miles] = ""
    gaps = {name: sum(1 for row in rows if not row[header.index(name)]) for name in ("trip_miles", "payment_type")}
    assert gaps["trip_miles"] >= 300
    for row in rows[::7]:
        row[payment] = "Bitcoin"
    rows[1][payment] = "cash"  # lower case: not the schema's 'Cash'
    path = str(tmp_path / "metres.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    low, high = batch_scoring.ranges.declared_ranges(SCHEMA, ["trip_miles"])["trip_miles"]
    expected = sum(1 for row in rows if row[miles] and not low <= float(row[miles]) <= high)
    assert expected > 100

    scored = batch_scoring.score(path, str(tmp_path / "out.csv"), TOY, SCHEMA, version_dir,
                                 profiles.beam_args(profile, {}))
    assert scored.outside_range == {"trip_miles": expected}
    assert scored.unseen.counts == {"payment_type": len(rows[::7]) + 1}
    assert sorted(scored.unseen.values["payment_type"]) == ["Bitcoin", "cash"]
    assert scored.missing == {name: n for name, n in gaps.items() if n}
    if profile == "local":  # the command's warning, once
        serving_dir = os.path.dirname(os.path.dirname(version_dir))
        taxi = os.path.abspath("datasets/taxi")  # not the default spelling: named in the advice
        assert cli.main(["score", path, "--dataset", taxi, "--serving-dir", serving_dir,
                         "--model-name", "toy", "--out", str(tmp_path / "cli.csv")]) == 0
        out = capsys.readouterr().out
        assert f"warning: values outside the schema's ranges: trip_miles in {expected:,} row(s) " \
               f"(range [{low:g}, {high:g}]) of 3,000" in out, out
        assert f"`tfxpipe validate {path} --dataset {taxi}" in out, out
        assert f"warning: categories the schema does not list, among 3,000 rows: payment_type in " \
               f"{len(rows[::7]) + 1:,} ('Bitcoin', 'cash')" in out, out
        assert f"warning: values missing, among 3,000 rows: trip_miles has none in {gaps['trip_miles']:,} (the " \
               f"schema requires one in every row)" in out, out



def test_a_version_is_sent_the_features_it_was_trained_on_not_those_declared_since(tmp_path):
    """The toy model reads trip_miles and payment_type; since it was pushed, trip_miles was moved to
    `excluded` and no newer model was blessed. Scoring with that version still sends trip_miles (its
    answers without it are answers to another question), and the command says so."""
    version = serving_models.build(str(tmp_path / "served" / "toy" / "3"), 0.35)
    signatures.write_trained_features(version, TOY.feature_names())
    narrowed = dataset.parse({"name": "toy", "task": "binary", "missing_values": ["", "NA"],
                              "label": {"column": "tips", "classes": ["small", "big"]},
                              "features": {"payment_type": {"kind": "categorical_string", "vocab_size": 10}},
                              "excluded": {"trip_miles": "known only after the trip"}})
    header, *rows = _rows(TAXI_CSV)
    path = str(tmp_path / "taxi.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows[:2000]])
    scored = batch_scoring.score(path, str(tmp_path / "out.csv"), narrowed, SCHEMA, version, LOCAL)
    assert scored.features == ("trip_miles", "payment_type")
    assert "trip_miles" in scored.bounds  # a number the version reads: its range is still told
    _, *written = _rows(tmp_path / "out.csv")
    np.testing.assert_allclose([[float(r[-2]), float(r[-1])] for r in written],
                               _in_process(version, rows[:2000], header), atol=1e-6)
    assert score_command._trained_features_note(scored.features, narrowed.feature_names(), version) == (
        f"note: scored with the features {version} was trained on, which the declaration has changed "
        "since: trip_miles (no longer declared, sent). A model of the current declaration scores them "
        "once a run pushes one")
