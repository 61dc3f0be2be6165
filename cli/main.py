"""Command line `tfxpipe`, on top of the pipeline and the model server:
- `init` drafts a dataset folder (declaration + curated schema) from a CSV and its label column;
- `run` runs the pipeline locally, `resume` a failed run from its failed component (and from what
  the fix changed), `runs` lists the run history, `compile` writes the pipeline for Kubeflow / Vertex;
- `validate` checks data against a dataset's curated schema, `schema-diff` shows what new data
  would change in it;
- `serve` serves pushed models with TF Serving's REST/gRPC APIs, `predict` queries a server with CSV
  rows, `monitor` checks logged requests for skew and drift, `rollback` serves the version before
  the newest again, `deploy-config` writes TF Serving's deployment files;
- `score` writes every row of a CSV file back with a pushed model's predictions, without a server."""
import argparse
import dataclasses
import functools
import os
import signal
import sys
import tempfile
import threading
import time
from typing import List, Optional, Type

from cli import (calibrate_command, cluster_commands, data_commands, options, predict_command, score_command,
                 rollback_command, serving_commands, span_commands)
from pipeline import metadata_store, profiles, progress
from pipeline.configs import ConfigError
from schema import SchemaFileError
from serving import process_exit


def _pipeline_parsers(subparsers) -> None:
    run = subparsers.add_parser("run", help="run the pipeline locally with TFX's LocalDagRunner")
    options.add_pipeline_options(run)
    options.add_run_options(run)
    run.set_defaults(handler=_run)
    resume = subparsers.add_parser(
        "resume", help="re-run the latest failed run from its failed component, and from earlier "
                       "ones whose settings the fix changes (TFX partial run); "
                       "give the same options as the run, with the fix")
    options.add_pipeline_options(resume)
    options.add_run_options(resume)
    resume.set_defaults(handler=_resume)
    history = subparsers.add_parser("runs", help="pipeline runs from ML Metadata, newest first; "
                                                 "`runs show [ID]`: one run's lineage and report (default: "
                                                 "the latest run)")
    # Not argparse choices: an option `runs` does not take (`--serving-dir DIR`) would be refused as
    # "invalid choice: DIR" for `show`, not named. `runs RUN_ID` reads as `runs show RUN_ID`.
    history.add_argument("show", nargs="?", metavar="show")
    history.add_argument("run_id", nargs="?")
    options.add_dataset_option(history, by_pipeline_name=True)
    options.add_history_options(history)
    history.set_defaults(handler=_runs)
    build = subparsers.add_parser("compile", help="compile for Kubeflow Pipelines v2 / Vertex AI")
    options.add_pipeline_options(build)
    build.add_argument("--image", required=True, help="container image with this package (see Dockerfile)")
    build.add_argument("--output", default="pipeline.json", help="pipeline spec JSON to write")
    build.set_defaults(handler=_compile)


def _run(args: argparse.Namespace, resume: bool = False) -> int:
    # pylint: disable=import-outside-toplevel  (imports TensorFlow)
    from pipeline import run_lock, runner

    profiles.check_runs_from_here(args.profile, args.beam_args or ())  # before the settings it would ask for
    config = dataclasses.replace(options.config_from_args(args), metadata=options.metadata_uri(args)).resolved()
    profiles.check_servers(config.profile, config.profile_settings)
    worker_log = None if args.verbose else os.path.join(
        config.work_dir, "logs", config.pipeline_name, f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log")
    try:
        with progress.process_output_to(worker_log):
            runner.run_and_describe(config, resume, wait=args.wait)
    except run_lock.RunLocked as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except runner.PipelineFailed as error:
        print(f"error: {naming_dataset(str(error), args)}", file=sys.stderr)
        if worker_log and os.path.exists(worker_log):
            print(f"Details (library logs, output of Beam workers): {worker_log}", file=sys.stderr)
        return 1
    return 0


def naming_dataset(message: str, args: argparse.Namespace) -> str:
    """`message` with the commands it suggests given this command's --dataset, where it is not the
    default one (`report.naming_dataset`: run as written, they would work on the default dataset)."""
    flag = options.dataset_flag(args) if getattr(args, "dataset_dir", None) else ""
    if not flag or "`tfxpipe " not in message:
        return message
    from schema import report  # pylint: disable=import-outside-toplevel  (TensorFlow: only for such a message)
    return report.naming_dataset(message, flag)


def _resume(args: argparse.Namespace) -> int:
    return _run(args, resume=True)


def _runs(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel  (MLMD loads only for this command; TFX and TFMA for `show`)
    from pipeline import metadata_store, run_lock, run_summary, runs

    if args.show not in (None, "show"):
        if args.run_id is not None:
            print(f"error: `tfxpipe runs` lists runs and `tfxpipe runs show [RUN_ID]` shows one, not "
                  f"{args.show!r}", file=sys.stderr)
            return 1
        args.show, args.run_id = "show", args.show
    dataset = options.dataset_of_pipeline(args)
    task = dataset.task
    config = options.config_for_reading(args)
    nothing = options.no_runs(config)
    if not metadata_store.exists(config.metadata_uri):
        print(nothing)
        return 1
    store = metadata_store.open_store(config.metadata_uri)
    holder = run_lock.holder(config)
    running = holder.run_id if holder else None
    if not args.show:
        print(runs.render_table(runs.records(store, config.pipeline_name, running), task))
        return 0
    recorded = run_summary.run_ids(store, config.pipeline_name)  # oldest first
    if not recorded:
        print(nothing)
        return 1
    args.run_id = runs.run_id_of(args.run_id) if args.run_id else recorded[-1]
    if args.run_id not in recorded:
        print(f"error: no run {args.run_id!r}; `tfxpipe runs` lists them")
        return 1
    from pipeline import lineage, run_details, run_report

    print(lineage.text(store, args.run_id))
    record = run_details.record(store, args.run_id, running)
    for line in run_details.selection_lines(record, task, every_trial=True):
        print(line)
    if record.not_compared:
        print(record.not_compared)
    let_through = run_details.let_through_note(record.summary.let_through)
    if let_through:
        print(naming_dataset(let_through, args))
    print(f"Run report: {run_report.write(store, record, config.report_dir, dataset)}")
    return 0


def _compile(args: argparse.Namespace) -> int:
    from pipeline import kubeflow  # pylint: disable=import-outside-toplevel  (imports TFX)

    config, note = kubeflow.with_kubeflow_name(options.config_from_args(args))
    if note:
        print(f"note: {note}", file=sys.stderr)
    path = kubeflow.compile_pipeline(config, args.image, args.output)
    print(f"Pipeline spec for {args.image} written to {path}")
    for setting in kubeflow.local_settings(config.resolved()):
        print(f"warning: {setting}", file=sys.stderr)
    return 0


# Commands whose libraries (TFDV's C++ statistics, Beam's workers) write to the process's stderr
# directly, past TF_CPP_MIN_LOG_LEVEL (absl's "All log messages before absl::InitializeLog()", TFDV's
# feature_util warnings): their native output goes to a log file (`--verbose` shows it instead), kept
# only when something was written, named when the command crashes. `run` and `resume` divert their
# own (`_run`); `serve` keeps its console.
NATIVE_LOGS_DIVERTED = ("init", "validate", "schema-diff", "calibrate", "monitor", "score", "predict",
                        "runs", "compile", "exclude-span", "rollback")


class _Parser(argparse.ArgumentParser):
    """argparse's parser without its prefix matching, for every command (sub-commands are made of
    the parent's class): `score --data X` was read as `--dataset X`, and `calibrate --data` was
    refused as a dataset folder, where the option is not one the command has."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in argv  # before or after the command: `make run ARGS=--verbose` works
    argv = [arg for arg in argv if arg != "--verbose"]
    progress.quiet_native_logs(verbose)  # a no-op unless main() is called with argv
    parser = _Parser(prog="tfxpipe", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow/TFX/Beam logs")
    subparsers = parser.add_subparsers(dest="command", required=True)
    data_commands.add_init_parser(subparsers)
    _pipeline_parsers(subparsers)
    data_commands.add_parsers(subparsers)
    calibrate_command.add_parser(subparsers)
    serving_commands.add_parsers(subparsers)
    predict_command.add_parser(subparsers)
    score_command.add_parser(subparsers)
    cluster_commands.add_parser(subparsers)
    span_commands.add_parser(subparsers)
    rollback_command.add_parser(subparsers)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse's own error shows tfxpipe's usage; the command's names the options it takes
        before = unknown[0] in argv and argv.index(unknown[0]) < argv.index(args.command)
        (parser if before else subparsers.choices[args.command]).error(
            f"unrecognized arguments: {' '.join(unknown)}")
    args.verbose = verbose
    progress.configure_logging(verbose)
    native_log = None if verbose or args.command not in NATIVE_LOGS_DIVERTED else _private_log(args.command)
    in_main_thread = threading.current_thread() is threading.main_thread()  # where handlers can be set
    if in_main_thread:  # another thread's command must not drop a stop the main thread still has to raise
        progress.forget_stop()
    replaced = {}  # SIGTERM always; SIGINT where it is Python's default (not ignored, as in `nohup`)
    for number in (signal.SIGTERM, signal.SIGINT) if in_main_thread else ():
        if number == signal.SIGTERM or signal.getsignal(number) is signal.default_int_handler:
            replaced[number] = signal.signal(number, progress.stop_on_signal)
    unraisable_hook = sys.unraisablehook
    if replaced and args.command in _RUN_COMMANDS:  # where a stop dropped so is raised again
        sys.unraisablehook = functools.partial(progress.unreported_stops, report=unraisable_hook)
    try:
        with progress.process_output_to(native_log):
            code = args.handler(args)
        stop = progress.stop_asked() if in_main_thread and args.command in _RUN_COMMANDS else None
        if stop is None:
            return code
        # Swallowed where it landed and not raised again as a component started: it came during the
        # last one. The run ended (its output above says how); a failure is resumable as after a stop.
        return _stopped(args.command, stop, " while the run was finishing: it finished first (see above)"
                        if code == 0 else None)
    except (profiles.ProfileError, ConfigError, metadata_store.MetadataStoreError, SchemaFileError) as error:
        print(f"error: {naming_dataset(str(error), args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stop:  # Ctrl-C, SIGTERM: one line, not the traceback of wherever it landed
        return _stopped(args.command, type(stop))
    except BaseException:
        if native_log and os.path.exists(native_log):
            print(f"Details (library logs): {native_log}", file=sys.stderr)
        raise
    finally:
        for number, before in replaced.items():
            signal.signal(number, signal.SIG_DFL if before is None else before)
        sys.unraisablehook = unraisable_hook
        if in_main_thread:  # a stop is this command's: never raised in what the process does next
            progress.forget_stop()


_RUN_COMMANDS = ("run", "resume")


def _stopped(command: str, stop: Type[KeyboardInterrupt], outcome: Optional[str] = None) -> int:
    """Says that Ctrl-C or SIGTERM (`stop`: KeyboardInterrupt or progress.Terminated) stopped the
    command (or came as it was finishing: `outcome`), in one line; the exit status of a process the
    signal ended."""
    terminated = issubclass(stop, progress.Terminated)
    how = "terminated (SIGTERM)" if terminated else "interrupted"
    if outcome is None:
        resumable = " (if the run had started, `tfxpipe runs` lists it as abandoned, and `tfxpipe resume` with " \
                    "the same options goes on from where it stopped)" if command in _RUN_COMMANDS else ""
        outcome = f": tfxpipe {command} stopped{resumable}"
    print(f"\n{how}{outcome}", file=sys.stderr)
    return 143 if terminated else 130


def _private_log(command: str) -> Optional[str]:
    """A new file of the temporary folder that only this user reads (a work dir may be remote, or
    not made yet), for a command's native output; None when none can be made (then nothing is
    diverted)."""
    try:
        handle, path = tempfile.mkstemp(prefix=f"tfxpipe-{command}-", suffix=".log")
    except OSError:
        return None
    os.close(handle)
    return path


def console_main() -> None:
    """Console-script entry (ends the process as serving/process_exit.py explains). Output read by
    a command that stops early (`tfxpipe runs | head`) ends it quietly, as other Unix tools end."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        if not process_exit.reader_gone(sys.stdout):
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush there
        code = 1
    process_exit.exit_now(code)
