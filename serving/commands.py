"""`tfxpipe deploy-config` (TF Serving deployment artefacts), `tfxpipe serve` (TF-Serving-compatible
server on the pushed model directory), `tfxpipe predict` (CSV rows -> a server -> predictions) and
`tfxpipe monitor` (skew/drift of the requests a server logged)."""
import argparse
import os

from serving import deploy


def _labels(pairs):
    labels = {}
    for pair in pairs or ():
        name, sep, version = pair.partition("=")
        if not sep or not version.isdigit():
            raise ValueError(f"label {pair!r} is not NAME=VERSION (an integer version)")
        labels[name] = int(version)
    return labels


def deploy_config(args: argparse.Namespace) -> int:
    settings = deploy.DeploySettings(
        model_name=args.model_name, serving_dir=args.serving_dir, policy=args.policy,
        versions=tuple(args.version or ()), labels=_labels(args.label),
        batching=not args.no_batching,
    )
    try:
        paths = deploy.write_all(settings, args.out)
    except ValueError as error:
        print(f"error: {error}")
        return 1
    print("\n".join(f"wrote {path}" for path in paths.values()))
    print(f"Copy models.config, monitoring.config and batching.config into {args.serving_dir}, then\n"
          f"  docker compose -f {paths['docker-compose.yaml']} up")
    return 0


def serve(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel  (TensorFlow loads only for commands that need it)
    from serving import server, servables

    if args.model_config_file:
        config = servables.read_model_config(args.model_config_file)
    else:
        config = servables.single_model_config(
            args.model_name, os.path.join(args.serving_dir, args.model_name))
    settings = server.ServerSettings(
        host=args.host, rest_port=args.rest_port, grpc_port=args.grpc_port,
        poll_seconds=args.poll_seconds, settle_seconds=args.settle_seconds,
        max_request_bytes=int(args.max_request_mb * (1 << 20)), ready_file=args.ready_file,
        busy_poll_seconds=args.busy_poll_ms / 1000,
        request_log_dir=args.request_log, request_log_sample_rate=args.log_sample_rate,
        request_log_max_bytes=int(args.log_max_mb * (1 << 20)),
    )
    server.serve(config, settings)
    return 0


def predict(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel
    import urllib3
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from models import features
    from serving import client, examples

    with open(args.schema, encoding="utf-8") as f:
        schema = text_format.Parse(f.read(), schema_pb2.Schema())
    not_sent = {f.name for f in schema.feature} - set(features.feature_names())
    try:
        rows = examples.read_csv_rows(args.csv, drop_columns=not_sent)[: args.limit]
        serialized = examples.serialize_rows(rows, schema)
    except (OSError, ValueError) as error:
        print(f"error: {args.csv}: {error}")
        return 1
    if not serialized:
        print(f"error: {args.csv} has no data rows")
        return 1
    connection = client.connect(args.server, args.model_name)
    try:
        probabilities = connection.predict(serialized)
    except client.ServerError as error:
        print(f"error: the server refused the request: {error}")
        return 1
    except (urllib3.exceptions.HTTPError, client.grpc.RpcError) as error:
        print(f"error: cannot reach {args.server}: {type(error).__name__}")
        return 1
    finally:
        connection.close()
    print(f"{'row':>5}  {'P(' + features.LABEL.name + ')':>17}  class")
    for index, probability in enumerate(probabilities[:, 0]):
        print(f"{index:>5}  {probability:>17.4f}  {features.LABEL.classes[int(probability >= 0.5)]}")
    return 0


def monitor(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel
    import tensorflow_data_validation as tfdv

    from schema import checks, report
    from serving import monitor as serving_monitor

    curated = tfdv.load_schema_text(args.schema)
    if args.training_data:
        training = checks.statistics_of_csv(args.training_data)
    else:
        training = _latest_training_statistics(args.work_dir, args.pipeline_name)
        if training is None:
            print(f"error: no training statistics in {args.work_dir}; run the pipeline or pass "
                  "--training-data")
            return 1
    result = serving_monitor.check(args.request_log, training, curated, args.window_minutes * 60)
    if not result.examples:
        print(f"error: no requests logged in {args.request_log} in the last {args.window_minutes:g} "
              "minutes")
        return 1
    title = (f"Serving requests: {result.examples} examples in the last {args.window_minutes:g} min "
             f"(skew vs training" + (f", drift vs the {result.previous_examples} before" if
                                     result.previous_examples else "") + ")")
    path = report.write_html(args.report, result.findings, title, result.statistics)
    print(report.render_text(result.findings, title, path))
    return 1 if result.findings else 0


def _latest_training_statistics(work_dir: str, pipeline_name: str):
    # pylint: disable=import-outside-toplevel
    import tensorflow_data_validation as tfdv

    from pipeline import run_summary
    from pipeline.configs import PipelineConfig

    metadata_path = PipelineConfig(work_dir=work_dir, pipeline_name=pipeline_name).resolved().metadata_path
    if not os.path.exists(metadata_path):
        return None
    store = run_summary.open_store(metadata_path)
    produced = [a for a in store.get_artifacts_by_type("ExampleStatistics")
                if os.path.exists(os.path.join(a.uri, "Split-train", "FeatureStats.pb"))
                and "/StatisticsGen/" in a.uri]
    if not produced:
        return None
    latest = max(produced, key=lambda a: a.id)
    return tfdv.load_stats_binary(os.path.join(latest.uri, "Split-train", "FeatureStats.pb"))


def add_parsers(subparsers, serving_dir: str, model_name: str, schema_file: str) -> None:
    parser = subparsers.add_parser("deploy-config", help="TF Serving configs, compose file, k8s manifest")
    parser.add_argument("--serving-dir", default=serving_dir)
    parser.add_argument("--model-name", default=model_name)
    parser.add_argument("--policy", choices=deploy.POLICIES, default="latest", help="version policy")
    parser.add_argument("--version", type=int, action="append", help="served version (policy specific)")
    parser.add_argument("--label", action="append", metavar="NAME=VERSION", help="e.g. stable=1700000000")
    parser.add_argument("--no-batching", action="store_true")
    parser.add_argument("--out", default="deploy", help="folder for the artefacts (default: %(default)s)")
    parser.set_defaults(handler=deploy_config)

    parser = subparsers.add_parser("serve", help="serve pushed models with TF Serving's REST and gRPC APIs")
    parser.add_argument("--serving-dir", default=serving_dir, help="model base folders (default: %(default)s)")
    parser.add_argument("--model-name", default=model_name)
    parser.add_argument("--model-config-file", help="TF Serving models.config (overrides the two above)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--rest-port", type=int, default=8501)
    parser.add_argument("--grpc-port", type=int, default=8500)
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="how often to look for new versions")
    parser.add_argument("--settle-seconds", type=float, default=1.0, help="a version folder must stay unchanged this long before it loads")
    parser.add_argument("--max-request-mb", type=float, default=16.0)
    parser.add_argument("--busy-poll-ms", type=float, default=1.0, help="after I/O, poll this long before sleeping: lower latency for steady clients, at most this much CPU per burst (0: off)")
    parser.add_argument("--ready-file", help="write the bound ports here (JSON) once serving")
    parser.add_argument("--request-log", help="folder to log request examples to, for `tfxpipe monitor`")
    parser.add_argument("--log-sample-rate", type=float, default=1.0)
    parser.add_argument("--log-max-mb", type=float, default=64.0, help="disk cap of the request log")
    parser.set_defaults(handler=serve)

    parser = subparsers.add_parser("predict", help="send CSV rows to a model server, print predictions")
    parser.add_argument("csv", help="CSV file with the raw feature columns (extra schema columns are ignored)")
    parser.add_argument("--server", default="http://127.0.0.1:8501", help="http://host:port (REST) or grpc://host:port")
    parser.add_argument("--model-name", default=model_name)
    parser.add_argument("--schema", default=schema_file)
    parser.add_argument("--limit", type=int, default=20, help="rows to send (default: %(default)s)")
    parser.set_defaults(handler=predict)

    parser = subparsers.add_parser("monitor", help="skew and drift of logged serving requests; exit 1 when a threshold is crossed")
    parser.add_argument("--request-log", required=True, help="folder given to `serve --request-log`")
    parser.add_argument("--work-dir", default="work", help="pipeline work dir: training statistics of the latest run")
    parser.add_argument("--pipeline-name", default="taxi")
    parser.add_argument("--training-data", help="training CSV instead of the pipeline's statistics")
    parser.add_argument("--schema", default=schema_file)
    parser.add_argument("--window-minutes", type=float, default=60.0, help="checked window; drift is vs the window before")
    parser.add_argument("--report", default="monitor.html", help="HTML report (default: %(default)s)")
    parser.set_defaults(handler=monitor)

