"""The training window (`--train-spans`): this run's span and the newest earlier spans the data gate
accepted, read from lineage recorded in a real (in-memory) ML Metadata store."""
import json
import shutil

import ml_metadata as mlmd
import pytest
from ml_metadata.proto import metadata_store_pb2
from tfx.types import artifact_utils

from pipeline import excluded_spans, resolvers
from pipeline.configs import ConfigError, PipelineConfig
from pipeline.gate import DataGateReport
from pipeline.pipeline import create_pipeline
from tests.conftest import TAXI, TAXI_CSV


class Store:
    """MLMD in memory, with the lineage a run records: ExampleGen's Examples -> StatisticsGen ->
    ExampleStatistics -> DataGate -> its report (`passed`)."""

    def __init__(self):
        config = metadata_store_pb2.ConnectionConfig()
        config.fake_database.SetInParent()
        self.mlmd = mlmd.MetadataStore(config)
        self.types = {}
        self.statistics = {}

    def _type_id(self, name, execution=False):
        if name not in self.types:
            if execution:
                self.types[name] = self.mlmd.put_execution_type(metadata_store_pb2.ExecutionType(name=name))
            else:
                self.types[name] = self.mlmd.put_artifact_type(metadata_store_pb2.ArtifactType(name=name))
        return self.types[name]

    def _artifact(self, type_name, **properties):
        artifact = metadata_store_pb2.Artifact(type_id=self._type_id(type_name))
        for key, value in properties.items():
            artifact.custom_properties[key].int_value = value
        (artifact.id,) = self.mlmd.put_artifacts([artifact])
        return artifact

    def _execution(self, name, inputs, outputs, **properties):
        execution = metadata_store_pb2.Execution(type_id=self._type_id(name, execution=True))
        for key, value in properties.items():
            execution.custom_properties[key].string_value = value
        events = []
        for kind, pairs in ((metadata_store_pb2.Event.INPUT, inputs), (metadata_store_pb2.Event.OUTPUT, outputs)):
            for key, artifact in pairs:
                event = metadata_store_pb2.Event(type=kind)
                event.path.steps.add().key = key
                events.append((artifact, event))
        self.mlmd.put_execution(execution, events, [])

    def span(self, span, passed, version=0, data_root="/data"):
        """A span ExampleGen read from `data_root`, described by StatisticsGen and checked by the
        gate; its Examples (`self.statistics`: Examples id -> its statistics)."""
        examples = self._artifact("Examples", span=span, version=version)
        self._execution("CsvExampleGen", [], [("examples", examples)], input_base=data_root)
        statistics = self._artifact("ExampleStatistics")
        self.statistics[examples.id] = statistics
        self._execution("StatisticsGen", [("examples", examples)], [("statistics", statistics)])
        report = self._artifact(DataGateReport.TYPE_NAME, passed=int(passed))
        self._execution("DataGate", [("statistics", statistics)], [("report", report)])
        # Transform's output is also of type Examples (no span: ExampleGen's driver sets it).
        self._artifact("Examples")
        return examples

    def every_examples(self):
        found = self.mlmd.get_artifacts_by_type("Examples")
        return [artifact_utils.deserialize_artifact(
            metadata_store_pb2.ArtifactType(name="Examples"), a) for a in found]


def _window(store, current, spans):
    as_tfx = next(a for a in store.every_examples() if a.id == current.id)
    result = resolvers.TrainingWindowStrategy(spans=spans).resolve_artifacts(
        store.mlmd, {resolvers.CURRENT_EXAMPLES_KEY: [as_tfx],
                     resolvers.EXAMPLES_KEY: store.every_examples()})
    return [(a.get_int_custom_property("span"), a.id) for a in result[resolvers.EXAMPLES_KEY]]


def test_the_window_is_this_span_and_the_newest_accepted_earlier_spans_newest_first():
    store = Store()
    one, two = store.span(1, passed=True), store.span(2, passed=True)
    store.span(3, passed=False)
    four = store.span(4, passed=True)
    assert _window(store, four, 3) == [(4, four.id), (2, two.id), (1, one.id)]
    assert _window(store, four, 2) == [(4, four.id), (2, two.id)]


def test_a_span_the_gate_refused_never_trains():
    store = Store()
    store.span(1, passed=False)
    two = store.span(2, passed=True)
    assert _window(store, two, 5) == [(2, two.id)]


def test_a_rewritten_span_trains_once_in_its_newest_accepted_version():
    store = Store()
    store.span(1, passed=True, version=1)
    newer = store.span(1, passed=True, version=2)
    store.span(1, passed=False, version=3)
    two = store.span(2, passed=True)
    assert _window(store, two, 3) == [(2, two.id), (1, newer.id)]


def test_data_without_spans_trains_on_this_runs_data_only():
    store = Store()
    store.span(0, passed=True)
    current = store.span(0, passed=True)
    assert _window(store, current, 3) == [(0, current.id)]


def test_a_window_of_one_is_this_span():
    store = Store()
    store.span(1, passed=True)
    two = store.span(2, passed=True)
    assert _window(store, two, 1) == [(2, two.id)]


def test_examples_of_later_spans_never_train_an_earlier_one():
    """A rerun of an older span (its folder rewritten) does not learn from newer spans."""
    store = Store()
    one = store.span(1, passed=True)
    store.span(2, passed=True)
    assert _window(store, one, 3) == [(1, one.id)]



def _reference(store, current):
    """The statistics PreviousSpanStatisticsStrategy gives the gate of `current`'s run."""
    kind = metadata_store_pb2.ArtifactType(name="ExampleStatistics")
    every = [artifact_utils.deserialize_artifact(kind, a) for a in store.mlmd.get_artifacts_by_type(kind.name)]
    mine = next(a for a in every if a.id == store.statistics[current.id].id)
    result = resolvers.PreviousSpanStatisticsStrategy().resolve_artifacts(
        store.mlmd, {resolvers.CURRENT_STATISTICS_KEY: [mine], resolvers.STATISTICS_KEY: every})
    return [a.id for a in result[resolvers.STATISTICS_KEY]]


def test_a_span_excluded_by_hand_neither_trains_nor_is_the_drift_reference_until_put_back():
    store = Store()
    one, two = store.span(1, passed=True), store.span(2, passed=True)
    three = store.span(3, passed=True)
    read = excluded_spans.read_from(store.mlmd, "/data")
    assert {span: [a.id for a in found] for span, found in read.items()} == {1: [one.id], 2: [two.id], 3: [three.id]}
    before = store.mlmd.get_artifacts_by_id([two.id])
    excluded_spans.mark(store.mlmd, "/data", 2, read[2], "tips from a broken join")
    # The Examples stay as they were: TFX's cache key hashes its inputs whole (update time too)
    assert store.mlmd.get_artifacts_by_id([two.id]) == before
    assert _window(store, three, 3) == [(3, three.id), (1, one.id)]
    assert _reference(store, three) == [store.statistics[one.id].id]
    assert resolvers.accepted_spans(store.mlmd, "/data") == {1, 3}
    assert excluded_spans.reasons(store.mlmd) == {two.id: "tips from a broken join"}
    assert excluded_spans.excluded(store.mlmd, [one.id, three.id]) == set()
    assert excluded_spans.spans(store.mlmd, "/data") == {2}
    excluded_spans.mark(store.mlmd, "/data", 2, excluded_spans.read_from(store.mlmd, "/data")[2], "")
    assert excluded_spans.reasons(store.mlmd) == {} and excluded_spans.spans(store.mlmd, "/data") == set()
    assert _window(store, three, 3) == [(3, three.id), (2, two.id), (1, one.id)]
    assert _reference(store, three) == [store.statistics[two.id].id]
    another = Store()
    another.span(2, passed=True, data_root="/elsewhere")
    assert excluded_spans.read_from(another.mlmd, "/data") == {}  # spans are a data folder's


def test_a_span_whose_files_changed_after_it_was_excluded_is_new_data_in_use_again():
    store = Store()
    store.span(1, passed=True)
    excluded_spans.mark(store.mlmd, "/data", 1, excluded_spans.read_from(store.mlmd, "/data")[1], "test feed")
    assert excluded_spans.spans(store.mlmd, "/data") == {1} and resolvers.accepted_spans(store.mlmd, "/data") == set()
    store.span(1, passed=True, version=1)  # ExampleGen read the corrected files: a new version
    assert excluded_spans.spans(store.mlmd, "/data") == set() and resolvers.accepted_spans(store.mlmd, "/data") == {1}


def test_a_window_puts_its_resolver_between_example_gen_and_transform_and_one_span_adds_nothing(tmp_path):
    (tmp_path / "data" / "span-1").mkdir(parents=True)
    shutil.copy(TAXI_CSV, tmp_path / "data" / "span-1")
    windowed = create_pipeline(PipelineConfig(work_dir=str(tmp_path / "work"), train_spans=3,
                                              data_root=str(tmp_path / "data")))
    transform = next(c for c in windowed.components if c.id == "Transform")
    assert transform.inputs["examples"].producer_component_id == "training_window_resolver"
    # its size, which the resolver's execution does not record, is Transform's: a resume sees it change
    assert json.loads(transform.exec_properties["custom_config"])["train_spans"] == 3
    resolver = next(c for c in windowed.components if c.id == "training_window_resolver")
    assert resolver.exec_properties["source_uri"] == {"spans": 3}  # TFX keeps the config there
    assert "DataGate" in {n.id for n in resolver.upstream_nodes}, "resolved once the gate passed"
    single = create_pipeline(PipelineConfig(work_dir=str(tmp_path / "work"),
                                            data_root=str(tmp_path / "data")))
    assert "training_window_resolver" not in {c.id for c in single.components}
    transform = next(c for c in single.components if c.id == "Transform")
    assert transform.inputs["examples"].producer_component_id == "CsvExampleGen"
    assert "train_spans" not in json.loads(transform.exec_properties["custom_config"])  # its cache key unchanged


def test_a_kubeflow_pipeline_refuses_a_window_with_the_reason(tmp_path):
    with pytest.raises(ConfigError, match="--train-spans 2"):
        create_pipeline(PipelineConfig(work_dir=str(tmp_path / "work"), train_spans=2), for_kubeflow=True)


def test_a_window_over_data_without_spans_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="holds no span-N/ folders"):
        create_pipeline(PipelineConfig(work_dir=str(tmp_path / "work"), data_root=TAXI.data_root(), train_spans=2))
