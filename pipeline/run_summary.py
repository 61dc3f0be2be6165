"""What a pipeline run did, read back from ML Metadata: per-component outcome, blessing, push.

MLMD is the source of truth (TFX records every execution, cached or not, with the run's context), so
the terminal summary and the tests read the same facts instead of parsing logs.
"""
import dataclasses
import json
from typing import Dict, List, Optional

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from serving import model_dir, rollback

_STATE_NAMES = {
    metadata_store_pb2.Execution.COMPLETE: "executed",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "failed",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
    metadata_store_pb2.Execution.NEW: "new",
}


@dataclasses.dataclass
class Candidate:
    """One candidate model of the run (a model family) as its Evaluator judged it."""
    name: str
    model_id: Optional[int]
    blessed: bool
    evaluation_uri: Optional[str]
    chosen: bool = False  # the one the InfraValidator took on (of the blessed, the lowest held-out loss)
    # what `runs` lists, as the Evaluator recorded it (LISTED_METRICS); None for a run from before
    listed: Optional[Dict[str, Dict[str, float]]] = None


@dataclasses.dataclass
class RunSummary:
    run_id: str
    node_states: Dict[str, List[str]]  # node id -> states of its executions in this run
    blessed: Optional[bool] = None
    infra_blessed: Optional[bool] = None
    infra_failure: str = ""
    pushed: Optional[bool] = None
    pushed_version: Optional[str] = None
    pushed_destination: Optional[str] = None
    removed_versions: str = ""  # old versions the push removed (run --keep-versions), comma-separated
    removal_failed: str = ""  # ... or why it could not
    already_served: bool = False  # the newest version held this model before (model_dir.ALREADY_SERVED)
    kept_back_by: str = ""  # not pushed: the rollback of the same model (serving/rollback.py), described
    kept_back_version: int = 0  # ... and the version it withdrew
    evaluation_uri: Optional[str] = None  # the chosen candidate's, else the first one's
    model_id: Optional[int] = None  # the chosen candidate's, else the first one's
    listed: Optional[Dict[str, Dict[str, float]]] = None  # the chosen candidate's, else the first one's
    candidates: List[Candidate] = dataclasses.field(default_factory=list)
    choice: str = ""  # why the InfraValidator took the candidate it took
    let_through: str = ""  # the gate's LET_THROUGH, where the span passed

    @property
    def pushed_by_this_run(self) -> bool:
        """A cached Pusher pushed nothing: its PushedModel, and version, are an earlier run's; nor
        did one that found its model already served."""
        return bool(self.pushed) and self.node_states.get("Pusher") != ["cached"] and not self.already_served


# On the DataGate's report (pipeline/gate.py) of a span that passed: the values no domain lists that a
# tolerance let through (schema/vocabularies.let_through_record).
LET_THROUGH = "let_through"
GATE_REPORT_TYPE = "tfxpipe.DataGateReport"
# How the data gate's verdict (its failure reason when the data did not meet the schema) starts; a
# DataGate that crashed records "<error type>: <message>" instead, and its run can be resumed.
GATE_VERDICT_TITLE = "Data validation (pipeline data gate"
FAILURE_REASON = "failure_reason"
# On an Evaluator's ModelEvaluation (pipeline/evaluator.py, evaluation.listed): JSON {"values": {name:
# value}, "changes": {name: candidate - baseline}} of every task's key metrics, overall. No component
# reads that artifact, so recording it on evaluations made before (run_details.record_listed) changes
# no cache key.
LISTED_METRICS = "listed_metrics"
RESOLVER_TYPE = "tfx.dsl.components.common.resolver.Resolver"
NOT_VALIDATED = "not validated: "  # how an InfraBlessing's failure reason starts when no candidate was blessed


def _storable(text: str) -> str:
    """`text` as MLMD 1.16 on PostgreSQL can store it: no backslash (see pipeline/evaluator.py); a
    message quoting data may hold one, shown as the look-alike U+29F5."""
    return text.replace("\\", "\u29f5")


def record_failure(store: mlmd.MetadataStore, run_id: str, node_id: str, reason: str) -> None:
    """Stores why the node failed in run `run_id` on its execution, where lineage tools look.

    TFX marks a component whose Python code raised as FAILED but keeps no message; the orchestrator
    adds the message as the execution's `failure_reason` custom property.
    """
    failed = [e for e in executions_of(store, run_id, node_id)
              if e.last_known_state == metadata_store_pb2.Execution.FAILED]
    if failed:
        latest = max(failed, key=lambda e: e.id)
        latest.custom_properties[FAILURE_REASON].string_value = _storable(reason)
        store.put_executions([latest])


# The node of a run refused before any component ran (pipeline/runner.check_inputs: data missing or
# not parseable as CSV, columns missing, a span excluded by hand, a schema that does not fit the
# declaration). Its execution keeps the data it looked at and, in a folder of spans, the span.
INPUT_CHECK = "InputCheck"
INPUT_CHECK_TYPE = f"tfxpipe.{INPUT_CHECK}"  # its execution type
REFUSED_DATA, REFUSED_SPAN = "data", "span"


def record_refusal(store: mlmd.MetadataStore, pipeline_name: str, run_id: str, reason: str,
                   data: str, span: Optional[int] = None) -> None:
    """Records run `run_id` as refused before it started: one FAILED execution of INPUT_CHECK under
    TFX's own context types (pipeline, pipeline_run, node), so `runs`, the runs index and `runs
    show` list it beside the runs that started. TFX records nothing for a run it never started, and
    a nightly run whose data was refused would otherwise leave no trace where runs are looked at."""
    contexts = []
    for type_name, name in (("pipeline", pipeline_name), ("pipeline_run", run_id),
                            ("node", f"{pipeline_name}.{INPUT_CHECK}")):
        context = store.get_context_by_type_and_name(type_name, name)
        if context is None:
            type_id = store.put_context_type(metadata_store_pb2.ContextType(name=type_name))
            [context_id] = store.put_contexts([metadata_store_pb2.Context(type_id=type_id, name=name)])
            [context] = store.get_contexts_by_id([context_id])
        contexts.append(context)
    execution = metadata_store_pb2.Execution(
        type_id=store.put_execution_type(metadata_store_pb2.ExecutionType(name=INPUT_CHECK_TYPE)),
        last_known_state=metadata_store_pb2.Execution.FAILED)
    execution.custom_properties[FAILURE_REASON].string_value = _storable(reason)
    execution.custom_properties[REFUSED_DATA].string_value = _storable(data)
    if span is not None:
        execution.custom_properties[REFUSED_SPAN].int_value = span
    store.put_execution(execution, [], contexts)


def node_of(store: mlmd.MetadataStore, execution_id: int) -> str:
    """The pipeline node (component id) an execution belongs to."""
    return next(c.name.split(".", 1)[-1] for c in store.get_contexts_by_execution(execution_id)
                if c.type == "node")


def executions_of(store: mlmd.MetadataStore, run_id: str, node_id: str) -> List:
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    if run is None:
        return []
    return [e for e in store.get_executions_by_context(run.id) if node_of(store, e.id) == node_id]


UNFINISHED = (metadata_store_pb2.Execution.NEW, metadata_store_pb2.Execution.RUNNING)
ABANDONED = ("abandoned: the process running it ended before it finished (killed or crashed); "
             "a later run did its work again")
LAST_SEEN = "last_seen_ms"  # an abandoned execution's last update before a later run marked it
STOPPED = ("abandoned: stopped by Ctrl-C or SIGTERM before it finished; `tfxpipe resume` goes on from "
           "here, or a later run does its work again")


def mark_abandoned(store: mlmd.MetadataStore, pipeline_name: str) -> List[str]:
    """Executions of the pipeline left NEW/RUNNING by a process that died: CANCELED, with the reason.
    Called by a run holding the pipeline's lock, so no other run can be executing them. Returns the
    ids of the runs they belonged to."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    stale = [e for e in store.get_executions_by_context(pipeline.id)
             if e.last_known_state in UNFINISHED]
    runs = set()
    for execution in stale:
        execution.last_known_state = metadata_store_pb2.Execution.CANCELED
        execution.custom_properties[FAILURE_REASON].string_value = ABANDONED
        # MLMD stamps this update as the execution's last: its run's time would include the wait
        execution.custom_properties[LAST_SEEN].int_value = execution.last_update_time_since_epoch
        runs.update(c.name for c in store.get_contexts_by_execution(execution.id)
                    if c.type == "pipeline_run")
    if stale:
        store.put_executions(stale)
    return sorted(runs)


def last_update(execution: metadata_store_pb2.Execution) -> int:
    """When `execution` was last updated by its own run (ms since 1970)."""
    seen = execution.custom_properties.get(LAST_SEEN)
    return seen.int_value if seen is not None else execution.last_update_time_since_epoch


def mark_stopped(store: mlmd.MetadataStore, run_id: str, stopped_at: Optional[float] = None) -> None:
    """Run `run_id`'s executions a stop ended (Ctrl-C, SIGTERM), those left unfinished: CANCELED, as
    abandoned, at once, so the run's record ends when it stopped. With `stopped_at` (time.time() of
    the stop), also those recorded FAILED since: the stop landed inside a library that wrapped it
    (Beam re-raises it as a RuntimeError, which TFX records as the component's failure), or a second
    Ctrl-C cut TFX's unwinding from the first short. A failure recorded before the stop stays one."""
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    since_ms = None if stopped_at is None else int(stopped_at * 1000)

    def ended(execution) -> bool:
        return execution.last_known_state in UNFINISHED or (
            since_ms is not None and execution.last_known_state == metadata_store_pb2.Execution.FAILED
            and execution.last_update_time_since_epoch >= since_ms)

    stopped = [e for e in store.get_executions_by_context(run.id) if ended(e)] if run is not None else []
    for execution in stopped:
        execution.last_known_state = metadata_store_pb2.Execution.CANCELED
        execution.custom_properties[FAILURE_REASON].string_value = STOPPED
    if stopped:
        store.put_executions(stopped)


def run_ids(store: mlmd.MetadataStore, pipeline_name: Optional[str] = None) -> List[str]:
    """Run ids of pipeline `pipeline_name`, oldest first (a store a team shares holds other
    pipelines' runs too): the pipeline_run contexts TFX records as children of the pipeline's
    context, and the runs refused before they started (`record_refusal`), which are no child of it:
    TFX's partial run takes the pipeline's newest child run as the one to resume. Without a name,
    every run in the store."""
    if pipeline_name is None:
        runs = store.get_contexts_by_type("pipeline_run")
    else:
        pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
        if pipeline is None:
            return []
        runs = [c for c in store.get_children_contexts_by_context(pipeline.id) if c.type == "pipeline_run"]
        for refusal in store.get_executions_by_type(INPUT_CHECK_TYPE):
            contexts = store.get_contexts_by_execution(refusal.id)
            if any(c.id == pipeline.id for c in contexts):
                runs += [c for c in contexts if c.type == "pipeline_run"]
    return [c.name for c in sorted(runs, key=lambda c: (c.create_time_since_epoch, c.id))]


def summarize(store: mlmd.MetadataStore, run_id: Optional[str] = None) -> RunSummary:
    """Summary of run `run_id`, or of the latest run."""
    run_id = run_id or run_ids(store)[-1]
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    summary = RunSummary(run_id=run_id, node_states={})
    executions = store.get_executions_by_context(run.id)
    for execution in executions:
        node = node_of(store, execution.id)
        state = _STATE_NAMES.get(execution.last_known_state, str(execution.last_known_state))
        summary.node_states.setdefault(node, []).append(state)

    types = {t.id: t.name for t in store.get_artifact_types()}
    chosen_id = None
    # What this run's components produced (cached ones included), not what its resolvers looked up
    # (their outputs are earlier runs' artifacts, such as the served model's InfraBlessing).
    resolver = {t.name: t.id for t in store.get_execution_types()}.get(RESOLVER_TYPE)
    produced = [e.artifact_id for e in store.get_events_by_execution_ids(
                    [x.id for x in executions if x.type_id != resolver])
                if e.type == metadata_store_pb2.Event.OUTPUT]
    for artifact in sorted(store.get_artifacts_by_id(produced), key=lambda a: a.id):
        props = artifact.custom_properties
        kind = types.get(artifact.type_id)
        if kind == "InfraBlessing":
            summary.infra_blessed = props["blessed"].int_value == 1
            summary.infra_failure = props["failure_reason"].string_value
            summary.choice = props["choice"].string_value
            if "current_model_id" in props:
                chosen_id = props["current_model_id"].int_value
        elif kind == GATE_REPORT_TYPE:
            summary.let_through = props[LET_THROUGH].string_value
        elif kind == "PushedModel":
            summary.pushed = props["pushed"].int_value == 1
            if summary.pushed:
                summary.pushed_version = props["pushed_version"].string_value
                summary.pushed_destination = props["pushed_destination"].string_value
            summary.kept_back_by = props[rollback.KEPT_BACK].string_value
            summary.kept_back_version = props[rollback.KEPT_BACK_VERSION].int_value
            summary.removed_versions = props[model_dir.REMOVED_VERSIONS].string_value
            summary.removal_failed = props[model_dir.REMOVAL_FAILED].string_value
            summary.already_served = props[model_dir.ALREADY_SERVED].int_value == 1
    summary.candidates = _candidates(store, run.id, types)
    for candidate in summary.candidates:
        candidate.chosen = candidate.model_id == chosen_id
    if summary.candidates:
        main = next((c for c in summary.candidates if c.chosen), summary.candidates[0])
        summary.blessed = main.blessed if len(summary.candidates) == 1 else any(
            c.blessed for c in summary.candidates)
        summary.evaluation_uri, summary.model_id, summary.listed = main.evaluation_uri, main.model_id, main.listed
    return summary


def _candidates(store: mlmd.MetadataStore, run_context_id: int, types: Dict[int, str]
                ) -> List[Candidate]:
    """Each Evaluator's candidate in the run, by name (the run's context also holds artifacts it only
    read, so outputs are found through the Evaluators' events)."""
    found = []
    for execution in store.get_executions_by_context(run_context_id):
        if not node_of(store, execution.id).startswith("Evaluator"):
            continue
        outputs = [e.artifact_id for e in store.get_events_by_execution_ids([execution.id])
                   if e.type == metadata_store_pb2.Event.OUTPUT]
        by_type = {types.get(a.type_id): a for a in store.get_artifacts_by_id(outputs)}
        blessing, evaluation = by_type.get("ModelBlessing"), by_type.get("ModelEvaluation")
        if blessing is None:
            continue
        props = blessing.custom_properties
        found.append(Candidate(
            name=props["candidate"].string_value if "candidate" in props else "model",
            model_id=props["current_model_id"].int_value if "current_model_id" in props else None,
            blessed=props["blessed"].int_value == 1,
            evaluation_uri=evaluation.uri if evaluation else None,
            listed=json.loads(evaluation.custom_properties[LISTED_METRICS].string_value)
            if evaluation and LISTED_METRICS in evaluation.custom_properties else None))
    return sorted(found, key=lambda c: c.name)
