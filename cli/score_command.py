"""`tfxpipe score`: every row of a CSV file through a pushed model version, written back with its
predictions (pipeline/batch_scoring.py), with no model server; `predict` is the spot check against
a running server."""
import argparse
import logging
import os

from cli import options
from pipeline import configs, profiles


def _version_dir(args: argparse.Namespace) -> str:
    """The version to score with: --version, else the newest, as `serve` serves by default."""
    from serving import model_dir  # pylint: disable=import-outside-toplevel

    base = os.path.join(args.serving_dir, options.model_name(args))
    versions = model_dir.versions(base)
    if not versions:
        raise configs.ConfigError(f"no model version under {base}: run the pipeline first "
                                  "(`tfxpipe run --dataset ...`), or name --serving-dir / --model-name")
    if args.version is not None and args.version not in versions:
        withdrawn = args.version in model_dir.withdrawn_versions(base)
        model = options.model_flags(args)  # the model this command read, not the default one's
        raise configs.ConfigError(f"{base} has no version {args.version}; it has "
                                  f"{', '.join(map(str, versions))}" + (
                                      f" (version {args.version} was rolled back: `tfxpipe rollback{model} --undo "
                                      f"--version {args.version}` puts it back)" if withdrawn else ""))
    return os.path.join(base, str(args.version if args.version is not None else versions[-1]))


def _out_path(args: argparse.Namespace) -> str:
    out = args.out or os.path.splitext(os.path.basename(args.csv))[0] + ".scored.csv"
    if os.path.exists(out) and os.path.samefile(out, args.csv):
        raise configs.ConfigError(f"--out {out} is the file being scored: name another file")
    return out


def _trained_features_note(trained, declared, version_dir: str) -> str:
    """What was sent where the version was trained on other features than the declaration lists
    now (a feature excluded since, and no newer model blessed): "" when they agree."""
    dropped = [name for name in trained if name not in declared]
    added = [name for name in declared if name not in trained]
    if not dropped and not added:
        return ""
    told = [f"{', '.join(dropped)} (no longer declared, sent)"] if dropped else []
    told += [f"{', '.join(added)} (declared since, not read by it)"] if added else []
    return (f"note: scored with the features {version_dir} was trained on, which the declaration has "
            f"changed since: {'; '.join(told)}. A model of the current declaration scores them once a "
            "run pushes one")


def score(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel
    from pipeline import batch_scoring
    from schema import csv_files, gaps, ranges, report, schema_text, vocabularies

    dataset = options.dataset(args)
    if not os.path.isfile(args.csv):
        print(f"error: {args.csv} is not a file")
        return 1
    findings = csv_files.check_csv_file(args.csv)
    if not findings:  # before the model version is looked for: without --dataset, the default one's
        with open(args.csv, "rb") as f:
            other = csv_files.other_dataset(args.csv, csv_files.parse_header(f.readline()),
                                            dataset.feature_names(), dataset.name)
        findings = [other] if other else []
    if findings:
        print(report.render_text(findings, f"Scoring {args.csv}", next_steps=report.FILE_NEXT_STEPS))
        return 1
    schema = schema_text.read(args.schema or dataset.schema_file)
    version_dir, out = _version_dir(args), _out_path(args)
    profile = (profiles.choose_local(os.path.getsize(args.csv)) if args.profile == profiles.AUTO
               else args.profile)
    beam_args = (*profiles.beam_args(profile, profiles.parse_settings(args.profile_settings)),
                 *(args.beam_args or ()))
    print(f"Scoring {args.csv} with {version_dir} (profile {profile})", flush=True)
    beam_logger = logging.getLogger("apache_beam")
    level = beam_logger.level
    if not args.verbose:  # a worker's error is reported once, below, not also as Beam logs it
        beam_logger.setLevel(logging.CRITICAL)
    try:
        scored = batch_scoring.score(os.path.abspath(args.csv), os.path.abspath(out), dataset, schema,
                                     os.path.abspath(version_dir), beam_args)
    except batch_scoring.ScoringError as error:
        print(f"error: {error}; nothing was written")
        return 1
    finally:
        beam_logger.setLevel(level)
    print(f"Scored {scored.rows:,} rows in {scored.seconds:.1f} s: {out}")
    trained_note = _trained_features_note(scored.features, dataset.feature_names(), version_dir)
    if trained_note:
        print(trained_note)
    print(f"Added columns: {', '.join(batch_scoring.prediction_columns(dataset))}")
    if scored.passed_through:
        print("Written back as read, not sent to the model: "
              + ", ".join(name or csv_files.UNNAMED for name in scored.passed_through))
    has_label = set(dataset.label.source_columns) <= set(scored.passed_through)
    if scored.outside_range:
        print(ranges.outside_warning(scored.outside_range, scored.rows, scored.bounds, args.csv, has_label,
                                     options.dataset_flag(args)))
    if scored.unseen.counts:
        print(vocabularies.unseen_warning(scored.unseen, scored.rows, args.csv, has_label,
                                          options.dataset_flag(args)))
    missing = gaps.warning_for(schema, scored.missing, scored.rows, args.csv, has_label, options.dataset_flag(args))
    if missing:
        print(missing)
    dates = scored.dates.warning(scored.rows, args.csv, has_label, options.dataset_flag(args))
    if dates:
        print(dates)
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "score", help="score every row of a CSV file with a pushed model version (no server): the "
                      "rows written back with their predictions, in order")
    parser.add_argument("csv", help="CSV file with the model's feature columns; other columns (an ID, "
                        "the label) are written back as they are")
    options.add_dataset_option(parser)
    parser.add_argument("--out", help="the scored CSV (default: NAME.scored.csv in the current directory, for "
                        "input NAME.csv); replaced whole, once scoring has succeeded")
    parser.add_argument("--serving-dir", default=options.DEFAULTS.serving_dir,
                        help="model base folders (default: %(default)s)")
    parser.add_argument("--model-name", help="default: the dataset's name")
    parser.add_argument("--version", type=int, help="model version (default: the newest, as served)")
    parser.add_argument("--schema", help="default: the dataset's schema.pbtxt")
    parser.add_argument("--profile", default=options.DEFAULTS.profile,
                        help="where Beam runs, as for `run` (default: %(default)s)")
    parser.add_argument("--profile-setting", dest="profile_settings", action="append",
                        metavar="KEY=VALUE", help="setting of the profile (repeatable)")
    parser.add_argument("--beam-arg", dest="beam_args", action="append",
                        help="extra Beam pipeline argument, written --beam-arg=--flag=value (repeatable)")
    parser.set_defaults(handler=score)
