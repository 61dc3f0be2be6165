"""`tfxpipe predict`: CSV rows -> a running model server (REST or gRPC) -> predictions, by task, with
the same warnings as `score` about data unlike the training data; `score` needs no server."""
import argparse
import re
import sys
from typing import Optional

import numpy as np

from cli import options
from models.dataset import Task
from serving import commands


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


def _blank_unreadable(rows, undeclared, schema, missing_values, examples) -> list:
    """Cells of the `undeclared` columns (in the schema, not features: excluded ones) that are not of
    their schema type, emptied in `rows`: the current model does not read those columns, so such a
    cell must not refuse the request. Returns the columns that had one."""
    types = examples.feature_types(schema)
    blanked = []
    for name in undeclared:
        for row in rows:
            try:
                examples.to_example({name: row.get(name)}, types, missing_values)
            except ValueError:
                row[name] = ""
                blanked += [name] if name not in blanked else []
    return blanked


def predict(args: argparse.Namespace) -> int:
    # pylint: disable=import-outside-toplevel
    import urllib3

    from schema import csv_files, date_cells, gaps, ranges, schema_text, vocabularies
    from serving import client, examples

    dataset = options.dataset(args)
    schema = schema_text.read(args.schema or dataset.schema_file)
    features = set(dataset.feature_names())
    in_schema = {f.name for f in schema.feature}
    try:
        with open(args.csv, "rb") as f:
            header = csv_files.parse_header(f.readline())
        if not set(dataset.feature_names()) & set(header):
            print(f"error: {args.csv} has none of the features of dataset {dataset.name!r} "
                  f"({', '.join(dataset.feature_names())}): is it this dataset's file? --dataset names the dataset", file=sys.stderr)
            return 1
        # Every column the schema knows is sent but the label's: a version trained before a feature
        # was excluded (served until a newer one is pushed, or again after a rollback) still reads it,
        # and a model ignores the features it does not read, as TF Serving's clients rely on.
        label_only = set(dataset.label.source_columns) - features
        every_row = examples.read_csv_rows(args.csv, drop_columns=[c for c in header if c not in in_schema
                                                                   or c in label_only])
        rows = every_row[: args.limit] if args.limit > 0 else every_row
        blanked = _blank_unreadable(rows, [c for c in header if c in in_schema and c not in features], schema,
                                    dataset.missing_values, examples)
        serialized = examples.serialize_rows(rows, schema, dataset.missing_values)
    except (OSError, ValueError) as error:
        print(f"error: {args.csv}: {error}", file=sys.stderr)
        return 1
    if not serialized:
        print(f"error: {args.csv} has no data rows", file=sys.stderr)
        return 1
    numbers = dataset.number_names()
    bounds = ranges.declared_ranges(schema, numbers)
    outside = ranges.outside_counts(rows, bounds, dataset.missing_values)
    unseen = vocabularies.Unseen()
    known = vocabularies.known_values(schema, [name for name in dataset.feature_names() if name not in numbers])
    dates = date_cells.DateCells()
    with_hour = dataset.dates_with_hour()
    timed = {name: name in with_hour for name in dataset.dates_written_as_text()}
    for row in rows:
        unseen.check(row, known, dataset.missing_values)
        dates.check(row, timed, dataset.missing_values)
    has_label = set(dataset.label.source_columns) <= set(header)
    unknown = [c for c in header if c not in in_schema]
    if blanked:
        print(f"note: {', '.join(blanked)}: not features of the declaration, sent for a version trained before "
              "they were excluded; cells not of the schema's type were sent as missing values")
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
    dates_said = dates.warning(len(rows), args.csv, has_label, options.dataset_flag(args))
    if dates_said:
        print(dates_said)
    if absent:  # the model answers without them, as TF Serving would: said, not refused
        print(f"note: no column {', '.join(absent)} in {args.csv}: sent as missing values, as TF Serving "
              "takes a request without them; the model uses what it learned for missing values, so these "
              "predictions may differ from those of rows that have them (`tfxpipe score` refuses such a file)")
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
                  f"`tfxpipe serve{options.dataset_flag(args)}`", file=sys.stderr)
        else:
            print(unreachable.format(error) if error.status == "UNAVAILABLE"
                  else f"error: the server refused the request: {error}", file=sys.stderr)
        return 1
    except (urllib3.exceptions.HTTPError, client.grpc.RpcError) as error:
        said = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(error))  # "Connection refused", not MaxRetryError
        print(unreachable.format(said.group(1) if said else type(error).__name__), file=sys.stderr)
        return 1
    finally:
        connection.close()
    misfit = _misfit(dataset, answers)
    if misfit:
        print(f"error: {misfit}: is model {options.model_name(args)!r} at {args.server} trained on "
              f"this dataset? --model-name and --server name the model, --dataset its dataset", file=sys.stderr)
        return 1
    print(_predictions_table(dataset, answers))
    if len(rows) < len(every_row):
        print(f"(the first {len(rows)} of {len(every_row)} rows; --limit 0 sends them all)")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="send CSV rows to a model server, print predictions")
    parser.add_argument("csv", help="CSV file with the dataset's columns: the label is left out, and so "
                        "is a column the schema does not know (with a note)")
    options.add_dataset_option(parser)
    parser.add_argument("--server", default=f"http://127.0.0.1:{commands.DEFAULTS.rest_port}",
                        help="http://host:port (REST) or grpc://host:port")
    parser.add_argument("--model-name", help="default: the dataset's name")
    parser.add_argument("--schema", help="default: the dataset's schema.pbtxt")
    parser.add_argument("--limit", type=_row_count, default=20,
                        help="rows to send, 0 for all (default: %(default)s)")
    parser.set_defaults(handler=predict)
