"""Version handling of the embedded server, driven poll by poll (no server process)."""
import os
import shutil

import grpc
import numpy as np
import pytest
from tensorflow_serving.config import model_server_config_pb2

from serving.loaded_version import ServingError
from serving.servables import ModelVersions, State
from tests import serving_models

EXAMPLE = serving_models.example(1.0, "Credit Card")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two toy SavedModels that answer differently (weight 1 and 2)."""
    root = tmp_path_factory.mktemp("built")
    return {w: serving_models.build(str(root / str(w)), float(w)) for w in (1, 2)}


def place(built, base, version, weight):
    shutil.copytree(built[weight], os.path.join(base, str(version)))


def versions_of(base, policy=None, labels=None, on_loaded=lambda loaded: None,
                announce=lambda line: None):
    config = model_server_config_pb2.ModelConfig(name="toy", base_path=str(base))
    if policy:
        config.model_version_policy.CopyFrom(policy)
    for label, version in (labels or {}).items():
        config.version_labels[label] = version
    return ModelVersions(config, on_loaded=on_loaded, settle_seconds=0, announce=announce)


def poll_twice(model):
    model.poll()  # first sight
    model.poll()  # unchanged since: loads


def answer(model, version=None, label=""):
    loaded = model.resolve(version, label)
    return float(loaded.run("serving_default", {"examples": np.array([EXAMPLE], dtype=object)})
                 ["probabilities"][0, 0])


def test_a_version_loads_only_after_being_seen_unchanged(built, tmp_path):
    place(built, tmp_path, 1, 1)
    model = versions_of(tmp_path)
    model.poll()
    with pytest.raises(ServingError) as raised:
        model.resolve()
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    model.poll()
    assert model.resolve().version == 1
    assert model.states()[1].state == State.AVAILABLE


def test_latest_policy_swaps_to_the_new_version_then_retires_the_old(built, tmp_path):
    place(built, tmp_path, 1, 1)
    model = versions_of(tmp_path)
    poll_twice(model)
    old_answer = answer(model)
    place(built, tmp_path, 2, 2)
    model.poll()
    assert model.resolve().version == 1, "served before the new version was seen unchanged"
    model.poll()
    assert model.resolve().version == 2
    assert answer(model) != pytest.approx(old_answer)
    assert model.states()[1].state == State.END
    with pytest.raises(ServingError):
        model.resolve(1)


def test_a_poll_says_whether_it_loaded_or_retired_a_version(built, tmp_path):
    place(built, tmp_path, 1, 1)
    model = versions_of(tmp_path)
    assert [model.poll(), model.poll(), model.poll()] == [False, True, False]  # seen, loaded, same
    place(built, tmp_path, 2, 2)
    assert [model.poll(), model.poll(), model.poll()] == [False, True, False]  # 2 loaded, 1 retired
    assert sorted(model.states()) == [1, 2] and model.states()[1].state == State.END


def test_half_written_folders_are_never_loaded(built, tmp_path):
    place(built, tmp_path, 1, 1)
    model = versions_of(tmp_path)
    poll_twice(model)
    # A copy in progress: variables written, saved_model.pb not yet there.
    os.makedirs(tmp_path / "2")
    shutil.copytree(os.path.join(built[2], "variables"), tmp_path / "2" / "variables")
    poll_twice(model)
    assert model.resolve().version == 1
    assert 2 not in model.states()
    # saved_model.pb appears, but the folder is still changing between polls: not loaded yet.
    shutil.copy(os.path.join(built[2], "saved_model.pb"), tmp_path / "2")
    model.poll()
    shutil.copytree(os.path.join(built[2], "assets"), tmp_path / "2" / "assets", dirs_exist_ok=True)
    (tmp_path / "2" / "fingerprint.pb").write_bytes(b"")
    model.poll()
    assert model.resolve().version == 1
    model.poll()
    assert model.resolve().version == 2


def test_a_version_that_fails_to_load_keeps_the_old_one_serving(built, tmp_path):
    place(built, tmp_path, 1, 1)
    model = versions_of(tmp_path)
    poll_twice(model)
    place(built, tmp_path, 2, 2)
    (tmp_path / "2" / "saved_model.pb").write_bytes(b"not a SavedModel")
    poll_twice(model)
    assert model.resolve().version == 1
    status = model.states()[2]
    assert status.state == State.END and status.error


def test_failing_warmup_fails_the_load(built, tmp_path):
    place(built, tmp_path, 1, 1)

    def failing_warmup(loaded):
        raise ValueError(f"warmup of {loaded.version} failed")

    model = versions_of(tmp_path, on_loaded=failing_warmup)
    poll_twice(model)
    assert "warmup of 1 failed" in model.states()[1].error
    with pytest.raises(ServingError):
        model.resolve()


def test_specific_and_all_policies_and_labels(built, tmp_path):
    for version, weight in ((1, 1), (2, 2), (3, 1)):
        place(built, tmp_path, version, weight)
    specific = model_server_config_pb2.ModelConfig().model_version_policy
    specific.specific.versions.extend([1, 2])
    model = versions_of(tmp_path, specific, labels={"stable": 1, "canary": 2})
    poll_twice(model)
    assert sorted(model.states()) == [1, 2]
    assert model.resolve(label="stable").version == 1
    assert answer(model, label="canary") == pytest.approx(answer(model, 2))
    with pytest.raises(ServingError) as raised:
        model.resolve(label="nightly")
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    every = model_server_config_pb2.ModelConfig().model_version_policy
    every.all.SetInParent()
    model = versions_of(tmp_path, every)
    poll_twice(model)
    assert sorted(model.states()) == [1, 2, 3]
    assert np.isfinite(answer(model, 3))


def test_a_model_with_nothing_to_serve_says_so_and_a_served_one_does_not(built, tmp_path):
    lines = []
    empty = versions_of(tmp_path / "missing" / "toy", announce=lines.append)
    poll_twice(empty)
    empty.announce_if_empty()
    assert len(lines) == 1 and f"no version available under {tmp_path / 'missing' / 'toy'}" in lines[0]
    assert f"there is no folder {tmp_path / 'missing' / 'toy'} on this machine; it is served once" in lines[0]
    in_container = versions_of("/models/toy", announce=lines.append)  # deploy-config's models.config
    in_container.announce_if_empty()
    assert "(/models/ is where `tfxpipe deploy-config` mounts the models in TF Serving's container: here, give " \
           "base_path the pushed folder, or serve without --model-config-file)" in lines[1]
    del lines[1]
    place(built, tmp_path / "toy", 1, 1)
    served = versions_of(tmp_path / "toy", announce=lines.append)
    poll_twice(served)
    served.announce_if_empty()
    assert len(lines) == 2 and "toy version 1 available" in lines[1]  # its load, nothing more


def test_a_changed_config_moves_labels_adds_and_removes_models_and_a_refused_one_changes_nothing(built, tmp_path):
    """What `--model_config_file_poll_wait_seconds` and HandleReloadConfigRequest apply, in TF Serving's
    order (ServerCore::ReloadConfig): labels checked against the versions served now, then models
    changed. A label naming a version not served refuses the whole config (FAILED_PRECONDITION):
    a typo next to a policy change once retired the version `stable` named."""
    from types import SimpleNamespace  # pylint: disable=import-outside-toplevel

    from serving import model_config  # pylint: disable=import-outside-toplevel

    for version, weight in ((1, 1), (2, 2), (3, 1)):
        place(built, tmp_path / "toy", version, weight)
    place(built, tmp_path / "other", 7, 2)
    first_two = model_server_config_pb2.ModelConfig().model_version_policy
    first_two.specific.versions.extend([1, 2])
    toy = versions_of(tmp_path / "toy", first_two, labels={"stable": 1, "canary": 2})
    poll_twice(toy)
    server = SimpleNamespace(models={"toy": toy})

    def config(*entries, policy=first_two):
        built_config = model_server_config_pb2.ModelServerConfig()
        for name, labels in entries:
            entry = built_config.model_config_list.config.add(name=name, base_path=str(tmp_path / name))
            entry.model_version_policy.CopyFrom(policy)
            entry.version_labels.update(labels)
        return built_config

    def make_model(entry):
        return ModelVersions(entry, settle_seconds=0)

    def refused(reloader, new_config, said):
        with pytest.raises(ServingError) as raised:
            reloader.apply(new_config)
        assert (raised.value.code, raised.value.message) == (grpc.StatusCode.FAILED_PRECONDITION, said)

    reloader = model_config.Reloader(server, make_model, poll_twice, allow_unavailable_labels=False)
    reloader.apply(config(("toy", {"stable": 2})))
    assert toy.resolve(label="stable").version == 2 and server.models == {"toy": toy}
    later_two = model_server_config_pb2.ModelConfig().model_version_policy
    later_two.specific.versions.extend([2, 3])
    refused(reloader, config(("toy", {"stable": 2, "canary": 99}), policy=later_two),
            "Request to assign label to version 99 of model toy, which is not currently available for inference")
    assert toy.available_versions() == [1, 2] and toy.resolve(label="stable").version == 2, "nothing changed"
    refused(reloader, config(("toy", {"stable": 3}), policy=later_two),  # 3 loads with it: TF Serving refuses too
            "Request to assign label to version 3 of model toy, which is not currently available for inference")
    reloader.apply(config(("toy", {"stable": 2}), ("other", {}), policy=later_two))
    assert toy.available_versions() == [2, 3] and server.models["other"].available_versions() == []
    reloader.apply(config(("other", {})))
    assert list(server.models) == ["other"]
    reloader.apply(model_server_config_pb2.ModelServerConfig())  # no config at all: no action, as TF Serving
    assert list(server.models) == ["other"]
    allowing = model_config.Reloader(server, make_model, poll_twice, allow_unavailable_labels=True)
    allowing.apply(config(("other", {"ghost": 123})))  # a new label may name a version not served
    refused(allowing, config(("other", {"ghost": 124})),  # an existing one may not be moved to one
            "Request to assign label to version 124 of model other, which is not currently available for inference")
    with pytest.raises(ServingError, match="Illegal to list model other multiple times"):
        reloader.apply(config(("other", {}), ("other", {})))


def test_a_config_file_that_cannot_be_read_is_said_once_and_a_refused_one_is_tried_again(built, tmp_path):
    """A file caught half-written (a cut multibyte character) once ended the thread that also loads
    new versions; a label naming a version that loads a moment later is applied once it has."""
    from types import SimpleNamespace  # pylint: disable=import-outside-toplevel

    from serving import model_config  # pylint: disable=import-outside-toplevel

    place(built, tmp_path / "toy", 1, 1)
    toy = versions_of(tmp_path / "toy")
    poll_twice(toy)
    server, said = SimpleNamespace(models={"toy": toy}), []
    path = tmp_path / "models.config"
    path.write_text(f"model_config_list {{ config {{ name: 'toy' base_path: '{tmp_path / 'toy'}' }} }}")
    config_file = model_config.ConfigFile(str(path), model_config.Reloader(
        server, lambda entry: ModelVersions(entry, settle_seconds=0), poll_twice, False), said.append)
    path.write_bytes(b"model_config_list { config { name: 't\xc3")
    config_file.poll()
    config_file.poll()
    assert len(said) == 1 and said[0].startswith(f"model config {path} not applied, the one in force stays: ")
    path.write_text(f"model_config_list {{ config {{ name: 'toy' base_path: '{tmp_path / 'toy'}' "
                    "version_labels { key: 'stable' value: 2 } } }")
    config_file.poll()
    assert "version 2 of model toy, which is not currently available" in said[-1]
    place(built, tmp_path / "toy", 2, 2)
    poll_twice(toy)  # the version poller loads it
    config_file.poll()
    assert said[-1] == f"model config {path} applied: serving toy" and toy.resolve(label="stable").version == 2


def test_serve_refuses_to_start_when_no_version_loads_or_a_label_names_none(tmp_path, capsys):
    """TF Serving exits when a model does not become available, or a label names a version it does
    not serve: a server started anyway answered its readiness probe (the model status URL) 200."""
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    (tmp_path / "toy" / "1").mkdir(parents=True)
    (tmp_path / "toy" / "1" / "saved_model.pb").write_bytes(b"not a SavedModel")
    ports = ["--rest-port", "0", "--grpc-port", "0", "--settle-seconds", "0"]
    assert cli.main(["serve", "--model_name", "toy", "--model_base_path", str(tmp_path / "toy"), *ports]) == 1
    said = capsys.readouterr().out.strip().splitlines()[-1]
    assert said.startswith("error: 1 model(s) did not become available: {{name: toy version: 1} due to error: "), said
    config = tmp_path / "models.config"
    config.write_text("model_config_list { config { name: 'toy' base_path: '%s' version_labels { key: 'stable' "
                      "value: 1 } } }" % (tmp_path / "empty"))
    assert cli.main(["serve", "--model_config_file", str(config), *ports]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        "error: Request to assign label to version 1 of model toy, which is not currently available for inference "
        "(--allow_version_labels_for_unavailable_models allows it)")
    config.write_text("model_config_list { config { name: 'toy' ")
    assert cli.main(["serve", "--model_config_file", str(config), *ports]) == 1
    [line] = capsys.readouterr().out.strip().splitlines()
    assert line.startswith(f"error: --model-config-file: {config}: ") and "Traceback" not in line
