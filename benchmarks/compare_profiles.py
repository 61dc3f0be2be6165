"""The runner profiles on larger data, in one run: in-process and multi-process DirectRunner, and a
Flink cluster on this machine (`tfxpipe cluster up`, started and stopped here).

    .venv/bin/python -m benchmarks.compare_profiles [--rows 150000] [--profiles local,flink] [--update-docs]

The data is the bundled sample repeated to `--rows` rows, each copy's fares nudged by its copy number
so rows stay distinct. Every profile runs cold on the same data with 200 train steps; per-component
times come from MLMD, so the Beam-heavy components can be compared directly. Memory: the largest
summed RSS of the run's process tree while each component ran, and for Flink the summed PSS of the
cluster's processes (JobManager, TaskManagers, job server, SDK workers) as well: the SDK workers are
forks sharing their imported libraries' pages, which RSS would count once per worker.
"""
import argparse
import contextlib
import csv
import os
import sys
import tempfile
import threading
import time
from typing import Dict, Iterator, Optional

import psutil

from benchmarks.compare_with_tfx_example import DOCS, RESULTS, machine
from benchmarks.measure import (TAXI_DATA, TAXI_DATASET, TAXI_NAME, Measurement, Samples, finish,
                                replace_between_markers, run_measured)
from pipeline import flink_cluster
from pipeline.configs import PipelineConfig

PROFILES = ("local", "local-multiprocess", "flink")


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


@contextlib.contextmanager
def cluster_memory(settings: flink_cluster.ClusterSettings) -> Iterator[Samples]:
    """Samples the Flink cluster's processes (and their children, the SDK workers) every 0.5 s
    while the block runs: (time, summed PSS in MiB) into the list."""
    samples, done = [], threading.Event()

    def sample():
        while not done.wait(0.5):
            total = 0
            for pid in flink_cluster.pids(settings):
                try:
                    root = psutil.Process(pid)
                    processes = [root, *root.children(recursive=True)]
                except psutil.Error:  # stopped between listing and reading
                    continue
                for process in processes:
                    try:
                        total += process.memory_full_info().pss
                    except psutil.Error:
                        pass
            samples.append((time.time(), total / 2**20))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        done.set()
        sampler.join()


def _gib(mib: Optional[float]) -> str:
    return "-" if mib is None else f"{mib / 1024:.1f}"


def table(rows: int, runs: Dict[str, Measurement], cluster: Dict[str, Samples]) -> str:
    """Per component: seconds, and peak GiB of the run (+ the cluster's, for a cluster profile)."""
    info = machine()
    profiles = [p for p in PROFILES if p in runs]
    lines = [f"{rows} rows; {info['cores']} cores, {info['memory_gib']} GiB; {info['date']}. Each cell: "
             "seconds, peak GiB of the run's processes (RSS) + the cluster's (PSS) while the component ran.", "",
             "| component | " + " | ".join(profiles) + " |", "|---|" + "---:|" * len(profiles)]

    def cell(profile: str, component: str) -> str:
        run = runs[profile]
        if component not in run.components:
            return "-"
        text = f"{run.components[component]:.1f} s, {_gib(run.component_peak_mib(component))}"
        if profile in cluster:
            text += f" + {_gib(run.component_peak_mib(component, cluster[profile]))}"
        return text

    components = sorted({c for run in runs.values() for c in run.components})
    for component in components:
        if max(runs[p].components.get(component, 0) for p in profiles) >= 0.5:
            lines.append(f"| {component} | " + " | ".join(cell(p, component) for p in profiles) + " |")
    lines.append("| **whole run** | " + " | ".join(
        f"**{runs[p].seconds:.1f} s, {_gib(runs[p].peak_rss_mib)}"
        + (f" + {_gib(max((m for _, m in cluster[p]), default=None))}" if p in cluster else "") + "**"
        for p in profiles) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    # Run in the order asked (e.g. the cluster first, to learn early that it works); the table's
    # columns are always in PROFILES order.
    profiles = args.profiles.split(",")
    scratch = tempfile.mkdtemp(prefix="tfx-profiles-")
    data = os.path.join(scratch, "data")
    write_data(args.rows, data)
    runs, cluster = {}, {}
    for profile in profiles:
        work = os.path.join(scratch, profile)
        command = [sys.executable, "-m", "cli", "run", "--dataset", TAXI_DATASET, "--data", data, "--work-dir", work,
                   "--serving-dir", os.path.join(work, "serving"), "--profile", profile,
                   "--train-steps", "200", "--eval-steps", "50"]
        metadata_path = PipelineConfig(work_dir=work, pipeline_name=TAXI_NAME).metadata_path
        log_path = os.path.join(scratch, f"{profile}.log")
        if profile != "flink":
            runs[profile] = run_measured(profile, command, log_path=log_path, metadata_path=metadata_path)
            continue
        settings = flink_cluster.ClusterSettings()
        flink_cluster.up(settings)
        try:
            with cluster_memory(settings) as samples:
                runs[profile] = run_measured(
                    profile, command + ["--profile-setting", f"flink_master=localhost:{flink_cluster.REST_PORT}"],
                    log_path=log_path, metadata_path=metadata_path)
            cluster[profile] = samples
        finally:
            flink_cluster.down(settings)
    text = table(args.rows, runs, cluster)
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    # One table per data size, so the 150k and 1.5M measurements sit side by side.
    with open(os.path.join(RESULTS, f"compare_profiles_{args.rows}.md"), "w", encoding="utf-8") as f:
        f.write(text)
    if args.update_docs:
        markers = (f"<!-- profiles:{args.rows}:start -->", f"<!-- profiles:{args.rows}:end -->")
        replace_between_markers(DOCS, markers, text)
    return finish(list(runs.values()), scratch)


if __name__ == "__main__":
    sys.exit(main())
