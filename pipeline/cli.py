"""Command line: `tfxpipe run` runs the pipeline locally; `tfxpipe compile` writes it for Kubeflow /
Vertex; `tfxpipe validate` checks data against the curated schema without running the pipeline;
`tfxpipe schema-diff` shows what new data would change in the schema; `tfxpipe deploy-config` writes
TF Serving's configs, a compose file and a Kubernetes manifest for the pushed models; `tfxpipe serve`
serves them with TF Serving's REST/gRPC APIs and `tfxpipe predict` queries a server with CSV rows."""
import argparse
import json
import os
import sys
import time
from typing import List, Optional

from pipeline import profiles, progress
from pipeline.configs import ConfigError, PipelineConfig, check_hyperparameters


def _pipeline_options(parser: argparse.ArgumentParser) -> None:
    """Settings shared by `run` and `compile` (defaults in pipeline/configs.py)."""
    defaults = PipelineConfig
    parser.add_argument("--data", dest="data_root", help="folder of CSV files or of span-N/ folders (default: bundled taxi sample)")
    parser.add_argument("--spans", action="store_const", const=True, help="the data folder holds span-N/ folders (detected for local folders)")
    parser.add_argument("--work-dir", default=defaults.work_dir, help="pipeline root and MLMD (default: %(default)s)")
    parser.add_argument("--serving-dir", default=defaults.serving_dir, help="TF Serving model base folder (default: %(default)s)")
    parser.add_argument("--model-name", default=defaults.model_name)
    parser.add_argument("--pipeline-name", default=defaults.pipeline_name)
    parser.add_argument("--schema", dest="schema_file", default=defaults.schema_file, help="curated schema.pbtxt")
    parser.add_argument("--train-steps", type=int, default=defaults.train_steps)
    parser.add_argument("--eval-steps", type=int, default=defaults.eval_steps)
    parser.add_argument("--min-accuracy", type=float, default=defaults.min_accuracy, help="blessing threshold on eval accuracy")
    parser.add_argument("--min-auc", type=float, default=defaults.min_auc, help="blessing threshold on eval AUC")
    parser.add_argument("--max-accuracy-drop", type=float, default=defaults.max_accuracy_drop, help="allowed drop vs. the baseline model")
    parser.add_argument("--hparams", type=json.loads, default={}, help='JSON, e.g. \'{"learning_rate": 0.01}\'')
    parser.add_argument("--no-cache", dest="enable_cache", action="store_false")
    parser.add_argument("--profile", default=defaults.profile, help="where Beam runs: auto (local or local-multiprocess by data size), local, local-multiprocess, dataflow, flink, spark")
    parser.add_argument("--profile-setting", dest="profile_settings", action="append", metavar="KEY=VALUE", help="setting of the profile, e.g. project=my-project (repeatable)")
    parser.add_argument("--beam-arg", dest="beam_args", action="append", help="extra Beam pipeline argument (repeatable)")


def _pipeline_parsers(subparsers) -> None:
    run = subparsers.add_parser("run", help="run the pipeline locally with TFX's LocalDagRunner")
    _pipeline_options(run)
    run.set_defaults(handler=_run)
    resume = subparsers.add_parser(
        "resume", help="re-run the latest failed run from its failed component (TFX partial run); "
                       "give the same options as the run, with the fix")
    _pipeline_options(resume)
    resume.set_defaults(handler=_resume)
    history = subparsers.add_parser("runs", help="pipeline runs from ML Metadata, newest first; "
                                                 "`runs show ID`: one run's lineage and report")
    history.add_argument("show", nargs="?", choices=["show"])
    history.add_argument("run_id", nargs="?")
    history.add_argument("--work-dir", default=PipelineConfig.work_dir)
    history.add_argument("--pipeline-name", default=PipelineConfig.pipeline_name)
    history.set_defaults(handler=_runs)
    build = subparsers.add_parser("compile", help="compile for Kubeflow Pipelines v2 / Vertex AI")
    _pipeline_options(build)
    build.add_argument("--image", required=True, help="container image with this package (see Dockerfile)")
    build.add_argument("--output", default="pipeline.json", help="pipeline spec JSON to write")
    build.set_defaults(handler=_compile)


def _run(args: argparse.Namespace, resume: bool = False) -> int:
    from pipeline import runner  # pylint: disable=import-outside-toplevel  (imports TensorFlow)

    config = config_from_args(args)
    worker_log = None if args.verbose else os.path.join(
        config.work_dir, "logs", config.pipeline_name, f"{time.strftime('%Y%m%dT%H%M%S')}.log")
    try:
        with progress.process_output_to(worker_log):
            runner.run_and_describe(config, resume)
    except runner.PipelineFailed as error:
        print(f"error: {error}", file=sys.stderr)
        if worker_log and os.path.exists(worker_log):
            print(f"Output of Beam workers and native libraries: {worker_log}", file=sys.stderr)
        return 1
    return 0


def _resume(args: argparse.Namespace) -> int:
    return _run(args, resume=True)


def _runs(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel  (MLMD and TFMA load only for this command)
    from pipeline import run_report, run_summary, runs

    config = PipelineConfig(work_dir=args.work_dir, pipeline_name=args.pipeline_name).resolved()
    if not os.path.exists(config.metadata_path):
        print(f"error: no runs recorded in {config.metadata_path}")
        return 1
    store = run_summary.open_store(config.metadata_path)
    if not args.show:
        print(runs.render_table(runs.records(store)))
        return 0
    if args.run_id not in run_summary.run_ids(store):
        print(f"error: no run {args.run_id!r}; `tfxpipe runs` lists them")
        return 1
    print(runs.lineage(store, args.run_id))
    record = runs.record(store, args.run_id)
    print(f"Run report: {run_report.write(store, record, config.report_dir)}")
    return 0


def _compile(args: argparse.Namespace) -> int:
    from pipeline import kubeflow  # pylint: disable=import-outside-toplevel  (imports TFX)

    path = kubeflow.compile_pipeline(config_from_args(args), args.image, args.output)
    print(f"Pipeline spec for {args.image} written to {path}")
    return 0


def config_from_args(args: argparse.Namespace) -> PipelineConfig:
    from models.model import DEFAULT_HYPERPARAMETERS  # pylint: disable=import-outside-toplevel

    fields = {
        "work_dir": args.work_dir,
        "serving_dir": args.serving_dir,
        "model_name": args.model_name,
        "pipeline_name": args.pipeline_name,
        "schema_file": args.schema_file,
        "train_steps": args.train_steps,
        "eval_steps": args.eval_steps,
        "min_accuracy": args.min_accuracy,
        "max_accuracy_drop": args.max_accuracy_drop,
        "min_auc": args.min_auc,
        "hyperparameters": check_hyperparameters(args.hparams, DEFAULT_HYPERPARAMETERS),
        "enable_cache": args.enable_cache,
        "profile": args.profile,
        "profile_settings": profiles.parse_settings(args.profile_settings),
        "extra_beam_args": tuple(args.beam_args or ()),
        "spans": args.spans,
    }
    if args.data_root:
        fields["data_root"] = args.data_root
    config = PipelineConfig(**fields)
    profiles.beam_args(config.resolved().profile, config.profile_settings)  # errors before any work
    return config


def data_commands_parsers(subparsers) -> None:
    from pipeline import data_commands  # pylint: disable=import-outside-toplevel

    data_commands.add_parsers(subparsers, PipelineConfig.schema_file)
    from serving import commands  # pylint: disable=import-outside-toplevel

    commands.add_parsers(subparsers, PipelineConfig.serving_dir, PipelineConfig.model_name,
                          PipelineConfig.schema_file)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    progress.quiet_native_logs("--verbose" in argv)  # before anything imports TensorFlow
    parser = argparse.ArgumentParser(prog="tfxpipe", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow/TFX/Beam logs")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _pipeline_parsers(subparsers)
    data_commands_parsers(subparsers)
    args = parser.parse_args(argv)
    progress.configure_logging(args.verbose)
    try:
        return args.handler(args)
    except (profiles.ProfileError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def console_main() -> None:
    """Console-script entry: exits without running TensorFlow's object finalizers, which print
    spurious `AtomicFunction.__del__` tracebacks at interpreter shutdown (TF 2.16)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # pylint: disable=protected-access
