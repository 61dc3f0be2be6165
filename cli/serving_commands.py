"""`tfxpipe deploy-config` (TF Serving deployment artefacts), `tfxpipe serve` (the model server on
the pushed model folder) and `tfxpipe monitor` (skew/drift of the requests a server logged);
`predict`, a server's client, is cli/predict_command.py."""
import argparse
import os

from cli import options
from serving import commands, deploy


NOTHING_TO_CHECK = 2  # `monitor`'s exit code when there is nothing to check (1: a finding)
MONITOR_NEXT_STEPS = ("What to do: where clients send such data on purpose, the model now serves data "
                      "unlike what it learned from: add recent data as a new span and run the pipeline "
                      "again; otherwise correct the clients.")


def _labels(pairs):
    labels = {}
    for pair in pairs or ():
        name, sep, version = pair.partition("=")
        if not sep or not version.isdigit():
            raise ValueError(f"label {pair!r} is not NAME=VERSION (an integer version)")
        labels[name] = int(version)
    return labels


def deploy_config(args: argparse.Namespace) -> int:
    try:
        settings = deploy.DeploySettings(
            model_name=options.model_name(args), serving_dir=args.serving_dir, policy=args.policy,
            versions=tuple(args.version or ()), labels=_labels(args.label),
            batching=not args.no_batching,
        )
        paths = deploy.write_all(settings, args.out)
    except ValueError as error:
        print(f"error: {error}")
        return 1
    print("\n".join(f"wrote {path}" for path in paths.values()))
    configs = ", ".join(name for name in paths if name.endswith(".config"))
    print(f"Copy {configs} into {args.serving_dir}, then\n"
          f"  docker compose -f {paths['docker-compose.yaml']} up")
    return 0


def serve(args: argparse.Namespace) -> int:
    if not args.model_config_file:
        args.model_name = options.model_name(args)
    return commands.serve(args)


def _training_statistics(args: argparse.Namespace, schema):
    """(statistics, what they are): of the data the served model (the newest version in the serving
    folder) was trained on, every span of its training window, from its lineage in MLMD; else of the
    newest data the gate accepted. (None, why) when there are none."""
    # pylint: disable=import-outside-toplevel
    from pipeline import metadata_store, runs, training_data
    from serving import model_dir

    config = options.config_for_reading(args)
    nothing = f"no training statistics in {metadata_store.redacted(config.metadata_uri)}"
    if not metadata_store.exists(config.metadata_uri):
        return None, nothing
    store = metadata_store.open_store(config.metadata_uri)
    folder = os.path.join(args.serving_dir, options.model_name(args))
    versions = model_dir.versions(folder)
    if args.version is not None and args.version not in versions:
        return None, f"{folder} has no version {args.version}; it has {', '.join(map(str, versions)) or 'none'}"
    served = [args.version] if args.version is not None else versions[-1:]
    examples = training_data.served_model_training_examples(store, config.pipeline_name, str(served[-1])) \
        if served else []
    training = training_data.training_statistics(store, examples, schema)
    if training is not None:
        spans = [a.custom_properties["span"].int_value for a in examples]
        window = f" (spans {runs.span_text(spans)})" if len(spans) > 1 else ""
        return training, f"the training data{window} of served version {served[-1]}"
    print(f"note: {f'no push of version {served[-1]} in MLMD' if served else f'no model version in {folder}'}"
          "; comparing with the newest data the gate accepted, which the served model may not have "
          "been trained on (--serving-dir, --model-name, --version name the served model)")
    training = training_data.latest_training_statistics(store, config.pipeline_name)
    if training is None:
        return None, nothing
    return training, "the newest accepted training data"


def monitor(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel

    from pipeline import report_data
    from schema import csv_statistics, distances, report, schema_text
    from serving import monitor as serving_monitor
    from serving import request_log

    dataset = options.dataset(args)
    if not os.path.isdir(args.request_log):
        print(f"error: request log folder {args.request_log} does not exist: give the folder "
              "`tfxpipe serve --request-log` writes to")
        return NOTHING_TO_CHECK
    curated = schema_text.read(args.schema or dataset.schema_file)
    if args.training_data:
        training = csv_statistics.statistics_of_csv(args.training_data, dataset.missing_values,
                                                    distances.stats_options(curated))
        against = "training"
    else:
        training, against = _training_statistics(args, curated)
        if training is None:
            print(f"error: {against}; run the pipeline or pass --training-data")
            return NOTHING_TO_CHECK
    log_dir = request_log.model_folder(args.request_log, options.model_name(args))
    if not os.path.isdir(log_dir) and request_log.log_files(args.request_log):
        log_dir = args.request_log  # the model's own folder given
    result = serving_monitor.check(log_dir, training, curated, dataset.feature_names(),
                                   args.window_minutes * 60)
    for path in result.cut_off:
        print(f"note: {path} ends in a cut-off or damaged record (a server stopped mid-write, a full "
              "disk, or the record being written now): the examples before it are counted")
    if not result.examples:
        print(f"error: no requests for model {options.model_name(args)!r} logged in {log_dir} in the "
              f"last {args.window_minutes:g} minutes")
        return NOTHING_TO_CHECK
    title = (f"Serving requests: {result.examples} examples in the last {args.window_minutes:g} min "
             f"(skew vs {against}, " + (f"drift vs the {result.previous_examples} before" if
                                       result.previous_examples else
                                       f"no drift check: the log holds none from the {args.window_minutes:g} "
                                       "min before") + ")")
    charts = report_data.feature_charts(
        [("requests", report_data.by_feature(result.statistics)),
         ("training", report_data.by_feature(training)),
         ("window before", report_data.by_feature(result.previous_statistics))],
        {finding.feature for finding in result.findings})
    path = report.write_html(
        args.report or os.path.join(options.config_for_reading(args).report_dir, "monitor", "monitor.html"),
        result.findings, title, result.statistics, charts)
    steps = MONITOR_NEXT_STEPS + (schema_text.small_window_note(args.schema or dataset.schema_file, result.examples)
                                  if result.findings else "")
    print(report.naming_dataset(report.render_text(result.findings, title, path, next_steps=steps),
                                options.schema_flags(args)))
    return 1 if result.findings else 0


def _positive_minutes(text: str) -> float:
    try:
        minutes = float(text)
    except ValueError:
        minutes = 0.0
    if not minutes > 0:  # NaN too
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of minutes above 0")
    return minutes


def add_parsers(subparsers) -> None:
    parser = subparsers.add_parser("deploy-config", help="TF Serving configs, compose file, k8s manifest")
    options.add_dataset_option(parser)
    parser.add_argument("--serving-dir", default=options.DEFAULTS.serving_dir)
    parser.add_argument("--model-name", help="default: the dataset's name")
    parser.add_argument("--policy", choices=deploy.POLICIES, default=deploy.DeploySettings.policy, help="version policy")
    parser.add_argument("--version", type=int, action="append", help="served version (policy specific)")
    parser.add_argument("--label", action="append", metavar="NAME=VERSION", help="e.g. stable=1700000000")
    parser.add_argument("--no-batching", action="store_true", help="TF Serving without server-side batching (no batching.config)")
    parser.add_argument("--out", default="deploy", help="folder for the artefacts (default: %(default)s)")
    parser.set_defaults(handler=deploy_config)

    parser = subparsers.add_parser("serve", help="serve pushed models with TF Serving's REST and gRPC APIs")
    options.add_dataset_option(parser)
    commands.add_serve_options(parser, options.DEFAULTS.serving_dir, model_name=None)
    parser.set_defaults(handler=serve)

    parser = subparsers.add_parser("monitor", help="skew and drift of logged serving requests; exit 1 when a threshold is crossed")
    parser.add_argument("--request-log", required=True, help="folder given to `serve --request-log`")
    options.add_dataset_option(parser)
    options.add_history_options(parser)
    parser.add_argument("--training-data", help="training CSV instead of the pipeline's statistics")
    parser.add_argument("--serving-dir", default=options.DEFAULTS.serving_dir,
                        help="model base folders: skew is checked against the data the served (newest) "
                             "version was trained on (default: %(default)s)")
    parser.add_argument("--model-name", help="default: the dataset's name")
    parser.add_argument("--version", type=int, help="the version served, where it is not the newest (a "
                        "`specific` version policy, a label): its training data is the reference")
    parser.add_argument("--schema", help="default: the dataset's schema.pbtxt")
    parser.add_argument("--window-minutes", type=_positive_minutes, default=60.0,
                        help="checked window; drift is vs the window before")
    parser.add_argument("--report", help="HTML report (default: WORK_DIR/reports/PIPELINE/monitor/"
                        "monitor.html; TFDV's Facets view beside it)")
    parser.set_defaults(handler=monitor)
