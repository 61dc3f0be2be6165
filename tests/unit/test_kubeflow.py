"""`tfxpipe compile` for Kubeflow / Vertex: the command line's refusals and notes, and the spec it writes."""
import dataclasses
import json
import os
import re
import shutil

import pytest

from cli import main as cli
from pipeline import configs, kubeflow, profiles
from pipeline.configs import ConfigError, DEFAULT_DATASET, PipelineConfig
from pipeline.pipeline import example_gen_input

CLUSTER = ["--image", "i:1", "--work-dir", "gs://b/tfx", "--serving-dir", "gs://b/serving",
           "--profile", "dataflow", "--profile-setting", "project=p", "--profile-setting", "region=r",
           "--profile-setting", "temp_location=gs://b/tmp"]


def _named_copy(tmp_path, name: str) -> str:
    """The bundled dataset's declaration under another name, as `init` names a dataset after its file."""
    folder = tmp_path / name
    shutil.copytree(os.path.realpath(DEFAULT_DATASET), folder)
    declaration = folder / "dataset.yaml"
    declaration.write_text(declaration.read_text().replace("name: taxi", f"name: {name}"))
    return str(folder)


def test_a_dataset_name_kubeflow_refuses_becomes_a_valid_pipeline_name_with_a_note(tmp_path):
    config, note = kubeflow.with_kubeflow_name(PipelineConfig(dataset_dir=_named_copy(tmp_path, "Wine_Data.v2")))
    assert config.pipeline_name == "wine-data-v2"
    assert note.startswith("pipeline name 'wine-data-v2', from the dataset's name 'Wine_Data.v2'")
    assert kubeflow.with_kubeflow_name(PipelineConfig()) == (PipelineConfig(), None), "taxi is valid as it is"


def test_an_invalid_pipeline_name_given_is_refused_with_a_valid_one_to_use():
    with pytest.raises(ConfigError) as refused:
        kubeflow.with_kubeflow_name(PipelineConfig(pipeline_name="_My_Pipeline"))
    assert str(refused.value) == (
        "--pipeline-name '_My_Pipeline' is not a valid Kubeflow pipeline name (Kubeflow takes lower-case "
        "letters, digits and '-', starting with a letter or digit, 128 at most): give --pipeline-name my-pipeline")
    assert kubeflow.kubeflow_name("x" * 127 + "_y") == "x" * 127, "128 at most, not ending in '-'"


def test_compile_names_a_pipeline_of_an_underscored_dataset_validly_and_says_so(tmp_path, capfd):
    output = tmp_path / "spec.json"
    assert cli.main(["compile", "--dataset", _named_copy(tmp_path, "wine_data"), "--data", "gs://b/wine",
                     "--schema", os.path.join(DEFAULT_DATASET, "schema.pbtxt"), "--output", str(output),
                     *CLUSTER]) == 0
    notes = [line for line in capfd.readouterr().err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and notes[0].startswith("note: pipeline name 'wine-data'"), notes
    spec = json.loads(output.read_text())
    assert spec["pipelineSpec"]["pipelineInfo"]["name"] == "wine-data"
    assert "gs://b/tfx/pipelines/wine-data/accepted_statistics" in output.read_text()


def test_compile_refuses_an_invalid_pipeline_name_in_one_line(tmp_path, capfd):
    assert cli.main(["compile", "--pipeline-name", "wine_data", "--data", "gs://b/wine",
                     "--output", str(tmp_path / "spec.json"), *CLUSTER]) == 1
    assert capfd.readouterr().err.strip().splitlines() == [
        "error: --pipeline-name 'wine_data' is not a valid Kubeflow pipeline name (Kubeflow takes lower-case "
        "letters, digits and '-', starting with a letter or digit, 128 at most): give --pipeline-name wine-data"]
    assert not (tmp_path / "spec.json").exists()


def test_compile_refuses_local_data_that_is_not_there_as_run_does(tmp_path, capfd):
    missing = tmp_path / "nope" / "x.csv"
    assert cli.main(["compile", "--data", str(missing), "--output", str(tmp_path / "spec.json"), *CLUSTER]) == 1
    assert capfd.readouterr().err.strip().splitlines() == [
        f"error: data {missing} does not exist: give a CSV file or a folder of CSV files (--data, or `data` "
        "in the dataset's declaration)"]
    assert not (tmp_path / "spec.json").exists()


@pytest.mark.parametrize("data, base, pattern", [
    ("gs://b/data/seattle.csv", "gs://b/data", "seattle.csv"),
    ("s3://b/Seattle.CSV", "s3://b", "Seattle.CSV"),
    ("gs://b/data/seattle", "gs://b/data/seattle", "*"),
])
def test_a_cluster_path_ending_in_csv_is_read_as_that_file_like_a_local_file(data, base, pattern):
    config = PipelineConfig(data_root=data, work_dir="gs://b/tfx", serving_dir="gs://b/serving",
                            profile="dataflow").resolved()
    read_from, input_config = example_gen_input(config)
    assert (read_from, input_config.splits[0].pattern) == (base, pattern)
    folder_warned = any("read as one folder" in warning for warning in kubeflow.local_settings(config))
    assert folder_warned == (pattern == "*")


def test_the_schema_must_be_in_the_images_datasets_folder_links_resolved(tmp_path, monkeypatch):
    """The image copies the project's datasets/ alone: a folder beside it, or a link under it to a
    folder outside, would be compiled to a schema path the image does not hold."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    for folder in (project / "datasets" / "mine", project / "mydata_seattle", elsewhere):
        folder.mkdir(parents=True)
    (project / "datasets" / "default").symlink_to("mine")
    (project / "datasets" / "x").symlink_to(elsewhere)
    monkeypatch.setattr(configs, "PROJECT_ROOT", str(project))
    monkeypatch.setattr(configs, "DATASETS_DIR", str(project / "datasets"))
    for dataset in ("mine", "default"):
        assert configs.image_path(str(project / "datasets" / dataset / "schema.pbtxt")) == \
            f"/pipeline/datasets/{dataset}/schema.pbtxt"
    with pytest.raises(ConfigError) as refused:
        configs.image_path(str(project / "mydata_seattle" / "schema.pbtxt"))
    assert str(refused.value) == (
        f"{project}/mydata_seattle/schema.pbtxt is not under {project}/datasets, the only data the pipeline "
        "image holds (Dockerfile): move or copy the dataset folder into datasets/")
    with pytest.raises(ConfigError, match=f"schema.pbtxt \\(a link to {elsewhere}/schema.pbtxt\\) is not under"):
        configs.image_path(str(project / "datasets" / "x" / "schema.pbtxt"))


def _compiled_beam_args(tmp_path, *extra) -> set:
    """The Beam args the compiled spec gives Transform's container (as it gives every component's)."""
    output = tmp_path / "spec.json"
    assert cli.main(["compile", "--data", "gs://b/taxi", "--output", str(output), *CLUSTER, *extra]) == 0
    executors = json.loads(output.read_text())["pipelineSpec"]["deploymentSpec"]["executors"]
    return {arg for arg in executors["Transform_executor"]["container"]["args"] if arg.startswith("--")}


def test_dataflow_workers_run_in_the_pipeline_image_unless_a_beam_arg_names_their_dependencies(tmp_path):
    """Beam's stock worker image holds neither TFX nor this project's preprocessing and model code."""
    assert "--sdk_container_image=i:1" in _compiled_beam_args(tmp_path)
    assert set(profiles.worker_image_args("spark", "i:1")) == {"--environment_config=i:1", "--sdk_container_image=i:1"}
    assert profiles.worker_image_args("flink", "i:1") == () == profiles.worker_image_args("local", "i:1")
    assert profiles.worker_image_args("spark", "i:1", ("--environment_config=mine:2",)) == (
        "--sdk_container_image=mine:2",), "an image of the user's: TFX must stage nothing over it either"
    given = _compiled_beam_args(tmp_path, "--beam-arg=--setup_file=/pipeline/setup.py")
    assert "--setup_file=/pipeline/setup.py" in given and not any("container_image" in arg for arg in given)


def test_the_image_holds_beams_worker_boot_of_the_beam_and_python_versions_in_the_lock():
    import sys  # pylint: disable=import-outside-toplevel
    import apache_beam  # pylint: disable=import-outside-toplevel
    with open(os.path.join(configs.PROJECT_ROOT, "Dockerfile")) as dockerfile:
        text = dockerfile.read()
    boot = f"apache/beam_python{sys.version_info.major}.{sys.version_info.minor}_sdk:{apache_beam.__version__}"
    assert f"COPY --from={boot} /opt/apache/beam /opt/apache/beam" in text
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in text
    assert "FROM python:3.10-slim" in text


def test_the_image_has_a_compiler_while_it_installs_the_lock_packages_that_publish_no_wheel():
    """Packages of the lock installed here from a wheel built on this machine (tag linux_<arch>, not
    a manylinux wheel from PyPI) were built from source: python:3.10-slim has no compiler for them."""
    from importlib import metadata  # pylint: disable=import-outside-toplevel

    with open(os.path.join(configs.PROJECT_ROOT, "requirements.lock")) as lock:
        pinned = {line.split("==")[0].strip().lower() for line in lock if "==" in line and not line.startswith("#")}
    built_here = sorted(d.metadata["Name"] for d in metadata.distributions() if d.metadata["Name"].lower() in pinned
                        and any(re.match(r"Tag: .*-linux_[a-z0-9_]+$", line.rstrip())  # not manylinux
                                for line in (d.read_text("WHEEL") or "").splitlines()))
    assert "pyfarmhash" in built_here  # TFDV's: no wheel on PyPI
    with open(os.path.join(configs.PROJECT_ROOT, "Dockerfile")) as dockerfile:
        install = next(step for step in dockerfile.read().split("\nRUN ") if "-r requirements.lock" in step)
    assert "apt-get install -y --no-install-recommends g++" in install.split("-r requirements.lock")[0]


@pytest.mark.parametrize("profile", ["local", "local-multiprocess"])
def test_a_local_profile_compiles_with_the_lock_in_the_image_not_this_machines(tmp_path, profile):
    """The local profiles' --requirements_file (which spares TFX building an sdist of itself in every
    Beam component) names the lock where the pods have it, and no path of the compiling machine."""
    output = tmp_path / "spec.json"
    assert cli.main(["compile", "--data", "gs://b/taxi", "--output", str(output),
                     *CLUSTER[:6], "--profile", profile]) == 0
    text = output.read_text()
    executors = json.loads(text)["pipelineSpec"]["deploymentSpec"]["executors"]
    args = executors["Transform_executor"]["container"]["args"]
    assert "--requirements_file=/pipeline/requirements.lock" in args
    assert profile == "local" or "--direct_num_workers=0" in args, "worker processes: the pod's cores, not this machine's"
    assert configs.PROJECT_ROOT not in text and profiles.LOCAL_LOCK not in text
    with open(os.path.join(configs.PROJECT_ROOT, "Dockerfile")) as dockerfile:
        assert {"WORKDIR /pipeline", "COPY requirements.lock ."} <= set(dockerfile.read().splitlines())
    assert f"--requirements_file={profiles.LOCAL_LOCK}" in profiles.beam_args(profile, {}), "local runs: this checkout's"


def test_a_flink_profile_compiled_with_this_machines_addresses_is_warned_of_per_address():
    """`cluster up`'s defaults (localhost:8099, localhost:50000) compiled into the spec: in a pod,
    localhost is the pod itself."""
    config = PipelineConfig(data_root="gs://b/data/taxi.csv", work_dir="gs://b/tfx", serving_dir="gs://b/serving",
                            profile="flink", profile_settings={"flink_master": "flink-jobmanager:8081"}).resolved()
    warned = kubeflow.local_settings(config)
    assert [w.split(" ")[1] for w in warned] == ["job_endpoint", "worker_pool"], warned
    assert warned[0].startswith("Beam's job_endpoint localhost:8099 is this machine's address: in a pod, localhost")
    assert [w.split(" ")[1] for w in kubeflow.local_settings(dataclasses.replace(config, profile_settings={
        "flink_master": "jm:8081", "job_endpoint": "[::1]:8099", "worker_pool": "pool:50000"}))] == ["job_endpoint"]
    remote = dataclasses.replace(config, profile_settings={"flink_master": "jm:8081", "job_endpoint": "js:8099",
                                                           "worker_pool": "pool:50000"})
    assert kubeflow.local_settings(remote) == []
