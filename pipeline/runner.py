"""Runs the pipeline on this machine with TFX's LocalDagRunner (Beam runner: the profile's)."""
import os
import time
from typing import Optional, Tuple

import tensorflow_data_validation as tfdv
from absl import logging as absl_logging
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from pipeline import gate, metrics, progress, run_report, run_summary, runs
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
    if not os.path.exists(config.data_root):
        raise PipelineFailed(f"data {config.data_root} does not exist: give a CSV file or a folder "
                             "of CSV files (--data, or `data` in the dataset's declaration)")
    folder, _ = checks.latest_and_previous(config.data_root)
    columns = checks.expected_columns(tfdv.load_schema_text(config.schema_file))
    findings = checks.check_csv_path(folder, columns, config.dataset().name)
    if findings:
        title = f"Data validation of {folder}"
        path = report.write_html(os.path.join(config.report_dir, gate.REPORT_FILE), findings, title)
        raise PipelineFailed(
            "the data was rejected before the pipeline started:\n"
            + report.render_text(findings, title, path)
        )


def resume_options(config: PipelineConfig) -> tfx_pipeline.RunOptions:
    """TFX partial run from the component that failed in the latest run: the components before it
    are not run again, their outputs are taken from that run (TFX's snapshot of it)."""
    store = (run_summary.open_store(config.metadata_path)
             if os.path.exists(config.metadata_path) else None)
    if store is None or not run_summary.run_ids(store):
        raise PipelineFailed(f"no runs recorded in {config.metadata_path}: nothing to resume")
    latest = runs.record(store, run_summary.run_ids(store)[-1])
    if latest.failed_node is None:
        raise PipelineFailed(f"the latest run {latest.run_id} did not fail: nothing to resume")
    if latest.failed_node == gate.DataGate.__name__:
        raise PipelineFailed("the latest run was stopped by the data gate: fix the data and run again")
    print(f"Resuming run {latest.run_id} from {latest.failed_node}", flush=True)
    return tfx_pipeline.RunOptions(from_nodes=[latest.failed_node])


def run(config: PipelineConfig, resume: bool = False) -> None:
    """Runs every component (cached ones are reused); what the run did is then in MLMD.
    `resume`: only the latest run's failed component and those after it."""
    config = config.resolved()
    check_inputs(config)
    run_options = resume_options(config) if resume else None
    os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
    handler = progress.ComponentProgress()
    absl_logger = absl_logging.get_absl_logger()
    absl_logger.addHandler(handler)
    try:
        LocalDagRunner().run(create_pipeline(config), run_options=run_options)
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


def describe(record: runs.RunRecord, config: PipelineConfig, seconds: float) -> str:
    config = config.resolved()
    summary, result = record.summary, record.evaluation
    states = [s for node in summary.node_states.values() for s in node]
    lines = [
        f"Run {summary.run_id} finished in {seconds:.1f} s: "
        f"{states.count('executed')} components executed, {states.count('cached')} cached."
    ]
    if result:
        shown = ", ".join(
            f"{name} {result.overall[name]:.3f}"
            + (f" ({result.change[name]:+.3f} vs baseline)" if name in result.change else "")
            for name in metrics.key_metrics(config.dataset().task) if name in result.overall
        )
        lines.append(f"Evaluation (eval split, candidate model): {shown}")
    if summary.blessed is not None:
        lines.append("Blessed: yes" if summary.blessed else
                     "Blessed: NO: " + ("; ".join(result.failures) if result else "not evaluated"))
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


def write_run_report(config: PipelineConfig) -> Optional[str]:
    """The latest run's HTML report (pipeline/run_report.py), when a run was recorded."""
    latest = _latest_record(config)
    return run_report.write(*latest, config.report_dir, config.dataset().task) if latest else None


def _latest_record(config: PipelineConfig) -> Optional[Tuple[object, runs.RunRecord]]:
    """The MLMD store and the latest run's record (summary and TFMA results, read once)."""
    config = config.resolved()
    if not os.path.exists(config.metadata_path):
        return None
    store = run_summary.open_store(config.metadata_path)
    ids = run_summary.run_ids(store)
    return (store, runs.record(store, ids[-1])) if ids else None


def run_and_describe(config: PipelineConfig, resume: bool = False) -> runs.RunRecord:
    started = time.monotonic()
    resolved = config.resolved()
    print(f"Running pipeline '{resolved.pipeline_name}' on {resolved.data_root} (Beam profile "
          f"{resolved.profile})", flush=True)
    try:
        run(config, resume)
    except PipelineFailed as error:
        started_run = "the data was rejected before the pipeline started" not in str(error)
        path = write_run_report(config) if started_run else None
        raise PipelineFailed(f"{error}\nRun report: {path}" if path else str(error)) from error
    store, record = _latest_record(config)
    print(describe(record, resolved, time.monotonic() - started), flush=True)
    print(f"Run report: {run_report.write(store, record, resolved.report_dir, resolved.dataset().task)}",
          flush=True)
    return record
