import dataclasses
import json
import shutil
import time

import ml_metadata as mlmd
import pytest
import tensorflow_data_validation as tfdv
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.types import standard_artifacts

from models import dataset
from pipeline import evaluation, model_contract, run_details, training_data
from pipeline import resolvers as baseline
from tests.conftest import TAXI


def _model(artifact_id):
    model = standard_artifacts.Model()
    model.id = artifact_id
    return model


def _blessing(model_id, blessed):
    blessing = standard_artifacts.ModelBlessing()
    blessing.set_int_custom_property("current_model_id", model_id)
    blessing.set_int_custom_property("blessed", int(blessed))
    return blessing


def _resolve(candidate, models, blessings):
    return baseline.BaselineModelStrategy().resolve_artifacts(
        None,
        {
            baseline.CANDIDATE_KEY: [candidate],
            baseline.MODEL_KEY: models,
            baseline.BLESSING_KEY: blessings,
        },
    )


def test_first_run_has_no_baseline():
    m1 = _model(1)
    assert _resolve(m1, [m1], [])[baseline.MODEL_KEY] == []


def test_unchanged_rerun_does_not_compare_the_candidate_with_itself():
    m1 = _model(1)
    assert _resolve(m1, [m1], [_blessing(1, True)])[baseline.MODEL_KEY] == []


def test_new_candidate_is_compared_with_the_newest_blessed_model():
    m1, m2, m3, m4 = (_model(i) for i in (1, 2, 3, 4))
    blessings = [_blessing(1, True), _blessing(2, True), _blessing(3, False)]
    result = _resolve(m4, [m1, m3, m2, m4], blessings)
    assert [m.id for m in result[baseline.MODEL_KEY]] == [2]
    assert result[baseline.BLESSING_KEY][0].get_int_custom_property("current_model_id") == 2


class Trainers:
    """MLMD in memory with what a Trainer run records: the declaration in its `custom_config`, the
    curated schema it read (`schema`), the model it wrote (`model`)."""

    def __init__(self, folder):
        config = metadata_store_pb2.ConnectionConfig()
        config.fake_database.SetInParent()
        self.store = mlmd.MetadataStore(config)
        self.folder = folder
        self.types = {name: self.store.put_artifact_type(metadata_store_pb2.ArtifactType(name=name))
                      for name in ("Schema", "Model")}
        self.trainer = self.store.put_execution_type(metadata_store_pb2.ExecutionType(name="Trainer"))

    def model(self, declaration: dataset.Dataset, schema: schema_pb2.Schema) -> int:
        uri = self.folder / f"schema-{len(list(self.folder.iterdir()))}"
        uri.mkdir()
        tfdv.write_schema_text(schema, str(uri / "schema.pbtxt"))
        schema_artifact = metadata_store_pb2.Artifact(type_id=self.types["Schema"], uri=str(uri))
        model = metadata_store_pb2.Artifact(type_id=self.types["Model"])
        schema_artifact.id, model.id = self.store.put_artifacts([schema_artifact, model])
        execution = metadata_store_pb2.Execution(type_id=self.trainer)
        execution.custom_properties["custom_config"].string_value = json.dumps(
            {"dataset": declaration.to_config()})
        events = []
        for kind, key, artifact in ((metadata_store_pb2.Event.INPUT, "schema", schema_artifact),
                                    (metadata_store_pb2.Event.OUTPUT, "model", model)):
            event = metadata_store_pb2.Event(type=kind)
            event.path.steps.add().key = key
            events.append((artifact, event))
        self.store.put_execution(execution, events, [])
        return model.id


@pytest.fixture
def trainers(tmp_path):
    return Trainers(tmp_path)


def _schema(**changes) -> schema_pb2.Schema:
    """The taxi sample's curated schema with `changes` applied: column -> new type, or None to drop it."""
    schema = tfdv.load_schema_text(TAXI.schema_file)
    for name, kind in changes.items():
        feature = tfdv.get_feature(schema, name)
        if kind is None:
            schema.feature.remove(feature)
        else:
            feature.ClearField("int_domain")
            feature.type = kind
    return schema


def _resolve_with_store(trainers, served_id, candidate_id):
    def as_tfx(artifact_id):
        return next(m for m in [_model(served_id), _model(candidate_id)] if m.id == artifact_id)
    served, candidate = as_tfx(served_id), as_tfx(candidate_id)
    return baseline.BaselineModelStrategy().resolve_artifacts(trainers.store, {
        baseline.CANDIDATE_KEY: [candidate], baseline.MODEL_KEY: [served, candidate],
        baseline.BLESSING_KEY: [_blessing(served_id, True)]})[baseline.MODEL_KEY]


def test_a_served_model_of_the_same_label_and_columns_is_the_baseline(trainers):
    served = trainers.model(TAXI, _schema())
    candidate = trainers.model(TAXI, _schema())  # another schema file, same columns and types
    assert model_contract.change(trainers.store, served, candidate) is None
    assert [m.id for m in _resolve_with_store(trainers, served, candidate)] == [served]


def test_a_served_model_of_another_label_is_no_baseline_and_the_reason_names_both(trainers):
    served = trainers.model(TAXI, _schema())
    tips = dataclasses.replace(TAXI, label=dataset.Label(column="tips", task=dataset.Task.REGRESSION),
                               features=tuple(f for f in TAXI.features if f.name != "tips"))
    candidate = trainers.model(tips, _schema())
    assert model_contract.change(trainers.store, served, candidate) == (
        "that model predicts big_tipper (binary: tips > 0.2 x fare), this one tips (regression)")
    assert _resolve_with_store(trainers, served, candidate) == []


def test_a_served_model_that_reads_a_column_as_integers_cannot_read_it_written_as_floats(trainers):
    served = trainers.model(TAXI, _schema())
    candidate = trainers.model(TAXI, _schema(trip_seconds=schema_pb2.FLOAT, company=None))
    assert model_contract.change(trainers.store, served, candidate) == (
        "that model cannot read this run's data (columns this run's schema lacks: company; "
        "columns of another type: trip_seconds int64 -> float32)")
    assert _resolve_with_store(trainers, served, candidate) == []


def test_a_model_whose_trainer_recorded_no_declaration_keeps_its_baseline(trainers):
    candidate = trainers.model(TAXI, _schema())
    unrecorded = trainers.store.put_artifacts([metadata_store_pb2.Artifact(type_id=trainers.types["Model"])])[0]
    assert model_contract.change(trainers.store, unrecorded, candidate) is None


def test_a_served_model_whose_schema_is_gone_stays_the_baseline_rather_than_failing_the_run(trainers):
    served = trainers.model(TAXI, _schema())
    candidate = trainers.model(TAXI, _schema(trip_seconds=schema_pb2.FLOAT))
    (schema_uri,) = [a.uri for a in trainers.store.get_artifacts_by_type("Schema")][:1]
    shutil.rmtree(schema_uri)
    assert model_contract.change(trainers.store, served, candidate) is None
    assert [m.id for m in _resolve_with_store(trainers, served, candidate)] == [served]


def test_the_data_folder_of_gate_checked_statistics_is_found_past_a_partial_runs_cache_hits(tmp_path):
    """A resumed run records its cache hits as executions that output the same artifacts with no
    inputs and no properties: the folder ExampleGen read is still found through the first producers,
    so `validate` knows which spans the gate accepted."""
    config = metadata_store_pb2.ConnectionConfig()
    config.fake_database.SetInParent()
    store = mlmd.MetadataStore(config)
    kind = store.put_artifact_type(metadata_store_pb2.ArtifactType(name="Examples"))
    run = store.put_execution_type(metadata_store_pb2.ExecutionType(name="Component"))
    examples, statistics = store.put_artifacts([metadata_store_pb2.Artifact(type_id=kind)] * 2)
    example_gen = metadata_store_pb2.Execution(type_id=run)
    example_gen.custom_properties["input_base"].string_value = str(tmp_path / "data")
    example_gen_id, statistics_gen_id, hit_id, example_hit_id = store.put_executions(
        [example_gen] + [metadata_store_pb2.Execution(type_id=run)] * 3)

    def event(artifact, execution, kind_of_event, key):
        made = metadata_store_pb2.Event(artifact_id=artifact, execution_id=execution, type=kind_of_event)
        made.path.steps.add().key = key
        return made

    made, read = metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.INPUT
    store.put_events([event(examples, example_gen_id, made, "examples"),
                      event(examples, statistics_gen_id, read, baseline.STATISTICS_INPUT_KEY),
                      event(statistics, statistics_gen_id, made, "statistics")])
    found = str((tmp_path / "data").resolve())
    assert baseline.data_roots(store, [statistics]) == {statistics: found}
    store.put_events([event(statistics, hit_id, made, "statistics"), event(examples, example_hit_id, made, "examples")])
    assert baseline.data_roots(store, [statistics]) == {statistics: found}


def test_the_features_a_served_model_read_that_the_declaration_since_excluded_are_named(trainers):
    """A feature excluded as a copy of the label stays a schema column: the served model that read it
    stays the baseline, and beats every honest candidate; the refusal names it (`runs`)."""
    served = trainers.model(TAXI, _schema())
    honest = dataclasses.replace(TAXI, features=tuple(f for f in TAXI.features if f.name != "fare"),
                                 excluded={"fare": "copies the label"})
    candidate = trainers.model(honest, _schema())
    assert model_contract.change(trainers.store, served, candidate) is None  # still the baseline
    assert model_contract.features_gone(trainers.store, served, candidate) == ["fare"]
    assert model_contract.features_gone(trainers.store, candidate, served) == []  # a feature added
    unrecorded = trainers.store.put_artifacts([metadata_store_pb2.Artifact(type_id=trainers.types["Model"])])[0]
    assert model_contract.features_gone(trainers.store, unrecorded, candidate) == []
    note = run_details.served_read_gone_note(("fare",), TAXI.task)
    assert note.startswith("note: the served model read fare, which dataset.yaml no longer declares.")
    assert "`--max-drop 1` " in note  # classes: an absolute drop, at most 1
    # regression: the rise of the error relative to the served model's (msleep: +2.48 on 0.90, +275 %)
    refused = evaluation.Evaluation({"rmse": 3.38}, {"rmse": 2.48}, {"rmse": 0.90}, [], False, [])
    assert "`--max-drop 10` " in run_details.served_read_gone_note(("awake",), dataset.Task.REGRESSION, refused)
    served_exactly = evaluation.Evaluation({"rmse": 3.0}, {"rmse": 3.0}, {"rmse": 0.0}, [], False, [])
    assert "`--max-drop 1000000` " in run_details.served_read_gone_note(("awake",), dataset.Task.REGRESSION, served_exactly)


class Pushes:
    """MLMD in memory with what a push records: PushedModel <- Pusher <- the InfraBlessing that
    names the model (`current_model_id`), and the version folder it wrote."""

    def __init__(self, folder):
        config = metadata_store_pb2.ConnectionConfig()
        config.fake_database.SetInParent()
        self.store, self.folder = mlmd.MetadataStore(config), folder
        self.types = {name: self.store.put_artifact_type(metadata_store_pb2.ArtifactType(name=name))
                      for name in ("InfraBlessing", "PushedModel")}
        self.pusher = self.store.put_execution_type(metadata_store_pb2.ExecutionType(name="Pusher"))

    def push(self, model_id: int, version: int):
        destination = self.folder / str(version)
        destination.mkdir()
        infra = metadata_store_pb2.Artifact(type_id=self.types["InfraBlessing"])
        infra.custom_properties["current_model_id"].int_value = model_id
        pushed = metadata_store_pb2.Artifact(type_id=self.types["PushedModel"])
        pushed.custom_properties["pushed"].int_value = 1
        pushed.custom_properties["pushed_destination"].string_value = str(destination)
        infra.id, pushed.id = self.store.put_artifacts([infra, pushed])
        [execution_id] = self.store.put_executions([metadata_store_pb2.Execution(type_id=self.pusher)])
        self.store.put_events([
            metadata_store_pb2.Event(artifact_id=artifact_id, execution_id=execution_id, type=kind, path=(
                metadata_store_pb2.Event.Path(steps=[metadata_store_pb2.Event.Path.Step(key=key)])))
            for artifact_id, kind, key in ((infra.id, metadata_store_pb2.Event.INPUT, "infra_blessing"),
                                           (pushed.id, metadata_store_pb2.Event.OUTPUT, "pushed_model"))])
        return destination


def test_the_baseline_is_the_model_of_the_newest_push(tmp_path):
    """A cached Trainer's model pushed again (a span excluded, then put back) is served though another
    model has a newer id; only pushes made before a given time count when a run is read back."""
    pushes, (m1, m2, m3) = Pushes(tmp_path), (_model(i) for i in (1, 2, 3))
    inputs = {baseline.CANDIDATE_KEY: [m3], baseline.MODEL_KEY: [m1, m2, m3],
              baseline.BLESSING_KEY: [_blessing(1, True), _blessing(2, True)]}
    assert training_data.models_by_push(pushes.store) is None  # nothing pushed: newest validated model
    assert baseline.served_model(inputs, None)[0].id == 2
    pushes.push(1, 100)
    pushes.push(2, 200)
    before_third = max(a.create_time_since_epoch for a in pushes.store.get_artifacts_by_type("PushedModel")) + 1
    time.sleep(0.01)
    pushes.push(1, 300)
    assert training_data.models_by_push(pushes.store) == [1, 2, 1]
    assert baseline.served_model(inputs, training_data.models_by_push(pushes.store))[0].id == 1
    assert training_data.models_by_push(pushes.store, before_third) == [2, 1]
    assert baseline.served_model({**inputs, baseline.CANDIDATE_KEY: [m1]}, [1, 2])[0].id == 2  # not itself
    assert baseline.served_model({**inputs, baseline.CANDIDATE_KEY: [m1]}, [1]) is None  # an unchanged re-run
