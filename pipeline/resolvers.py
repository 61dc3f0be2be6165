"""Resolver strategies: which earlier artifacts a run compares itself with, and which it trains on.

Baseline model (for the Evaluator):

TFX's LatestBlessedModelStrategy returns the newest blessed model, which on an unchanged re-run is the
cached candidate itself. The Evaluator's inputs then differ from the first run (baseline: none ->
itself), so it runs again, blesses the same model again, and the Pusher pushes a duplicate version.
This strategy also takes the Trainer's output of *this* run (`candidate`) and excludes it: an unchanged
re-run resolves exactly what the first run resolved, so Evaluator and Pusher are cache hits.
The baseline is the model being served: the newest push's (a cached Trainer's older model can be
pushed again), else the newest one the InfraValidator validated (its blessing names the chosen
candidate, `current_model_id`); stores from before that property fall back to the newest model the
Evaluator blessed. A served model that predicts something else, or cannot read this run's data, is
no baseline (pipeline/model_contract.py).
"""
from typing import Dict, List, Optional, Sequence, Set, Tuple

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx import types
from tfx.components.evaluator import constants as evaluator_constants
from tfx.dsl.components.common import resolver
from tfx.types import artifact_utils

from pipeline import configs, excluded_spans, model_contract, training_data
from pipeline.gate import DataGateReport

CANDIDATE_KEY = "candidate"
CURRENT_STATISTICS_KEY = "current"
STATISTICS_KEY = "statistics"
MODEL_KEY = "model"
BLESSING_KEY = "model_blessing"
INFRA_BLESSING_KEY = "infra_blessing"
GATE_STATISTICS_KEY = "statistics"  # the DataGate's input of the data it checks


def served_model(input_dict: Dict[str, List[types.Artifact]], pushed: Optional[Sequence[int]] = None
                 ) -> Optional[Tuple[types.Artifact, types.Artifact]]:
    """The model being served and its blessing, not one of the candidates (none on a first run):
    the newest push's (`pushed`: model ids, newest push first, `training_data.models_by_push`), else
    (None) the newest model validated by the InfraValidator."""
    candidate_ids = {a.id for a in input_dict[CANDIDATE_KEY]}
    blessings = {
        b.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY): b
        for b in input_dict[BLESSING_KEY]
        if b.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1
    }
    models = {model.id: model for model in input_dict[MODEL_KEY]}
    if pushed is not None:  # a candidate pushed before (an unchanged re-run's) is passed over
        served = next((i for i in pushed if i in models and i in blessings and i not in candidate_ids), None)
        return (models[served], blessings[served]) if served is not None else None
    served = {
        b.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY)
        for b in input_dict.get(INFRA_BLESSING_KEY, [])
        if b.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1
        and evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY in b.mlmd_artifact.custom_properties
    }
    for model in sorted(input_dict[MODEL_KEY], key=lambda a: a.id, reverse=True):
        if model.id in blessings and model.id not in candidate_ids and (not served or model.id in served):
            return model, blessings[model.id]
    return None


class BaselineModelStrategy(resolver.ResolverStrategy):
    """The served model (`served_model`), unless it predicts something else or cannot read this
    run's data (`model_contract.change`): then none, as on a first run."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: Dict[str, List[types.Artifact]]
    ) -> Optional[Dict[str, List[types.Artifact]]]:
        result = {**input_dict, MODEL_KEY: [], BLESSING_KEY: []}
        served = served_model(input_dict, training_data.models_by_push(store) if store else None)
        candidates = input_dict[CANDIDATE_KEY]
        if served and not (store and candidates and model_contract.change(store, served[0].id, candidates[0].id)):
            result[MODEL_KEY], result[BLESSING_KEY] = [served[0]], [served[1]]
        return result


NEW_CONTRACT = ("Evaluated without the model served before it as baseline, as a first model: {reason}. "
                "Pushed, it replaces that model, and its clients must follow the new contract.")


def served_model_id(store: mlmd.MetadataStore, run_context_id: int, candidate_ids: List[int]) -> Optional[int]:
    """The model served when run `run_context_id`'s candidates were made (None when none was):
    `BaselineModelStrategy`'s choice read back from the pipeline's artifacts in MLMD: the newest push
    before the run started; in stores without pushes that name their model, the artifacts older than
    the candidates (ids grow). What the resolver saw, even after later pushes."""
    [run] = store.get_contexts_by_id([run_context_id])
    pushed = training_data.models_by_push(store, run.create_time_since_epoch)
    executions = store.get_executions_by_context(run_context_id)
    pipeline_type = store.get_context_type("pipeline").id
    pipeline = next((c for c in (store.get_contexts_by_execution(executions[0].id) if executions else [])
                     if c.type_id == pipeline_type), None)
    if pipeline is None or not candidate_ids:
        return None
    artifact_types = {t.id: t for t in store.get_artifact_types()}
    keys = {"Model": MODEL_KEY, "ModelBlessing": BLESSING_KEY, "InfraBlessing": INFRA_BLESSING_KEY}
    found: Dict[str, List[types.Artifact]] = {key: [] for key in keys.values()}
    for artifact in store.get_artifacts_by_context(pipeline.id):
        kind = artifact_types[artifact.type_id]
        if kind.name in keys and (pushed or artifact.id < min(candidate_ids) or artifact.id in candidate_ids):
            found[keys[kind.name]].append(artifact_utils.deserialize_artifact(kind, artifact))
    found[CANDIDATE_KEY] = [a for a in found[MODEL_KEY] if a.id in candidate_ids]
    served = served_model(found, pushed)
    return served[0].id if served else None


def why_no_baseline(store: mlmd.MetadataStore, run_context_id: int, candidate_ids: List[int]) -> str:
    """Why run `run_context_id`'s candidates were compared with no served model although one was
    served before it ("" when none was, or when it was compared), for the run summary and report."""
    served = served_model_id(store, run_context_id, candidate_ids)
    reason = served is not None and model_contract.change(store, served, candidate_ids[0])
    return NEW_CONTRACT.format(reason=reason) if reason else ""


def _producers(store: mlmd.MetadataStore, artifact_ids) -> Dict[int, List[int]]:
    """Artifact id -> the executions that output it (its maker, and any cache hits since)."""
    found: Dict[int, List[int]] = {}
    for e in store.get_events_by_artifact_ids(list(artifact_ids)):
        if e.type == metadata_store_pb2.Event.OUTPUT:
            found.setdefault(e.artifact_id, []).append(e.execution_id)
    return found


def statistics_spans(store: mlmd.MetadataStore, statistics_ids: List[int]) -> Dict[int, int]:
    """Statistics artifact id -> span of the Examples it was computed from.

    StatisticsGen leaves its output's `span` at 0; the span lives on the input Examples (a custom
    property set by ExampleGen), so it is read through the lineage recorded in MLMD.
    """
    # Several executions may output one artifact: the one that made it, and cache hits (a partial
    # run's have no inputs recorded), so the span comes from any of them that read Examples.
    producers = _producers(store, statistics_ids)
    input_events = [
        e for e in store.get_events_by_execution_ids(list({x for xs in producers.values() for x in xs}))
        if e.type == metadata_store_pb2.Event.INPUT
    ]
    inputs = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in input_events])}
    span_of_execution = {
        e.execution_id: inputs[e.artifact_id].custom_properties["span"].int_value
        for e in input_events
        if "span" in inputs[e.artifact_id].custom_properties
    }
    return {a: next(span_of_execution[x] for x in xs if x in span_of_execution)
            for a, xs in producers.items() if any(x in span_of_execution for x in xs)}


def _from_excluded(store: mlmd.MetadataStore, statistics_ids: List[int]) -> Set[int]:
    """The statistics among `statistics_ids` made from Examples excluded by hand (`excluded_spans`)."""
    producers = _producers(store, statistics_ids)
    reads = [e for e in store.get_events_by_execution_ids(list({x for xs in producers.values() for x in xs}))
             if e.type == metadata_store_pb2.Event.INPUT and e.path.steps
             and e.path.steps[0].key == STATISTICS_INPUT_KEY]
    marked = excluded_spans.excluded(store, {e.artifact_id for e in reads})
    from_marked = {e.execution_id for e in reads if e.artifact_id in marked}
    return {a for a, xs in producers.items() if from_marked.intersection(xs)}


def accepted_statistics(store: mlmd.MetadataStore, statistics_ids: List[int]) -> Set[int]:
    """The statistics among `statistics_ids` whose data the DataGate passed: the `statistics` input
    of a gate execution whose report says `passed` (a failed gate publishes no report), less those
    of spans excluded by hand since."""
    inputs = [e for e in store.get_events_by_artifact_ids(statistics_ids)
              if e.type == metadata_store_pb2.Event.INPUT and e.path.steps
              and e.path.steps[0].key == GATE_STATISTICS_KEY]
    report_type = {t.name: t.id for t in store.get_artifact_types()}.get(DataGateReport.TYPE_NAME)
    if not inputs or report_type is None:  # the type exists once a gate has run
        return set()
    outputs = [e for e in store.get_events_by_execution_ids(list({e.execution_id for e in inputs}))
               if e.type == metadata_store_pb2.Event.OUTPUT]
    producer = {e.artifact_id: e.execution_id for e in outputs}
    passed_by = {producer[report.id] for report in store.get_artifacts_by_id(list(producer))
                 if report.type_id == report_type and report.custom_properties["passed"].int_value == 1}
    accepted = {e.artifact_id for e in inputs if e.execution_id in passed_by}
    return accepted - _from_excluded(store, list(accepted)) if accepted else accepted


def gate_checked(store: mlmd.MetadataStore, gate_execution_ids: List[int]) -> List[int]:
    """Ids of the statistics the DataGate executions `gate_execution_ids` checked."""
    return list({e.artifact_id for e in store.get_events_by_execution_ids(gate_execution_ids)
                 if e.type == metadata_store_pb2.Event.INPUT and e.path.steps
                 and e.path.steps[0].key == GATE_STATISTICS_KEY})


def accepted_spans(store: mlmd.MetadataStore, data_root: str) -> Optional[Set[int]]:
    """Spans of `data_root` whose data the data gate accepted; None when no gate has checked data
    read from there. `validate` takes its drift reference among them, as
    `PreviousSpanStatisticsStrategy` does."""
    checked = gate_checked(store, [e.id for t in store.get_execution_types() if t.name.endswith("DataGate")
                                   for e in store.get_executions_by_type(t.name)])
    roots = data_roots(store, checked)
    read_there = [a for a in checked if roots.get(a) == configs.resolved_path(data_root)]
    if not read_there:
        return None
    spans = statistics_spans(store, read_there)
    return {spans[a] for a in accepted_statistics(store, read_there) if a in spans}


def data_roots(store: mlmd.MetadataStore, statistics_ids: List[int]) -> Dict[int, str]:
    """Statistics id -> the folder ExampleGen read its data from (its `input_base`): statistics <-
    StatisticsGen's `examples` <- ExampleGen, a few queries for any number of statistics. An artifact
    may have several producers (cache hits of a partial run record outputs and no inputs): any chain
    that reaches an `input_base` counts, as in `statistics_spans`."""
    statistics_gen = _producers(store, statistics_ids)
    examples: Dict[int, List[int]] = {}  # StatisticsGen execution -> the Examples it read
    for e in store.get_events_by_execution_ids(list({x for xs in statistics_gen.values() for x in xs})):
        if e.type == metadata_store_pb2.Event.INPUT and e.path.steps and e.path.steps[0].key == STATISTICS_INPUT_KEY:
            examples.setdefault(e.execution_id, []).append(e.artifact_id)
    example_gen = _producers(store, {a for xs in examples.values() for a in xs})
    bases = {x.id: configs.resolved_path(x.custom_properties["input_base"].string_value)
             for x in store.get_executions_by_id(list({x for xs in example_gen.values() for x in xs}))
             if "input_base" in x.custom_properties}
    roots = {}
    for statistics, executions in statistics_gen.items():
        found = [bases[g] for x in executions for a in examples.get(x, []) for g in example_gen.get(a, [])
                 if g in bases]
        if found:
            roots[statistics] = found[0]
    return roots


class PreviousSpanStatisticsStrategy(resolver.ResolverStrategy):
    """Statistics of the newest data the gate accepted before this run's data, so the data gate
    checks drift against it with the schema's comparators: the newest accepted older span (or an
    earlier accepted version of this span, if it was rewritten), or, in a data folder without spans
    (every run is span 0), the data of an earlier run. Data the gate refused, or a span excluded
    by hand (`excluded_spans`), is never the reference: a refused span would otherwise make every
    later span that resembles the accepted ones fail, and pass one that repeats the refused change. An unchanged
    re-run resolves what the first run resolved (its statistics are the cached artifact itself)."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: Dict[str, List[types.Artifact]]
    ) -> Optional[Dict[str, List[types.Artifact]]]:
        current = input_dict[CURRENT_STATISTICS_KEY]
        result = {CURRENT_STATISTICS_KEY: current, STATISTICS_KEY: []}
        if not current:
            return result
        candidates = input_dict[STATISTICS_KEY]
        spans = statistics_spans(store, [a.id for a in current + candidates])
        accepted = accepted_statistics(store, [a.id for a in candidates])
        now = (spans.get(current[0].id, 0), current[0].id)
        earlier = [a for a in candidates  # a span unknown (never read Examples): not a reference
                   if a.id in accepted and a.id in spans and (spans[a.id], a.id) < now]
        if earlier:
            result[STATISTICS_KEY] = [max(earlier, key=lambda a: (spans[a.id], a.id))]
        return result


CURRENT_EXAMPLES_KEY = "current"
EXAMPLES_KEY = "examples"
STATISTICS_INPUT_KEY = "examples"  # StatisticsGen's input of the data it describes


def accepted_examples(store: mlmd.MetadataStore, examples_ids: List[int]) -> Set[int]:
    """The Examples among `examples_ids` the DataGate passed: those whose statistics (StatisticsGen's
    output from them) were the `statistics` input of a gate execution that passed."""
    inputs = [e for e in store.get_events_by_artifact_ids(examples_ids)
              if e.type == metadata_store_pb2.Event.INPUT and e.path.steps
              and e.path.steps[0].key == STATISTICS_INPUT_KEY]
    if not inputs:
        return set()
    outputs = [e for e in store.get_events_by_execution_ids(list({e.execution_id for e in inputs}))
               if e.type == metadata_store_pb2.Event.OUTPUT]
    accepted = accepted_statistics(store, [e.artifact_id for e in outputs])
    passed = {e.execution_id for e in outputs if e.artifact_id in accepted}
    return {e.artifact_id for e in inputs if e.execution_id in passed}


class TrainingWindowStrategy(resolver.ResolverStrategy):
    """This run's span and the newest earlier spans the gate accepted, `spans` in all, so Transform
    and the Trainer learn from a window of recent data instead of the newest span alone (TFX's
    RollingRange counts spans ExampleGen made, refused ones included; here data the gate refused, or
    a span excluded by hand, never trains). Per span, its newest accepted version. In a data folder
    without spans every run is span 0, so the window is this run's data. An unchanged re-run resolves the same window (cached)."""

    def __init__(self, spans: int):
        self._spans = spans

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: Dict[str, List[types.Artifact]]
    ) -> Optional[Dict[str, List[types.Artifact]]]:
        current = input_dict[CURRENT_EXAMPLES_KEY]
        result = {CURRENT_EXAMPLES_KEY: current, EXAMPLES_KEY: list(current)}
        if not current:
            return result
        span = current[0].get_int_custom_property("span")
        # The channel holds every Examples artifact of the pipeline, Transform's outputs too: only
        # ExampleGen's carry a span.
        older = [a for a in input_dict[EXAMPLES_KEY] if "span" in a.mlmd_artifact.custom_properties
                 and a.get_int_custom_property("span") < span]
        accepted = accepted_examples(store, [a.id for a in older]) if older else set()
        newest: Dict[int, types.Artifact] = {}
        for artifact in sorted((a for a in older if a.id in accepted),
                               key=lambda a: (a.get_int_custom_property("version"), a.id)):
            newest[artifact.get_int_custom_property("span")] = artifact
        window = [newest[s] for s in sorted(newest, reverse=True)][:self._spans - 1]
        result[EXAMPLES_KEY] = list(current) + window
        return result
