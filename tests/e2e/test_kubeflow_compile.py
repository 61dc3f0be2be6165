"""`tfxpipe compile`: a Kubeflow Pipelines v2 / Vertex pipeline spec, offline, for a cluster profile."""
import json
import os
import shutil
import subprocess
import sys

import pytest

IMAGE = "europe-docker.pkg.dev/acme/ml/tfxpipe:1.0"
ROOT = "gs://acme-ml/tfx"


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    output = tmp_path_factory.mktemp("kfp") / "taxi.json"
    command = [
        "unshare", "--net", sys.executable, "-m", "cli", "compile",
        "--image", IMAGE, "--output", str(output),
        "--work-dir", ROOT, "--data", "gs://acme-ml/data/taxi", "--serving-dir", "gs://acme-ml/serving",
        "--profile", "dataflow", "--profile-setting", "project=acme",
        "--profile-setting", "region=europe-west4", "--profile-setting", "temp_location=gs://acme-ml/tmp",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    # cluster paths and a cluster profile: nothing to warn of but how a cluster data folder is read,
    # which this machine cannot look into (a folder of span-N/ folders needs --spans)
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert warnings == ["warning: --data gs://acme-ml/data/taxi is read as one folder of CSV files, all of it "
                        "every run: if it holds span-N/ folders (a span per run), add --spans"], done.stderr
    with open(output, encoding="utf-8") as f:
        return json.load(f)


def test_paths_on_this_machine_and_a_local_profile_are_warned_of(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "cli", "compile", "--image", IMAGE, "--output", str(tmp_path / "k.json"),
         "--work-dir", str(tmp_path / "work")], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert [w.split(" ")[1] for w in warnings] == ["--work-dir", "--data", "--serving-dir", "Beam"]
    assert f"--work-dir {tmp_path / 'work'} is a path on this machine" in warnings[0]


def _tasks(spec):
    return spec["pipelineSpec"]["root"]["dag"]["tasks"]


def test_every_component_is_in_the_spec_in_order(spec):
    tasks = _tasks(spec)
    assert {"CsvExampleGen", "StatisticsGen", "DataGate", "Transform", "Trainer", "Evaluator",
            "InfraValidator", "Pusher"} <= set(tasks)
    depends = {name: set(task.get("dependentTasks", [])) for name, task in tasks.items()}
    assert "DataGate" in depends["Transform"]
    assert "Transform" in depends["Trainer"]
    assert {"Trainer", "Evaluator"} <= depends["InfraValidator"]
    assert depends["Pusher"] == {"InfraValidator"}  # which validates only a blessed candidate


def test_image_pipeline_root_and_profile_beam_args_are_in_the_spec(spec):
    executors = spec["pipelineSpec"]["deploymentSpec"]["executors"]
    images = {e["container"]["image"] for e in executors.values() if "container" in e}
    assert images == {IMAGE}
    text = json.dumps(spec)
    for arg in ("--runner=DataflowRunner", "--project=acme", "--region=europe-west4",
                "--temp_location=gs://acme-ml/tmp"):
        assert arg in text, arg
    assert spec["runtimeConfig"]["gcsOutputDirectory"].startswith(ROOT)
    assert "models.model.run_fn" in text and "models.preprocessing.preprocessing_fn" in text
    assert "/pipeline/datasets/default/schema.pbtxt" in text, "the curated schema's path in the image"


def test_the_gate_keeps_its_record_of_accepted_statistics_in_the_pipeline_root(spec):
    """Its drift reference there (KFP v2 compiles no resolver that finds the previous span's)."""
    parameters = _tasks(spec)["DataGate"]["inputs"]["parameters"]
    record_dir = parameters["accepted_record_dir"]["runtimeValue"]["constantValue"]["stringValue"]
    assert record_dir == f"{ROOT}/pipelines/taxi/accepted_statistics"
    assert "previous_statistics" not in _tasks(spec)["DataGate"]["inputs"].get("artifacts", {})


def test_profile_without_its_settings_fails_clearly(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "cli", "compile", "--image", IMAGE, "--output",
         str(tmp_path / "x.json"), "--profile", "spark"],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert "profile 'spark' needs the setting(s) spark_master_url" in done.stderr
    assert not (tmp_path / "x.json").exists()


def test_a_tuned_pipeline_compiles_with_its_tuner_and_several_families_are_refused(tmp_path):
    base = [sys.executable, "-m", "cli", "compile", "--image", IMAGE, "--work-dir", ROOT,
            "--data", "gs://acme-ml/data/taxi", "--serving-dir", "gs://acme-ml/serving",
            "--profile", "dataflow", "--profile-setting", "project=acme",
            "--profile-setting", "region=europe-west4", "--profile-setting", "temp_location=gs://acme-ml/tmp"]
    output = tmp_path / "tuned.json"
    tuned = subprocess.run(base + ["--output", str(output), "--tune", "--models", "dnn"],
                           capture_output=True, text=True, timeout=600, check=False)
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    with open(output, encoding="utf-8") as f:
        tasks = _tasks(json.load(f))
    assert "Tuner" in {dep for dep in tasks["Trainer"].get("dependentTasks", [])}
    several = subprocess.run(base + ["--output", str(tmp_path / "x.json"), "--models", "linear,dnn"],
                             capture_output=True, text=True, timeout=600, check=False)
    assert several.returncode == 1 and not (tmp_path / "x.json").exists()
    assert "a Kubeflow/Vertex pipeline trains one model family (asked for linear, dnn)" in several.stderr


def _documented(line_start: str, in_readme: bool = True) -> str:
    """The one line of docs/operations.md's Kubeflow commands that starts with `line_start` (which
    the README gives too, where `in_readme`)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "operations.md"), encoding="utf-8") as f:
        [line] = [line for line in f.read().splitlines() if line.startswith(line_start)]
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        assert line in f.read() or not in_readme
    return line


@pytest.mark.skipif(shutil.which("jq") is None, reason="the documented unwrap uses jq")
def test_the_documented_unwrap_gives_open_source_kfp_a_pipeline_spec_it_loads(spec, tmp_path):
    """The file is a Vertex PipelineJob, which KFP's loader refuses; unwrapped as the docs say, it loads."""
    from kfp import components  # pylint: disable=import-outside-toplevel

    (tmp_path / "taxi_pipeline.json").write_text(json.dumps(spec))
    with pytest.raises(KeyError, match="pipelineInfo"):
        components.load_component_from_file(str(tmp_path / "taxi_pipeline.json"))
    subprocess.run(["bash", "-c", _documented("jq ")], cwd=tmp_path, check=True, timeout=60)
    pipeline = components.load_component_from_file(str(tmp_path / "taxi_pipeline_kfp.json"))
    assert pipeline.name == "taxi" and "Trainer" in pipeline.pipeline_spec.root.dag.tasks
    assert pipeline.pipeline_spec.default_pipeline_root == f"{ROOT}/pipelines/taxi"


def test_vertex_takes_the_file_as_it_is(spec, tmp_path):
    from google.auth import credentials  # pylint: disable=import-outside-toplevel
    from google.cloud import aiplatform  # pylint: disable=import-outside-toplevel

    (tmp_path / "taxi_pipeline.json").write_text(json.dumps(spec))
    assert "template_path='taxi_pipeline.json'" in _documented("  template_path=", in_readme=False)
    job = aiplatform.PipelineJob(display_name="taxi", template_path=str(tmp_path / "taxi_pipeline.json"),
                                 project="acme", location="europe-west4",
                                 credentials=credentials.AnonymousCredentials())
    assert job.pipeline_spec["pipelineInfo"]["name"] == "taxi"
    assert job.runtime_config.gcs_output_directory == f"{ROOT}/pipelines/taxi"
