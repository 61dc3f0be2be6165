"""Runs the pipeline on this machine with TFX's LocalDagRunner (Beam runner: the profile's)."""
import os
import time
from typing import Optional

import tensorflow_data_validation as tfdv
import tensorflow_model_analysis as tfma
from absl import logging as absl_logging
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from pipeline import gate, progress, run_summary
from pipeline.configs import PipelineConfig
from pipeline.pipeline import create_pipeline
from schema import checks, report


class PipelineFailed(RuntimeError):
    pass


def check_inputs(config: PipelineConfig) -> None:
    """Fails before any component runs when the schema is missing or the data cannot be parsed as
    CSV at all (TFX's reader would crash on it); the gate checks everything else in the pipeline."""
    if not os.path.isfile(config.schema_file):
        raise PipelineFailed(f"schema file {config.schema_file} does not exist")
    if not os.path.isdir(config.data_root):
        raise PipelineFailed(f"data folder {config.data_root} does not exist")
    spans = checks.spans(config.data_root)
    folder = spans[-1][1] if spans else config.data_root
    columns = checks.expected_columns(tfdv.load_schema_text(config.schema_file))
    findings = checks.check_csv_folder(folder, columns)
    if findings:
        title = f"Data validation of {folder}"
        path = report.write_html(os.path.join(config.report_dir, gate.REPORT_FILE), findings, title)
        raise PipelineFailed(
            "the data was rejected before the pipeline started:\n"
            + report.render_text(findings, title, path)
        )


def run(config: PipelineConfig) -> run_summary.RunSummary:
    """Runs every component (cached ones are reused) and returns what the run did, from MLMD."""
    config = config.resolved()
    check_inputs(config)
    os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
    handler = progress.ComponentProgress()
    absl_logger = absl_logging.get_absl_logger()
    absl_logger.addHandler(handler)
    try:
        LocalDagRunner().run(create_pipeline(config))
    except checks.DataValidationError as error:
        run_summary.record_failure(
            run_summary.open_store(config.metadata_path, writable=True),
            config.pipeline_name, gate.DataGate.__name__, str(error),
        )
        raise PipelineFailed(f"the data gate stopped the run before Transform:\n{error}") from error
    except Exception as error:  # TFX re-raises the component's own error
        where = handler.report_failure() or "pipeline failed"
        raise PipelineFailed(f"{where}: {type(error).__name__}: {error}") from error
    finally:
        absl_logger.removeHandler(handler)
    return run_summary.summarize(run_summary.open_store(config.metadata_path))


def overall_metrics(evaluation_uri: Optional[str]) -> dict:
    """Overall-slice metric values (AUC, accuracy, ...) of an Evaluator output, by metric name."""
    if not evaluation_uri:
        return {}
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        if not slice_metrics.slice_key.single_slice_keys:
            return {
                entry.key.name: entry.value.double_value.value
                for entry in slice_metrics.metric_keys_and_values
                if not entry.key.is_diff and entry.key.model_name in ("", "candidate")
            }
    return {}


def describe(summary: run_summary.RunSummary, config: PipelineConfig, seconds: float) -> str:
    config = config.resolved()
    states = [s for node in summary.node_states.values() for s in node]
    lines = [
        f"Run {summary.run_id} finished in {seconds:.1f} s: "
        f"{states.count('executed')} components executed, {states.count('cached')} cached."
    ]
    metrics = overall_metrics(summary.evaluation_uri)
    if metrics:
        shown = ", ".join(
            f"{name} {metrics[name]:.3f}"
            for name in ("auc", "binary_accuracy", "calibration", "example_count")
            if name in metrics
        )
        lines.append(f"Evaluation (eval split, candidate model): {shown}")
    if summary.blessed is not None:
        lines.append(
            "Blessed: yes" if summary.blessed else
            f"Blessed: NO (needs binary_accuracy >= {config.min_accuracy} and at most "
            f"{config.max_accuracy_drop} below the baseline model)"
        )
    if summary.blessed and summary.infra_blessed is not None:
        lines.append("Infra validation: served and answered gRPC and REST requests"
                      if summary.infra_blessed else f"Infra validation: FAILED ({summary.infra_failure})")
    pusher_cached = summary.node_states.get("Pusher") == ["cached"]
    if summary.pushed and pusher_cached:
        lines.append(
            f"Serving: unchanged inputs, nothing new pushed; version {summary.pushed_version} "
            f"at {summary.pushed_destination} is current."
        )
    elif summary.pushed:
        lines.append(f"Pushed model version {summary.pushed_version} to {summary.pushed_destination}")
    else:
        lines.append(f"Nothing pushed; the serving directory {config.model_base} is unchanged.")
    return "\n".join(lines)


def run_and_describe(config: PipelineConfig) -> run_summary.RunSummary:
    started = time.monotonic()
    print(f"Running pipeline '{config.pipeline_name}' on {config.resolved().data_root}", flush=True)
    summary = run(config)
    print(describe(summary, config, time.monotonic() - started), flush=True)
    return summary
