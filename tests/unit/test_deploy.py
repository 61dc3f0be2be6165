"""Deployment artefacts, parsed back with TF Serving's real protos and a YAML parser."""
import os
import re

import pytest
import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving import deploy


@pytest.fixture
def serving_dir(tmp_path):
    for version in (100, 200):
        os.makedirs(tmp_path / "taxi" / str(version))
    return str(tmp_path)


def _models_config(paths):
    with open(paths["models.config"], encoding="utf-8") as f:
        return text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())


def test_latest_policy_serves_the_newest_version(serving_dir, tmp_path):
    settings = deploy.DeploySettings("taxi", serving_dir)
    config = _models_config(deploy.write_all(settings, str(tmp_path / "out")))
    [model] = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == ("taxi", "/models/taxi", "tensorflow")
    assert model.model_version_policy.latest.num_versions == 1
    with pytest.raises(ValueError, match="labels can name only 200"):
        deploy.model_server_config(deploy.DeploySettings("taxi", serving_dir, labels={"stable": 100}))


def test_stable_and_canary_labels_on_specific_versions(serving_dir, tmp_path):
    settings = deploy.DeploySettings("taxi", serving_dir, policy="specific", versions=(100, 200),
                                     labels={"stable": 100, "canary": 200})
    config = _models_config(deploy.write_all(settings, str(tmp_path / "out")))
    assert dict(config.model_config_list.config[0].version_labels) == {"stable": 100, "canary": 200}
    # TF Serving assigns labels before any version is loaded: refused at start-up without this flag
    flag = "--allow_version_labels_for_unavailable_models=true"
    assert flag in deploy.server_args(settings) and flag not in deploy.server_args(deploy.DeploySettings("taxi", serving_dir))
    with open(tmp_path / "out" / "docker-compose.yaml", encoding="utf-8") as f:
        assert flag in yaml.safe_load(f)["services"]["tf-serving"]["command"]


def test_specific_policy_serves_the_named_versions(serving_dir, tmp_path):
    settings = deploy.DeploySettings("taxi", serving_dir, policy="specific", versions=(200, 100))
    config = _models_config(deploy.write_all(settings, str(tmp_path / "out")))
    assert list(config.model_config_list.config[0].model_version_policy.specific.versions) == [100, 200]


def test_unknown_version_or_policy_is_refused(serving_dir, tmp_path):
    with pytest.raises(ValueError, match=r"version\(s\) \[300\] of model 'taxi' are not in"):
        deploy.model_server_config(deploy.DeploySettings("taxi", serving_dir, labels={"stable": 300}))
    with pytest.raises(ValueError, match="not one of latest, all, specific"):
        deploy.model_server_config(deploy.DeploySettings("taxi", serving_dir, policy="newest"))


def test_versions_without_the_specific_policy_or_a_model_never_pushed_are_refused(serving_dir):
    with pytest.raises(ValueError, match="only policy 'specific' does .policy 'latest' chooses its own.: "
                                         "add --policy specific"):
        deploy.model_server_config(deploy.DeploySettings("taxi", serving_dir, versions=(100,)))
    with pytest.raises(ValueError, match="no pushed version of model 'nope' in .*: run the pipeline first"):
        deploy.model_server_config(deploy.DeploySettings("nope", serving_dir))


def test_compose_and_kubernetes_run_tf_serving_on_both_ports(serving_dir, tmp_path):
    paths = deploy.write_all(deploy.DeploySettings("taxi", serving_dir), str(tmp_path / "out"))
    with open(paths["docker-compose.yaml"], encoding="utf-8") as f:
        service = yaml.safe_load(f)["services"]["tf-serving"]
    assert service["image"].startswith("tensorflow/serving:")
    assert service["ports"] == ["8500:8500", "8501:8501"]
    assert service["volumes"] == [f"{serving_dir}:/models:ro"]
    assert "--model_config_file=/models/models.config" in service["command"]
    assert "--monitoring_config_file=/models/monitoring.config" in service["command"]
    with open(paths["kubernetes.yaml"], encoding="utf-8") as f:
        text = f.read()
    assert "&" not in text and "*" not in text, "labels written out, not as YAML anchors"
    assert text.startswith("# Mounts the PersistentVolumeClaim 'tf-serving-models'")
    deployment, svc = list(yaml.safe_load_all(text))
    assert deployment["spec"]["selector"]["matchLabels"] == svc["spec"]["selector"] == {"app": "tf-serving-taxi"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert {p["containerPort"] for p in container["ports"]} == {8500, 8501}
    assert svc["kind"] == "Service" and {p["port"] for p in svc["spec"]["ports"]} == {8500, 8501}
    with open(paths["monitoring.config"], encoding="utf-8") as f:
        assert 'path: "/monitoring/prometheus/metrics"' in f.read()


@pytest.mark.parametrize("batching", [True, False], ids=["batching", "no-batching"])
def test_batching_is_written_and_switched_on_only_when_asked_for(serving_dir, tmp_path, batching):
    paths = deploy.write_all(deploy.DeploySettings("taxi", serving_dir, batching=batching),
                             str(tmp_path / "out"))
    assert ("batching.config" in paths) == os.path.exists(tmp_path / "out" / "batching.config") == batching
    with open(paths["docker-compose.yaml"], encoding="utf-8") as f:
        command = yaml.safe_load(f)["services"]["tf-serving"]["command"]
    assert ("--enable_batching" in command) == batching
    assert ("--batching_parameters_file=/models/batching.config" in command) == batching


def test_a_malformed_label_is_an_error_line_not_a_traceback(serving_dir, tmp_path, capsys):
    from cli import main  # pylint: disable=import-outside-toplevel

    for label in ("stable", "stable=x"):
        assert main.main(["deploy-config", "--serving-dir", serving_dir, "--model-name", "taxi",
                          "--label", label, "--out", str(tmp_path / "out")]) == 1
        assert f"error: label {label!r} is not NAME=VERSION" in capsys.readouterr().out
    assert not os.path.exists(tmp_path / "out")


def test_kubernetes_objects_get_valid_names_while_tf_serving_keeps_the_model_name(tmp_path):
    os.makedirs(tmp_path / "serving" / "Wine_Data" / "1")
    paths = deploy.write_all(deploy.DeploySettings("Wine_Data", str(tmp_path / "serving")), str(tmp_path / "out"))
    with open(paths["kubernetes.yaml"], encoding="utf-8") as f:
        deployment, service = list(yaml.safe_load_all(f))
    for manifest in (deployment, service):
        assert manifest["metadata"]["name"] == "tf-serving-wine-data"
        assert manifest["metadata"]["labels"] == {"app": "tf-serving-wine-data"}
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"] == {"app": "tf-serving-wine-data"}
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"app": "tf-serving-wine-data"}
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"]
    assert probe == "/v1/models/Wine_Data"
    assert _models_config(paths).model_config_list.config[0].name == "Wine_Data"
    dns_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
    assert dns_1035.fullmatch(deploy.kubernetes_name("_" + "x" * 70)) and len(deploy.kubernetes_name("x" * 70)) == 63


def test_batching_threads_do_not_come_from_this_machine_and_the_file_says_to_set_them(serving_dir, tmp_path,
                                                                                      monkeypatch):
    """TF Serving's guide: num_batch_threads = the serving host's cores, which deploy-config cannot see."""
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    text = deploy.batching_config()
    assert f"num_batch_threads {{ value: {deploy.BATCH_THREADS} }}" in text and deploy.BATCH_THREADS == 4
    comment = " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
    assert "for a 4-core serving host" in comment
    assert "set it to the number of CPU cores of the host (or pod) running TF Serving" in comment


def _check_shape(value, type_name: str, where: str) -> None:
    """`value` (parsed YAML) has the shape of the Kubernetes API type `type_name`: every key one the
    type has (kubernetes client's models, from Kubernetes' OpenAPI), every value of its field's type."""
    from kubernetes import client  # pylint: disable=import-outside-toplevel

    if type_name.startswith("list["):
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            _check_shape(item, type_name[5:-1], f"{where}[{i}]")
    elif type_name.startswith("dict("):
        assert isinstance(value, dict), where
        for key, item in value.items():
            _check_shape(item, type_name[type_name.index(",") + 1:-1].strip(), f"{where}.{key}")
    elif type_name in ("str", "int", "bool"):
        assert type(value).__name__ == type_name, f"{where}: {value!r} is not {type_name}"
    elif type_name != "object":  # object: IntOrString (ports)
        model = getattr(client.models, type_name)
        assert isinstance(value, dict), where
        fields = {json_name: name for name, json_name in model.attribute_map.items()}
        assert not set(value) - set(fields), f"{where}: no field(s) {set(value) - set(fields)} in {type_name}"
        for key, item in value.items():
            _check_shape(item, model.openapi_types[fields[key]], f"{where}.{key}")


def test_kubernetes_deployment_probes_and_resources_are_valid_apps_v1(serving_dir, tmp_path):
    from kubernetes import client, utils  # pylint: disable=import-outside-toplevel

    for version, mib in ((100, 500), (200, 100)):  # sparse files: sizes without the disk
        with open(os.path.join(serving_dir, "taxi", str(version), "variables.data"), "wb") as f:
            f.truncate(mib << 20)
    paths = deploy.write_all(deploy.DeploySettings("taxi", serving_dir), str(tmp_path / "out"))
    with open(paths["kubernetes.yaml"], encoding="utf-8") as f:
        text = f.read()
    deployment, service = yaml.safe_load_all(text)
    _check_shape(deployment, "V1Deployment", "Deployment")
    _check_shape(service, "V1Service", "Service")
    # required fields too (the client's own validation, as it reads an API server's answer)
    read = client.ApiClient()._ApiClient__deserialize(deployment, "V1Deployment")  # pylint: disable=protected-access
    [container] = read.spec.template.spec.containers
    assert read.spec.selector.match_labels == read.spec.template.metadata.labels

    assert container.readiness_probe.http_get.path == "/v1/models/taxi" and container.readiness_probe.http_get.port == 8501
    assert container.readiness_probe.period_seconds and container.readiness_probe.failure_threshold
    startup = container.startup_probe  # a model takes seconds (or minutes) to load before the ports open
    assert startup.http_get.path == "/v1/models/taxi" and startup.period_seconds * startup.failure_threshold >= 120
    assert container.liveness_probe.tcp_socket.port == 8500 and container.liveness_probe.period_seconds
    # memory from the size of the version policy 'latest' loads (200: 100 MiB), twice, and TF Serving's own
    requests, limits = container.resources.requests, container.resources.limits
    assert requests == {"cpu": "1", "memory": "512Mi"}, "256 + 2 * 100 MiB, rounded up to 64 MiB"
    assert limits == {"memory": "1024Mi"} and utils.parse_quantity(limits["memory"]) == 2 * 512 << 20
    assert "plus twice the 100.0 MiB\n# on disk of the version(s) it loads" in text
    every = deploy.DeploySettings("taxi", serving_dir, policy="all")
    assert deploy.memory_request_mib(every) == 1472, "256 + 2 * (500 + 100) MiB, rounded up to 64 MiB"
    assert deploy.memory_request_mib(deploy.DeploySettings("taxi", "gs://b/serving")) == deploy.DEFAULT_MEMORY_MIB
