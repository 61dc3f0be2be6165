"""In-process vs multi-process Beam DirectRunner on larger data, in one run.

    .venv/bin/python -m benchmarks.compare_profiles [--rows 150000] [--update-docs]

The data is the bundled sample repeated to `--rows` rows, each copy's fares nudged by its copy number
so rows stay distinct. Both profiles run cold on the same data with 200 train steps; per-component
times come from MLMD, so the Beam-heavy components can be compared directly.
"""
import argparse
import csv
import os
import sys
import tempfile

from benchmarks.compare_with_tfx_example import DOCS, RESULTS, machine
from benchmarks.measure import TAXI_DATA, TAXI_DATASET, TAXI_NAME, finish, replace_between_markers, run_measured
from pipeline.configs import PipelineConfig

MARKERS = ("<!-- profiles:start -->", "<!-- profiles:end -->")
PROFILES = ("local", "local-multiprocess")


def write_data(rows: int, folder: str) -> None:
    with open(os.path.join(TAXI_DATA, "data.csv"), newline="", encoding="utf-8") as f:
        header, *body = list(csv.reader(f))
    fare = header.index("fare")
    os.makedirs(folder)
    with open(os.path.join(folder, "data.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i in range(rows):
            row = list(body[i % len(body)])
            copy = i // len(body)
            if copy and row[fare]:
                row[fare] = f"{float(row[fare]) + 0.01 * copy:.2f}"
            writer.writerow(row)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="tfx-profiles-")
    data = os.path.join(scratch, "data")
    write_data(args.rows, data)
    runs = {}
    for profile in PROFILES:
        work = os.path.join(scratch, profile)
        command = [sys.executable, "-m", "cli", "run", "--dataset", TAXI_DATASET, "--data", data, "--work-dir", work,
                   "--serving-dir", os.path.join(work, "serving"), "--profile", profile,
                   "--train-steps", "200", "--eval-steps", "50"]
        runs[profile] = run_measured(profile, command, log_path=os.path.join(scratch, f"{profile}.log"),
                                     metadata_path=PipelineConfig(work_dir=work, pipeline_name=TAXI_NAME).metadata_path)
    info = machine()
    base = runs["local"]
    lines = [f"{args.rows} rows; {info['cores']} cores, {info['memory_gib']} GiB; {info['date']}.", "",
             "| component | " + " | ".join(PROFILES) + " |", "|---|" + "---:|" * len(PROFILES)]
    for component in sorted(base.components):
        if max(runs[p].components.get(component, 0) for p in PROFILES) >= 0.5:
            lines.append(f"| {component} | " + " | ".join(
                f"{runs[p].components.get(component, 0):.1f}" for p in PROFILES) + " |")
    lines.append("| **whole run (wall)** | " + " | ".join(f"**{runs[p].seconds:.1f}**" for p in PROFILES) + " |")
    lines.append("| peak RSS of the main process and waited-for children (MiB) | "
                 + " | ".join(f"{runs[p].peak_rss_mib:.0f}" for p in PROFILES) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "compare_profiles.md"), "w", encoding="utf-8") as f:
        f.write(table)
    if args.update_docs:
        replace_between_markers(DOCS, MARKERS, table)
    return finish(list(runs.values()), scratch)


if __name__ == "__main__":
    sys.exit(main())
