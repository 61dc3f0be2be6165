"""The bundled dataset through a real Flink cluster on this machine (`tfxpipe cluster up`: a
JobManager, two TaskManagers, Beam's job server, SDK workers from this environment), compared
with the DirectRunner's cold run of the same data. `make test` fetches the cluster's files first
(`tfxpipe cluster fetch`); the run itself downloads nothing."""
import filecmp
import json
import os
import subprocess
import sys
import urllib.request

import pytest
import tensorflow_data_validation as tfdv

from pipeline import evaluation, flink_cluster, metadata_store, runs
from tests.conftest import TAXI_CSV
from tests.e2e.conftest import PipelineWorkspace

BEAM_COMPONENTS = ("CsvExampleGen", "StatisticsGen", "Transform", "Evaluator")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    settings = flink_cluster.ClusterSettings(
        home=os.environ.get("TFXPIPE_CLUSTER_HOME", flink_cluster.ClusterSettings.home))
    flink_cluster.up(settings)
    try:
        yield settings
    finally:
        flink_cluster.down(settings)


@pytest.fixture(scope="module")
def flink_run(cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("flink")
    workspace, temporary = PipelineWorkspace(root), root / "tmp"
    temporary.mkdir()
    run = workspace.run(["--profile", "flink", "--profile-setting",
                         f"flink_master=localhost:{flink_cluster.REST_PORT}"],
                        env={**os.environ, "TMPDIR": str(temporary)})
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr[-5000:]}"
    with urllib.request.urlopen(f"http://localhost:{flink_cluster.REST_PORT}/jobs/overview") as r:
        jobs = json.load(r)["jobs"]
    return workspace, run, jobs, temporary


def train_statistics(workspace, run_id):
    store = metadata_store.open_store(workspace.metadata_uri)
    (artifact,) = runs.node_outputs(store, run_id, "StatisticsGen")["ExampleStatistics"]
    return tfdv.load_stats_binary(os.path.join(artifact.uri, "Split-train", "FeatureStats.pb"))


def test_the_beam_components_ran_as_finished_jobs_on_the_flink_cluster(flink_run):
    _, run, jobs, _ = flink_run
    states = [job["state"] for job in jobs if job["name"].startswith("BeamApp")]
    assert len(states) >= len(BEAM_COMPONENTS), "one Flink job per Beam component at least"
    assert set(states) == {"FINISHED"}
    for component in BEAM_COMPONENTS:
        assert run.summary.node_states[component] == ["executed"], component
    assert "(Beam profile flink)" in run.stdout


def test_the_cluster_run_pushed_a_model_with_the_same_statistics_and_metrics_as_the_direct_runner(
        flink_run, workspace, cold_run):
    flink_workspace, run, _, _ = flink_run
    assert run.summary.pushed and os.path.isdir(run.summary.pushed_destination)
    on_flink = train_statistics(flink_workspace, run.summary.run_id).datasets[0]
    direct = train_statistics(workspace, cold_run.summary.run_id).datasets[0]
    assert on_flink.num_examples == direct.num_examples
    assert {f.path.step[0] for f in on_flink.features} == {f.path.step[0] for f in direct.features}
    flink_metrics = evaluation.load(run.summary.evaluation_uri).overall
    direct_metrics = evaluation.load(cold_run.summary.evaluation_uri).overall
    assert flink_metrics["example_count"] == direct_metrics["example_count"]
    assert abs(flink_metrics["auc"] - direct_metrics["auc"]) < 0.02  # same data, same split


def test_scoring_on_the_cluster_writes_what_the_direct_runner_writes(flink_run, tmp_path):
    flink_workspace, _, jobs_before, temporary = flink_run
    profiles = {"flink": ["--profile-setting", f"flink_master=localhost:{flink_cluster.REST_PORT}"],
                "local": []}
    for profile, settings in profiles.items():
        scored = subprocess.run(
            [sys.executable, "-m", "cli", "score", TAXI_CSV, "--serving-dir", flink_workspace.serving_dir,
             "--out", str(tmp_path / f"{profile}.csv"), "--profile", profile, *settings],
            capture_output=True, text=True, timeout=600, check=False,
            env={**os.environ, "TMPDIR": str(temporary)})
        assert scored.returncode == 0, f"{scored.stdout}\n{scored.stderr[-5000:]}"
        assert "Scored 15,002 rows" in scored.stdout
    assert filecmp.cmp(tmp_path / "flink.csv", tmp_path / "local.csv", shallow=False)
    with urllib.request.urlopen(f"http://localhost:{flink_cluster.REST_PORT}/jobs/overview") as r:
        jobs = json.load(r)["jobs"]
    assert [job["state"] for job in jobs].count("FINISHED") == len(jobs_before) + 1


def test_the_cluster_run_leaves_no_temporary_files(flink_run):
    # TFX builds an sdist of itself per Beam component for remote runners, Beam's stager a staging
    # folder: both in the temporary directory, neither removed by them (pipeline/scratch.py)
    *_, temporary = flink_run
    assert not os.listdir(temporary)
