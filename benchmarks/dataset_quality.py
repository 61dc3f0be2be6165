"""Model quality per dataset: the pipeline's pushed model against scikit-learn and a naive baseline,
on the same eval split.

    .venv/bin/python -m benchmarks.dataset_quality [--datasets penguins,diabetes] [--train-steps N]

Each public dataset (`benchmarks/public_datasets.py`) and the bundled taxi sample goes through
`tfxpipe init` (taxi: its own folder) and `tfxpipe run` at the default settings. The eval split is read
back from the run's CsvExampleGen output, so scikit-learn's HistGradientBoosting trains on the same
train split and is scored on the same examples as the Evaluator's. The naive baseline answers the
majority class or the mean. Writes `benchmarks/results/dataset_quality.{json,md}` and the table in
`docs/benchmarks.md`.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

import numpy as np
import pandas as pd
import tensorflow as tf

from benchmarks import public_datasets
from benchmarks.measure import TAXI_DATASET, replace_between_markers
from models import dataset as dataset_module, training_length
from models.dataset import Kind, Task
from pipeline import metadata_store, metrics, runs, run_summary
from pipeline.configs import PipelineConfig

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
DOCS = os.path.join(os.path.dirname(HERE), "docs", "benchmarks.md")
MARKERS = ("<!-- quality:start -->", "<!-- quality:end -->")
WITHIN = 0.05  # "within a few points" of scikit-learn, on the main metric's scale


def _frame(split_uri: str, declaration: dataset_module.Dataset) -> pd.DataFrame:
    """A split of CsvExampleGen's output as a DataFrame of the features and the label's columns."""
    columns = list(dict.fromkeys(declaration.feature_names() + declaration.label.source_columns))
    rows = []
    for record in tf.data.TFRecordDataset(tf.io.gfile.glob(os.path.join(split_uri, "*")),
                                          compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy()).features.feature
        row = {}
        for name in columns:
            values = example[name] if name in example else None
            kind = values.WhichOneof("kind") if values is not None else None
            value = getattr(values, kind).value if kind else []
            row[name] = (value[0].decode() if isinstance(value[0], bytes) else value[0]) if value else None
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _target(frame: pd.DataFrame, declaration: dataset_module.Dataset) -> np.ndarray:
    label = declaration.label
    if label.derived:
        column = frame[label.derived.column].astype(float)
        other = frame[label.derived.other_column].astype(float)
        return (column > label.derived.times * other).astype(int).to_numpy()
    if declaration.task is Task.REGRESSION:
        return frame[label.column].astype(float).to_numpy()
    names = frame[label.column].map(lambda v: str(int(v)) if isinstance(v, (int, float)) else str(v))
    return names.map({c: i for i, c in enumerate(label.classes)}).to_numpy()


def sklearn_and_naive(train: pd.DataFrame, evaluation: pd.DataFrame,
                      declaration: dataset_module.Dataset) -> Dict[str, float]:
    """Main metric of HistGradientBoosting (categorical features as such) and of the naive baseline."""
    # pylint: disable=import-outside-toplevel
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score

    def features(frame):
        out = pd.DataFrame(index=frame.index)
        for feature in declaration.features:
            values = frame[feature.name]
            if feature.kind in (Kind.NUMERIC, Kind.BUCKETIZED):
                out[feature.name] = values.astype(float)
            else:  # categories by value; the model sees unknown ones as missing
                out[feature.name] = pd.Categorical(values.astype(str), categories=sorted(
                    train[feature.name].dropna().astype(str).unique())[:250])
        return out

    y_train, y_eval = _target(train, declaration), _target(evaluation, declaration)
    task = declaration.task
    if task is Task.REGRESSION:
        model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        model.fit(features(train), y_train)
        return {"sklearn": float(np.sqrt(mean_squared_error(y_eval, model.predict(features(evaluation))))),
                "naive": float(np.sqrt(np.mean((y_eval - y_eval.mean()) ** 2)))}
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(features(train), y_train)
    majority = np.bincount(y_eval).max() / len(y_eval)
    if task is Task.BINARY:
        scores = model.predict_proba(features(evaluation))[:, 1]
        return {"sklearn": float(roc_auc_score(y_eval, scores)), "naive": 0.5,
                "sklearn_accuracy": float(accuracy_score(y_eval, scores >= 0.5)),
                "naive_accuracy": float(majority)}
    return {"sklearn": float(accuracy_score(y_eval, model.predict(features(evaluation)))),
            "naive": float(majority)}


def measure(name: str, folder: str, scratch: str, train_steps: Optional[int]) -> Dict:
    config = PipelineConfig(dataset_dir=folder, work_dir=os.path.join(scratch, "work"),
                            serving_dir=os.path.join(scratch, "serving"),
                            train_steps=train_steps).resolved()
    command = [sys.executable, "-m", "cli", "run", "--dataset", folder, "--work-dir", config.work_dir,
               "--serving-dir", config.serving_dir,
               *(["--train-steps", str(train_steps)] if train_steps else [])]
    os.makedirs(scratch, exist_ok=True)
    started = time.monotonic()
    with open(os.path.join(scratch, f"{name}.log"), "w", encoding="utf-8") as log:
        code = subprocess.call(command, stdout=log, stderr=log)
    seconds = time.monotonic() - started
    if code:
        return {"dataset": name, "error": f"run failed (log in {scratch})"}
    declaration = config.dataset()
    store = metadata_store.open_store(config.metadata_path)
    record = runs.record(store, run_summary.run_ids(store)[-1])
    examples = runs.node_outputs(store, record.run_id, "CsvExampleGen")["Examples"][0]
    train = _frame(os.path.join(examples.uri, "Split-train"), declaration)
    evaluation = _frame(os.path.join(examples.uri, "Split-eval"), declaration)
    main = metrics.MAIN_METRIC[declaration.task]
    return {"dataset": name, "task": declaration.task.value, "metric": main,
            "rows": len(train) + len(evaluation), "eval_rows": len(evaluation),
            "ours": record.values[main], "pushed": bool(record.pushed_version),
            "seconds": round(seconds, 1), **sklearn_and_naive(train, evaluation, declaration)}


def verdict(result: Dict) -> str:
    if "error" in result:
        return result["error"]
    gap = result["ours"] - result["sklearn"]
    if result["metric"] in metrics.LOWER_IS_BETTER:  # errors: relative to the naive baseline's
        gap = -gap / result["naive"]
    return "within" if gap >= -WITHIN else "behind"


def table(results: List[Dict]) -> str:
    lines = ["| dataset | task | rows (eval) | metric | this pipeline | scikit-learn HGB | naive | "
             "verdict | pushed | run (s) |", "|---|---|---:|---|---:|---:|---:|---|---|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['dataset']} | | | | | | | {r['error']} | | |")
            continue
        lines.append(f"| {r['dataset']} | {r['task']} | {r['rows']} ({r['eval_rows']}) | {r['metric']} "
                     f"| {r['ours']:.3f} | {r['sklearn']:.3f} | {r['naive']:.3f} | {verdict(r)} | "
                     f"{'yes' if r['pushed'] else 'no'} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", help="comma-separated names (default: all and taxi)")
    parser.add_argument("--train-steps", type=int, help="default: the pipeline's (passes over the data)")
    args = parser.parse_args()
    chosen = set(args.datasets.split(",")) if args.datasets else None
    results = []
    with tempfile.TemporaryDirectory(prefix="quality-") as scratch:
        folders = {} if chosen and "taxi" not in chosen else {"taxi": TAXI_DATASET}
        for public in public_datasets.ALL + public_datasets.LARGER:
            if chosen and public.name not in chosen:
                continue
            data = public.write_folder(os.path.join(scratch, "data"))
            folder = os.path.join(scratch, "datasets", public.name)
            subprocess.check_call(
                [sys.executable, "-m", "cli", "init", data, "--label", public.label, "--out", folder],
                stdout=subprocess.DEVNULL)
            folders[public.name] = folder
        for name, folder in folders.items():
            result = measure(name, folder, os.path.join(scratch, name), args.train_steps)
            print(json.dumps(result), flush=True)
            results.append(result)
    steps = f"{args.train_steps} train steps" if args.train_steps else f"train steps: {training_length.DEFAULT}"
    text = (f"Machine: {os.cpu_count()} cores; {datetime.date.today()}; {steps}. "
            f"Verdict: within {WITHIN:.0%} of scikit-learn on the main metric (errors: relative to "
            f"the naive baseline's).\n\n{table(results)}\n")
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "dataset_quality.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(RESULTS, "dataset_quality.md"), "w", encoding="utf-8") as f:
        f.write(text)
    if os.path.exists(DOCS):
        replace_between_markers(DOCS, MARKERS, text)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
