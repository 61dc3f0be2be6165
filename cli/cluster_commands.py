"""`tfxpipe cluster fetch|up|status|down`: a Flink cluster on this machine for `--profile flink`
(pipeline/flink_cluster.py)."""
import argparse
import json

from pipeline import flink_cluster

DEFAULTS = flink_cluster.ClusterSettings()


def cluster(args: argparse.Namespace) -> int:
    settings = flink_cluster.ClusterSettings(home=args.home, task_managers=args.task_managers)
    try:
        if args.action == "fetch":
            flink_cluster.fetch(settings)
            print(f"Flink {flink_cluster.FLINK_VERSION} and Beam's job server are in {settings.home}")
        elif args.action == "up":
            overview = flink_cluster.up(settings)
            print(f"Flink {overview['flink-version']} cluster up: {overview['taskmanagers']} "
                  f"TaskManagers, UI http://localhost:{flink_cluster.REST_PORT}, Beam job server "
                  f"{flink_cluster.JOB_ENDPOINT}, SDK workers {flink_cluster.WORKER_POOL}\n"
                  f"  tfxpipe run --profile flink --profile-setting "
                  f"flink_master=localhost:{flink_cluster.REST_PORT}")
        elif args.action == "down":
            if flink_cluster.down(settings):
                print("Flink cluster stopped")
            elif flink_cluster.status() is not None:
                print(f"error: no Flink cluster started from {settings.home} is running, yet one answers on "
                      f"localhost:{flink_cluster.REST_PORT}: give `tfxpipe cluster down` the --home it was "
                      "started with")
                return 1
            else:
                print(f"No Flink cluster started from {settings.home} is running: nothing to stop")
        else:
            overview = flink_cluster.status()
            print(json.dumps(overview) if overview else "no Flink cluster answers on "
                  f"localhost:{flink_cluster.REST_PORT}")
            return 0 if overview else 1
    except flink_cluster.ClusterError as error:
        print(f"error: {error}")
        return 1
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("cluster", help="a Flink cluster on this machine for --profile flink")
    parser.add_argument("action", choices=["fetch", "up", "status", "down"])
    parser.add_argument("--home", default=DEFAULTS.home,
                        help="downloads, logs and pid files (default: %(default)s)")
    parser.add_argument("--task-managers", type=int, default=DEFAULTS.task_managers)
    parser.set_defaults(handler=cluster)
