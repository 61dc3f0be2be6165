"""One run in full, for `tfxpipe runs show`, the run summary and the run report: the chosen
candidate's whole TFMA evaluation (per slice, failed thresholds, plots), the tuning trials, each
candidate's metrics, and why the served model was not the baseline. These load TensorFlow, TFX and
TFMA, which listing runs (`pipeline/runs.py`) does without."""
import dataclasses
import json
import math
import os
import sys
from typing import Dict, List, Optional, Tuple

import ml_metadata as mlmd
import tensorflow as tf

from models import tuning
from models.dataset import Task
from pipeline import evaluation, metadata_store, metrics, model_contract, resolvers, run_summary, runs
from pipeline.configs import PipelineConfig, dataset_flag
from schema import report
from serving import model_dir, rollback


def record(store: mlmd.MetadataStore, run_id: str, running_run_id: Optional[str] = None) -> runs.RunRecord:
    """What run `run_id` did (runs.record), with its evaluation, tuning and baseline in full."""
    listed = runs.record(store, run_id, running_run_id)
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    result = evaluation.load(listed.summary.evaluation_uri)
    candidates = [c.model_id for c in listed.summary.candidates if c.model_id is not None]
    return dataclasses.replace(
        listed,
        evaluation=result,
        tuning=tuning_trials(store, run_id, list(listed.summary.node_states)),
        not_compared=resolvers.why_no_baseline(  # a blessing from before `current_model_id` names none
            store, run.id, candidates) if result and not result.change else "",
        served_read_gone=_served_read_gone(store, run.id, candidates) if result and result.refused_by_change else ())


def record_listed(metadata_uri: str, pipeline_name: str) -> int:
    """Records the listed metrics (run_summary.LISTED_METRICS) on each of the pipeline's evaluations
    made before the Evaluator recorded them, from TFMA's files, once, so `tfxpipe runs` lists those
    runs without loading TFMA; returns how many it recorded. One whose files cannot be read now (gone,
    or on a storage this machine cannot reach) is left as it is, read from its files as before, and
    a store that cannot be written says so and ends nothing: this only saves `runs` time."""
    recorded = 0
    try:
        store = metadata_store.open_store(metadata_uri, writable=True)
        pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
        evaluation_type = {t.name: t.id for t in store.get_artifact_types()}.get("ModelEvaluation")
        older = [a for a in store.get_artifacts_by_context(pipeline.id)
                 if a.type_id == evaluation_type and run_summary.LISTED_METRICS not in a.custom_properties
                 ] if pipeline else []
        for artifact in older:
            try:
                result = evaluation.load(artifact.uri)
            except Exception:  # pylint: disable=broad-except  (TFMA's readers fail in many ways on partial files)
                result = None
            if result is None:
                continue
            artifact.custom_properties[run_summary.LISTED_METRICS].string_value = evaluation.listed(result)
            store.put_artifacts([artifact])  # each as it is read: a later failure keeps what was done
            recorded += 1
    except Exception as error:  # pylint: disable=broad-except  (never the run's end: see above)
        print(f"warning: older evaluations' metrics not recorded in ML Metadata ({type(error).__name__}: "
              f"{error}); `tfxpipe runs` reads them from their files", file=sys.stderr)
    return recorded


def _served_read_gone(store: mlmd.MetadataStore, run_context_id: int, candidates: List[int]) -> Tuple[str, ...]:
    served = resolvers.served_model_id(store, run_context_id, candidates)
    return tuple(model_contract.features_gone(store, served, candidates[0])) if served is not None else ()


def served_read_gone_note(names: Tuple[str, ...], task: Task,
                          result: Optional[evaluation.Evaluation] = None) -> str:
    """What to do when the served model that refused this run's candidate read features since taken
    out of the declaration: an honest model may never reach one that read a copy of the label."""
    return (f"note: the served model read {', '.join(names)}, which dataset.yaml no longer declares. If that was "
            "a copy of the label, the served model is no fair bar: replace it by running once with "
            f"`--max-drop {max_drop_any_passes(task, result)}` (any drop this run saw then passes; the other "
            "thresholds still hold), then without.")


def max_drop_any_passes(task: Task, result: Optional[evaluation.Evaluation]) -> str:
    """A --max-drop the refused change passes: for classes the drop is absolute (at most 1); for
    regression the rise of the error is relative to the served model's, so twice the one seen, as
    the next power of ten (a large one when the served error is unknown; at 0 no relative bound
    passes, as TFMA divides by it)."""
    if task.is_classification:
        return "1"
    main = metrics.MAIN_METRIC[task]
    served, change = (result.baseline.get(main), result.change.get(main)) if result else (None, None)
    if not served or change is None or served <= 0:
        return "1000000"
    return f"{10 ** math.ceil(math.log10(max(2 * change / served, 1.0))):g}"


def tuning_trials(store: mlmd.MetadataStore, run_id: str, nodes: List[str]) -> Dict[str, List[Dict]]:
    """Each Tuner's trials in the run: family -> KerasTuner's records (trial_id, score and the
    hyperparameters), best first, as TFX's Tuner writes them to its TunerResults artifact."""
    found = {}
    for node in (n for n in nodes if n.startswith("Tuner")):
        outputs = runs.node_outputs(store, run_id, node)
        best = outputs.get("HyperParameters", [])
        results = outputs.get("TunerResults", [])
        if not best or not results:
            continue
        family = best[0].custom_properties["family"].string_value if "family" in \
            best[0].custom_properties else node
        path = os.path.join(results[0].uri, "tuner_results.json")
        if tf.io.gfile.exists(path):
            with tf.io.gfile.GFile(path) as f:
                found[family] = json.load(f)
    return found


def value_text(value) -> str:
    """A hyperparameter as shown: floats to 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _values(trial: Dict) -> str:
    return ", ".join(f"{k}={value_text(v)}" for k, v in trial.items() if k not in ("trial_id", "score"))


def objective_text(task: Task) -> str:
    """What a trial's score is: KerasTuner's objective for `task`, e.g. `val_loss, lower is better`."""
    objective = tuning.OBJECTIVE[task]
    return f"score: {objective.name}, {'higher' if objective.direction == 'max' else 'lower'} is better"


def selection_lines(record: runs.RunRecord, task: Task, every_trial: bool = False) -> List[str]:
    """The run's tuning (best trial, or `every_trial`) and its candidates side by side: which one
    won and why. For the run summary and `runs show`."""
    lines = []
    for family, trials in record.tuning.items():
        best = trials[0] if trials else {}
        lines.append(f"Tuning {family}: best of {len(trials)} trials scored "
                     f"{best.get('score', float('nan')):.4f} ({_values(best)}); {objective_text(task)}")
        if every_trial:
            lines += [f"  trial {t['trial_id']}: {t['score']:.4f} ({_values(t)})" for t in trials]
    candidates = record.summary.candidates
    if len(candidates) > 1:
        shown = metrics.key_metrics(task)
        for candidate in candidates:
            measured, _ = runs.listed_metrics(candidate.listed, candidate.evaluation_uri)
            values = ", ".join(f"{n} {metrics.shown(n, measured[n])}" for n in shown if n in measured)
            verdict = "blessed" if candidate.blessed else "NOT blessed"
            chosen = ", chosen" if candidate.chosen else ""
            lines.append(f"  {candidate.name}: {values} ({verdict}{chosen})")
        lines.append(f"Candidates: {record.summary.choice}")
    return lines


def let_through_note(recorded: str, shown: int = 3) -> Optional[str]:
    """The values the gate let through unsaid (run_summary.LET_THROUGH), a few per column, or None."""
    found = json.loads(recorded) if recorded else {}
    if not found.get("values"):
        return None
    more = {column: len(values) - shown + found.get("more", {}).get(column, 0)
            for column, values in found["values"].items()}
    told = "; ".join(
        f"{column}: " + ", ".join(f"{value!r} ({rows} of {found['rows']} rows)" for value, rows in values[:shown])
        + (f" and {more[column]} more" if more[column] > 0 else "")
        for column, values in found["values"].items())
    return (f"note: values the schema does not list, let through as few (their columns tolerate some): {told}. "
            "The model learned little of each, from those rows alone; if they are real values, `tfxpipe schema-diff "
            "--write` adds them to the schema, otherwise correct the data")


def summary_text(record: runs.RunRecord, config: PipelineConfig, seconds: float) -> str:
    """What a finished run prints: its components, the evaluation, the blessing, the push."""
    config = config.resolved()
    summary, result = record.summary, record.evaluation
    states = [s for node in summary.node_states.values() for s in node]
    lines = [
        f"Run {summary.run_id} finished in {seconds:.1f} s: "
        f"{states.count('executed')} components executed, {states.count('cached')} cached."
    ]
    note = let_through_note(summary.let_through)
    lines += [note] if note else []
    if config.train_spans > 1 and record.spans:
        lines.append(f"Trained on spans {runs.span_text(record.spans)} (window of {config.train_spans}); "
                     f"evaluated on span {record.evaluated_span}")
    if result:
        shown = ", ".join(
            f"{name} {metrics.shown(name, result.overall[name], 3)}"
            + (f" ({metrics.shown(name, result.change[name], 3, change=True)} vs baseline)"
               if name in result.change and name != "example_count" else "")
            for name in metrics.key_metrics(config.dataset().task) if name in result.overall
        )
        only = summary.candidates[0].name if len(summary.candidates) == 1 else "candidate model"
        chosen = next((c.name for c in summary.candidates if c.chosen), only)
        lines.append(f"Evaluation (eval split, {chosen}): {shown}")
        lines += evaluation.warnings(result, config.dataset().label.classes).values()
        lines += [record.not_compared] if record.not_compared else []
    lines += selection_lines(record, config.dataset().task)
    if summary.blessed is not None:
        lines.append("Blessed: yes" if summary.blessed else
                     "Blessed: NO: " + ("; ".join(result.failures) if result else "not evaluated"))
    if record.served_read_gone:
        lines.append(served_read_gone_note(record.served_read_gone, config.dataset().task, result))
    if summary.blessed and summary.infra_blessed is not None:
        lines.append("Infra validation: served and answered gRPC and REST requests"
                      if summary.infra_blessed else f"Infra validation: FAILED ({summary.infra_failure})")
    withdrawn = rollback.withdrawal_of(summary.pushed_destination) if summary.pushed else None
    if withdrawn:
        served = model_dir.versions(os.path.dirname(summary.pushed_destination))
        lines.append(
            ("Serving: unchanged inputs, nothing new pushed; this run's model is" if not summary.pushed_by_this_run
             else f"Pushed model version {summary.pushed_version} to {summary.pushed_destination}; rolled back since:")
            + f" {withdrawn.describe()}. " + (f"Version {served[-1]} is served." if served else "No version is served.")
        )
    elif summary.pushed and not summary.pushed_by_this_run:
        gone = "://" not in summary.pushed_destination and not os.path.isdir(summary.pushed_destination)
        served = model_dir.versions(os.path.dirname(summary.pushed_destination)) if gone else []
        lines.append(
            f"Serving: {'this run evaluated the model already served' if summary.already_served else 'unchanged inputs'}"
            f", nothing new pushed; version {summary.pushed_version} at {summary.pushed_destination} "
            + ("is current." if not gone else "is no longer there (removed since): "
               + (f"version {served[-1]} is served." if served else "no version is served."))
        )
    elif summary.pushed:
        lines.append(f"Pushed model version {summary.pushed_version} to {summary.pushed_destination}")
        if summary.removed_versions:
            lines.append(f"Removed the older version(s) {summary.removed_versions.replace(',', ', ')} "
                         "(--keep-versions): rolled-back and pinned versions stay.")
        if summary.removal_failed:
            lines.append(f"warning: older versions were not removed (--keep-versions): {summary.removal_failed}")
    elif summary.kept_back_by and summary.kept_back_version not in rollback.withdrawals(config.model_base):
        lines.append(f"Nothing pushed: the model chosen was {summary.kept_back_by}, since put back "
                     f"(`tfxpipe rollback --undo`); the serving directory {config.model_base} is unchanged.")
    elif summary.kept_back_by:
        lines.append(f"Nothing pushed: the model chosen is {summary.kept_back_by}, and a model rolled back is not "
                     f"pushed again; the serving directory {config.model_base} is unchanged. New data, or a change "
                     "to the model, trains another.")
    elif model_dir.versions(config.model_base):
        lines.append(f"Nothing pushed; the serving directory {config.model_base} is unchanged.")
    else:
        lines.append(f"Nothing pushed; no model is served from {config.model_base} yet.")
    return report.naming_dataset("\n".join(lines), dataset_flag(config.dataset_dir))  # its hints, for this dataset
