"""`tfxpipe init`, `tfxpipe validate` and `tfxpipe schema-diff`: a dataset folder drafted from a CSV,
and the data checks of the pipeline, without running it.

`validate` runs the same checks as the pipeline's data gate (`schema.checks`) on a CSV file or folder,
so a data CI gets the gate's verdict in seconds: exit 0 when the data meets the schema, 1 otherwise.
"""
import argparse
import dataclasses
import os
from typing import Set

import schema
from cli import options

# TFDV (and Beam, TensorFlow) are imported by the commands themselves, not when the command line is
# built: every `tfxpipe` command would otherwise pay ~5 s of imports (a model server start included).


def validate(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel
    from schema import (absent_classes, cell_lines, checks, csv_files, csv_statistics, data_folder, distances,
                        report, schema_text)

    if not os.path.exists(args.path):
        print(f"error: {args.path} does not exist")
        return 1
    dataset = options.dataset(args)
    missing = dataset.missing_values
    current, previous = data_folder.latest_and_previous(args.path, accepted_spans(args, dataset.name, args.path))
    previous = args.previous or previous or _declared_data(
        dataset, current, lambda root: accepted_spans(args, dataset.name, root))
    schema_file = args.schema or dataset.schema_file
    curated = schema_text.read(schema_file)
    serving = args.skew_against is not None
    structural = csv_files.check_against_schema(current, curated, dataset.name, dataset.read_columns(),
                                                "SERVING" if serving else "TRAINING")
    statistics = None
    findings, steps = structural, report.FILE_NEXT_STEPS
    if not structural:
        compared = distances.stats_options(curated)
        statistics = csv_statistics.statistics_of_csv(current, missing, compared)
        if serving:
            training = csv_statistics.statistics_of_csv(args.skew_against, missing, compared)
            findings = checks.check_skew(statistics, training, curated)
        else:
            previous_statistics = csv_statistics.statistics_of_csv(previous, missing, compared) if previous else None
            findings = checks.check_statistics(statistics, curated, previous_statistics, classes=absent_classes.classes_to_check(
                curated, dataset.label.column, dataset.label.classes))
        findings += cell_lines.undated_cells(current, dataset.dates_written_as_text(), missing,
                                             dataset.dates_with_hour())
        steps = report.next_steps(findings, curated)
        if not serving and any(checks.is_drift(f) for f in findings):
            steps += schema_text.small_sample_note(schema_file, min(
                statistics.datasets[0].num_examples, previous_statistics.datasets[0].num_examples))
        findings = cell_lines.located(findings, current, curated, missing)
    title = f"Data validation of {current}" + (
        f" (serving skew vs {args.skew_against})" if serving
        else f" (drift vs {previous})" if previous else "")
    report_dir = options.config_for_dataset_reports(args.work_dir, dataset.name).report_dir
    path = report.write_html(args.report or os.path.join(report_dir, "validate", schema.REPORT_FILE),
                             findings, title, statistics)
    print(report.naming_dataset(report.render_text(findings, title, path,
                                                   next_steps=report.naming_data(steps, args.path)),
                                options.schema_flags(args)))
    return 1 if findings else 0


def _runs_on_spans(args: argparse.Namespace, pipeline_name: str, path: str):
    """(the pipeline's ML Metadata store: --metadata, else the work dir's; the data folder of `span-N/`
    folders holding `path`: that folder, one of its spans or a file in one); None without either."""
    from pipeline import metadata_store  # pylint: disable=import-outside-toplevel
    from schema import data_folder  # pylint: disable=import-outside-toplevel

    here = os.path.realpath(path)
    around = (here, os.path.dirname(here), os.path.dirname(os.path.dirname(here)))  # a span's file, up
    root = next((folder for folder in around if os.path.isdir(folder) and data_folder.spans(folder)), None)
    if root is None:
        return None
    uri = dataclasses.replace(options.config_for_dataset_reports(args.work_dir, pipeline_name),
                              metadata=options.metadata_uri(args)).resolved().metadata_uri
    return (metadata_store.open_store(uri), root) if metadata_store.exists(uri) else None


def accepted_spans(args: argparse.Namespace, pipeline_name: str, path: str):
    """Spans of the data folder holding `path` (`_runs_on_spans`) that the pipeline's data gate
    accepted, from the runs recorded in ML Metadata, less those excluded by hand since:
    `validate` then takes the gate's drift reference. None when no gate checked data from that
    folder: the span before is taken."""
    from pipeline import resolvers  # pylint: disable=import-outside-toplevel

    found = _runs_on_spans(args, pipeline_name, path)
    return resolvers.accepted_spans(*found) if found else None


def excluded_spans(args: argparse.Namespace, pipeline_name: str, path: str) -> Set[int]:
    """Spans of the data folder holding `path` (`_runs_on_spans`) excluded by hand (`exclude-span`)."""
    from pipeline import excluded_spans as exclusions  # pylint: disable=import-outside-toplevel

    found = _runs_on_spans(args, pipeline_name, path)
    return exclusions.spans(*found) if found else set()


def _declared_data(dataset, current: str, accepted_of):
    """The dataset's own data (its newest span): what drift is checked against when neither
    `--previous` nor an older span is given, as the pipeline checks a new run's data against the
    data it accepted before. For a span of that data (or a file in one), the span before it (of
    those the gate accepted, `accepted_of(data folder)`, once a gate checked them); None when there
    is none, the data is not there, or is `current` itself."""
    from models.dataset import DeclarationError  # pylint: disable=import-outside-toplevel
    from schema import data_folder  # pylint: disable=import-outside-toplevel

    try:
        root = dataset.data_root()
    except DeclarationError:
        return None
    spans = data_folder.spans(root) if os.path.isdir(root) else []
    accepted = accepted_of(root) if spans else None
    here = os.path.realpath(current)
    within = [i for i, (_, folder) in enumerate(spans)
              if (here + os.sep).startswith(os.path.realpath(folder) + os.sep)]
    if within:
        earlier = [folder for span, folder in spans[:within[0]] if accepted is None or span in accepted]
        return earlier[-1] if earlier else None
    kept = [folder for span, folder in spans if accepted is None or span in accepted]
    declared = kept[-1] if kept else None if spans else root  # what a run read last
    if declared is None or not os.path.exists(declared) or os.path.realpath(declared) == here:
        return None
    return declared


def schema_diff(args: argparse.Namespace) -> int:
    """What accepting new data would change in the curated schema; exit 1 when no change would
    accept it (the data is to be corrected), and then nothing is written. Drift that would still stop
    a run is told, not an exit status: it is a threshold's matter, which schema-diff does not change."""
    # pylint: disable=import-outside-toplevel
    from models import dataset as ds
    from schema import (cell_lines, checks, csv_files, csv_statistics, data_folder, declaration_fit, distances,
                        maintain, report, schema_text)

    dataset = options.dataset(args)
    schema_file = args.schema or dataset.schema_file
    curated = schema_text.read(schema_file)
    folder, previous = data_folder.latest_and_previous(args.path, accepted_spans(args, dataset.name, args.path))
    previous = previous or _declared_data(dataset, folder, lambda root: accepted_spans(args, dataset.name, root))
    unreadable = [finding for finding in csv_files.check_against_schema(
                      folder, curated, dataset.name, dataset.read_columns())
                  if finding.problem != csv_files.UNEXPECTED_COLUMN]  # a new column is proposed below
    if unreadable:  # a file that cannot be read, a column gone: the data's to fix
        print(report.render_text(unreadable, f"{folder} cannot be accepted by changing the schema",
                                 next_steps=report.FILE_NEXT_STEPS))
        return 1
    compared = distances.stats_options(curated, num_rank_histogram_buckets=maintain.EVERY_VALUE)
    statistics = csv_statistics.statistics_of_csv(folder, dataset.missing_values, compared)
    proposal = maintain.propose(curated, statistics)
    if proposal.changes:
        print(f"To accept {folder}, the curated schema would change:")
        print("\n".join(f"- {change}" for change in proposal.changes))
    if proposal.refused:
        refused = cell_lines.located(proposal.refused, folder, curated, dataset.missing_values)
        print(report.render_text(refused, f"Even so, {folder}" if proposal.changes else folder,
                                 next_steps=REFUSED_NEXT_STEPS))
        return 1
    against_previous = checks.check_statistics(statistics, proposal.schema, csv_statistics.statistics_of_csv(
        previous, dataset.missing_values, compared)) if previous else []
    copies = [finding for finding in against_previous if finding.problem in (checks.COPIES_LABEL, checks.CLASS_MISSING)]
    named = options.schema_flags(args)
    if copies:  # the data's to correct, as what the proposal refuses
        print(report.naming_dataset(report.render_text(copies, f"Even so, {folder}" if proposal.changes else folder,
                                                       next_steps=report.next_steps(copies)), named))
        return 1
    drift = [finding for finding in against_previous if checks.is_drift(finding)]
    if drift:  # a unit change: its range widened, a run stops on drift all the same
        print(report.naming_dataset(report.render_text(
            drift, f"{'Even so, a' if proposal.changes else 'A'} run of {folder} stops on drift vs {previous}",
            next_steps=report.DRIFT_NEXT_STEPS), named))
    if not proposal.changes:
        print(f"{folder} has the values and ranges of the curated schema {schema_file}; " + (
            "its drift is what stops a run." if drift else "nothing to change."))
        return 0
    unfit = declaration_fit.mismatches(dataset, proposal.schema)
    if unfit:  # a new label value is a new class: the declaration must say so too
        print(f"Then {ds.DECLARATION_FILE} must change too, or runs are refused:")
        print("\n".join(f"- {problem}" for problem in unfit))
    if args.write:  # under the schema's own comment lines (the calibration table among them)
        comments = schema_text.header_comment(schema_file, keep_calibration=True)
        schema_text.write(proposal.schema, schema_file, comments)
        print(f"Updated {schema_file}.")
    else:
        print("Nothing written; pass --write to update the schema file.")
    return 0


REFUSED_NEXT_STEPS = "What to do: correct the data as said above, then run schema-diff again. Nothing was written."


def add_parsers(subparsers) -> None:
    check = subparsers.add_parser("validate", help="check a CSV file or folder against the schema")
    check.add_argument("path", help="CSV file, folder of CSV files, or folder of span-N/ folders")
    check.add_argument("--previous", help="CSV file or folder to check drift against (default: the "
                                           "older span: the newest one the data gate accepted in the "
                                           "runs under --work-dir, if any; else the dataset's own data)")
    check.add_argument("--skew-against", metavar="TRAINING_DATA",
                       help="PATH is serving data (no label): check it and its skew vs this training data")
    options.add_dataset_option(check)
    check.add_argument("--schema", help="curated schema (default: the dataset's schema.pbtxt)")
    check.add_argument("--work-dir", default=options.DEFAULTS.work_dir,
                       help="the report goes under its reports/ folder (default: %(default)s)")
    options.add_metadata_options(check)  # the runs' store, when not the work dir's SQLite file
    check.add_argument("--report", help="HTML report path (default: WORK_DIR/reports/DATASET/validate/"
                       f"{schema.REPORT_FILE}; TFDV's Facets view beside it)")
    check.set_defaults(handler=validate)
    diff = subparsers.add_parser("schema-diff", help="what new data would change in the schema")
    diff.add_argument("path", help="CSV file or folder of new data")
    options.add_dataset_option(diff)
    diff.add_argument("--schema", help="curated schema (default: the dataset's schema.pbtxt)")
    diff.add_argument("--write", action="store_true", help="update the schema file")
    diff.add_argument("--work-dir", default=options.DEFAULTS.work_dir,
                      help="whose runs tell the spans the gate accepted, drift's reference (default: %(default)s)")
    options.add_metadata_options(diff)
    diff.set_defaults(handler=schema_diff)


def declared_data(path: str, out: str) -> str:
    """The `data:` init writes: relative to the dataset folder where both lie in the project, so a
    project moved or cloned elsewhere still finds its data; absolute otherwise."""
    from pipeline.configs import PROJECT_ROOT  # pylint: disable=import-outside-toplevel

    data, folder, root = os.path.abspath(path), os.path.abspath(out), PROJECT_ROOT
    inside = all(os.path.commonpath([p, root]) == root for p in (data, folder))
    return os.path.relpath(data, folder) if inside else data


def init(args: argparse.Namespace) -> int:
    """Drafts `datasets/NAME/` (declaration + curated schema) from a CSV and its label column."""
    # pylint: disable=import-outside-toplevel
    from pipeline import configs
    from schema import data_folder, infer, report  # (imports TFDV)

    try:
        # named after its folder: two folders drafted from one file (two labels) are two pipelines,
        # each with its own runs and served model
        name = args.name or infer.default_name(os.path.abspath(args.out) if args.out else args.path)
        out = args.out or os.path.join(options.DATASETS_DIR, name)
        infer.refuse_existing(out)
        # a folder of span-N/ folders (the layout a run reads) is drafted from its newest span
        source = data_folder.latest_and_previous(args.path)[0]
        print(f"Drafting a dataset from {source}", flush=True)
        draft = infer.infer(source, args.label, args.task, name,
                            progress=lambda line: print(line, flush=True), missing=args.missing_value,
                            text_columns=args.text_column)
        declaration, schema = infer.write(draft, out, declared_data(args.path, out))
    except infer.InitError as error:
        print(f"error: {error}")
        return 1
    print(f"Dataset {name!r} ({draft.declaration['task']}, label {args.label!r}):")
    named = configs.dataset_flag(out)  # a new dataset, never the default one: what its lines suggest names it
    print(report.naming_dataset("\n".join(f"  {line}" for line in draft.decisions), named))
    print(report.naming_dataset("".join(f"Check: {line}\n" for line in draft.checks), named), end="")
    print(f"Wrote {declaration} and {schema}: review them, then\n"
          f"  tfxpipe run --dataset {out}")
    return 0


def add_init_parser(subparsers) -> None:
    parser = subparsers.add_parser("init", help="draft a dataset folder (declaration + curated schema) from a CSV")
    parser.add_argument("path", help="CSV file or folder of CSV files")
    parser.add_argument("--label", required=True, help="the column the model predicts")
    parser.add_argument("--task", default="auto", choices=["auto", "binary", "multiclass", "regression"])
    parser.add_argument("--name", help="dataset name (default: the --out folder's name, else the file or "
                        "folder name)")
    parser.add_argument("--missing-value", action="append", default=[], metavar="WORD",
                        help="a cell value that means no value (repeat for more), besides the common "
                             "ones init finds itself (NA, null, ?, ...)")
    parser.add_argument("--text-column", action="append", default=[], metavar="NAME",
                        help="a column of numbers and a few words that is text as it is (codes such as "
                             "floors 1, 2, G); repeat for more")
    parser.add_argument("--out", help=f"dataset folder to write (default: {options.DATASETS_DIR}/NAME, "
                        "the project's datasets folder)")
    parser.set_defaults(handler=init)
