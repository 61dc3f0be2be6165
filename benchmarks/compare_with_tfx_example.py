"""This project's default pipeline vs TFX 1.16's own Chicago taxi example, measured in one run.

    .venv/bin/python -m benchmarks.compare_with_tfx_example [--update-docs]

Both run at TFX's example settings (1000 train / 150 eval steps) on the same 15,002-row sample, each
cold (empty pipeline root; the fastest of COLD_RUNS, alternating) and then fully cached, as separate
processes. Then this project's
pipeline runs cold on synthetic taxi-shaped data of each `--sizes` (benchmarks/scale.py). TFX's example runs unmodified
apart from its paths (it puts everything under $HOME, so HOME points at a scratch folder) and with
TF_USE_LEGACY_KERAS=1, without which it fails at Trainer under Keras 3. Ratios are taken within this
one run because the machines are noisy.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
from typing import Dict, List, Tuple

import tfx

from benchmarks import scale
from benchmarks.scale import ScaleRuns
from benchmarks.measure import (
    TAXI_DATA, TAXI_DATASET, TAXI_NAME, Measurement, finish, replace_between_markers, run_measured,
)
from pipeline.configs import PipelineConfig

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
DOCS = os.path.join(os.path.dirname(HERE), "docs", "benchmarks.md")
MARKERS = ("<!-- benchmark:start -->", "<!-- benchmark:end -->")
TFX_EXAMPLE = "tfx.examples.chicago_taxi_pipeline.taxi_pipeline_native_keras"


# Each cold run is taken this many times (alternating with the other pipeline's, each in a fresh
# folder) and its fastest kept: one sample of a 35 s run moved the ratio by 0.02x between two runs of
# the benchmark, as much as the cold target's margin; the fastest of several is the least disturbed.
COLD_RUNS = 2


def _kinds(attempt: int) -> Tuple[str, ...]:
    """The runs of an attempt: cold, then (first attempt only) fully cached."""
    return ("cold", "cached re-run") if attempt == 1 else ("cold",)


def measure_project(scratch: str, attempt: int = 1) -> List[Measurement]:
    work = os.path.join(scratch, f"project-{attempt}")
    command = [sys.executable, "-m", "cli", "run", "--dataset", TAXI_DATASET, "--work-dir", work,
               "--serving-dir", os.path.join(work, "serving"), "--train-steps", "1000",
               "--eval-steps", "150"]
    metadata = PipelineConfig(work_dir=work, pipeline_name=TAXI_NAME).metadata_path
    return [run_measured(f"this project, {kind}", command, metadata_path=metadata,
                         log_path=os.path.join(scratch, f"project-{kind}-{attempt}.log"))
            for kind in _kinds(attempt)]


def measure_validate(scratch: str) -> Measurement:
    """The `validate` command on the same data: the data gate's verdict without the pipeline."""
    command = [sys.executable, "-m", "cli", "validate", TAXI_DATA, "--dataset", TAXI_DATASET,
               "--report", os.path.join(scratch, "validate.html")]
    return run_measured("validate command", command, log_path=os.path.join(scratch, "validate.log"))


def measure_tfx_example(scratch: str, attempt: int = 1) -> List[Measurement]:
    home = os.path.join(scratch, f"home-{attempt}")
    taxi_root = os.path.join(home, "taxi")
    shutil.copytree(TAXI_DATA, os.path.join(taxi_root, "data", "simple"))
    example_dir = os.path.join(os.path.dirname(tfx.__file__), "examples", "chicago_taxi_pipeline")
    shutil.copy(os.path.join(example_dir, "taxi_utils_native_keras.py"), taxi_root)
    env = {**os.environ, "HOME": home, "TF_USE_LEGACY_KERAS": "1"}
    metadata = os.path.join(home, "tfx", "metadata", "chicago_taxi_native_keras", "metadata.db")
    return [run_measured(f"TFX taxi example, {kind}", [sys.executable, "-m", TFX_EXAMPLE], env=env,
                         log_path=os.path.join(scratch, f"tfx-{kind}-{attempt}.log"), metadata_path=metadata)
            for kind in _kinds(attempt)]


def fastest_cold_runs(measurements: List[Measurement], repeats: List[Measurement]) -> List[Measurement]:
    """`measurements` with each cold run replaced by the fastest of it and its `repeats`."""
    def fastest(m: Measurement) -> Measurement:
        same = [r for r in repeats if r.label == m.label and r.returncode == 0]
        return min([m, *same], key=lambda r: r.seconds) if m.returncode == 0 else m
    return [fastest(m) for m in measurements]


def machine() -> Dict[str, str]:
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_kib = int(f.readline().split()[1])
    return {"cores": str(os.cpu_count()), "memory_gib": f"{mem_kib / 2**20:.1f}",
            "python": platform.python_version(), "tfx": tfx.__version__,
            "date": datetime.date.today().isoformat()}


def markdown(measurements: List[Measurement], info: Dict[str, str]) -> str:
    by_label = {m.label: m for m in measurements}
    reference = {  # each run's ratio is taken against the run named here, measured in this same run
        "this project, cold": "TFX taxi example, cold",
        "this project, cached re-run": "TFX taxi example, cached re-run",
        "validate command": "this project, cold",
    }
    lines = [f"Machine: {info['cores']} cores, {info['memory_gib']} GiB; Python {info['python']}, "
             f"TFX {info['tfx']}; {info['date']}. 1000 train / 150 eval steps; each cold run the "
             f"fastest of {COLD_RUNS}.", "",
             "| run | wall time (s) | ratio | ratio against | peak RSS (MiB) | exit |",
             "|---|---:|---:|---|---:|---:|"]
    for m in measurements:
        against = reference.get(m.label)
        ratio = f"{m.seconds / by_label[against].seconds:.2f}x" if against else ""
        lines.append(f"| {m.label} | {m.seconds:.1f} | {ratio} | {against or ''} | "
                     f"{m.peak_rss_mib:.0f} | {m.returncode} |")
    components = sorted({c for m in measurements for c in m.components})
    lines += ["", "Per component, cold runs (s, from MLMD):", "",
              "| component | this project | TFX taxi example |", "|---|---:|---:|"]
    ours, theirs = by_label["this project, cold"], by_label["TFX taxi example, cold"]
    for c in components:
        cell = lambda m: f"{m.components[c]:.1f}" if c in m.components else "-"  # noqa: E731
        lines.append(f"| {c} | {cell(ours)} | {cell(theirs)} |")
    return "\n".join(lines) + "\n"


def _verdict(value: float, limit: float, unit: str) -> str:
    missed = value - limit  # a small ratio's miss in two significant digits: 0.0042x, not 0.00x
    return "met" if value <= limit else f"MISSED by {missed:.2g}{unit}" if missed < 1 else f"MISSED by {missed:.1f}{unit}"


def _by_size(runs: List[Measurement]) -> Dict[int, Measurement]:
    return {int(m.label.split()[0].replace(",", "")): m for m in runs}


def targets(measurements: List[Measurement], scale: ScaleRuns) -> str:
    """Issue targets, each with its measured value and by how much it is met or missed."""
    by_label = {m.label: m for m in measurements}
    cold = by_label["this project, cold"].seconds / by_label["TFX taxi example, cold"].seconds
    cached = by_label["this project, cached re-run"]
    cached_ratio = cached.seconds / by_label["TFX taxi example, cached re-run"].seconds
    lines = ["", "Targets:", "", "| target | measured | verdict |", "|---|---:|---|",
             f"| cold run <= 0.5x TFX example | {cold:.3f}x | {_verdict(cold, 0.5, 'x')} |",
             f"| cached re-run <= 10 s | {cached.seconds:.1f} s | {_verdict(cached.seconds, 10, ' s')} |",
             f"| cached re-run <= 0.3x TFX example's | {cached_ratio:.2f}x | "
             f"{_verdict(cached_ratio, 0.3, 'x')} |"]
    sizes = _by_size(scale.runs)
    if 1_500_000 in sizes:
        big = sizes[1_500_000]
        lines += [f"| 1.5M rows <= 900 s | {big.seconds:.0f} s | {_verdict(big.seconds, 900, ' s')} |",
                  f"| 1.5M rows peak memory <= 6144 MiB | {big.peak_rss_mib:.0f} MiB | "
                  f"{_verdict(big.peak_rss_mib, 6144, ' MiB')} |"]
        if 150_000 in sizes:
            growth = big.seconds / sizes[150_000].seconds
            lines.append(f"| time(1.5M) / time(150k) <= 11 | {growth:.1f} | {_verdict(growth, 11, '')} |")
    for command, runs in (("scoring", scale.scoring), ("validate", scale.validation)):
        done = _by_size(runs)
        if 1_500_000 in done and 1_500_000 in sizes:
            share = done[1_500_000].seconds / sizes[1_500_000].seconds
            lines.append(f"| {command} 1.5M rows <= 0.25x their cold run | {share:.2f}x | "
                         f"{_verdict(share, 0.25, 'x')} |")
            if 150_000 in done:  # memory that does not grow with the data
                growth = done[1_500_000].peak_rss_mib / done[150_000].peak_rss_mib
                lines.append(f"| {command} peak memory(1.5M) / (150k) <= 1.25 | {growth:.2f} | "
                             f"{_verdict(growth, 1.25, '')} |")
    return "\n".join(lines) + "\n"


def after_run_table(title: str, runs: List[Measurement], scale_runs: List[Measurement]) -> str:
    """A command's runs on each size's data, against that size's cold pipeline run."""
    if not runs:
        return ""
    cold = _by_size(scale_runs)
    lines = ["", title, "",
             "| data | wall time (s) | ratio to its cold run | peak memory (MiB, all processes) | exit |",
             "|---|---:|---:|---:|---:|"]
    for size, m in _by_size(runs).items():
        lines.append(f"| {m.label} | {m.seconds:.1f} | {m.seconds / cold[size].seconds:.2f}x | "
                     f"{m.peak_rss_mib:.0f} | {m.returncode} |")
    return "\n".join(lines) + "\n"


def scale_table(scale_runs: List[Measurement]) -> str:
    if not scale_runs:
        return ""
    lines = ["", "Scale (synthetic taxi-shaped data, default settings, cold runs):", "",
             "| data | wall time (s) | peak memory (MiB, all processes) | slowest components (s) | exit |",
             "|---|---:|---:|---|---:|"]
    for m in scale_runs:
        slowest = sorted(m.components.items(), key=lambda item: -item[1])[:3]
        shown = ", ".join(f"{name} {seconds:.0f}" for name, seconds in slowest)
        lines.append(f"| {m.label} | {m.seconds:.1f} | {m.peak_rss_mib:.0f} | {shown} | {m.returncode} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-docs", action="store_true")
    parser.add_argument("--sizes", default="15000,150000,1500000",
                        help="synthetic data sizes for the scale runs, comma-separated ('' to skip)")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="tfx-bench-")
    measurements = (measure_project(scratch) + [measure_validate(scratch)]
                    + measure_tfx_example(scratch))
    repeats = [m for attempt in range(2, COLD_RUNS + 1)
               for m in measure_project(scratch, attempt) + measure_tfx_example(scratch, attempt)]
    cold_samples = [m.summary() for m in measurements + repeats if m.label.endswith(", cold")]
    measurements = fastest_cold_runs(measurements, repeats)
    scaled = scale.measure([int(s) for s in args.sizes.split(",") if s], scratch)
    info = machine()
    table = (markdown(measurements, info) + scale_table(scaled.runs)
             + after_run_table("Scoring the same data with the model each run pushed (`tfxpipe score`):",
                               scaled.scoring, scaled.runs)
             + after_run_table("Checking the same data as the data gate does (`tfxpipe validate`):",
                               scaled.validation, scaled.runs)
             + targets(measurements, scaled))
    print(table)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "compare_with_tfx_example.md"), "w", encoding="utf-8") as f:
        f.write(table)
    with open(os.path.join(RESULTS, "compare_with_tfx_example.json"), "w", encoding="utf-8") as f:
        json.dump({"machine": info, "runs": [m.summary() for m in measurements], "cold_samples": cold_samples,
                   "scale": [m.summary() for m in scaled.runs],
                   "scoring": [m.summary() for m in scaled.scoring],
                   "validation": [m.summary() for m in scaled.validation]}, f, indent=2)
    if args.update_docs:
        replace_between_markers(DOCS, MARKERS, table)
    return finish(measurements + scaled.runs + scaled.scoring + scaled.validation, scratch)


if __name__ == "__main__":
    sys.exit(main())
