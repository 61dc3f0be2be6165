"""Model families and tuning, side by side on one dataset: each family with the default
hyperparameters, then each tuned, on the same eval split with the same seed; the main metric and what
training and tuning cost (component times read from MLMD).

    python -m benchmarks.model_families [--dataset datasets/taxi] [--trials 10] [--update-docs]

Two runs in one work dir: `--models linear,dnn,wide_deep`, then the same with `--tune`. Verdict: a
tuned family is not worse than its defaults on the main metric beyond chance (`allowed_drop`).
"""
import argparse
import os
import sys
import tempfile
from typing import Dict, List

from benchmarks import measure
from models import dataset as dataset_module
from pipeline import evaluation, metadata_store, metrics, progress, run_summary
from pipeline.configs import PipelineConfig

FAMILIES = ("linear", "dnn", "wide_deep")
DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "benchmarks.md")
MARKERS = ("<!-- families:start -->", "<!-- families:end -->")
# The search's first trial is the defaults, so the tuned model is never worse on the Tuner's
# objective: a metric on the train split's held-out part (models/model.py). On the eval split, where
# the table measures, two close models differ by chance by a few rows either way: a tuned model may
# fall behind by evaluation.CLOSE_CALL_ROWS eval rows' worth of AUC or accuracy (one row is 1/rows of
# it, as the blessing's close-call warning counts) or, for other metrics, by TOLERANCE.
TOLERANCE = 0.001


def allowed_drop(main_metric: str, eval_rows: float) -> float:
    """How far behind its defaults a tuned model may fall on the eval split's `main_metric`."""
    return evaluation.CLOSE_CALL_ROWS / eval_rows if main_metric in ("auc", "accuracy") and eval_rows else TOLERANCE


def _results(metadata_path: str, main_metric: str) -> Dict[str, Dict]:
    store = metadata_store.open_store(metadata_path)
    summary = run_summary.summarize(store)
    found = {}
    for candidate in summary.candidates:
        result = evaluation.load(candidate.evaluation_uri)
        found[candidate.name] = {"metric": result.overall.get(main_metric) if result else None,
                                 "rows": result.overall.get("example_count", 0) if result else 0,
                                 "blessed": candidate.blessed, "chosen": candidate.chosen}
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=measure.TAXI_DATASET)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--train-steps", type=int, help="default: the pipeline's (passes over the data)")
    parser.add_argument("--update-docs", action="store_true", help=f"write the table into {DOC}")
    args = parser.parse_args()
    progress.configure_logging(verbose=False)  # TFMA's deprecation warnings when reading results
    declared = dataset_module.load(args.dataset)
    main_metric = metrics.MAIN_METRIC[declared.task]
    lower_is_better = main_metric in metrics.LOWER_IS_BETTER
    scratch = tempfile.mkdtemp(prefix="families-")
    work, serving = os.path.join(scratch, "work"), os.path.join(scratch, "serving")
    metadata_path = PipelineConfig(work_dir=work, pipeline_name=declared.name).metadata_path
    base = [sys.executable, "-m", "cli", "run", "--dataset", args.dataset, "--work-dir", work,
            "--serving-dir", serving, "--models", ",".join(FAMILIES),
            *(["--train-steps", str(args.train_steps)] if args.train_steps else [])]
    measurements, results = [], {}
    for label, extra in (("defaults", []), ("tuned", ["--tune", "--tune-trials", str(args.trials)])):
        print(f"running: {label} ...", flush=True)
        measured = measure.run_measured(label, base + extra, log_path=os.path.join(scratch, f"{label}.log"),
                                        metadata_path=metadata_path)
        measurements.append(measured)
        if measured.returncode != 0:
            return measure.finish(measurements, scratch)
        results[label] = (_results(metadata_path, main_metric), measured.components)

    lines = [f"Dataset `{declared.name}` ({declared.task.value}), main metric {main_metric} on the eval "
             f"split; {args.trials} trials per family; train steps {args.train_steps or 'by default'}.", "",
             f"| family | {main_metric} defaults | {main_metric} tuned | train s | tune s | "
             "pushed | verdict |", "|---|---|---|---|---|---|---|"]
    verdicts: List[bool] = []
    for family in FAMILIES:
        default, default_times = results["defaults"][0][family], results["defaults"][1]
        tuned, tuned_times = results["tuned"][0][family], results["tuned"][1]
        gain = (tuned["metric"] - default["metric"]) * (-1 if lower_is_better else 1)
        allowed = allowed_drop(main_metric, tuned["rows"])
        ok = gain >= -allowed
        verdicts.append(ok)
        lines.append(
            f"| {family} | {default['metric']:.4f} | {tuned['metric']:.4f} | "
            f"{default_times.get(f'Trainer_{family}', 0):.1f} | {tuned_times.get(f'Tuner_{family}', 0):.1f} | "
            f"{'yes' if tuned['chosen'] else ''} | "
            f"{'met' if ok else 'MISSED'}: tuned {gain:+.4f} (at most {allowed:.4f} behind) |")
    lines += ["", f"Whole runs: defaults {measurements[0].seconds:.0f} s (peak {measurements[0].peak_rss_mib:.0f} MiB), "
              f"tuned {measurements[1].seconds:.0f} s (peak {measurements[1].peak_rss_mib:.0f} MiB)."]
    table = "\n".join(lines)
    print(table)
    if args.update_docs:
        measure.replace_between_markers(DOC, MARKERS, table + "\n")
    code = measure.finish(measurements, scratch)
    return code or (0 if all(verdicts) else 1)


if __name__ == "__main__":
    sys.exit(main())
