"""`tfxpipe exclude-span N --reason TEXT`: a span that passed the data gate but is wrong (labels
from a broken join) is taken out of use: no longer the gate's drift reference, in any later
`--train-spans` window, or accepted by `validate` and `calibrate` (pipeline/excluded_spans.py says
why a mark in ML Metadata, and where). `--undo` puts it back."""
import argparse
import os
import shlex

from cli import options


def exclude_span(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel  (MLMD loads only for this command)
    from pipeline import configs, excluded_spans, metadata_store, run_details, run_lock, runs_index, training_data
    from schema import data_folder

    if not args.undo and not (args.reason or "").strip():
        print("error: say why with --reason (it is kept with the span, and shown when it is asked about)")
        return 2
    dataset = options.dataset_of_pipeline(args)
    root = args.data or dataset.data_root()
    local = not configs.is_remote(root)
    spans = data_folder.spans(root) if local and os.path.isdir(root) else []
    if local and not spans and not args.undo:  # a span is put back where it was excluded, even moved since
        print(f"error: {root} holds no span-N folders: only a folder of spans has spans to exclude "
              "(give the one the runs read with --data)")
        return 1
    config = options.config_for_reading(args)
    if not metadata_store.exists(config.metadata_uri):
        print(f"error: no runs recorded in {metadata_store.redacted(config.metadata_uri)}: a span no run "
              "read is in no use yet (remove its folder before the next run)")
        return 1
    holder = run_lock.holder(config)
    if holder:  # its resolvers may be choosing this span's data right now
        print(f"error: run {holder.run_id} of {config.pipeline_name} is in progress: exclude the span once "
              "it has finished")
        return 1
    store = metadata_store.open_store(config.metadata_uri, writable=True)
    read = excluded_spans.read_from(store, root)
    if args.span not in read:
        runs_read = ", ".join(str(span) for span in sorted(read)) or "none"
        print(f"error: no run read span {args.span} of {root} (spans read: {runs_read}); "
              "`tfxpipe runs` lists the runs and their spans")
        return 1
    versions = read[args.span]
    excluded_spans.mark(store, root, args.span, versions, "" if args.undo else args.reason.strip())
    push = training_data.newest_push(store, config.pipeline_name)
    served = push[0] if push else None
    try:  # the index's rows star the span (or no longer); the mark is made whatever happens here
        runs_index.write(store, config.report_dir, dataset.task, config.pipeline_name, served)
    except Exception as error:  # pylint: disable=broad-except  (a page, remote or local: the mark stands)
        print(f"note: the runs index was not rewritten ({error}); the next run rewrites it")
    what = f"span {args.span} of {root} ({len(versions)} version{'s' * (len(versions) > 1)} read by runs)"
    if args.undo:
        print(f"Put back {what}: the data gate's drift reference, --train-spans windows, `validate` and "
              "`calibrate` take it again where its gate passed.")
        return 0
    print(f"Excluded {what}: {args.reason.strip()}\n"
          "It is no longer the data gate's drift reference, nor in any later --train-spans window, nor "
          "accepted by `validate` and `calibrate`. Models already trained on it stay as they are: the next "
          "run trains without it (`tfxpipe runs` shows which runs read it). Files of the span changed "
          "from now on are new data, which the gate checks again. `--undo` puts it back.")
    learned = {a.id for a in training_data.served_model_training_examples(store, config.pipeline_name, served)} \
        if served else set()
    if learned & {version.id for version in versions}:
        model_base = os.path.dirname(push[1].rstrip("/"))  # where the runs push: the run must replace it there
        run = (f"tfxpipe run --max-drop {run_details.max_drop_any_passes(dataset.task, None)}"
               f"{configs.store_options(config)} --serving-dir {shlex.quote(os.path.dirname(model_base))}"
               + (f" --model-name {shlex.quote(os.path.basename(model_base))}"
                  if os.path.basename(model_base) != dataset.name else "")
               + (f" --data {shlex.quote(args.data)}" if args.data else ""))
        print(f"note: the served version {served} was trained on span {args.span}, and serves until a run pushes "
              "another. That run's model is compared with it: if its metrics were lifted by the span's wrong data, "
              f"a correct model can fall behind them; let it through with `{run}` (or bounds of its own with "
              "--min/--max)")
    if local and args.span == spans[-1][0]:
        print(f"note: span {args.span} is the newest: a run on its unchanged files is refused before it "
              "starts; add the next span, or correct this one's files")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("exclude-span", help="take a span the gate passed out of use (drift "
                                                        "reference, training windows); --undo puts it back")
    parser.add_argument("span", type=int, help="the span's number (its span-N folder)")
    parser.add_argument("--reason", help="why, kept with the span (e.g. 'tips from a broken join')")
    parser.add_argument("--undo", action="store_true", help="put the span back in use")
    parser.add_argument("--data", help="the folder of spans the runs read (default: the dataset's)")
    options.add_dataset_option(parser, by_pipeline_name=True)
    options.add_history_options(parser)
    parser.set_defaults(handler=exclude_span)
