"""Command line: `tfxpipe run` runs the pipeline locally; `tfxpipe validate` checks data against the
curated schema without running it; `tfxpipe schema-diff` shows what new data would change in it."""
import argparse
import json
import os
import sys
from typing import List, Optional

from pipeline import progress
from pipeline.configs import PipelineConfig


def _run_parser(subparsers) -> None:
    defaults = PipelineConfig
    run = subparsers.add_parser("run", help="run the pipeline locally on the Beam DirectRunner")
    run.add_argument("--data", dest="data_root", help="folder of CSV files (default: bundled taxi sample)")
    run.add_argument("--work-dir", default=defaults.work_dir, help="pipeline root and MLMD (default: %(default)s)")
    run.add_argument("--serving-dir", default=defaults.serving_dir, help="TF Serving model base folder (default: %(default)s)")
    run.add_argument("--model-name", default=defaults.model_name)
    run.add_argument("--pipeline-name", default=defaults.pipeline_name)
    run.add_argument("--schema", dest="schema_file", default=defaults.schema_file, help="curated schema.pbtxt")
    run.add_argument("--train-steps", type=int, default=defaults.train_steps)
    run.add_argument("--eval-steps", type=int, default=defaults.eval_steps)
    run.add_argument("--min-accuracy", type=float, default=defaults.min_accuracy, help="blessing threshold on eval accuracy")
    run.add_argument("--max-accuracy-drop", type=float, default=defaults.max_accuracy_drop, help="allowed drop vs. the baseline model")
    run.add_argument("--hparams", type=json.loads, default={}, help='JSON, e.g. \'{"learning_rate": 0.01}\'')
    run.add_argument("--no-cache", dest="enable_cache", action="store_false")
    run.add_argument("--beam-arg", dest="beam_args", action="append", help="extra Beam pipeline argument (repeatable)")
    run.set_defaults(handler=None)


def config_from_args(args: argparse.Namespace) -> PipelineConfig:
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
        "hyperparameters": args.hparams,
        "enable_cache": args.enable_cache,
    }
    if args.data_root:
        fields["data_root"] = args.data_root
    if args.beam_args:
        fields["beam_args"] = PipelineConfig.beam_args + tuple(args.beam_args)
    return PipelineConfig(**fields)


def data_commands_parsers(subparsers) -> None:
    from pipeline import data_commands  # pylint: disable=import-outside-toplevel

    data_commands.add_parsers(subparsers, PipelineConfig.schema_file)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    progress.quiet_native_logs("--verbose" in argv)  # before anything imports TensorFlow
    parser = argparse.ArgumentParser(prog="tfxpipe", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow/TFX/Beam logs")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _run_parser(subparsers)
    data_commands_parsers(subparsers)
    args = parser.parse_args(argv)
    if args.handler is not None:
        progress.configure_logging(args.verbose)
        return args.handler(args)
    from pipeline import runner  # pylint: disable=import-outside-toplevel  (imports TensorFlow)

    progress.configure_logging(args.verbose)
    config = config_from_args(args)
    try:
        runner.run_and_describe(config)
    except runner.PipelineFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def console_main() -> None:
    """Console-script entry: exits without running TensorFlow's object finalizers, which print
    spurious `AtomicFunction.__del__` tracebacks at interpreter shutdown (TF 2.16)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # pylint: disable=protected-access
