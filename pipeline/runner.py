"""Runs the pipeline on this machine with TFX's LocalDagRunner (Beam runner: the profile's)."""
import os
import sys
import time
from typing import List, Optional

from absl import logging as absl_logging
from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.compiler import compiler
from tfx.dsl.compiler import constants as tfx_constants
from tfx.orchestration import data_types_utils
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.portable import runtime_parameter_utils
from tfx.proto.orchestration import pipeline_pb2

from pipeline import (configs, excluded_spans, gate, metadata_server_fixes, metadata_store, older_data, progress,
                      resolvers, run_details, run_lock, run_report, run_summary, runs, runs_index, scratch, work_dir)
from pipeline.configs import PipelineConfig
from pipeline.pipeline import create_pipeline, example_gen_input
from schema import checks, csv_files, data_folder, declaration_fit, report, schema_text
from serving import model_dir


class PipelineFailed(RuntimeError):
    pass


FAILURE_CHARS = 4000  # of a component's error kept in MLMD (a traceback's message can be long)


def check_inputs(config: PipelineConfig) -> None:
    """Fails before any component runs when the schema is missing or does not fit the declaration,
    the serving dir cannot be written or serves a model this store's runs did not push (unless told
    to replace it), or the data cannot be parsed as CSV at all (TFX's reader
    would crash on it); the gate checks everything else in the pipeline."""
    if not os.path.isfile(config.schema_file):
        raise PipelineFailed(f"schema file {config.schema_file} does not exist")
    if not os.path.exists(config.data_root):
        raise PipelineFailed(f"data {config.data_root} does not exist: give a CSV file or a folder "
                             "of CSV files (--data, or `data` in the dataset's declaration)")
    curated, dataset = schema_text.read(config.schema_file), config.dataset()
    if disagreements := declaration_fit.mismatches(dataset, curated):
        raise PipelineFailed(f"the dataset's declaration and its schema {config.schema_file} "
                             "disagree:\n" + "\n".join(f"- {d}" for d in disagreements))
    if label_note := declaration_fit.float_class_label(dataset, curated):
        print(f"warning: {label_note}", file=sys.stderr)
    folder, _ = data_folder.latest_and_previous(config.data_root)
    findings = csv_files.check_against_schema(folder, curated, dataset.name, dataset.read_columns())
    if findings:
        title, span = f"Data validation of {folder}", data_folder.span_of(config.data_root, folder)
        report.write_html(os.path.join(config.report_dir, gate.REPORT_FILE), findings, title)  # the latest
        path = report.write_html(gate.refusal_page(config.report_dir, span), findings, title)  # named, kept
        raise PipelineFailed(
            "the data was rejected before the pipeline started:\n"
            + report.render_text(findings, title, path, next_steps=report.FILE_NEXT_STEPS)
        )
    if refused := (model_dir.unwritable(config.model_base) or work_dir.unrecorded_served_refusal(
            config.metadata_uri, config.model_base, config.replace_unrecorded_model)):
        raise PipelineFailed(refused)
    base, input_config = example_gen_input(config)
    spans = "{SPAN}" in input_config.splits[0].pattern
    store = metadata_store.open_store(config.metadata_uri) if metadata_store.exists(config.metadata_uri) else None
    found = data_folder.spans(base) if spans else []  # local data: a cluster path is refused above
    if store is not None and (found or not spans):
        if older := older_data.refusal(store, config, found[-1][0] if found else 0, base if spans else config.data_root):
            raise PipelineFailed(older)
    if spans and store is not None:
        if excluded := excluded_spans.refusal(store, base, input_config, configs.store_options(config)):
            raise PipelineFailed(excluded)
        skipped = (excluded_spans.passed_over_warning(store, base, resolvers.accepted_spans(store, base))
                   if not configs.is_remote(base) else None)
        if skipped:
            print(skipped, file=sys.stderr)


class _LocalRunWithId(LocalDagRunner):
    """TFX's LocalDagRunner names a run by the time it starts inside `run_with_ir`; this one takes
    the id chosen before the run, so the lock, the summary, the report and `runs` all name the run
    they belong to, never "the latest run"."""

    def __init__(self, run_id: str):
        super().__init__()
        self._run_id = run_id

    def run_with_ir(self, pipeline: pipeline_pb2.Pipeline,
                    run_options: Optional[pipeline_pb2.RunOptions] = None) -> None:
        runtime_parameter_utils.substitute_runtime_parameter(
            pipeline, {tfx_constants.PIPELINE_RUN_ID_PARAMETER_NAME: self._run_id})
        super().run_with_ir(pipeline, run_options)


def resume_options(config: PipelineConfig) -> tfx_pipeline.RunOptions:
    """TFX partial run from the component that failed (or was abandoned by a killed process) in the
    latest run, and from any component the fix changed or the run had not run (`resume_starts`): the
    other components before them are not run again, their outputs are taken from that run (TFX's
    snapshot of it)."""
    where = metadata_store.redacted(config.metadata_uri)
    store = (metadata_store.open_store(config.metadata_uri)
             if metadata_store.exists(config.metadata_uri) else None)
    # a run refused before it started ran nothing to resume from, and may be a refused resume
    recorded = reversed(run_summary.run_ids(store, config.pipeline_name)) if store is not None else ()
    started = (record for record in (runs.record(store, run_id) for run_id in recorded) if record.status != "refused")
    latest = next(started, None)
    if latest is None:
        raise PipelineFailed(f"no run that started is recorded in {where}: nothing to resume")
    if latest.failed_node is None and latest.status != "abandoned":
        raise PipelineFailed(f"the latest run that started, {latest.run_id}, did not fail: nothing to resume")
    if latest.status == "stopped by gate":
        raise PipelineFailed("the latest run was stopped by the data gate, which reads the data again: "
                             "correct the data, or accept a real change in the schema (the run's report "
                             "says which: `tfxpipe schema-diff`, a drift threshold), then `tfxpipe run`")
    if latest.excluded_spans:
        raise PipelineFailed(
            f"run {latest.run_id} read span(s) {runs.span_text(latest.excluded_spans)}, excluded by hand since "
            "(`tfxpipe runs show` says why): a resume would reuse what was made from them; `tfxpipe run` "
            "(unchanged components come from its cache) trains without them")
    starts = resume_starts(store, config, latest.failed_node, latest.run_id)
    if not starts:
        raise PipelineFailed(f"run {latest.run_id} ran every component: nothing to resume")
    if latest.failed_node is None:  # killed between two components
        why = " (the components it had not run, or whose settings changed since)"
    else:
        why = ("" if starts == [latest.failed_node] else f" ({latest.failed_node} failed; the others had not "
               "run in it, or their settings changed since)")
    print(f"Resuming run {latest.run_id} from {', '.join(starts)}{why}", flush=True)
    return tfx_pipeline.RunOptions(from_nodes=starts, base_pipeline_run_id=latest.run_id)


# Recorded as the component's driver resolved it, not as compiled: ExampleGen's `span-{SPAN}/*`
# pattern is recorded as `span-2/*`.
DRIVER_RESOLVED = frozenset({"input_config"})


def resume_starts(store, config: PipelineConfig, failed_node: Optional[str], base_run_id: str) -> List[str]:
    """The components a resume of run `base_run_id` starts from, in pipeline order (TFX runs them
    and everything after them; the others' outputs are taken from that run): the failed one
    (`failed_node`; None for a run killed between two components), those the run did not have (a
    node the fix adds: `--tune`'s Tuner, another `--models` family's Trainer, a `--train-spans`
    window; a family's Trainer the failure kept from running), and those whose settings (TFX's exec
    properties: hyperparameters, train steps, the declaration...) differ from those of the outputs a
    resume would reuse: their latest successful execution with recorded settings (a partial run
    records the components it skips without them; a cache hit has the same settings as the
    execution it reuses). Resuming from the failed component alone would silently ignore such a fix
    (new --hparams for a Trainer whose model made a later component fail). A component after
    another of them runs anyway and is left out."""
    nodes = [n.pipeline_node for n in compiler.Compiler().compile(create_pipeline(config)).nodes]
    done = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
    base_run = store.get_context_by_type_and_name("pipeline_run", base_run_id)
    in_base_run = {e.id for e in store.get_executions_by_context(base_run.id)} if base_run else set()
    starts = []
    for node in nodes:
        node_id = node.node_info.id
        context = store.get_context_by_type_and_name("node", f"{config.pipeline_name}.{node_id}")
        node_executions = store.get_executions_by_context(context.id) if context else []
        executions = [e for e in node_executions if e.last_known_state in done and e.custom_properties]
        recorded = max(executions, key=lambda e: e.id).custom_properties if executions else {}
        if node_id == failed_node or not any(e.id in in_base_run for e in node_executions) or any(
                parameter.HasField("field_value") and key in recorded and key not in DRIVER_RESOLVED
                and data_types_utils.get_metadata_value(recorded[key])
                != data_types_utils.get_metadata_value(parameter.field_value)
                for key, parameter in node.parameters.parameters.items()):
            starts.append(node_id)
    following = {n.node_info.id: list(n.downstream_nodes) for n in nodes}
    after_a_start, reached = set(), [d for s in starts for d in following[s]]
    while reached:
        node_id = reached.pop()
        if node_id not in after_a_start:
            after_a_start.add(node_id)
            reached.extend(following[node_id])
    return [s for s in starts if s not in after_a_start]


def run(config: PipelineConfig, run_id: str,
        run_options: Optional[tfx_pipeline.RunOptions] = None) -> None:
    """Runs every component (cached ones are reused) as run `run_id`; what the run did is then in
    MLMD. `run_options`: a resume's (`resume_options`), else every component. The caller holds the
    pipeline's run lock (pipeline/run_lock.py) and has checked the inputs (`check_inputs`)."""
    config = config.resolved()
    store = metadata_store.open_store(config.metadata_uri, writable=True)
    abandoned = run_summary.mark_abandoned(store, config.pipeline_name)
    if abandoned:
        print(f"Earlier run(s) {', '.join(abandoned)} ended without finishing (the process was "
              "killed or crashed); recorded as abandoned", flush=True)
    for gone in run_report.without_page(store, config.report_dir, config.pipeline_name):  # killed runs'
        try:  # pages, which the runs index links
            write_run_report(config, gone)
        except Exception as error:  # pylint: disable=broad-except  (this run goes on)
            print(f"note: no report written for {gone} ({error}); `tfxpipe runs show {gone}` writes it",
                  file=sys.stderr)
    handler = progress.ComponentProgress()
    absl_logger = absl_logging.get_absl_logger()
    absl_logger.addHandler(handler)
    try:
        with metadata_server_fixes.applied(config.metadata_uri), scratch.temporary_files_removed_after():
            _LocalRunWithId(run_id).run(create_pipeline(config), run_options=run_options)
    except checks.DataValidationError as error:
        told = report.naming_dataset(report.naming_data(str(error), config.data_root),
                                     configs.dataset_flag(config.dataset_dir))
        run_summary.record_failure(store, run_id, gate.DataGate.__name__, told)  # as `runs show` shows it
        raise PipelineFailed(f"the data gate stopped the run before Transform:\n{told}") from error
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM (progress.Terminated)
        _record_stop(store, run_id)
        raise
    except Exception as error:  # TFX re-raises the component's own error
        stop = progress.stop_asked()
        if stop is not None:  # the stop, wrapped by the library it landed in (Beam: a RuntimeError)
            absl_logging.info("the stop came as %s: %s", type(error).__name__, error)
            _record_stop(store, run_id)
            raise stop() from error
        where = handler.report_failure() or "pipeline failed"
        if handler.failed_node is not None:  # kept for `runs show` and the run report
            try:
                run_summary.record_failure(store, run_id, handler.failed_node,
                                           f"{type(error).__name__}: {error}"[:FAILURE_CHARS])
            except Exception as unrecorded:  # pylint: disable=broad-except  (the run's error comes first)
                absl_logging.warning("could not record why %s failed: %s", handler.failed_node, unrecorded)
        raise PipelineFailed(f"{where}: {type(error).__name__}: {error}") from error
    finally:
        absl_logger.removeHandler(handler)


def _record_stop(store, run_id: str) -> None:
    """The run's executions a stop ended, recorded as abandoned now (`run_summary.mark_stopped`); if
    the store cannot be written (or a second stop lands meanwhile), the next run marks them."""
    try:
        run_summary.mark_stopped(store, run_id, progress.stop_asked_at())
    except Exception as unrecorded:  # pylint: disable=broad-except  (the stop is what the user needs)
        absl_logging.warning("could not record run %s as stopped: %s", run_id, unrecorded)


def write_run_report(config: PipelineConfig, run_id: str) -> Optional[str]:
    """Run `run_id`'s HTML report (pipeline/run_report.py), when the run was recorded, and the runs
    index beside it (pipeline/runs_index.py); returns the report's path."""
    config = config.resolved()
    if not metadata_store.exists(config.metadata_uri):
        return None
    store = metadata_store.open_store(config.metadata_uri)
    if run_id not in run_summary.run_ids(store, config.pipeline_name):
        return None
    return _write_reports(store, run_details.record(store, run_id), config)


def _write_reports(store, record: runs.RunRecord, config: PipelineConfig) -> str:
    """The run's report and the runs index beside it (older evaluations' listed metrics recorded
    first: `run_details.record_listed`); returns the report's path."""
    run_details.record_listed(config.metadata_uri, config.pipeline_name)
    dataset = config.dataset()
    path = run_report.write(store, record, config.report_dir, dataset)
    served = model_dir.versions(config.model_base)
    runs_index.write(store, config.report_dir, dataset.task, config.pipeline_name,
                     str(served[-1]) if served else None)
    return path


def _recorded_refusal(config: PipelineConfig, run_id: str, reason: str) -> str:
    """Records run `run_id` as refused before it started (run_summary.record_refusal) and writes its
    report and the runs index; returns the line naming the report. Not recorded (a store that cannot
    be written): says so, as the refusal itself comes first. A schema file that does not parse
    (schema.SchemaFileError) is no refused run: `cli` names it in one line and nothing is written."""
    try:
        found = data_folder.spans(config.data_root) if os.path.isdir(config.data_root) else []
        span, folder = found[-1] if found else (None, config.data_root)  # what check_inputs read
        store = metadata_store.open_store(config.metadata_uri, writable=True)
        run_summary.record_refusal(store, config.pipeline_name, run_id, reason[:FAILURE_CHARS], folder, span)
        return f"\nRun {run_id} recorded as refused; run report: {write_run_report(config, run_id)}"
    except Exception as unrecorded:  # pylint: disable=broad-except  (the refusal is what the user needs)
        return f"\n(the refusal could not be recorded in ML Metadata: {type(unrecorded).__name__}: {unrecorded})"


def run_and_describe(config: PipelineConfig, resume: bool = False,
                     wait: bool = False) -> runs.RunRecord:
    """Runs under the pipeline's run lock (run_lock.RunLocked when a run holds it and not `wait`);
    prints the summary of this run and writes its report."""
    resolved = config.resolved()
    with run_lock.held(resolved, wait=wait,
                       on_wait=lambda message: print(message, flush=True)) as holder:
        run_id = holder.run_id
        foreign = (work_dir.foreign_outputs(resolved.metadata_uri, resolved.pipeline_name, resolved.pipeline_root)
                   or work_dir.moved_outputs(resolved.metadata_uri, resolved.pipeline_name, resolved.pipeline_root))
        if foreign:
            raise PipelineFailed(foreign)
        try:
            check_inputs(resolved)
        except PipelineFailed as refusal:
            raise PipelineFailed(f"{refusal}{_recorded_refusal(resolved, run_id, str(refusal))}") from refusal
        run_options = resume_options(resolved) if resume else None  # nothing to resume: no run
        started = time.monotonic()
        print(f"Run {run_id} of pipeline '{resolved.pipeline_name}' on {resolved.data_root} "
              f"(Beam profile {resolved.profile})", flush=True)
        try:
            run(config, run_id, run_options)
        except PipelineFailed as error:
            path = write_run_report(config, run_id)
            raise PipelineFailed(f"{error}\nRun report: {path}" if path else str(error)) from error
        store = metadata_store.open_store(resolved.metadata_uri)
        record = run_details.record(store, run_id)
        print(run_details.summary_text(record, resolved, time.monotonic() - started), flush=True)
        print(f"Run report: {_write_reports(store, record, resolved)}", flush=True)
        return record
