"""One self-contained HTML page per run (no Jupyter, no network): data statistics and the gate's
verdict, evaluation overall and by slice against the baseline, the blessing with the thresholds that
decided it, infra validation, the pushed version and the lineage."""
import html
import json
import os
from typing import List, Optional

import tensorflow as tf
import tensorflow_data_validation as tfdv
from tfx.utils import proto_utils

from models.dataset import Task
from pipeline import evaluation, evaluator, lineage, metrics, report_charts, report_data, run_details, run_summary, runs
from schema import report

_DECISION = "<p id='decision' class='{cls}'>{text}</p>"


CHARTS_CACHE = ".distributions.json"  # the data charts last drawn (report_data.distributions)


def path_for(report_dir: str, run_id: str) -> str:
    return os.path.join(report_dir, "runs", run_id.replace(":", "-") + ".html")


def without_page(store, report_dir: str, pipeline_name: str, at_most: int = 10) -> List[str]:
    """The pipeline's latest runs that have no report page (their processes were killed before
    writing one), up to the newest run that has one and at most `at_most`, oldest first."""
    missing = []
    for run_id in reversed(run_summary.run_ids(store, pipeline_name)[-at_most:]):
        if tf.io.gfile.exists(path_for(report_dir, run_id)):  # a work dir on an object store too
            break
        missing.append(run_id)
    return missing[::-1]


def _statistics(store, run_id: str) -> List[str]:
    artifacts = runs.node_outputs(store, run_id, "StatisticsGen").get("ExampleStatistics", [])
    if not artifacts:
        return ["<p>No statistics in this run.</p>"]
    path = os.path.join(artifacts[0].uri, "Split-train", "FeatureStats.pb")
    if not tf.io.gfile.exists(path):
        return [f"<p>Statistics not found at {html.escape(path)}.</p>"]
    return report.statistics_table(tfdv.load_stats_binary(path), "train split")


def _thresholds(store, run_id: str) -> List[str]:
    """The thresholds as the Evaluator was configured in this run (its eval_config property)."""
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    for execution in store.get_executions_by_context(run.id):
        if (run_summary.node_of(store, execution.id).startswith("Evaluator")
                and "eval_config" in execution.custom_properties):
            config = json.loads(proto_utils.proto_to_json(
                evaluator.decode(execution.custom_properties["eval_config"].string_value)))
            rows = []
            for spec in config.get("metrics_specs", []):
                for metric in spec.get("metrics", []):
                    for per_slice in metric.get("per_slice_thresholds", []):
                        threshold = per_slice.get("threshold", {})
                        name = json.loads(metric.get("config") or "{}").get("name",
                                                                            metric["class_name"])
                        rows += [report.row([name, text]) for text in _bound_texts(threshold)]
            return ["<table id='thresholds'>", report.row(["metric", "threshold"], "th"), *rows,
                    "</table>"]
    return ["<p>No evaluation in this run.</p>"]


def _bound_texts(threshold: dict) -> List[str]:
    """TFMA's threshold (as JSON) in words: ">= 0.7", "change vs the served model >= -0.01"."""
    texts = []
    value = threshold.get("value_threshold", {})
    if "lower_bound" in value:
        texts.append(f">= {value['lower_bound']}")
    if "upper_bound" in value:
        texts.append(f"<= {value['upper_bound']}")
    change = threshold.get("change_threshold", {})
    if "absolute" in change:
        texts.append(f"change vs the served model >= {change['absolute']}")
    if "relative" in change:
        texts.append(f"at most {float(change['relative']):.0%} worse than the served model")
    return texts


def _metrics(result: Optional[evaluation.Evaluation], task: Task) -> List[str]:
    if result is None:
        return ["<p>The model was not evaluated in this run.</p>"]
    out = ["<table id='metrics'>", report.row(["metric", "candidate", "baseline", "change"], "th")]
    for name, value in sorted(result.overall.items()):
        out.append(report.row([name, metrics.shown(name, value), metrics.shown(name, result.baseline.get(name)),
                               metrics.shown(name, result.change.get(name), change=True)]))
    if not result.by_slice:
        return out + ["</table><p>No metric by slice: features named under `slices:` in dataset.yaml "
                      "get each metric per value.</p>"]
    out.append("</table><h3>By slice</h3><table id='slices'>")
    names = list(metrics.key_metrics(task))
    out.append(report.row(["slice", *names], "th"))
    for slice_name, values in result.by_slice:
        out.append(report.row([slice_name, *(metrics.shown(n, values.get(n)) for n in names)]))
    out.append("</table>")
    return out


def _threshold_table(curve) -> List[str]:
    """Precision, recall and false positive rate at round thresholds (TFMA's nearest below)."""
    out = ["<table id='threshold-table'>",
           report.row(["threshold", "precision", "recall", "false positive rate"], "th")]
    for wanted in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        i = max(i for i, t in enumerate(curve.threshold) if t <= wanted + 1e-9)
        out.append(report.row([f"{wanted:.1f}", *(metrics.shown("rate", rate) for rate in curve.rates(i))]))
    return out + ["</table>"]


def _warnings(result: Optional[evaluation.Evaluation], classes) -> List[str]:
    shown = evaluation.warnings(result, classes) if result else {}
    return [f"<p class='warning' id='{name}'>{html.escape(text)}</p>" for name, text in shown.items()]


def _charts(result: Optional[evaluation.Evaluation], task: Task, classes) -> List[str]:
    """The model's pictures, from TFMA's plots and metrics (pipeline/report_charts.py)."""
    if result is None:
        return []
    plots = result.plots.get(evaluation.OVERALL)
    out = ["<div class='charts'>"]
    if plots and task is Task.BINARY and plots.thresholds.tp:
        out += report_charts.roc_and_precision_recall(plots.thresholds)
    if plots and plots.calibration:
        out += report_charts.calibration(plots.calibration, regression=task is Task.REGRESSION)
    if plots and task is Task.MULTICLASS and plots.confusion:
        out.append(report_charts.confusion_matrix(plots.confusion, classes))
    main = metrics.MAIN_METRIC[task]
    if result.by_slice:
        out.append(report_charts.slice_bars(main, [(name, values.get(main))
                                                   for name, values in result.by_slice]))
    shown = [n for n in metrics.key_metrics(task) if n in result.overall and n != "example_count"]
    if result.baseline and shown:
        out.append(report_charts.candidate_vs_baseline(
            shown, [result.overall[n] for n in shown], [result.baseline.get(n) for n in shown]))
    out.append("</div>")
    if plots and task is Task.BINARY and plots.thresholds.tp:
        out += ["<h3>Thresholds</h3>", *_threshold_table(plots.thresholds)]
    return out


def _candidates(record: runs.RunRecord, task: Task) -> List[str]:
    """Every candidate's key metrics side by side, which was chosen and why; the tuning trials."""
    candidates = record.summary.candidates
    out = []
    if len(candidates) > 1:
        names = list(metrics.key_metrics(task))
        out += ["<h2>Candidates</h2>", f"<p id='choice'>{html.escape(record.summary.choice)}</p>",
                "<table id='candidates'>", report.row(["candidate", *names, "blessed", "chosen"], "th")]
        for candidate in candidates:
            values, _ = runs.listed_metrics(candidate.listed, candidate.evaluation_uri)
            out.append(report.row([candidate.name,
                                   *(metrics.shown(n, values[n]) if n in values else "-" for n in names),
                                   "yes" if candidate.blessed else "NO",
                                   "yes" if candidate.chosen else ""]))
        out.append("</table>")
    for family, trials in record.tuning.items():
        keys = sorted({k for trial in trials for k in trial} - {"trial_id", "score"})
        out += [f"<h2>Tuning: {html.escape(family)}</h2>", f"<p>{html.escape(run_details.objective_text(task))}</p>",
                f"<table class='trials' id='trials-{html.escape(family)}'>",
                report.row(["trial", "objective", *keys], "th")]
        out += [report.row([t["trial_id"], f"{t['score']:.4f}",
                            *(run_details.value_text(t[k]) if k in t else "-" for k in keys)]) for t in trials]
        out.append("</table>")
    return out


def write(store, record: runs.RunRecord, report_dir: str, dataset) -> str:
    """The run's self-contained HTML report; `record` (run_details.record) carries what MLMD and TFMA hold."""
    run_id, task = record.run_id, dataset.task
    summary, result = record.summary, record.evaluation
    if record.blessed:
        decision = _DECISION.format(cls="pass", text="Blessed: the model met every threshold.")
    elif record.blessed is False:
        reasons = "; ".join(result.failures) if result else ""
        decision = _DECISION.format(cls="fail", text=html.escape(f"NOT blessed: {reasons}"))
    else:
        decision = _DECISION.format(cls="fail", text="No blessing decision: the run stopped earlier.")
    if record.pushed_version:
        pushed = f"Pushed version <b id='pushed'>{html.escape(record.pushed_version)}</b> to " \
                 f"{html.escape(summary.pushed_destination or '')}."
    else:
        pushed = "<span id='pushed'>Nothing pushed</span>; the served model is unchanged."
    infra = ("-" if summary.infra_blessed is None else "passed" if summary.infra_blessed
             else f"skipped: {summary.infra_failure[len(run_summary.NOT_VALIDATED):]}"
             if summary.infra_failure.startswith(run_summary.NOT_VALIDATED) else f"FAILED: {summary.infra_failure}")
    let_through = run_details.let_through_note(summary.let_through)
    title = f"Pipeline run {run_id}"
    charts_cache = os.path.join(os.path.dirname(path_for(report_dir, run_id)), CHARTS_CACHE)
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{report.STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        "<table id='summary'>",
        report.row(["started", f"{record.started:%Y-%m-%d %H:%M:%S}"]),
        report.row(["duration", f"{record.seconds:.1f} s"]),
        report.row(["data span(s)", runs.span_text(record.spans, record.excluded_spans) + (
            f": trained on these, evaluated on span {record.evaluated_span}" if len(record.spans) > 1 else "")
            + (f" ({runs.EXCLUDED_NOTE})" if record.excluded_spans else "")]),
        report.row(["status", record.status]),
        report.row(["data gate", record.gate]),
        report.row([runs.ended_at(record), record.failed_node or "-"]),
        report.row(["infra validation", infra]),
        "</table>",
        *([f"<h2>Why {html.escape(record.failed_node)} "
           f"{'did not finish' if record.status == 'abandoned' else 'failed'}</h2>",
           f"<pre id='failure'>{html.escape(record.failure)}</pre>"] if record.failure else []),
        "<h2>Blessing</h2>", decision, *_thresholds(store, run_id), *_candidates(record, task),
        f"<h2>Push</h2><p>{pushed}</p>",
        "<h2>Evaluation (eval split)</h2>", *_warnings(result, dataset.label.classes),
        *([f"<p class='warning' id='not-compared'>{html.escape(record.not_compared)}</p>"]
          if record.not_compared else []),
        *([f"<p class='warning' id='served-read-gone'>"
           f"{html.escape(run_details.served_read_gone_note(record.served_read_gone, task, result))}</p>"]
          if record.served_read_gone else []),
        *_charts(result, task, dataset.label.classes),
        *_metrics(result, task),
        "<h2>Data</h2>",
        *([f"<p class='warning' id='let-through'>{html.escape(let_through)}</p>"] if let_through else []),
        *report_data.distributions(store, run_id, charts_cache),
        *_statistics(store, run_id),
        f"<h2>Lineage</h2><pre>{html.escape(lineage.text(store, run_id))}</pre>",
        "</body></html>",
    ]
    path = path_for(report_dir, run_id)
    report.write_atomically(path, "\n".join(parts))
    return path
