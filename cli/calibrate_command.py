"""`tfxpipe calibrate`: the schema's drift and skew thresholds measured from the data's own noise
(`schema/calibration.py` says how), printed as a table and as the changes to the schema, written with
`--write`. A threshold raised or removed by hand since the last calibration is kept (the schema's
calibration comment says what that calibration set). On a folder of spans it measures the spans
the data gate accepted, for the size the gate compares."""
import argparse
import os

import schema
from cli import options
from cli.data_commands import accepted_spans, excluded_spans
from pipeline.configs import ConfigError


def _calibrated_on(args: argparse.Namespace, dataset, root: str):
    """(the data `calibrate` measures, the span rows it calibrates for): in a folder of `span-N/`
    folders, every span the data gate accepted (every span before any run) and the newest one's rows,
    as the gate compares whole spans; else the file or folder, and --span-rows (0: half of it)."""
    from pipeline import runs  # pylint: disable=import-outside-toplevel
    from schema import csv_files, csv_records, data_folder  # pylint: disable=import-outside-toplevel

    found = data_folder.spans(root) if os.path.isdir(root) else []
    if not found:
        return root, args.span_rows
    accepted = accepted_spans(args, dataset.name, root)
    used = [(span, folder) for span, folder in found if accepted is None or span in accepted]
    notes = ["those the data gate accepted"] if accepted is not None and len(used) < len(found) else []
    if not used:  # the newest of those left in use, so a span with wrong labels still stays out
        excluded = excluded_spans(args, dataset.name, root)
        left = [(span, folder) for span, folder in found if span not in excluded]
        if not left:
            raise ConfigError(f"every span of {root} is excluded by hand (`tfxpipe exclude-span`): nothing is left "
                              "to calibrate on; add a span, or put one back with `tfxpipe exclude-span N --undo`")
        used, notes = left[-1:], ["the data gate accepted none in use: the newest not excluded by hand" if excluded
                                  else "the data gate accepted none: the newest"]
    headers = {span: csv_files.file_header(data_folder.data_files(folder)[0]) for span, folder in used}
    newest = headers[used[-1][0]]
    kept = [(span, folder) for span, folder in used if headers[span] == newest]  # columns as the newest
    if len(kept) < len(used):
        other = [span for span, _ in used if headers[span] != newest]
        notes.append(f"not {runs.span_text(other)}, whose columns differ")
    span_rows = args.span_rows or csv_records.record_count(data_folder.data_files(kept[-1][1]))
    told = f" ({'; '.join(notes)})" if notes else ""
    print(f"Calibrating on spans {runs.span_text([span for span, _ in kept])} of {root}{told}, "
          f"for spans of {span_rows} rows")
    return [folder for _, folder in kept], span_rows


def calibrate(args: argparse.Namespace) -> int:
    """Measures each feature's drift/skew noise in the data and proposes the schema's thresholds."""
    # pylint: disable=import-outside-toplevel
    from models.dataset import Kind
    from schema import calibration, csv_statistics, distances, maintain, ranges, schema_text

    dataset = options.dataset(args)
    schema_file = args.schema or dataset.schema_file
    data, span_rows = _calibrated_on(args, dataset, args.path or dataset.data_root())
    label = dataset.label
    codes = [f.name for f in dataset.features if f.kind == Kind.CATEGORICAL_INT] + (
        [label.column] if label.classes_in_column else [])  # drift compares the classes' shares
    curated = schema_text.read(schema_file)
    marked = calibration.mark_codes(curated, codes)
    statistics_of = lambda stats_options: csv_statistics.statistics_of_csv(  # noqa: E731
        data, dataset.missing_values, stats_options)
    statistics = statistics_of(distances.stats_options(marked))
    rows = statistics.datasets[0].num_examples
    if span_rows > rows // 2:
        print(f"note: two spans of {span_rows} rows need {2 * span_rows} rows to be drawn from, and the data has "
              f"{rows}: calibrated for spans of {rows // 2} rows, which are noisier, so the thresholds are looser "
              "than spans of that size need; they firm up as the data grows (more spans)")
    dates = [f.name for f in dataset.features if f.kind is Kind.DATE]  # a later span is a later period
    compared = [name for name in dataset.feature_names() if name not in dates]
    measured = calibration.calibrate(statistics_of, marked, dataset.feature_names(),
                                     args.path or dataset.data, rows, span_rows, args.window_rows,
                                     label=label.label_only_column, dates=dates)
    proposed = ranges.with_plausible_ranges(calibration.apply(marked, measured), statistics,
                                                 [dataset.label.column, *compared])
    edits = maintain.HandEdits(proposed, {}, [])
    recorded = schema_text.calibrated_thresholds(schema_file)
    if not args.discard_edits:
        edits = maintain.keep_hand_edits(curated, proposed, recorded)
    if not recorded and any(f.HasField("drift_comparator") or f.HasField("skew_comparator") for f in curated.feature):
        print(f"note: {schema_file} has no calibration block (`init` and `calibrate --write` write one), so "
              "thresholds set by hand cannot be told from calibrated ones: every one is set as calibrated")
    print("\n".join(line[2:] for line in schema_text.comment(measured, edits.kept)[1:-1]))
    if edits.said:
        print("Kept as set by hand (--discard-edits takes the calibrated ones):")
        print("\n".join(f"- {comparator}" for comparator in edits.said))
    proposed = edits.schema
    changes = maintain.differences(curated, proposed)
    print("Changes to the schema:" if changes else "The schema already has these thresholds.")
    print("\n".join(f"- {change}" for change in changes))
    if args.write:  # the comment block too: it records the latest calibration
        schema_text.write(proposed, schema_file,
                          schema_text.header_comment(schema_file) + schema_text.comment(measured, edits.kept))
        print(f"Updated {schema_file}.")
        if distances.quantile_buckets(curated) != measured.quantile_buckets:
            print(f"note: numeric columns are now compared over {measured.quantile_buckets} quantile buckets; "
                  "statistics made before (the previous span's, the served model's training data) have "
                  f"{distances.quantile_buckets(curated)}, so the next span's numeric drift, and `monitor`'s "
                  "skew until the next training run, are not checked: "
                  f"`tfxpipe validate{options.schema_flags(args)}` on the new span compares it at the new count")
    elif changes:
        print("Nothing written; pass --write to update the schema file.")
    return 0


def add_parser(subparsers) -> None:
    measure = subparsers.add_parser("calibrate", help="set drift/skew thresholds from the data's own noise")
    measure.add_argument("path", nargs="?", help="CSV file or folder (default: the dataset's data)")
    options.add_dataset_option(measure)
    measure.add_argument("--schema", help="curated schema (default: the dataset's schema.pbtxt)")
    measure.add_argument("--span-rows", type=int, default=0,
                         help="rows of the smallest span drift is checked on (default: the newest span's "
                              "rows in a folder of spans, else half the data)")
    measure.add_argument("--work-dir", default=options.DEFAULTS.work_dir,
                         help="its runs tell which spans the data gate accepted (default: %(default)s)")
    options.add_metadata_options(measure)  # the runs' store, when not the work dir's SQLite file
    measure.add_argument("--window-rows", type=int, default=schema.WINDOW_ROWS,
                         help="requests in the smallest window `monitor` checks (default: %(default)s)")
    measure.add_argument("--discard-edits", action="store_true",
                         help="set every threshold as calibrated, also those raised or removed by hand since "
                              "the last calibration (kept by default)")
    measure.add_argument("--write", action="store_true", help="update the schema file")
    measure.set_defaults(handler=calibrate)
