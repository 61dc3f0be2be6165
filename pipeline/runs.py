"""`tfxpipe runs`: the run history, read from ML Metadata.

TFX records every execution with its inputs, outputs and run context; the table answers "what is
being served, trained on what, and did it pass?" without opening MLMD or a notebook. It reads ML
Metadata alone (the metrics it lists are recorded there by `pipeline/evaluator.py`), so it imports no
TensorFlow, TFX component or TFMA, which take seconds to load; `pipeline/run_details.py` adds what
`runs show`, the run summary and the report need from those.
"""
import dataclasses
import datetime
import json
import os
import re
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from models.dataset import Task
from pipeline import excluded_spans, metrics, run_summary
from serving import rollback

if TYPE_CHECKING:  # loads TFMA
    from pipeline.evaluation import Evaluation


@dataclasses.dataclass
class RunRecord:
    run_id: str
    started: datetime.datetime
    seconds: float
    # ok / running / failed / stopped by gate / abandoned (its process died mid-run) / refused (before
    # it started: run_summary.INPUT_CHECK)
    status: str
    spans: List[int]
    gate: str  # passed / FAILED (its verdict) / error (it crashed) / not run (nor finished: stopped)
    model_id: Optional[int]
    failed_node: Optional[str]
    failure: str  # why `failed_node` failed, as recorded in MLMD ("" when not recorded)
    summary: run_summary.RunSummary
    # the listed metrics (every task's key metrics, run_summary.LISTED_METRICS) of the chosen
    # candidate (or the only one), and their changes against the served model
    values: Dict[str, float] = dataclasses.field(default_factory=dict)
    changes: Dict[str, float] = dataclasses.field(default_factory=dict)
    excluded_spans: Tuple[int, ...] = ()  # spans it read that `tfxpipe exclude-span` has taken out of use since
    # The rest only from run_details.record: the chosen candidate's whole evaluation, tuning trials
    # (run_details.tuning_trials), why a served model was not the candidates' baseline
    # (resolvers.why_no_baseline) and, refused against the served model, the features that model
    # read that this run's declaration lacks.
    evaluation: Optional["Evaluation"] = None
    tuning: Dict[str, List[Dict]] = dataclasses.field(default_factory=dict)
    not_compared: str = ""
    served_read_gone: Tuple[str, ...] = ()

    @property
    def evaluated_span(self) -> Optional[int]:
        """The span this run read, the one it evaluated on: a training window adds earlier spans."""
        return max(self.spans) if self.spans else None

    @property
    def blessed(self) -> Optional[bool]:
        return self.summary.blessed

    @property
    def pushed_version(self) -> Optional[str]:
        """The version this run pushed (none for a cached Pusher: an earlier run pushed it)."""
        return self.summary.pushed_version if self.summary.pushed_by_this_run else None

    @property
    def pushed_text(self) -> Optional[str]:
        """The version this run pushed, marked when it was rolled back since (serving/rollback.py)."""
        if not self.pushed_version:
            return None
        return self.pushed_version + (" (rolled back)" if rollback.withdrawal_of(self.summary.pushed_destination) else "")


def run_id_of(text: str) -> str:
    """A run id as `runs` prints it, or as its report's file is named (`2026-12-02T04-49-06.890538`,
    no colons in file names) or given as that file's path."""
    name = os.path.basename(text)
    name = name[:-len(".html")] if name.endswith(".html") else name
    return re.sub(r"T(\d\d)-(\d\d)-(\d\d)", r"T\1:\2:\3", name)


def node_outputs(store: mlmd.MetadataStore, run_id: str, node: str) -> Dict[str, List]:
    """Output artifacts of `node`'s execution(s) in the run, by artifact type name. (The run's
    context also holds artifacts it only read, such as the baseline model.)"""
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    types = {t.id: t.name for t in store.get_artifact_types()}
    found: Dict[str, List] = {}
    for execution in store.get_executions_by_context(run.id):
        if run_summary.node_of(store, execution.id) != node:
            continue
        events = [e for e in store.get_events_by_execution_ids([execution.id])
                  if e.type == metadata_store_pb2.Event.OUTPUT]
        for artifact in store.get_artifacts_by_id([e.artifact_id for e in events]):
            found.setdefault(types[artifact.type_id], []).append(artifact)
    return found


def ended_at(run: RunRecord) -> str:
    """How the run ended at its `failed_node`: it failed there, or its process ended there (killed,
    stopped: abandoned)."""
    return "abandoned at" if run.status == "abandoned" else "failed at"


def _abandoned(execution, running: bool) -> bool:
    """Left unfinished by a process that died or was stopped: marked so by a later run or by the
    stop, or still NEW/RUNNING while no run holds the pipeline's lock."""
    reason = execution.custom_properties.get(run_summary.FAILURE_REASON)
    if execution.last_known_state == metadata_store_pb2.Execution.CANCELED:
        return reason is not None and reason.string_value in (run_summary.ABANDONED, run_summary.STOPPED)
    return execution.last_known_state in run_summary.UNFINISHED and not running


def _gate_verdict(execution) -> bool:
    """The DataGate's execution failed on its verdict (the data did not meet the schema), not by a
    crash (an output gone, a bug): only the first stops a run for its data."""
    reason = execution.custom_properties.get(run_summary.FAILURE_REASON)
    return reason is not None and reason.string_value.startswith(run_summary.GATE_VERDICT_TITLE)


def record(store: mlmd.MetadataStore, run_id: str, running_run_id: Optional[str] = None,
           excluded: Optional[Dict[int, str]] = None) -> RunRecord:
    """What run `run_id` did, as the run table lists it; `running_run_id`: the run holding the
    pipeline's lock now, if any; `excluded`: `excluded_spans.reasons(store)`, when the caller has read
    it already."""
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    executions = store.get_executions_by_context(run.id)
    types = {t.id: t.name for t in store.get_artifact_types()}
    artifacts = store.get_artifacts_by_context(run.id)
    summary = run_summary.summarize(store, run_id)
    examples = [a for a in artifacts if types[a.type_id] == "Examples" and "span" in a.custom_properties]
    excluded = excluded_spans.reasons(store) if excluded is None else excluded
    running = run_id == running_run_id
    abandoned = [e for e in executions if _abandoned(e, running)]
    failed = sorted([e for e in executions if e.last_known_state == metadata_store_pb2.Execution.FAILED]
                    + abandoned, key=lambda e: e.id)
    started = min((e.create_time_since_epoch for e in executions), default=run.create_time_since_epoch)
    ended = max((run_summary.last_update(e) for e in executions), default=started)
    gate_states = summary.node_states.get("DataGate", [])
    failed_node = run_summary.node_of(store, failed[-1].id) if failed else None
    gate_failed = failed_node == "DataGate"
    verdict = gate_failed and _gate_verdict(failed[-1])
    gate = ("FAILED" if verdict else "error" if gate_failed and not abandoned  # it crashed
            else "passed" if {"executed", "cached"} & set(gate_states) else "not run")  # nor finished: stopped
    # Every run ends with the Pusher; one that has not run it, and did not fail, was killed between
    # two components (no execution left unfinished to show it).
    finished = any(state in ("executed", "cached") for state in summary.node_states.get("Pusher", []))
    status = ("running" if running else "abandoned" if abandoned else "stopped by gate"
              if gate == "FAILED" else "refused" if failed_node == run_summary.INPUT_CHECK
              else "failed" if failed else "ok" if finished else "abandoned")
    spans = {a.custom_properties["span"].int_value for a in examples} or {
        e.custom_properties[run_summary.REFUSED_SPAN].int_value for e in failed
        if run_summary.REFUSED_SPAN in e.custom_properties}
    values, changes = listed_metrics(summary.listed, summary.evaluation_uri)
    return RunRecord(
        run_id=run_id,
        started=datetime.datetime.fromtimestamp(started / 1000),
        seconds=(ended - started) / 1000,
        status=status,
        spans=sorted(spans),
        gate=gate,
        model_id=summary.model_id or next(
            (a.id for a in node_outputs(store, run_id, "Trainer").get("Model", [])), None),
        failed_node=failed_node,
        failure=failed[-1].custom_properties[run_summary.FAILURE_REASON].string_value
        if failed and run_summary.FAILURE_REASON in failed[-1].custom_properties else "",
        summary=summary,
        values=values,
        changes=changes,
        excluded_spans=tuple(sorted({a.custom_properties["span"].int_value for a in examples if a.id in excluded})),
    )


def listed_metrics(listed: Optional[Dict[str, Dict[str, float]]], evaluation_uri: Optional[str]
                   ) -> Tuple[Dict[str, float], Dict[str, float]]:
    """A candidate's listed metrics and their changes, as the Evaluator recorded them (`listed`: its
    run_summary.Candidate's); for an evaluation made before it did, and not recorded since
    (`run_details.record_listed`, after each run), read from TFMA's files at `evaluation_uri`."""
    if listed is None and evaluation_uri:
        from pipeline import evaluation  # pylint: disable=import-outside-toplevel  (TFMA: older runs only)

        listed = json.loads(evaluation.listed(evaluation.load(evaluation_uri)))
    return (listed["values"], listed["changes"]) if listed else ({}, {})


def records(store: mlmd.MetadataStore, pipeline_name: str, running_run_id: Optional[str] = None,
            newest: Optional[int] = None) -> List[RunRecord]:
    """Every run of the pipeline (or the `newest` ones), newest first."""
    run_ids = run_summary.run_ids(store, pipeline_name)[::-1][:newest]
    excluded = excluded_spans.reasons(store)
    return [record(store, run_id, running_run_id, excluded=excluded) for run_id in run_ids]


def span_text(spans: List[int], starred: Tuple[int, ...] = ()) -> str:
    """Spans as ranges, so a run with a training window stays one short cell: [1, 2, 3, 5] -> "1-3,5";
    a `starred` span stands alone, starred: [1, 2, 3, 5] with 2 starred -> "1,2*,3,5"."""
    ranges: List[List[int]] = []
    for span in sorted(spans):
        if ranges and span == ranges[-1][-1] + 1 and span not in starred and ranges[-1][-1] not in starred:
            ranges[-1].append(span)
        else:
            ranges.append([span])
    return ",".join(f"{r[0]}*" if r[0] in starred else f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(map(str, r))
                    for r in ranges) or "-"


def _metric_cell(run: RunRecord, name: str) -> str:
    if name not in run.values:
        return "-"
    change = f" ({metrics.shown(name, run.changes[name], 3, change=True)})" if name in run.changes else ""
    return f"{metrics.shown(name, run.values[name], 3)}{change}"


def render_table(runs: List[RunRecord], task: Task) -> str:
    """One row per run; the metric columns are the task's main metric and the skill over the naive
    baseline (changes against the served model in brackets), each as wide as its widest cell; a span
    taken out of use since (`tfxpipe exclude-span`) is starred, and a line under the table says so."""
    shown = metrics.key_metrics(task)
    columns = (shown[0], metrics.SKILL)
    cells = [[_metric_cell(run, name) for name in columns] for run in runs]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    spans = [span_text(run.spans, run.excluded_spans) for run in runs]
    span_width = max([5, *map(len, spans)])  # a training window with a starred span is wider
    header = (f"{'run id':<28} {'started':<19} {'secs':>6}  {'status':<9} {'span':<{span_width}} {'gate':<7} {'model':<7} "
              f"{columns[0]:<{widths[0]}} {columns[1]:<{widths[1]}} {'blessed':<7} pushed")
    lines = [header, "-" * len(header)]
    for run, shown_spans, (main, skill) in zip(runs, spans, cells):
        blessed = "-" if run.blessed is None else "yes" if run.blessed else "NO"
        outcome = run.pushed_text or ("refused before it started" if run.status == "refused" else
                                         f"{ended_at(run)} {run.failed_node}" if run.failed_node else "-")
        lines.append(
            f"{run.run_id:<28} {run.started:%Y-%m-%d %H:%M:%S} {run.seconds:>6.1f}  "
            f"{run.status.replace('stopped by gate', 'stopped'):<9} "
            f"{shown_spans:<{span_width}} {run.gate:<7} "
            f"{('#' + str(run.model_id)) if run.model_id else '-':<7} {main:<{widths[0]}} "
            f"{skill:<{widths[1]}} {blessed:<7} {outcome}")
    if any(run.excluded_spans for run in runs):
        lines.append(EXCLUDED_NOTE)
    return "\n".join(lines)


EXCLUDED_NOTE = ("* span excluded by hand since (`tfxpipe runs show RUN_ID` says why): no drift reference or "
                 "training window takes it")
