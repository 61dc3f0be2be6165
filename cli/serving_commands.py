"""`tfxpipe deploy-config` (TF Serving deployment artefacts), `tfxpipe serve` (the model server on
the pushed model folder), `tfxpipe predict` (CSV rows -> a server -> predictions, by task) and
`tfxpipe monitor` (skew/drift of the requests a server logged)."""
import argparse
import os
from typing import Optional

import numpy as np

from cli import options
from models.dataset import Task
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


def _row_count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of rows (0 for all)")
    return int(text)


def _misfit(dataset, answers) -> Optional[str]:
    """Why `answers` cannot come from a model of `dataset` (a server or --model-name of another
    dataset answers too: missing features are allowed); None when they can."""
    task, classes = dataset.task, len(dataset.label.classes)
    width = classes if task is Task.MULTICLASS else 1
    expected = (f"{classes} class probabilities" if task is Task.MULTICLASS
                else "one probability (of the second class)" if task is Task.BINARY else "one value")
    if answers.ndim != 2 or not np.issubdtype(answers.dtype, np.number):
        return f"the model's answer is not a table of numbers, one row per example: a {task.value} model answers {expected}"
    if answers.shape[1] != width:
        return f"the model answers {answers.shape[1]} value(s) per row, but a {task.value} model of {dataset.name!r} answers {expected}"
    if not np.isfinite(answers).all():
        return "the model answers values that are not finite numbers (NaN or infinite)"
    if task is not Task.REGRESSION and ((answers < 0) | (answers > 1)).any():
        return f"the model answers values outside 0..1, but a {task.value} model answers probabilities"
    return None


def _predictions_table(dataset, answers) -> str:
    """One line per row (numbered from 1, the first data row): class name and its probability
    (classification), or the value."""
    label = dataset.label
    if dataset.task is Task.REGRESSION:
        lines = [f"{'row':>5}  {label.column:>17}"]
        lines += [f"{i:>5}  {value:>17.4f}" for i, value in enumerate(answers[:, 0], 1)]
        return "\n".join(lines)
    from models import signatures  # pylint: disable=import-outside-toplevel  (imports TensorFlow)

    answers = signatures.class_probabilities(answers)
    lines = [f"{'row':>5}  {'class':<24} {'probability':>11}  all classes"]
    for i, probabilities in enumerate(answers, 1):
        best = max(range(len(probabilities)), key=lambda c: probabilities[c])
        every = ", ".join(f"{name} {p:.4f}" for name, p in zip(label.classes, probabilities))
        lines.append(f"{i:>5}  {label.classes[best]:<24} {probabilities[best]:>11.4f}  {every}")
    return "\n".join(lines)


def predict(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel
    import numpy as np
    import tensorflow_data_validation as tfdv
    import urllib3

    from schema import csv_files, gaps, ranges, vocabularies
    from serving import client, examples

    dataset = options.dataset(args)
    schema = tfdv.load_schema_text(args.schema or dataset.schema_file)
    features = set(dataset.feature_names())
    try:
        with open(args.csv, "rb") as f:
            header = csv_files.parse_header(f.readline())
        if not set(dataset.feature_names()) & set(header):
            print(f"error: {args.csv} has none of the features of dataset {dataset.name!r} "
                  f"({', '.join(dataset.feature_names())}): is it this dataset's file? --dataset names the dataset")
            return 1
        every_row = examples.read_csv_rows(args.csv, drop_columns=[c for c in header if c not in features])
        rows = every_row[: args.limit] if args.limit > 0 else every_row
        serialized = examples.serialize_rows(rows, schema, dataset.missing_values)
    except (OSError, ValueError) as error:
        print(f"error: {args.csv}: {error}")
        return 1
    if not serialized:
        print(f"error: {args.csv} has no data rows")
        return 1
    numbers = dataset.number_names()
    bounds = ranges.declared_ranges(schema, numbers)
    outside = ranges.outside_counts(rows, bounds, dataset.missing_values)
    unseen = vocabularies.Unseen()
    known = vocabularies.known_values(schema, [name for name in dataset.feature_names() if name not in numbers])
    for row in rows:
        unseen.check(row, known, dataset.missing_values)
    has_label = set(dataset.label.source_columns) <= set(header)
    in_schema = {f.name for f in schema.feature}
    unknown = [c for c in header if c not in in_schema]
    if unknown:  # as `score` passes them through: an ID, pandas' index
        print(f"note: {', '.join(map(repr, unknown))}: not among the model's features, not sent")
    if outside:
        print(ranges.outside_warning(outside, len(rows), bounds, args.csv, has_label, options.dataset_flag(args)))
    if unseen.counts:
        print(vocabularies.unseen_warning(unseen, len(rows), args.csv, has_label, options.dataset_flag(args)))
    absent = [name for name in dataset.feature_names() if name not in rows[0]]
    sent = [name for name in dataset.feature_names() if name not in absent]
    missing = gaps.warning_for(schema, gaps.missing_counts(rows, sent, dataset.missing_values), len(rows),
                               args.csv, has_label, options.dataset_flag(args))
    if missing:
        print(missing)
    if absent:  # the model answers without them, as TF Serving would: said, not refused
        print(f"note: no column {', '.join(absent)} in {args.csv}: sent as missing values")
    connection = client.connect(args.server, options.model_name(args))
    unreachable = (f"error: cannot reach {args.server}: {{}}; is a server running there "
                   "(`tfxpipe serve --dataset ...`)? --server names another")
    if "://" not in args.server:  # HOST:PORT is a gRPC address; a REST port would not answer gRPC
        unreachable += f" (HOST:PORT is read as gRPC; if {args.server} is a REST port, give http://{args.server})"
    try:
        answers = np.asarray(connection.predict(serialized))
    except client.ServerError as error:
        if error.status in (404, "NOT_FOUND"):  # TF Serving's answer for a model it does not serve
            print(f"error: {args.server} serves no model {options.model_name(args)!r}, or no version of it yet "
                  f"({error.message}): "
                  "--model-name names the served one; or serve this dataset's model: "
                  f"`tfxpipe serve{options.dataset_flag(args)}`")
        else:
            print(unreachable.format(error) if error.status == "UNAVAILABLE"
                  else f"error: the server refused the request: {error}")
        return 1
    except (urllib3.exceptions.HTTPError, client.grpc.RpcError) as error:
        print(unreachable.format(type(error).__name__))
        return 1
    finally:
        connection.close()
    misfit = _misfit(dataset, answers)
    if misfit:
        print(f"error: {misfit}: is model {options.model_name(args)!r} at {args.server} trained on "
              f"this dataset? --model-name and --server name the model, --dataset its dataset")
        return 1
    print(_predictions_table(dataset, answers))
    if len(rows) < len(every_row):
        print(f"(the first {len(rows)} of {len(every_row)} rows; --limit 0 sends them all)")
    return 0


def _training_statistics(args: argparse.Namespace, schema):
    """(statistics, what they are): of the data the served model (the newest version in the serving
    folder) was trained on, every span of its training window, from its lineage in MLMD; else of the
    newest data the gate accepted. (None, why) when there are none."""
    # pylint: disable=import-outside-toplevel
    from pipeline import metadata_store, run_summary, runs
    from serving import model_dir

    config = options.config_for_reading(args)
    nothing = f"no training statistics in {metadata_store.redacted(config.metadata_uri)}"
    if not metadata_store.exists(config.metadata_uri):
        return None, nothing
    store = metadata_store.open_store(config.metadata_uri)
    folder = os.path.join(args.serving_dir, options.model_name(args))
    served = model_dir.versions(folder)
    examples = run_summary.served_model_training_examples(store, str(served[-1])) if served else []
    training = run_summary.training_statistics(store, examples, schema)
    if training is not None:
        spans = [a.custom_properties["span"].int_value for a in examples]
        window = f" (spans {runs.span_text(spans)})" if len(spans) > 1 else ""
        return training, f"the training data{window} of served version {served[-1]}"
    print(f"note: {f'no push of version {served[-1]} in MLMD' if served else f'no model version in {folder}'}"
          "; comparing with the newest data the gate accepted, which the served model may not have "
          "been trained on (--serving-dir, --model-name name the served model)")
    training = run_summary.latest_training_statistics(store)
    if training is None:
        return None, nothing
    return training, "the newest accepted training data"


def monitor(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel
    import tensorflow_data_validation as tfdv

    from pipeline import report_data
    from schema import csv_statistics, distances, report, schema_text
    from serving import monitor as serving_monitor

    dataset = options.dataset(args)
    if not os.path.isdir(args.request_log):
        print(f"error: request log folder {args.request_log} does not exist: give the folder "
              "`tfxpipe serve --request-log` writes to")
        return NOTHING_TO_CHECK
    curated = tfdv.load_schema_text(args.schema or dataset.schema_file)
    if args.training_data:
        training = csv_statistics.statistics_of_csv(args.training_data, dataset.missing_values,
                                                    distances.stats_options(curated))
        against = "training"
    else:
        training, against = _training_statistics(args, curated)
        if training is None:
            print(f"error: {against}; run the pipeline or pass --training-data")
            return 1
    result = serving_monitor.check(args.request_log, training, curated, dataset.feature_names(),
                                   args.window_minutes * 60)
    if not result.examples:
        print(f"error: no requests logged in {args.request_log} in the last {args.window_minutes:g} "
              "minutes")
        return NOTHING_TO_CHECK
    title = (f"Serving requests: {result.examples} examples in the last {args.window_minutes:g} min "
             f"(skew vs {against}" + (f", drift vs the {result.previous_examples} before" if
                                     result.previous_examples else "") + ")")
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
    print(report.render_text(result.findings, title, path, next_steps=steps))
    return 1 if result.findings else 0


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

    parser = subparsers.add_parser("predict", help="send CSV rows to a model server, print predictions")
    parser.add_argument("csv", help="CSV file with the dataset's columns: the label and excluded "
                        "columns are left out, and so is a column the schema does not know (with a note)")
    options.add_dataset_option(parser)
    parser.add_argument("--server", default=f"http://127.0.0.1:{commands.DEFAULTS.rest_port}",
                        help="http://host:port (REST) or grpc://host:port")
    parser.add_argument("--model-name", help="default: the dataset's name")
    parser.add_argument("--schema", help="default: the dataset's schema.pbtxt")
    parser.add_argument("--limit", type=_row_count, default=20,
                        help="rows to send, 0 for all (default: %(default)s)")
    parser.set_defaults(handler=predict)

    parser = subparsers.add_parser("monitor", help="skew and drift of logged serving requests; exit 1 when a threshold is crossed")
    parser.add_argument("--request-log", required=True, help="folder given to `serve --request-log`")
    options.add_dataset_option(parser)
    options.add_history_options(parser)
    parser.add_argument("--training-data", help="training CSV instead of the pipeline's statistics")
    parser.add_argument("--serving-dir", default=options.DEFAULTS.serving_dir,
                        help="model base folders: skew is checked against the data the served (newest) "
                             "version was trained on (default: %(default)s)")
    parser.add_argument("--model-name", help="default: the dataset's name")
    parser.add_argument("--schema", help="default: the dataset's schema.pbtxt")
    parser.add_argument("--window-minutes", type=float, default=60.0, help="checked window; drift is vs the window before")
    parser.add_argument("--report", help="HTML report (default: WORK_DIR/reports/PIPELINE/monitor/"
                        "monitor.html; TFDV's Facets view beside it)")
    parser.set_defaults(handler=monitor)
