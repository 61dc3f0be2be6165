"""Drift detection matrix: each data bug of `benchmarks/drift_cases.py` on each dataset, checked by
`tfxpipe validate` on a span folder (the gate's check path), and the false-alarm rate of the
calibrated thresholds on fresh random pairs of spans and of serving windows.

    .venv/bin/python -m benchmarks.drift_matrix [--datasets taxi,penguins] [--resamples 50] [--update-docs]

Each public dataset goes through `tfxpipe init` (which calibrates its thresholds); the taxi sample
uses its curated schema. Spans are random halves of the data (the size the thresholds are calibrated
for); false alarms are counted on draws made with another seed than the calibration's. Writes
`benchmarks/results/drift_matrix.md` and, with --update-docs, the table in `docs/benchmarks.md`.
"""
import argparse
import contextlib
import dataclasses
import io
import os
import tempfile
from typing import Dict, List, Tuple

import tensorflow_data_validation as tfdv

from benchmarks import drift_cases, public_datasets
from benchmarks.measure import TAXI_DATASET, replace_between_markers
from cli import main as cli
from models import dataset as dataset_module
from schema import calibration, checks, csv_statistics, distances
from serving import monitor

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "drift_matrix.md")
DOCS = os.path.join(os.path.dirname(HERE), "docs", "benchmarks.md")
MARKERS = ("<!-- drift:start -->", "<!-- drift:end -->")
SPAN_SEED = 1
SHORT = {  # TFDV's anomaly titles, shortened for the table
    "High approximate Jensen-Shannon divergence between current and previous": "JSD drift",
    "High Linfty distance between current and previous": "L-infinity drift",
    "Out-of-range values": "range", checks.EMPTY_COLUMN: "presence", checks.MISSING_VALUES: "presence",
    "Unexpected data type": "type", checks.CLASS_MISSING: "class missing",
}


def tfxpipe(*args: str) -> Tuple[int, str]:
    """A command run in this process (one TensorFlow start for the whole matrix): exit code, output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(args))
    return code, out.getvalue()


def prepare(name: str, root: str) -> Tuple[str, str]:
    """(dataset folder, CSV) of `name`: taxi's own folder, else one drafted by `tfxpipe init`."""
    if name == "taxi":
        declaration = dataset_module.load(TAXI_DATASET)
        return TAXI_DATASET, os.path.join(declaration.data_root(), "data.csv")
    public = next(d for d in public_datasets.ALL + public_datasets.TIMESTAMPED + public_datasets.WIDE
                  if d.name == name)
    data = public.write_folder(os.path.join(root, "data"))
    folder = os.path.join(root, "datasets", name)
    code, output = tfxpipe("init", data, "--label", public.label, "--out", folder)
    assert code == 0, output
    return folder, os.path.join(data, f"{name}.csv")


def detection(folder: str, csv: str, root: str) -> Dict[str, str]:
    """Case -> "caught (checks)", "MISSED" or "n/a"."""
    declaration = dataset_module.load(folder)
    previous, span = drift_cases.halves(drift_cases.read(csv), SPAN_SEED)
    verdicts = {}
    for case in drift_cases.CASES:
        column, broken = drift_cases.broken_span(case, declaration, span)
        if column is None:
            verdicts[case.name] = "n/a"
            continue
        data = drift_cases.write_spans(os.path.join(root, case.name), [previous, broken])
        code, output = tfxpipe("validate", data, "--dataset", folder,
                               "--report", os.path.join(root, f"{case.name}.html"))
        problems = sorted({SHORT.get(problem, problem) for problem in (
            line.split(": ", 1)[1].split(".")[0] for line in output.splitlines()
            if line.startswith(f"- {column}: "))})
        verdicts[case.name] = (f"{column}: {', '.join(problems)}" if code == 1 and problems
                               else f"MISSED {column} ({_distance(declaration, data, column)})")
    return verdicts


def _distance(declaration: dataset_module.Dataset, data: str, column: str) -> str:
    """Why a case was missed: the distance between the two spans and the threshold it stayed under."""
    curated = tfdv.load_schema_text(declaration.schema_file)
    feature = tfdv.get_feature(curated, column)
    threshold = distances.threshold_of(feature.drift_comparator)
    if threshold is None:
        return "no drift comparator"
    previous, current = (csv_statistics.statistics_of_csv(os.path.join(data, span), declaration.missing_values,
                                                  distances.stats_options(curated))
                         for span in ("span-1", "span-2"))
    measured = calibration.distance_per_feature(current, previous, curated, [column])[column]
    return f"{distances.measure(feature.drift_comparator)} {measured:.2f} <= {threshold:.2f}"


@dataclasses.dataclass(frozen=True)
class FalseAlarms:
    spans: int  # pairs of spans checked (the gate's checks)
    span_alarms: int  # ... with a finding
    windows: int  # pairs of request windows checked (monitor's checks)
    window_alarms: int
    features: List[str]  # features that alarmed


def false_alarms(folder: str, csv: str, resamples: int, seed: int = SPAN_SEED + 1) -> FalseAlarms:
    """Fresh random pairs of spans and of request windows of the data (`seed`: not calibration's)
    through the gate's and monitor's checks."""
    declaration = dataset_module.load(folder)
    curated = tfdv.load_schema_text(declaration.schema_file)
    statistics_of = lambda options: csv_statistics.statistics_of_csv(  # noqa: E731
        csv, declaration.missing_values, options)
    rows = len(drift_cases.read(csv))
    samples = calibration.sample_pairs(statistics_of, curated, rows, pairs=resamples, seed=seed)
    served = monitor.serving_schema(curated, declaration.feature_names())
    features = set(declaration.feature_names())
    span_alarms, window_alarms, alarmed = 0, 0, set()
    for current, previous in samples.spans:
        findings = checks.check_statistics(current, curated, previous)
        span_alarms += bool(findings)
        alarmed.update(f.feature for f in findings)
    for current, previous in samples.windows:
        findings = monitor.window_findings(calibration.only(current, features),
                                           calibration.only(previous, features),
                                           samples.everything, served)
        window_alarms += bool(findings)
        alarmed.update(f.feature for f in findings)
    return FalseAlarms(len(samples.spans), span_alarms, len(samples.windows), window_alarms,
                       sorted(alarmed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    names = ["taxi"] + [d.name for d in public_datasets.ALL + public_datasets.TIMESTAMPED + public_datasets.WIDE]
    parser.add_argument("--datasets", default=",".join(names))
    parser.add_argument("--resamples", type=int, default=50)
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in args.datasets.split(","):
        with tempfile.TemporaryDirectory(prefix=f"drift-{name}-") as root:
            folder, csv = prepare(name, root)
            verdicts = detection(folder, csv, root)
            alarms = false_alarms(folder, csv, args.resamples)
        rows.append((name, verdicts, alarms.span_alarms, alarms.window_alarms, alarms.features))
        print(name, verdicts, alarms, flush=True)
    header = ["dataset"] + [c.name for c in drift_cases.CASES] + ["false alarms: spans", "windows"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, verdicts, spans, windows, alarmed in rows:
        cells = [verdicts[c.name] for c in drift_cases.CASES]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {spans}/{args.resamples} | "
                     f"{windows}/{args.resamples}" + (f" ({', '.join(alarmed)})" if alarmed else "") + " |")
    missed = sum("MISSED" in v for _, verdicts, *_ in rows for v in verdicts.values())
    alarms = sum(s + w for _, _, s, w, _ in rows)
    verdict = "PASS" if not missed and not alarms else "FAIL"
    table = "\n".join(lines) + (f"\n\nVerdict: {verdict} ({missed} missed, {alarms} false alarms in "
                                f"{2 * args.resamples * len(rows)} same-distribution pairs).\n")
    print(table)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w", encoding="utf-8") as f:
        f.write(table)
    if args.update_docs:
        replace_between_markers(DOCS, MARKERS, "\n" + table)


if __name__ == "__main__":
    main()
