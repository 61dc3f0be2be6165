import socket

import pytest

from pipeline import profiles


def test_local_profile_runs_beam_in_process():
    assert profiles.beam_args("local", {})[:3] == (
        "--runner=DirectRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1")


def test_multiprocess_profile_uses_worker_processes():
    args = profiles.beam_args("local-multiprocess", {})
    assert "--direct_running_mode=multi_processing" in args


@pytest.mark.parametrize("profile, settings, expected", [
    ("dataflow", {"project": "p", "region": "europe-west4", "temp_location": "gs://b/tmp"},
     ["--runner=DataflowRunner", "--project=p", "--region=europe-west4", "--temp_location=gs://b/tmp"]),
    ("flink", {"flink_master": "flink:8081"}, ["--runner=FlinkRunner", "--flink_master=flink:8081"]),
    ("spark", {"spark_master_url": "spark://m:7077"},
     ["--runner=SparkRunner", "--spark_master_url=spark://m:7077"]),
])
def test_cluster_profiles_fill_their_settings(profile, settings, expected):
    args = profiles.beam_args(profile, settings)
    assert all(arg in args for arg in expected), args


def test_the_flink_profile_reaches_the_local_cluster_unless_told_otherwise():
    args = profiles.beam_args("flink", {"flink_master": "localhost:8081"})
    assert {"--job_endpoint=localhost:8099", "--environment_type=EXTERNAL",
            "--environment_config=localhost:50000", "--parallelism=2"} <= set(args)
    args = profiles.beam_args("flink", {"flink_master": "jm:8081", "job_endpoint": "js:8099",
                                        "worker_pool": "pool:50000", "parallelism": "8"})
    assert {"--job_endpoint=js:8099", "--environment_config=pool:50000", "--parallelism=8"} <= set(args)


def test_missing_setting_is_named_before_anything_runs():
    with pytest.raises(profiles.ProfileError, match="'dataflow' needs the setting.*region, temp_location"):
        profiles.beam_args("dataflow", {"project": "p"})


def test_unknown_profile_and_setting_are_refused():
    with pytest.raises(profiles.ProfileError, match="unknown profile 'yarn'"):
        profiles.beam_args("yarn", {})
    with pytest.raises(profiles.ProfileError, match="has no setting.*colour"):
        profiles.beam_args("local", {"colour": "red"})
    with pytest.raises(profiles.ProfileError, match="not KEY=VALUE"):
        profiles.parse_settings(["project"])


def test_a_misspelt_setting_is_named_rather_than_the_setting_it_was_meant_to_be():
    with pytest.raises(profiles.ProfileError) as error:
        profiles.beam_args("dataflow", {"project": "p", "regoin": "r", "temp_location": "gs://b/t"})
    assert str(error.value) == ("profile 'dataflow' has no setting(s) regoin; its settings: project, "
                                "region, temp_location")


def test_auto_profile_follows_the_size_of_the_data_a_run_reads(tmp_path):
    from pipeline.configs import PipelineConfig  # pylint: disable=import-outside-toplevel

    small, large = tmp_path / "small", tmp_path / "spans"
    small.mkdir()
    (small / "data.csv").write_text("a,b\n1,2\n")
    assert PipelineConfig(data_root=str(small)).resolved().profile == "local"
    for span, size in (("span-1", profiles.AUTO_MULTIPROCESS_BYTES), ("span-2", 1000)):
        (large / span).mkdir(parents=True)
        with open(large / span / "data.csv", "wb") as f:
            f.truncate(size)
    assert PipelineConfig(data_root=str(large)).resolved().profile == "local", "newest span only"
    with open(large / "span-2" / "data.csv", "wb") as f:
        f.truncate(profiles.AUTO_MULTIPROCESS_BYTES)
    assert PipelineConfig(data_root=str(large)).resolved().profile == "local-multiprocess"
    assert PipelineConfig(data_root=str(small), profile="local-multiprocess").resolved().profile == \
        "local-multiprocess", "an explicit profile is kept"


@pytest.mark.parametrize("profile", ["local", "local-multiprocess"])
def test_local_profiles_spare_tfx_its_per_component_repackaging(profile):
    """Without a dependency flag, every TFX Beam executor builds an sdist of tfx (~1.3 s each)."""
    from tfx.utils import dependency_utils  # pylint: disable=import-outside-toplevel

    args = list(profiles.beam_args(profile, {}))
    assert dependency_utils.make_beam_dependency_flags(args) == args
    in_image = list(profiles.beam_args(profile, {"requirements_file": "/pipeline/requirements.lock"}))
    assert "--requirements_file=/pipeline/requirements.lock" in in_image, "compile's: the lock in the image"
    assert dependency_utils.make_beam_dependency_flags(in_image) == in_image


def _listening(host: str = "127.0.0.1") -> socket.socket:
    """A server socket taking connections on a free port of `host`."""
    return socket.create_server((host, 0))


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return server.getsockname()[1]


def test_a_flink_run_is_refused_at_once_when_its_master_job_server_or_worker_pool_does_not_answer():
    port = _closed_port()
    with pytest.raises(profiles.ProfileError) as refused:
        profiles.check_servers("flink", {"flink_master": f"localhost:{port}"})
    assert str(refused.value) == (
        f"profile 'flink': flink_master localhost:{port} does not answer (Connection refused): `tfxpipe "
        "cluster up` starts a Flink cluster and its job server on this machine; for another, give its "
        f"address with --profile-setting flink_master=HOST:PORT")
    with _listening() as master:
        master_address = f"http://localhost:{master.getsockname()[1]}"
        with pytest.raises(profiles.ProfileError, match=f"job_endpoint localhost:{port} does not answer"):
            profiles.check_servers("flink", {"flink_master": master_address, "job_endpoint": f"localhost:{port}"})
        with _listening() as job_server:
            job_endpoint = f"localhost:{job_server.getsockname()[1]}"
            with pytest.raises(profiles.ProfileError, match=f"worker_pool localhost:{port} does not answer"):
                profiles.check_servers("flink", {"flink_master": master_address, "job_endpoint": job_endpoint,
                                                 "worker_pool": f"localhost:{port}"})  # the SDK workers stopped
            with _listening() as pool:
                profiles.check_servers("flink", {"flink_master": master_address, "job_endpoint": job_endpoint,
                                                 "worker_pool": f"localhost:{pool.getsockname()[1]}"})


def test_a_master_named_for_its_cluster_is_left_to_the_job_server_even_through_a_local_tunnel():
    """`kubectl port-forward` puts the job server on localhost; the master is a name only the
    cluster resolves, which the job server reaches."""
    with _listening() as job_server:
        profiles.check_servers("flink", {"flink_master": "flink-jobmanager:8081",
                                         "job_endpoint": f"localhost:{job_server.getsockname()[1]}"})
    profiles.check_servers("local", {})  # nothing to reach


def test_run_says_the_flink_master_does_not_answer_in_one_line(tmp_path, capsys):
    from cli import main  # pylint: disable=import-outside-toplevel

    port = _closed_port()
    assert main.main(["run", "--profile", "flink", "--profile-setting", f"flink_master=localhost:{port}",
                      "--work-dir", str(tmp_path / "work"), "--serving-dir", str(tmp_path / "serving")]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: profile 'flink': flink_master localhost:{port} does not answer (Connection refused): `tfxpipe "
        "cluster up` starts a Flink cluster and its job server on this machine; for another, give its "
        "address with --profile-setting flink_master=HOST:PORT"]
    assert not (tmp_path / "work").exists(), "refused before anything ran"


def test_a_local_run_on_dataflow_is_refused_at_once_saying_to_compile_instead(tmp_path, capsys):
    """Its workers cannot read this machine's data: the run would stage the job for minutes, then fail."""
    from cli import main  # pylint: disable=import-outside-toplevel

    assert main.main(["run", "--profile", "dataflow", "--profile-setting", "project=p", "--profile-setting",
                      "region=r", "--profile-setting", "temp_location=gs://b/t",
                      "--work-dir", str(tmp_path / "work"), "--serving-dir", str(tmp_path / "serving")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: profile 'dataflow' runs Beam on workers in Google Cloud") and "tfxpipe compile" in line
    assert not (tmp_path / "work").exists(), "refused before anything ran"


def test_a_local_run_on_spark_without_the_workers_image_is_refused_naming_it(tmp_path, capsys):
    """Beam's Docker environment starts its stock SDK image unless told: its workers would fail to
    import TFX in the first component."""
    from cli import main  # pylint: disable=import-outside-toplevel

    assert main.main(["run", "--profile", "spark", "--profile-setting", "spark_master_url=spark://localhost:7077",
                      "--work-dir", str(tmp_path / "work"), "--serving-dir", str(tmp_path / "serving")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: profile 'spark' starts Beam's workers as Docker containers") and \
        "--beam-arg=--environment_config=IMAGE" in line and "tfxpipe compile --image IMAGE" in line
    assert not (tmp_path / "work").exists(), "refused before anything ran"
    profiles.check_runs_from_here("spark", ["--environment_config=registry/tfxpipe:1"])  # named: it may run
    profiles.check_runs_from_here("spark", ["--environment_type=LOOPBACK"])  # workers in this process
