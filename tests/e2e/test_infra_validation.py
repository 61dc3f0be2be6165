"""InfraValidator and Pusher, the real TFX executors: a candidate that cannot load or cannot answer
real examples in a model server is not pushed; a servable one is pushed with its warmup requests,
unless the same model was rolled back."""
import json
import os

import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from pipeline.infra_validator import InfraValidator
from serving import examples, model_dir, rollback, warmup
from serving.pusher import AtomicPushExecutor
from tests import serving_models
from tests.conftest import TAXI, TAXI_CSV, TAXI_SCHEMA


@pytest.fixture(scope="module")
def examples_artifact(tmp_path_factory):
    """Raw taxi examples as CsvExampleGen writes them: GZIP TFRecords under Split-eval/."""
    artifact = standard_artifacts.Examples()
    artifact.uri = str(tmp_path_factory.mktemp("examples"))
    artifact.split_names = json.dumps(["train", "eval"])
    rows = examples.read_csv_rows(TAXI_CSV)[:50]
    serialized = examples.serialize_rows(rows, tfdv.load_schema_text(TAXI_SCHEMA))
    os.makedirs(os.path.join(artifact.uri, "Split-eval"))
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    with tf.io.TFRecordWriter(os.path.join(artifact.uri, "Split-eval", "data.gz"), options) as writer:
        for record in serialized:
            writer.write(record)
    return artifact


def model_artifact(root, damage: str):
    artifact = standard_artifacts.Model()
    artifact.uri = str(root / "model")
    serving_dir = os.path.join(artifact.uri, "Format-Serving")
    serving_models.build(serving_dir, 1.0, required_feature="tips" if damage == "needs_label" else "")
    if damage == "unloadable":
        with open(os.path.join(serving_dir, "saved_model.pb"), "wb") as f:
            f.write(b"truncated")
    return artifact


def validate_and_push(root, examples_artifact, damage="none", model=None, serving_dir=None, keep_versions=None):
    model = model or model_artifact(root, damage)
    blessing = standard_artifacts.InfraBlessing()
    blessing.uri = str(root / "infra_blessing")
    os.makedirs(blessing.uri)
    InfraValidator.EXECUTOR_SPEC.executor_class().Do(
        {"model": [model], "examples": [examples_artifact]}, {"blessing": [blessing]},
        {"model_name": "taxi", "serving_features": json.dumps(list(TAXI.feature_names())),
         "task": "binary", "num_examples": 8, "timeout_seconds": 120})

    evaluator_blessing = standard_artifacts.ModelBlessing()
    evaluator_blessing.uri = str(root / "model_blessing")
    evaluator_blessing.set_int_custom_property("blessed", 1)
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(root / "pushed")
    serving_dir = serving_dir or str(root / "serving" / "taxi")
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_dir))
    AtomicPushExecutor().Do(
        {"model_blessing": [evaluator_blessing], "infra_blessing": [blessing]},
        {"pushed_model": [pushed]},
        {"push_destination": proto_utils.proto_to_json(destination),
         # as pipeline/pipeline.py sets it: JSON null unless versions are to be removed
         "custom_config": json.dumps({model_dir.KEEP_VERSIONS: keep_versions} if keep_versions else None)})
    return blessing, pushed, serving_dir


def test_a_servable_candidate_is_blessed_and_pushed_with_its_warmup(tmp_path, examples_artifact):
    blessing, pushed, serving_dir = validate_and_push(tmp_path, examples_artifact, "none")
    assert blessing.get_int_custom_property("blessed") == 1
    assert pushed.get_int_custom_property("pushed") == 1
    [version] = model_dir.versions(serving_dir)
    logs = warmup.read(os.path.join(serving_dir, str(version)))
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log", "predict_log", "classify_log", "regress_log"]
    assert os.path.exists(os.path.join(blessing.uri, "INFRA_BLESSED"))


@pytest.mark.parametrize("damage, reason", [
    ("unloadable", "did not load"),
    ("needs_label", "tips"),  # loads, but every request without the label fails
])
def test_a_candidate_that_fails_infra_validation_is_not_pushed(tmp_path, examples_artifact, damage, reason):
    blessing, pushed, serving_dir = validate_and_push(tmp_path, examples_artifact, damage)
    assert blessing.get_int_custom_property("blessed") == 0
    assert reason in blessing.get_string_custom_property("failure_reason")
    assert os.path.exists(os.path.join(blessing.uri, "INFRA_NOT_BLESSED"))
    assert pushed.get_int_custom_property("pushed") == 0
    assert model_dir.versions(serving_dir) == []



def test_a_model_rolled_back_and_blessed_again_is_not_pushed_again(tmp_path, examples_artifact):
    """A cached Trainer's model, validated again after a rollback (say, under new thresholds): its copy
    equals the withdrawn version's, so the Pusher keeps it back and says which withdrawal did."""
    serving_dir = str(tmp_path / "serving" / "taxi")
    earlier = model_dir.publish(serving_models.build(str(tmp_path / "earlier"), 2.0), serving_dir)
    model = model_artifact(tmp_path, "none")
    _, first, _ = validate_and_push(tmp_path / "first", examples_artifact, model=model, serving_dir=serving_dir)
    assert first.get_int_custom_property("pushed") == 1
    withdrawn = rollback.withdraw(serving_dir, "tips wrong for card payments")
    assert withdrawn.version == int(first.get_string_custom_property("pushed_version"))
    assert model_dir.versions(serving_dir) == [int(os.path.basename(earlier))]
    _, again, _ = validate_and_push(tmp_path / "again", examples_artifact, model=model, serving_dir=serving_dir)
    assert again.get_int_custom_property("pushed") == 0
    assert again.get_string_custom_property(rollback.KEPT_BACK) == withdrawn.describe()
    assert "tips wrong for card payments" in withdrawn.describe()
    assert model_dir.versions(serving_dir) == [int(os.path.basename(earlier))]


def test_a_push_with_versions_to_keep_removes_the_older_ones(tmp_path, examples_artifact):
    serving_dir = str(tmp_path / "serving" / "taxi")
    for older in (1, 2, 3):
        os.makedirs(os.path.join(serving_dir, str(older)))
    _, pushed, _ = validate_and_push(tmp_path, examples_artifact, serving_dir=serving_dir, keep_versions=2)
    assert pushed.get_int_custom_property("pushed") == 1
    assert pushed.get_string_custom_property(model_dir.REMOVED_VERSIONS) == "1,2"
    assert model_dir.versions(serving_dir) == [3, int(pushed.get_string_custom_property("pushed_version"))]
    with open(os.path.join(os.path.dirname(serving_dir), model_dir.SERVER_CONFIG), "w", encoding="utf-8") as f:
        f.write("model_config_list { config { name: ")  # cut short: nothing can be known pinned
    _, again, _ = validate_and_push(tmp_path / "again", examples_artifact, serving_dir=serving_dir, keep_versions=1)
    assert again.get_int_custom_property("pushed") == 1, "the push stands, recorded"
    assert "not TF Serving's model config" in again.get_string_custom_property(model_dir.REMOVAL_FAILED)
