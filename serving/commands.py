"""`tfxpipe deploy-config`: TF Serving deployment artefacts for the pushed model directory."""
import argparse

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


def add_parsers(subparsers, serving_dir: str, model_name: str) -> None:
    parser = subparsers.add_parser("deploy-config", help="TF Serving configs, compose file, k8s manifest")
    parser.add_argument("--serving-dir", default=serving_dir)
    parser.add_argument("--model-name", default=model_name)
    parser.add_argument("--policy", choices=deploy.POLICIES, default="latest", help="version policy")
    parser.add_argument("--version", type=int, action="append", help="served version (policy specific)")
    parser.add_argument("--label", action="append", metavar="NAME=VERSION", help="e.g. stable=1700000000")
    parser.add_argument("--no-batching", action="store_true")
    parser.add_argument("--out", default="deploy", help="folder for the artefacts (default: %(default)s)")
    parser.set_defaults(handler=deploy_config)
