"""The dataset declaration: ids derived from it, its checks, the taxi dataset against its schema."""
import math
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
import yaml

from models import dataset
from models.dataset import DeclarationError, Feature, Kind, Task
from models.preprocessing import label_tensor
from schema import csv_statistics
from tests.conftest import TAXI, TAXI_CSV, TAXI_SCHEMA


def test_ids_are_derived_from_the_declaration():
    hour = Feature("h", Kind.CATEGORICAL_INT, vocab_size=24, oov_buckets=2)
    assert hour.cardinality == 27
    assert hour.missing_id == 26  # after 24 vocabulary ids and 2 OOV buckets
    month = Feature("m", Kind.CATEGORICAL_INT, max_value=12)
    assert not month.uses_vocabulary
    assert (month.oov_id, month.missing_id, month.cardinality) == (13, 14, 15)
    lat = Feature("lat", Kind.BUCKETIZED, buckets=10)
    assert (lat.cardinality, lat.missing_id) == (11, 10)
    with pytest.raises(ValueError, match="numeric feature 'x'"):
        Feature("x", Kind.NUMERIC).missing_id


def test_column_names_become_names_tensorflow_accepts():
    assert Feature("Body Mass (g)", Kind.NUMERIC).transformed_name == "body_mass_g_xf"
    assert Feature("Delta 15 N (o/oo)", Kind.NUMERIC).transformed_name == "delta_15_n_o_oo_xf"
    assert Feature("2nd", Kind.NUMERIC).transformed_name == "f_2nd_xf"


def test_taxi_label_is_big_tip_and_missing_values_are_not_big():
    nan = math.nan
    raw = {
        "tips": tf.constant([[3.0], [1.0], [nan], [1.0], [0.0]]),
        "fare": tf.constant([[10.0], [10.0], [10.0], [nan], [0.0]]),
    }
    assert label_tensor(TAXI.label, raw).numpy().ravel().tolist() == [1, 0, 0, 0, 0]


def test_class_labels_become_indices_of_the_declared_classes():
    label = dataset.Label("species", Task.MULTICLASS, ("Adelie", "Chinstrap", "Gentoo"))
    raw = {"species": tf.constant([["Gentoo"], ["Adelie"], ["Emperor"]])}
    assert label_tensor(label, raw).numpy().ravel().tolist() == [2, 0, -1]
    binary = dataset.Label("target", Task.BINARY, ("0", "1"))
    assert label_tensor(binary, {"target": tf.constant([[1], [0]], tf.int64)}).numpy().ravel().tolist() == [1, 0]


def test_what_training_depends_on_round_trips_through_custom_config():
    again = dataset.Dataset.from_config(TAXI.to_config(with_tuning=True))
    assert (again.name, again.features, again.label, again.missing_values, again.tuning) == (
        TAXI.name, TAXI.features, TAXI.label, TAXI.missing_values, TAXI.tuning)


def test_a_blessing_slice_data_reason_or_search_range_edit_leaves_the_training_config_as_it_was(tmp_path):
    """custom_config is part of TFX's cache key: Transform and Trainer re-run when it changes. A
    tightened naive margin, another slice or another data folder are the Evaluator's and ExampleGen's,
    an excluded column's reason is documentation, and the search ranges are the Tuner's alone."""
    edited = dataset.load(_write(tmp_path, blessing={"naive_margin": 0.06, "minimum": {"auc": 0.7}},
                                 slices=["x"], data="elsewhere", excluded={"id": "an identifier (edited)"},
                                 tuning={"dropout": [0.1, 0.2]}))
    assert (edited.blessing.naive_margin, edited.slices, edited.data) == (0.06, ("x",), "elsewhere")
    (tmp_path / "plain").mkdir()
    (tmp_path / "other").mkdir()
    plain = dataset.load(_write(tmp_path / "plain", excluded={"id": "an identifier"}))
    assert edited.to_config() == plain.to_config()
    assert edited.to_config(with_tuning=True) != plain.to_config(with_tuning=True)  # the Tuner's search moved
    assert dataset.load(_write(tmp_path / "other", features={"x": "numeric", "z": "numeric"})).to_config() \
        != plain.to_config()


def _write(tmp_path, **changes):
    raw = {"name": "d", "task": "binary", "label": {"column": "y", "classes": ["a", "b"]},
           "features": {"x": "numeric"}, **changes}
    (tmp_path / "dataset.yaml").write_text(yaml.safe_dump(raw))
    return str(tmp_path)


@pytest.mark.parametrize("changes, message", [
    ({"task": "ranking"}, "unknown task 'ranking'"),
    ({"features": {"x": "numerc"}}, "unknown kind 'numerc'"),
    ({"features": {"y": "numeric"}}, "the label cannot also be a feature"),
    ({"label": {"column": "y", "classes": ["a"]}}, "at least two `classes`"),
    ({"features": {"x": {"kind": "hashed"}}}, "needs `buckets`"),
    ({"features": {"a b": "numeric", "a-b": "numeric"}}, "differ only in punctuation"),
    ({"slices": ["z"]}, "not declared features"),
    ({"features": {"x": {"kind": "numeric", "bukets": 3}}}, "feature 'x': unknown setting.s. bukets; known: "),
    ({"slice": ["x"]}, "unknown setting.s. slice; known: blessing, data, "),
    ({"blessing": {"max_dorp": 0.1}}, "blessing: unknown setting.s. max_dorp; known: "),
    ({"label": {"column": "y", "classes": ["a", "b"], "clases": []}}, "label: unknown setting.s. clases"),
    ({"blessing": {"max_drop": -1}}, r"max_drop \(--max-drop\) must be >= 0, got -1"),
    ({"blessing": {"naive_margin": 2}}, r"naive_margin \(--naive-margin\) must be below 1, got 2"),
])
def test_a_wrong_declaration_says_what_is_wrong(tmp_path, changes, message):
    with pytest.raises(DeclarationError, match=message):
        dataset.load(_write(tmp_path, **changes))


def test_a_folder_without_declaration_points_to_init(tmp_path):
    with pytest.raises(DeclarationError, match="tfxpipe init"):
        dataset.load(str(tmp_path))


def test_curated_schema_declares_every_feature_and_label_column():
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    declared = set(TAXI.feature_names()) | set(TAXI.label.source_columns) | set(TAXI.excluded)
    assert declared == {f.name for f in curated.feature}


def test_label_column_is_absent_from_serving_environment():
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    by_name = {f.name: f for f in curated.feature}
    assert "SERVING" in by_name[TAXI.label.label_only_column].not_in_environment


def test_bundled_data_meets_the_curated_schema(taxi_frame):
    stats = csv_statistics.statistics_of_csv(TAXI_CSV)  # TFDV's, its output file not left in the temp folder
    anomalies = tfdv.validate_statistics(stats, tfdv.load_schema_text(TAXI_SCHEMA),
                                         environment="TRAINING")
    assert dict(anomalies.anomaly_info) == {}
    assert np.isnan(taxi_frame["pickup_census_tract"]).sum() > 0  # missing values are real here



def test_a_relative_dataset_folder_missed_from_another_folder_names_the_projects_one(tmp_path, monkeypatch):
    """`--dataset datasets/taxi` run from outside the project: the folder `init` writes to is named."""
    from pipeline import configs  # pylint: disable=import-outside-toplevel

    monkeypatch.chdir(tmp_path)
    with pytest.raises(configs.ConfigError) as missed:
        configs.PipelineConfig(dataset_dir="datasets/taxi").dataset()
    assert str(missed.value).endswith(
        f"; the project's datasets folder has one: --dataset {os.path.join(configs.DATASETS_DIR, 'taxi')}")
    with pytest.raises(configs.ConfigError) as unknown:
        configs.PipelineConfig(dataset_dir="datasets/nowhere").dataset()
    assert "project's datasets folder" not in str(unknown.value)


def test_a_reading_command_given_only_a_pipeline_name_reads_the_dataset_folder_of_that_name(
        tmp_path, monkeypatch, capsys):
    """`tfxpipe runs --pipeline-name fares`: the declaration under datasets/fares/ (its task picks the
    metric columns); a name with no folder there is read as the default dataset's, with a note."""
    import argparse  # pylint: disable=import-outside-toplevel
    import shutil  # pylint: disable=import-outside-toplevel

    from cli import options  # pylint: disable=import-outside-toplevel

    folder = tmp_path / "datasets" / "fares"
    shutil.copytree(os.path.dirname(TAXI_SCHEMA), folder)
    declaration = (folder / "dataset.yaml").read_text(encoding="utf-8")
    (folder / "dataset.yaml").write_text(declaration.replace("name: taxi", "name: fares"), encoding="utf-8")
    monkeypatch.setattr(options, "DATASETS_DIR", str(tmp_path / "datasets"))
    args = argparse.Namespace(dataset_dir=None, pipeline_name="fares")
    assert options.dataset_of_pipeline(args).name == "fares" and args.dataset_dir == str(folder)
    assert capsys.readouterr().err == ""
    other = argparse.Namespace(dataset_dir=None, pipeline_name="elsewhere")
    assert options.dataset_of_pipeline(other).name == TAXI.name
    assert "pipeline 'elsewhere' is read as the default dataset's (taxi, binary)" in capsys.readouterr().err
