"""`tfxpipe validate` and `tfxpipe schema-diff`: the data checks of the pipeline, without running it.

`validate` runs the same checks as the pipeline's data gate (`schema.checks`) on a CSV file or folder,
so a data CI gets the gate's verdict in seconds: exit 0 when the data meets the schema, 1 otherwise.
"""
import argparse
import os
from typing import Optional, Tuple

# TFDV (and Beam, TensorFlow) are imported by the commands themselves, not when the command line is
# built: every `tfxpipe` command would otherwise pay ~5 s of imports (a model server start included).


def _latest_and_previous(path: str) -> Tuple[str, Optional[str]]:
    from schema import checks  # pylint: disable=import-outside-toplevel

    if os.path.isdir(path):
        spans = checks.spans(path)
        if spans:
            return spans[-1][1], (spans[-2][1] if len(spans) > 1 else None)
    return path, None


def validate(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel
    import tensorflow_data_validation as tfdv

    from schema import checks, report

    if not os.path.exists(args.path):
        print(f"error: {args.path} does not exist")
        return 1
    current, previous = _latest_and_previous(args.path)
    previous = args.previous or previous
    curated = tfdv.load_schema_text(args.schema)
    serving = args.skew_against is not None
    columns = checks.expected_columns(curated, "SERVING" if serving else "TRAINING")
    structural = (checks.check_csv_folder(current, columns) if os.path.isdir(current)
                  else checks.check_csv_file(current, columns))
    statistics = None
    findings = structural
    if not structural:
        statistics = checks.statistics_of_csv(current)
        if serving:
            training = checks.statistics_of_csv(args.skew_against)
            findings = checks.check_skew(statistics, training, curated)
        else:
            previous_statistics = checks.statistics_of_csv(previous) if previous else None
            findings = checks.check_statistics(statistics, curated, previous_statistics)
    title = f"Data validation of {current}" + (
        f" (serving skew vs {args.skew_against})" if serving
        else f" (drift vs {previous})" if previous else "")
    path = report.write_html(args.report, findings, title, statistics)
    print(report.render_text(findings, title, path))
    return 1 if findings else 0


def schema_diff(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel
    import tensorflow_data_validation as tfdv

    from schema import checks, maintain

    curated = tfdv.load_schema_text(args.schema)
    folder, _ = _latest_and_previous(args.path)
    proposed = maintain.updated(curated, checks.statistics_of_csv(folder))
    changes = maintain.differences(curated, proposed)
    if not changes:
        print(f"{folder} fits the curated schema {args.schema}: nothing to change.")
        return 0
    print(f"To accept {folder}, the curated schema would change:")
    print("\n".join(f"- {change}" for change in changes))
    if args.write:
        tfdv.write_schema_text(proposed, args.schema)
        print(f"Updated {args.schema}.")
    else:
        print("Nothing written; pass --write to update the schema file.")
    return 0


def add_parsers(subparsers, default_schema: str) -> None:
    check = subparsers.add_parser("validate", help="check a CSV file or folder against the schema")
    check.add_argument("path", help="CSV file, folder of CSV files, or folder of span-N/ folders")
    check.add_argument("--previous", help="CSV file or folder to check drift against")
    check.add_argument("--skew-against", metavar="TRAINING_DATA",
                       help="PATH is serving data (no label): check it and its skew vs this training data")
    check.add_argument("--schema", default=default_schema)
    check.add_argument("--report", default="data_validation.html", help="HTML report path")
    check.set_defaults(handler=validate)
    diff = subparsers.add_parser("schema-diff", help="what new data would change in the schema")
    diff.add_argument("path", help="CSV file or folder of new data")
    diff.add_argument("--schema", default=default_schema)
    diff.add_argument("--write", action="store_true", help="update the schema file")
    diff.set_defaults(handler=schema_diff)
