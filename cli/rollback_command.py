"""`tfxpipe rollback --reason TEXT`: the newest pushed version stops being served and the one before
it is served again, at once, by TF Serving and `tfxpipe serve` alike; later runs neither compare
with it nor push its model again (serving/rollback.py says how). `--undo` puts it back."""
import argparse
import dataclasses

from cli import options


def rollback(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel  (MLMD loads only for this command)
    from pipeline import configs, metadata_store, run_lock, runs_index
    from serving import model_dir, rollback as versions

    if not args.undo and not (args.reason or "").strip():
        print("error: say why with --reason (it is kept with the version, and shown by `runs` and reports)")
        return 2
    dataset = options.dataset_of_pipeline(args)
    config = dataclasses.replace(options.config_for_reading(args), serving_dir=configs.absolute_path(args.serving_dir),
                                 model_name=args.model_name or dataset.name)
    base = config.model_base
    try:
        with run_lock.held(config):  # no run chooses its baseline, or pushes, meanwhile
            done = (versions.put_back(base, args.version) if args.undo
                    else versions.withdraw(base, args.reason.strip(), args.version))
    except run_lock.RunLocked as locked:
        print(f"error: a run of {config.pipeline_name} is in progress ({locked.holder or 'holder unknown'}): roll "
              "back once it has finished, or stop it first")
        return 1
    except ValueError as error:  # RollbackError, or a models.config that does not parse
        print(f"error: {error}")
        return 1
    served = model_dir.versions(base)
    if metadata_store.exists(config.metadata_uri):  # the index marks the version, and names the one served
        try:
            store = metadata_store.open_store(config.metadata_uri)
            runs_index.write(store, config.report_dir, dataset.task, config.pipeline_name,
                             str(served[-1]) if served else None)
        except Exception as error:  # pylint: disable=broad-except  (the rollback stands)
            print(f"note: the runs index was not rewritten ({error}); the next run rewrites it")
    newest = served[-1] if served else None
    if args.undo:
        print(f"Put back version {done.version} of {base}: " + (
            "it is the newest, served once TF Serving or `tfxpipe serve` has loaded it (within their poll interval)."
            if newest == done.version else f"version {newest} is newer and stays served (`latest` policy); "
            f"`tfxpipe deploy-config --policy specific --version {done.version}` pins it."))
        return 0
    served_now = (f"version {newest} is served again once TF Serving or `tfxpipe serve` has loaded it (within their "
                  f"poll interval); version {done.version} answers until then" if newest < done.version
                  else f"version {newest}, the newest, is served as before")
    print(f"Rolled back {done.describe()}.\n"
          f"Its folder is now {base}/{model_dir.WITHDRAWN_PREFIX}{done.version} (kept, never loaded): {served_now}. "
          "Servers pinned to versions (a `specific` policy, labels) keep their pins.\n"
          "The next runs compare their models with the version served, and do not push this model again; a model "
          f"trained on new data is pushed as usual. `tfxpipe rollback --undo{options.model_flags(args)}` puts it back.")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("rollback", help="stop serving the newest pushed version and serve the one "
                                                    "before it; --undo puts it back")
    parser.add_argument("--reason", help="why, kept with the version (e.g. 'complaints about wrong tips')")
    parser.add_argument("--undo", action="store_true", help="put the version rolled back last (or --version) back")
    parser.add_argument("--version", type=int, help="the version to roll back or put back (default: the newest "
                                                    "pushed, or the one rolled back last)")
    parser.add_argument("--serving-dir", default=options.DEFAULTS.serving_dir,
                        help="model base folders (default: %(default)s)")
    parser.add_argument("--model-name", help="default: the dataset's name")
    options.add_dataset_option(parser, by_pipeline_name=True)
    options.add_history_options(parser)
    parser.set_defaults(handler=rollback)
