"""Taxi-shaped synthetic data at any size, and the pipeline's wall time and peak memory on it.

Rows are drawn with replacement from the bundled 15,002-row sample (seeded, so every run of the
benchmark sees the same data); continuous columns get a small multiplicative jitter, at the steps
their values are written in, so rows are not exact copies; categorical columns and empty cells are
kept as drawn. The label rule (tips vs fare)
therefore keeps the sample's distribution.
"""
import csv
import os
import sys
from typing import List, NamedTuple

import numpy as np

from benchmarks.measure import TAXI_DATA, TAXI_DATASET, TAXI_NAME, Measurement, run_measured
from pipeline import profiles
from pipeline.configs import PipelineConfig, input_bytes

JITTERED = ("fare", "tips", "trip_miles", "trip_seconds")
SEED = 20261128
CHUNK = 100_000


def write_synthetic(rows: int, folder: str) -> str:
    with open(os.path.join(TAXI_DATA, "data.csv"), newline="", encoding="utf-8") as f:
        header, *sample = list(csv.reader(f))
    rng = np.random.default_rng(SEED)
    jittered = [header.index(name) for name in JITTERED]
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "data.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for start in range(0, rows, CHUNK):
            count = min(CHUNK, rows - start)
            picks = rng.integers(0, len(sample), count)
            factors = rng.lognormal(0.0, 0.03, (count, len(jittered)))
            for pick, factor in zip(picks, factors):
                row = list(sample[pick])
                for column, scale in zip(jittered, factor):
                    if row[column]:
                        row[column] = _jittered(row[column], scale)
                writer.writerow(row)
    return path


STEPS = (60, 1, 0.05, 0.01)  # whole minutes (of seconds), whole units, nickels, cents


def _jittered(cell: str, scale: float) -> str:
    """A cell of the bundled sample x `scale`, moved in the largest of STEPS (else its last decimal)
    that it is a multiple of: whole minutes of seconds stay whole minutes (99.9 % of trip_seconds),
    whole dollars whole (88 % of tips), fares in nickels (98 %). A jitter finer than the data's own
    steps would break its ties, which the data gate rightly sees as drift (seconds no longer rounded
    to the minute: `validate` of the synthetic rows failed)."""
    value = float(cell)
    decimals = len(cell.split(".")[1]) if "." in cell else 0
    step = next(s for s in (*STEPS, 10.0 ** -decimals) if abs(value / s - round(value / s)) < 1e-6)
    moved = round(value * scale / step) * step
    return str(round(moved)) if cell.isdigit() else f"{moved:.{decimals}f}"


def measure_size(rows: int, scratch: str) -> Measurement:
    """A cold run of the default pipeline on `rows` synthetic rows (profile `auto`)."""
    data = os.path.join(scratch, f"data-{rows}")
    write_synthetic(rows, data)
    work = os.path.join(scratch, f"scale-{rows}")
    command = [sys.executable, "-m", "cli", "run", "--dataset", TAXI_DATASET, "--data", data, "--work-dir", work,
               "--serving-dir", os.path.join(work, "serving")]
    profile = profiles.choose_local(input_bytes(data))
    return run_measured(f"{rows:,} rows ({profile})", command,
                        log_path=os.path.join(scratch, f"scale-{rows}.log"),
                        metadata_path=PipelineConfig(work_dir=work, pipeline_name=TAXI_NAME).metadata_path)


def measure_scoring(rows: int, scratch: str) -> Measurement:
    """`tfxpipe score` of the same rows with the model that run pushed (profile `auto`)."""
    data = os.path.join(scratch, f"data-{rows}", "data.csv")
    work = os.path.join(scratch, f"scale-{rows}")
    command = [sys.executable, "-m", "cli", "score", data, "--dataset", TAXI_DATASET,
               "--serving-dir", os.path.join(work, "serving"), "--out", os.path.join(work, "scored.csv")]
    profile = profiles.choose_local(input_bytes(data))
    return run_measured(f"{rows:,} rows ({profile})", command,
                        log_path=os.path.join(scratch, f"score-{rows}.log"))


def measure_validation(rows: int, scratch: str) -> Measurement:
    """`tfxpipe validate` of the same rows: the data gate's checks without the pipeline."""
    data = os.path.join(scratch, f"data-{rows}", "data.csv")
    command = [sys.executable, "-m", "cli", "validate", data, "--dataset", TAXI_DATASET,
               "--report", os.path.join(scratch, f"validate-{rows}.html")]
    return run_measured(f"{rows:,} rows", command, log_path=os.path.join(scratch, f"validate-{rows}.log"))


class ScaleRuns(NamedTuple):
    runs: List[Measurement]  # the pipeline's cold runs
    scoring: List[Measurement]  # `score` of each run's data with the model it pushed
    validation: List[Measurement]  # `validate` of each run's data


def measure(sizes: List[int], scratch: str) -> ScaleRuns:
    """Per size: the pipeline's cold run, then the scoring and the validation of its data."""
    runs = [measure_size(rows, scratch) for rows in sizes]
    return ScaleRuns(runs, [measure_scoring(rows, scratch) for rows in sizes],
                     [measure_validation(rows, scratch) for rows in sizes])
