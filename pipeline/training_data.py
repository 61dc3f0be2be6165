"""The data a served model was trained on, read from its lineage in MLMD: what `monitor` compares
logged requests with (skew), and which version a pipeline pushed last. Each query keeps to one
pipeline's artifacts: a store a team shares holds other pipelines' too."""
import os
import tempfile
from typing import List, Optional, Tuple

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from serving import rollback


def _newest_train_split(artifacts):
    """The train split's statistics of the newest ExampleStatistics artifact among `artifacts` that
    has them on disk, or None."""
    import tensorflow_data_validation as tfdv  # pylint: disable=import-outside-toplevel

    for artifact in sorted(artifacts, key=lambda a: -a.id):
        path = os.path.join(artifact.uri, "Split-train", "FeatureStats.pb")
        if os.path.exists(path):
            return tfdv.load_stats_binary(path)
    return None


def latest_training_statistics(store: mlmd.MetadataStore, pipeline_name: str):
    """The training split's statistics of the newest data that passed the pipeline's data gate (data
    the gate stopped never trained a model), or None."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    passed = [e.id for e in (store.get_executions_by_context(pipeline.id) if pipeline else [])
              if e.type.endswith("DataGate") and e.last_known_state in (metadata_store_pb2.Execution.COMPLETE,
                                                                        metadata_store_pb2.Execution.CACHED)]
    inputs = [e.artifact_id for e in store.get_events_by_execution_ids(passed)
              if e.type == metadata_store_pb2.Event.INPUT and e.path.steps[0].key == "statistics"]
    return _newest_train_split(store.get_artifacts_by_id(inputs))


def linked(store: mlmd.MetadataStore, artifact_ids: List[int], direction, key: str) -> List[int]:
    """Artifacts one execution away from `artifact_ids`: `direction` OUTPUT goes to what made
    them (through the producer's input `key`), INPUT to what was made from them (output `key`)."""
    events = [e for e in store.get_events_by_artifact_ids(artifact_ids) if e.type == direction]
    other = (metadata_store_pb2.Event.INPUT if direction == metadata_store_pb2.Event.OUTPUT
             else metadata_store_pb2.Event.OUTPUT)
    return [e.artifact_id for e in store.get_events_by_execution_ids(list({e.execution_id for e in events}))
            if e.type == other and e.path.steps and e.path.steps[0].key == key]


def _artifacts_of(store: mlmd.MetadataStore, pipeline_name: str) -> List[metadata_store_pb2.Artifact]:
    """Every artifact of the pipeline (a store a team shares holds other pipelines' too)."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    return store.get_artifacts_by_context(pipeline.id) if pipeline else []


def newest_push(store: mlmd.MetadataStore, pipeline_name: str) -> Optional[Tuple[str, str]]:
    """(version, version folder) of the pipeline's newest push (its PushedModel artifacts) that is
    not rolled back, None before any: what a serving folder holds newest unless changed by hand, for
    a command that is not told the folder."""
    pushed = [a for a in _artifacts_of(store, pipeline_name)
              if "pushed_version" in a.custom_properties and a.custom_properties["pushed"].int_value == 1
              and not rollback.withdrawal_of(a.custom_properties["pushed_destination"].string_value)]
    newest = max(pushed, key=lambda a: a.id).custom_properties if pushed else None
    return (newest["pushed_version"].string_value, newest["pushed_destination"].string_value) if newest else None


def models_by_push(store: mlmd.MetadataStore, before_ms: Optional[int] = None) -> Optional[List[int]]:
    """Ids of the models pushed, newest push first (of the pushes made before `before_ms`, ms since
    1970, if given): the model served is the first, even where its MLMD id is older than another's (a
    cached Trainer's model pushed again). A version rolled back (serving/rollback.py; before
    `before_ms`) is passed over; one deleted by hand still counts: an unchanged re-run must resolve
    what the first run did, or its Evaluator and Pusher run again. Read through PushedModel <-
    Pusher <- `infra_blessing`, whose `current_model_id` names the model; None where no push is
    recorded so."""
    before_s = None if before_ms is None else before_ms / 1000
    pushed = sorted((a for a in store.get_artifacts_by_type("PushedModel")
                     if a.custom_properties["pushed"].int_value == 1
                     and (before_ms is None or a.create_time_since_epoch < before_ms)
                     and not rollback.withdrawal_of(a.custom_properties["pushed_destination"].string_value,
                                                    before_s)), key=lambda a: -a.id)
    if not pushed:
        return None
    pusher_of = {e.artifact_id: e.execution_id for e in store.get_events_by_artifact_ids([a.id for a in pushed])
                 if e.type == metadata_store_pb2.Event.OUTPUT}
    blessing_of = {e.execution_id: e.artifact_id for e in store.get_events_by_execution_ids(list(set(pusher_of.values())))
                   if e.type == metadata_store_pb2.Event.INPUT and e.path.steps and e.path.steps[0].key == "infra_blessing"}
    blessings = {a.id: a for a in store.get_artifacts_by_id(list(set(blessing_of.values())))}
    named = [blessings.get(blessing_of.get(pusher_of.get(a.id))) for a in pushed]
    return [b.custom_properties["current_model_id"].int_value for b in named
            if b is not None and "current_model_id" in b.custom_properties] or None


def served_model_training_examples(store: mlmd.MetadataStore, pipeline_name: str, version: str
                                   ) -> List[metadata_store_pb2.Artifact]:
    """ExampleGen's Examples the pipeline's model version `version` was trained on (one per span of a training
    window), oldest span first, read from its lineage: PushedModel <- Pusher <- InfraValidator's
    `model` <- Trainer's `examples` (Transform's output) <- Transform's `examples`. [] when MLMD has
    no push of that version. Not the newest accepted data: a later span can pass the gate and train
    a model that is never pushed."""
    made = metadata_store_pb2.Event.OUTPUT
    pushed = [a.id for a in _artifacts_of(store, pipeline_name)
              if a.type == "PushedModel" and a.custom_properties["pushed_version"].string_value == version]
    models = linked(store, linked(store, pushed, made, "infra_blessing"), made, "model")
    raw = set(linked(store, linked(store, models, made, "examples"), made, "examples"))
    return sorted(store.get_artifacts_by_id(list(raw)),
                  key=lambda a: (a.custom_properties["span"].int_value, a.id))


def training_statistics(store: mlmd.MetadataStore, examples: List[metadata_store_pb2.Artifact], schema):
    """Statistics of the train splits of `examples` (as `served_model_training_examples` gives
    them), or None: StatisticsGen's for one artifact; for a training window computed over its spans
    together with `schema`, as StatisticsGen computes them (TFDV has no merge of finished statistics:
    its quantiles and histograms cannot be added up)."""
    # pylint: disable=import-outside-toplevel
    import tensorflow_data_validation as tfdv

    from schema import distances

    if len(examples) == 1:
        made_from = metadata_store_pb2.Event.INPUT
        return _newest_train_split(store.get_artifacts_by_id(
            linked(store, [examples[0].id], made_from, "statistics")))
    if not examples:
        return None
    with tempfile.TemporaryDirectory() as scratch:  # TFDV writes its result to a file first
        return tfdv.generate_statistics_from_tfrecord(
            [os.path.join(a.uri, "Split-train", "*") for a in examples],
            output_path=os.path.join(scratch, "statistics.tfrecord"),
            stats_options=distances.stats_options(schema))
