"""The real pipeline, end to end, on the bundled taxi data (small step counts)."""
import os
import re

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow.core.protobuf import saved_model_pb2

from models import signatures
from pipeline import metadata_store, runs
from schema import distances
from serving import examples, model_dir
from tests.conftest import TAXI, TAXI_CSV, TAXI_SCHEMA

COMPONENTS = {
    "CsvExampleGen", "StatisticsGen", "SchemaGen", "ImportSchemaGen", "ExampleValidator",
    "DataGate", "Transform", "Trainer", "Evaluator", "InfraValidator", "Pusher",
}
RESOLVERS = {"baseline_model_resolver", "previous_span_statistics_resolver", "last_tuned_resolver"}


@pytest.fixture(scope="module")
def pushed_version_dir(cold_run):
    return cold_run.summary.pushed_destination


@pytest.fixture(scope="module")
def raw_rows():
    """200 raw CSV rows as a client would send them: without the label's column."""
    rows = examples.read_csv_rows(TAXI_CSV, drop_columns=["tips"])[:200]
    labelled = examples.read_csv_rows(TAXI_CSV)[:200]
    tips = np.array([float(r["tips"]) for r in labelled], dtype=np.float32)
    fare = np.array([float(r["fare"]) for r in labelled], dtype=np.float32)
    return rows, (tips > np.float32(0.2) * fare).astype(int)


def test_cold_run_executes_every_component_once(cold_run):
    assert set(cold_run.summary.node_states) == COMPONENTS | RESOLVERS
    assert all(states == ["executed"] for states in cold_run.summary.node_states.values())


def test_cold_run_ran_without_any_network(cold_run):
    assert cold_run.offline, "needs `unshare --net` (root) to prove the run is offline"


def test_progress_shows_one_line_per_component_and_the_pushed_model(cold_run, pushed_version_dir):
    for component in COMPONENTS:
        assert re.search(rf"^  {component} +\d+\.\d s  done$", cold_run.stdout, re.M), component
    version = os.path.basename(pushed_version_dir)
    assert f"Pushed model version {version} to {pushed_version_dir}" in cold_run.stdout
    assert "skill_vs_naive" in cold_run.stdout and "Blessed: yes" in cold_run.stdout
    assert "Traceback" not in cold_run.stderr


def test_the_gates_statistics_have_the_quantile_buckets_the_schemas_thresholds_were_calibrated_for(
        workspace, cold_run):
    store = metadata_store.open_store(workspace.metadata_uri)
    (artifact,) = runs.node_outputs(store, cold_run.summary.run_id, "StatisticsGen")["ExampleStatistics"]
    statistics = tfdv.load_stats_binary(os.path.join(artifact.uri, "Split-train", "FeatureStats.pb"))
    fare = tfdv.get_feature_stats(statistics.datasets[0], tfdv.FeaturePath(["fare"]))
    quantiles = [h for h in fare.num_stats.histograms if h.type == h.QUANTILES]
    assert [len(h.buckets) for h in quantiles] == [distances.quantile_buckets(tfdv.load_schema_text(TAXI_SCHEMA))]
    assert len(quantiles[0].buckets) != distances.DEFAULT_QUANTILE_BUCKETS  # the taxi schema asks more


def test_pushed_model_follows_tf_serving_layout(workspace, pushed_version_dir):
    assert os.path.dirname(pushed_version_dir) == workspace.model_base
    assert model_dir.versions(workspace.model_base) == [int(os.path.basename(pushed_version_dir))]
    contents = os.listdir(pushed_version_dir)
    assert "saved_model.pb" in contents and "variables" in contents
    assert "variables.index" in os.listdir(os.path.join(pushed_version_dir, "variables"))


def test_pushed_model_predicts_from_raw_examples_without_label(pushed_version_dir, raw_rows):
    rows, labels = raw_rows
    serialized = examples.serialize_rows(rows, tfdv.load_schema_text(TAXI_SCHEMA))
    loaded = tf.saved_model.load(pushed_version_dir)
    probabilities = loaded.signatures["serving_default"](examples=tf.constant(serialized))
    probabilities = probabilities["probabilities"].numpy()
    assert probabilities.shape == (len(rows), 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    accuracy = np.mean((probabilities[:, 0] > 0.5).astype(int) == labels)
    assert accuracy > 0.75, f"the pushed model did not learn: accuracy {accuracy:.2f}"


def test_classification_signature_returns_classes_and_scores(pushed_version_dir, raw_rows):
    rows, _ = raw_rows
    serialized = examples.serialize_rows(rows[:10], tfdv.load_schema_text(TAXI_SCHEMA))
    loaded = tf.saved_model.load(pushed_version_dir)
    result = loaded.signatures[signatures.CLASSIFY_SIGNATURE](inputs=tf.constant(serialized))
    classes, scores = result["classes"].numpy(), result["scores"].numpy()
    assert classes.shape == scores.shape == (10, len(TAXI.label.classes))
    assert [c.decode() for c in classes[0]] == list(TAXI.label.classes)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(pushed_version_dir, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    signature_defs = saved_model.meta_graphs[0].signature_def
    assert signature_defs["classify"].method_name == "tensorflow/serving/classify"
    assert set(signature_defs["classify"].inputs) == {"inputs"}


def test_unchanged_rerun_is_fully_cached_and_pushes_nothing(cold_run, unchanged_rerun):
    states = unchanged_rerun.summary.node_states
    assert {node: s for node, s in states.items() if node not in RESOLVERS} == {
        component: ["cached"] for component in COMPONENTS
    }
    assert unchanged_rerun.serving_snapshot == cold_run.serving_snapshot
    assert "nothing new pushed" in unchanged_rerun.stdout


def test_unmet_threshold_blesses_nothing_and_serving_is_untouched(
    unchanged_rerun, unreachable_threshold_run
):
    summary = unreachable_threshold_run.summary
    assert summary.node_states["Evaluator"] == ["executed"]
    assert summary.blessed is False and summary.pushed is False
    assert unreachable_threshold_run.serving_snapshot == unchanged_rerun.serving_snapshot
    assert "Blessed: NO" in unreachable_threshold_run.stdout
    assert re.search(r"Nothing pushed; the serving directory \S+ is unchanged", unreachable_threshold_run.stdout)


def test_a_work_dir_whose_runs_another_metadata_store_recorded_is_refused_before_any_component(
    workspace, unreachable_threshold_run, tmp_path
):
    """Moving a pipeline to a new store (a team's database server, a deleted SQLite file) with its
    work dir kept: TFX would name the new store's first outputs after folders that exist, and fail
    in some component on "file already exists"; the run says why and what to do instead."""
    other = metadata_store.sqlite_uri(str(tmp_path / "new" / "metadata.sqlite"))
    refused = workspace.run(["--metadata", other])
    assert refused.returncode == 1
    assert f"holds outputs of pipeline '{TAXI.name}' that no run recorded in {other} made" in refused.stderr, \
        refused.stderr[-3000:]
    assert "Run with a new --work-dir, or with the metadata store those runs were recorded in" in refused.stderr
    assert not os.path.exists(tmp_path / "new") and refused.serving_snapshot == unreachable_threshold_run.serving_snapshot


def test_early_stopping_holds_out_every_fifth_train_example_and_fits_the_rest(workspace, cold_run, monkeypatch):
    """The Trainer's held-out examples (early stopping, the Tuner's objective) are every fifth of
    Transform's train split, never fitted; `datasets` reads no eval file (the Evaluator's split:
    weights picked by their score on it would score better there than on new data)."""
    import glob  # pylint: disable=import-outside-toplevel

    import tensorflow_transform as tft  # pylint: disable=import-outside-toplevel
    from tfx.components.trainer.fn_args_utils import FnArgs  # pylint: disable=import-outside-toplevel

    from models import model  # pylint: disable=import-outside-toplevel

    transform = os.path.join(workspace.work_dir, "pipelines", TAXI.name, "Transform")
    graph = glob.glob(os.path.join(transform, "transform_graph", "*"))
    train = sorted(glob.glob(os.path.join(transform, "transformed_examples", "*", "Split-train", "*")))
    assert len(graph) == 1 and train, (graph, train)
    output = tft.TFTransformOutput(graph[0])
    records = {"train": [r.numpy() for r in tf.data.TFRecordDataset(train, compression_type="GZIP")]}
    count = len(records["train"])

    def as_row(features, label) -> tuple:
        values = {**features, "label": label}
        return tuple(sorted((k, float(np.ravel(np.asarray(v))[0])) for k, v in values.items()))

    def rows(part: str, limit: int) -> list:
        batches = model.make_dataset(train, output, 64, part).unbatch().take(limit)
        return [as_row(features, label) for features, label in batches]

    def parsed(records_) -> list:
        found = []
        for record in records_:
            features = tf.io.parse_single_example(record, output.transformed_feature_spec())
            found.append(as_row(features, features.pop(model.LABEL_KEY)))
        return found
    held_out = rows(model.HELD_OUT, len(records["train"][::model.HOLDOUT]))
    fitted = rows(model.FITTED, count - len(held_out))
    assert held_out == parsed(records["train"][::model.HOLDOUT])  # in file order, every fifth
    assert sorted(fitted) == sorted(parsed([r for i, r in enumerate(records["train"]) if i % model.HOLDOUT]))
    # A validation pass of 3 batches reads the same first held-out examples each time.
    passes = model.make_dataset(train, output, 64, model.HELD_OUT, 3 * 64).unbatch().take(2 * 3 * 64)
    assert [as_row(features, label) for features, label in passes] == held_out[:3 * 64] * 2
    read, make_dataset = [], model.make_dataset  # the files `datasets` reads
    monkeypatch.setattr(model, "make_dataset", lambda files, *rest: read.append(files) or make_dataset(files, *rest))
    model.datasets(FnArgs(transform_graph_path=graph[0], train_files=train, eval_files=["/no/eval/*"]), TAXI, 64)
    assert read == [train, train]
