"""Transform on wide numeric data: the numeric features z-scored by one elementwise analyzer over all
of them (`models/preprocessing.py`) against one `tft.scale_to_z_score` per column, the textbook TFT
preprocessing_fn and what this project did before, in the same run.

    .venv/bin/python -m benchmarks.wide_transform [--repeats 2] [--update-docs]

Public tables of numbers that ship in scikit-learn (breast cancer: 30 columns, digits: 64), a twentieth
of their cells blanked as optional columns are, analysed and transformed by TFT on Beam's
DirectRunner, tracing included, as the Transform component does. The outputs of the two must agree to
float32 rounding. Writes `benchmarks/results/wide_transform.md` and, with --update-docs, the table in
`docs/benchmarks.md`.
"""
import argparse
import datetime
import logging
import os
import tempfile
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
from absl import logging as absl_logging
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from sklearn import datasets
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from benchmarks.measure import replace_between_markers
from models import preprocessing
from models.dataset import Feature, Kind

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "wide_transform.md")
DOCS = os.path.join(os.path.dirname(HERE), "docs", "benchmarks.md")
MARKERS = ("<!-- wide:start -->", "<!-- wide:end -->")
TARGET = 0.8  # one analyzer must take at most this share of the per-column time on wide data
BLANK_SHARE = 0.05


def columns_of(name: str) -> Tuple[List[str], np.ndarray]:
    frame = getattr(datasets, f"load_{name}")(as_frame=True).data
    return [f"c{i}" for i in range(frame.shape[1])], frame.to_numpy(dtype=np.float32)


def instances(names: List[str], values: np.ndarray) -> List[Dict[str, List[float]]]:
    """Rows as TFT's instance dicts, a `BLANK_SHARE` of the cells absent (optional columns)."""
    blank = np.random.default_rng(0).random(values.shape) < BLANK_SHARE
    return [{name: [] if blank[r, c] else [float(values[r, c])] for c, name in enumerate(names)}
            for r in range(values.shape[0])]


def per_column(features: List[Feature]) -> Callable:
    def preprocessing_fn(inputs):
        limit = preprocessing.Z_SCORE_LIMIT  # as the pipeline keeps them
        return {f.transformed_name: tf.clip_by_value(
                    preprocessing._densify(tft.scale_to_z_score(inputs[f.name]), 0.0), -limit, limit)
                for f in features}
    return preprocessing_fn


def one_analyzer(features: List[Feature]) -> Callable:
    return lambda inputs: preprocessing._z_scored(features, inputs)


def transformed(preprocessing_fn: Callable, names: List[str], rows) -> Tuple[float, Dict[str, np.ndarray]]:
    """Seconds TFT took to analyse and transform `rows` with `preprocessing_fn`, and its outputs."""
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(
        {name: tf.io.VarLenFeature(tf.float32) for name in names}))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, tft_beam.Context(temp_dir=scratch):
        (output, _), _ = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn)
    seconds = time.perf_counter() - start
    return seconds, {key: np.array([row[key] for row in output], dtype=np.float64) for key in output[0]}


def measure(name: str, repeats: int) -> Dict:
    names, values = columns_of(name)
    rows = instances(names, values)
    features = [Feature(n, Kind.NUMERIC) for n in names]
    times: Dict[str, List[float]] = {"per_column": [], "one_analyzer": []}
    outputs = {}
    for _ in range(repeats):  # alternated: a slower stretch of a noisy machine hits both
        for label, make in (("per_column", per_column), ("one_analyzer", one_analyzer)):
            seconds, outputs[label] = transformed(make(features), names, rows)
            times[label].append(seconds)
    difference = max(float(np.max(np.abs(outputs["per_column"][k] - outputs["one_analyzer"][k])
                                  / np.maximum(np.abs(outputs["per_column"][k]), 1.0)))
                     for k in outputs["per_column"])
    best = {label: min(seconds) for label, seconds in times.items()}
    return {"dataset": name, "rows": len(rows), "columns": len(names), **best,
            "ratio": best["one_analyzer"] / best["per_column"], "difference": difference}


def verdict(result: Dict) -> str:
    same = result["difference"] <= 1e-5  # float32 rounding of sums taken in another order
    fast = result["ratio"] <= TARGET
    return "pass" if same and fast else "FAIL: " + ", ".join(
        ([] if fast else [f"ratio above {TARGET}"]) + ([] if same else ["outputs differ"]))


def table(results: List[Dict], repeats: int) -> str:
    lines = [f"Machine: {os.cpu_count()} cores; {datetime.date.today()}; the faster of {repeats} "
             "alternated runs each.", "",
             f"| dataset | rows | numeric columns | per-column analyzers (s) | one analyzer (s) | ratio "
             f"(target <= {TARGET}) | largest output difference (relative; absolute below 1) | verdict |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r['dataset']} | {r['rows']:,} | {r['columns']} | {r['per_column']:.1f} | "
                     f"{r['one_analyzer']:.1f} | {r['ratio']:.2f}x | {r['difference']:.1e} | {verdict(r)} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    # Beam's default pipeline reads options from the command line and warns of the script's path;
    # TFT advises Arrow batches over instance dicts: neither is the point here.
    logging.getLogger("apache_beam.options.pipeline_options").setLevel(logging.ERROR)
    absl_logging.set_verbosity(absl_logging.ERROR)
    results = [measure(name, args.repeats) for name in ("breast_cancer", "digits")]
    text = table(results, args.repeats)
    print(text)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w", encoding="utf-8") as f:
        f.write(text)
    if args.update_docs:
        replace_between_markers(DOCS, MARKERS, text)
    return 0 if all(verdict(r) == "pass" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
