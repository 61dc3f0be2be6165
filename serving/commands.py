"""The `serve` command: a TF-Serving-compatible server on a model base folder. Its options are
defined here, once, with their defaults from `ServerSettings`; `tfxpipe serve` and
`python -m serving` (what infra validation and the tests start) share them."""
import argparse
import errno
import os
import socket
from typing import List

from serving.settings import ServerSettings

DEFAULTS = ServerSettings()


def add_serve_options(parser: argparse.ArgumentParser, serving_dir: str, model_name: str) -> None:
    parser.add_argument("--serving-dir", default=serving_dir, help="model base folders (default: %(default)s)")
    parser.add_argument("--model-name", "--model_name", default=model_name, help="default: the dataset's name")
    parser.add_argument("--model-base-path", "--model_base_path", help="the model's folder of versions (default: "
                        "SERVING_DIR/MODEL_NAME)")
    parser.add_argument("--model-config-file", "--model_config_file", help="TF Serving models.config (overrides the three above)")
    parser.add_argument("--model-config-file-poll-wait-seconds", "--model_config_file_poll_wait_seconds", type=float,
                        default=0.0, help="re-read --model-config-file this often, applying a changed one "
                        "(labels, version policies, models); 0: read once (default)")
    parser.add_argument("--allow-version-labels-for-unavailable-models", "--allow_version_labels_for_unavailable_models",
                        nargs="?", const="true", default="false", choices=["true", "false"],
                        help="let a label name a version not served (yet); else such a config is refused")
    parser.add_argument("--host", default=DEFAULTS.host, help="address to bind (default: %(default)s)")
    parser.add_argument("--rest-port", "--rest_api_port", type=port_number, default=DEFAULTS.rest_port, help="0: any free port (unlike TF Serving, where --rest_api_port=0 turns REST off)")
    parser.add_argument("--grpc-port", "--port", type=port_number, default=DEFAULTS.grpc_port, help="TF Serving's --port; 0: any free port")
    parser.add_argument("--poll-seconds", "--file_system_poll_wait_seconds", type=float, default=DEFAULTS.poll_seconds, help="how often to look for new versions")
    parser.add_argument("--settle-seconds", type=float, default=DEFAULTS.settle_seconds, help="a version folder must stay unchanged this long before it loads")
    parser.add_argument("--max-request-mb", type=float, default=DEFAULTS.max_request_bytes / (1 << 20))
    parser.add_argument("--default-executor", action="store_true", help=argparse.SUPPRESS)  # benchmarks
    parser.add_argument("--asyncio-loop", action="store_true", help=argparse.SUPPRESS)  # benchmarks
    parser.add_argument("--no-gc-freeze", action="store_true", help=argparse.SUPPRESS)  # benchmarks
    parser.add_argument("--tf-thread-spinning", action="store_true", help=argparse.SUPPRESS)  # benchmarks
    parser.add_argument("--grpc-acceptors", type=int, default=DEFAULTS.grpc_acceptors, help=argparse.SUPPRESS)  # benchmarks
    parser.add_argument("--ready-file", help="write the bound ports here (JSON) once serving")
    parser.add_argument("--request-log", help="folder to log request examples to (a folder per model), for `tfxpipe monitor`")
    parser.add_argument("--log-sample-rate", type=float, default=DEFAULTS.request_log_sample_rate)
    parser.add_argument("--enable-batching", "--enable_batching", action="store_true", help="merge concurrent requests into one model call, as TF Serving's --enable_batching")
    parser.add_argument("--batching-parameters-file", "--batching_parameters_file", help="TF Serving's batching parameters (text format; implies --enable-batching; default: TF Serving's defaults)")
    parser.add_argument("--monitoring-config-file", "--monitoring_config_file", help="TF Serving's monitoring.config: Prometheus metrics on or off and their path (default: on, at /monitoring/prometheus/metrics)")
    parser.add_argument("--shutdown-grace-seconds", type=float, default=DEFAULTS.shutdown_grace_seconds, help="on SIGTERM/SIGINT, stop taking requests and let those in progress finish this long")
    parser.add_argument("--log-max-mb", type=float, default=DEFAULTS.request_log_max_bytes / (1 << 20), help="disk cap of each model's request log")


def port_number(text: str) -> int:
    """A TCP port, 0 to 65535 (the socket layer would take 99999 for 34463 without a word)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is no TCP port: give 1 to 65535, or 0 for any free port")
    return port


def unbindable_ports(host: str, ports: dict) -> List[str]:
    """Why each of `ports` (option -> port) cannot be bound at `host`, checked before the model
    loads: the servers' own bind errors come after it, as tracebacks, and gRPC's listener shares a
    port (SO_REUSEPORT) with a second `serve` without a word. A plain bind fails on either. The
    address is resolved as the REST server resolves it (serving/uvicorn_embedded.py)."""
    problems = []
    for option, port in ports.items():
        if not port:  # 0: any free port
            continue
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT: no listener
                probe.bind(address)
        except OSError as error:
            problems.append(f"port {port} ({option}) is in use on {host}: another server listens there"
                            if error.errno == errno.EADDRINUSE else
                            f"cannot bind {host} port {port} ({option}): {error.strerror or error}")
    return problems


def serve(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel  (TensorFlow loads only for commands that need it)
    from serving import batching, metrics, model_config, server, servables

    if args.rest_port == args.grpc_port != 0:
        print(f"error: --rest-port and --grpc-port are both {args.rest_port}: REST and gRPC each need a port "
              "of their own")
        return 1
    unbindable = unbindable_ports(args.host, {"--rest-port": args.rest_port, "--grpc-port": args.grpc_port})
    if unbindable:
        print(f"error: {'; '.join(unbindable)}; stop it, or give another port or --host")
        return 1
    try:
        metrics_path = metrics.read_monitoring_config(args.monitoring_config_file)
    except (OSError, ValueError) as error:
        print(f"error: --monitoring-config-file: {error}")
        return 1
    batching_parameters = None
    if args.enable_batching or args.batching_parameters_file:
        try:
            batching_parameters = batching.read_parameters(args.batching_parameters_file)
        except (OSError, ValueError) as error:
            print(f"error: --batching-parameters-file: {error}")
            return 1
    if args.model_config_file:
        try:
            config = model_config.read(args.model_config_file)
        except ValueError as error:
            print(f"error: --model-config-file: {error}")
            return 1
    else:
        config = servables.single_model_config(
            args.model_name, args.model_base_path or os.path.join(args.serving_dir, args.model_name))
    settings = ServerSettings(
        host=args.host, rest_port=args.rest_port, grpc_port=args.grpc_port,
        poll_seconds=args.poll_seconds, settle_seconds=args.settle_seconds,
        max_request_bytes=int(args.max_request_mb * (1 << 20)), ready_file=args.ready_file,
        single_threaded_executor=not args.default_executor, uvloop=not args.asyncio_loop,
        gc_freeze=not args.no_gc_freeze, grpc_acceptors=args.grpc_acceptors,
        tf_thread_spinning=args.tf_thread_spinning,
        request_log_dir=args.request_log, request_log_sample_rate=args.log_sample_rate,
        request_log_max_bytes=int(args.log_max_mb * (1 << 20)),
        shutdown_grace_seconds=args.shutdown_grace_seconds,
        metrics_path=metrics_path, batching_parameters=batching_parameters,
        model_config_file=args.model_config_file,
        model_config_poll_seconds=args.model_config_file_poll_wait_seconds if args.model_config_file else 0.0,
        allow_version_labels_for_unavailable_models=args.allow_version_labels_for_unavailable_models == "true",
    )
    try:
        server.serve(config, settings)
    except server.StartupError as error:
        print(f"error: {error}")
        return 1
    return 0
