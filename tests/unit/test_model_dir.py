import errno
import os
import shutil
import socket
import subprocess
import time
import types

import pytest
import tensorflow as tf

from serving import model_dir


def test_publish_creates_an_integer_version_with_the_whole_model(saved_model, tmp_path):
    base = tmp_path / "serving" / "taxi"
    target = model_dir.publish(str(saved_model), str(base))
    assert os.path.basename(target).isdigit()
    assert (base / os.path.basename(target) / "variables" / "variables.index").read_bytes() == b"index"
    assert os.listdir(base) == [os.path.basename(target)]  # no staging folder left behind


def test_versions_are_unique_and_increasing_even_within_one_second(saved_model, tmp_path):
    base = str(tmp_path / "taxi")
    published = []
    for weights in (b"one", b"two", b"three"):
        (saved_model / "variables" / "variables.index").write_bytes(weights)
        published.append(int(os.path.basename(model_dir.publish(str(saved_model), base))))
    assert published == sorted(set(published))
    assert model_dir.versions(base) == published


def test_publishing_the_newest_version_again_adds_no_version(saved_model, tmp_path):
    """What a push killed after its rename, before TFX recorded it, sees when it runs again."""
    base = str(tmp_path / "taxi")
    first = model_dir.publish(str(saved_model), base)
    assert model_dir.publish(str(saved_model), base) == first
    (saved_model / "saved_model.pb").write_bytes(b"another graph")
    assert model_dir.publish(str(saved_model), base) != first
    assert len(model_dir.versions(base)) == 2


def test_staging_folders_of_dead_pushes_are_removed_and_live_ones_kept(saved_model, tmp_path):
    base = tmp_path / "taxi"
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    host = socket.gethostname()
    abandoned = base / f"{model_dir.STAGING_PREFIX}{host}-{dead_pid.pid}-100"
    live = base / f"{model_dir.STAGING_PREFIX}{host}-{os.getpid()}-101"
    impossible = base / f"{model_dir.STAGING_PREFIX}{host}-{2 ** 70}-103"  # no process id that large
    now = int(time.time())
    other_host = base / f"{model_dir.STAGING_PREFIX}elsewhere-{dead_pid.pid}-{now}"
    a_day_ago = now - model_dir.ABANDONED_AFTER_SECONDS - 60
    stale_other_host = base / f"{model_dir.STAGING_PREFIX}elsewhere-{dead_pid.pid}-{a_day_ago}"  # a killed pod
    # Host `<our name>-<our pid>` (as `web-2` beside `web`): its folder is judged by age, not by our pid.
    stale_longer_host = base / f"{model_dir.STAGING_PREFIX}{host}-{os.getpid()}-{dead_pid.pid}-{a_day_ago}"
    for folder in (abandoned, live, other_host, impossible, stale_other_host, stale_longer_host):
        folder.mkdir(parents=True)
    os.utime(other_host, (a_day_ago, a_day_ago))  # a live push's folder once copytree copied the source's times
    target = model_dir.publish(str(saved_model), str(base))
    assert sorted(os.listdir(base)) == sorted([live.name, other_host.name, os.path.basename(target)])


def test_non_integer_folders_are_not_versions(tmp_path):
    for name in ("12", ".staging-13", "tmp", "7"):
        (tmp_path / name).mkdir()
    assert model_dir.versions(str(tmp_path)) == [7, 12]


def test_failed_copy_leaves_no_version_and_no_staging(saved_model, tmp_path, monkeypatch):
    base = tmp_path / "taxi"

    def broken_copy(src, dst):
        os.makedirs(dst)
        raise OSError("disk full")

    monkeypatch.setattr(model_dir.shutil, "copytree", broken_copy)
    with pytest.raises(OSError, match="disk full"):
        model_dir.publish(str(saved_model), str(base))
    assert os.listdir(base) == []


def test_a_full_disk_names_the_problem_and_leaves_the_served_versions_alone(saved_model, tmp_path,
                                                                           monkeypatch):
    base = tmp_path / "taxi"
    served = model_dir.publish(str(saved_model), str(base))
    (saved_model / "saved_model.pb").write_bytes(b"new graph")

    real_copytree, real_copy2 = model_dir.shutil.copytree, model_dir.shutil.copy2
    copied = []

    def copy_until_full(src, dst, **kwargs):
        if copied:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        copied.append(real_copy2(src, dst, **kwargs))

    monkeypatch.setattr(model_dir, "shutil", types.SimpleNamespace(
        copytree=lambda src, dst: real_copytree(src, dst, copy_function=copy_until_full),
        rmtree=shutil.rmtree, Error=shutil.Error))
    with pytest.raises(model_dir.NoSpaceLeft, match="no space left .* nothing was published"):
        model_dir.publish(str(saved_model), str(base))
    assert os.listdir(base) == [os.path.basename(served)]
    assert (base / os.path.basename(served) / "saved_model.pb").read_bytes() == b"graph"


def test_publish_refuses_a_folder_without_saved_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="no SavedModel"):
        model_dir.publish(str(tmp_path), str(tmp_path / "taxi"))


def test_object_store_push_writes_saved_model_pb_last(saved_model):
    base = "ram://serving/taxi"  # TF's in-memory file system stands in for gs://
    target = model_dir.publish(str(saved_model), base)
    assert model_dir.versions(base) == [int(target.rsplit("/", 1)[1])]
    assert tf.io.gfile.exists(f"{target}/saved_model.pb")
    assert tf.io.gfile.exists(f"{target}/variables/variables.index")


def test_old_versions_beyond_the_kept_ones_are_removed_but_pinned_and_rolled_back_ones_stay(saved_model, tmp_path):
    from serving import rollback, deploy  # pylint: disable=import-outside-toplevel

    base = str(tmp_path / "serving" / "taxi")
    published = []
    for weights in (b"1", b"2", b"3", b"4", b"5", b"6"):
        (saved_model / "variables" / "variables.index").write_bytes(weights)
        published.append(int(os.path.basename(model_dir.publish(str(saved_model), base))))
    rollback.withdraw(base, "bad", published[-1])
    settings = deploy.DeploySettings(model_name="taxi", serving_dir=str(tmp_path / "serving"), policy="specific",
                                     versions=(published[0], published[4]), labels={"stable": published[1]})
    written = deploy.write_all(settings, str(tmp_path / "deploy"))
    shutil.copy(written["models.config"], tmp_path / "serving" / model_dir.SERVER_CONFIG)
    assert model_dir.pinned_versions(base) == {published[0], published[1], published[4]}
    assert model_dir.remove_old_versions(base, 2) == [published[2]]
    assert model_dir.versions(base) == [*published[0:2], *published[3:5]]
    assert model_dir.withdrawn_versions(base) == [published[-1]]
    assert not [name for name in os.listdir(base) if name.startswith(model_dir.STAGING_PREFIX)]
    assert model_dir.remove_old_versions(base, 2) == []
    (tmp_path / "serving" / model_dir.SERVER_CONFIG).write_text("model_config_list { config { name: ")
    with pytest.raises(ValueError, match="not TF Serving.s model config .* nothing was changed"):
        model_dir.remove_old_versions(base, 1)
    assert model_dir.versions(base) == [*published[0:2], *published[3:5]]


def test_versions_to_keep_reach_the_pusher_only_when_set(tmp_path):
    """Unset, the Pusher's settings (its cache key) are as before the option existed."""
    import json  # pylint: disable=import-outside-toplevel

    from pipeline.configs import PipelineConfig  # pylint: disable=import-outside-toplevel
    from pipeline.pipeline import create_pipeline  # pylint: disable=import-outside-toplevel

    def pusher_config(**settings):
        built = create_pipeline(PipelineConfig(work_dir=str(tmp_path / "work"), **settings))
        return next(c for c in built.components if c.id == "Pusher").exec_properties.get("custom_config")

    assert json.loads(pusher_config(keep_versions=3)) == {model_dir.KEEP_VERSIONS: 3}
    assert json.loads(pusher_config()) is None


def test_a_serving_dir_a_push_could_not_write_is_named_before_any_training(tmp_path, monkeypatch):
    """A read-only folder (a mount, another user's): once found only by the Pusher, after training.
    The access check is the kernel's (root passes permission bits; a read-only mount stops it), so a
    read-only folder is what `os.access` answers for it here."""
    base = tmp_path / "serving" / "taxi"
    assert model_dir.unwritable(str(base)) is None  # not there yet: its parent, tmp_path, is writable
    (tmp_path / "serving").mkdir()
    read_only = str(tmp_path / "serving")
    real_access = os.access
    monkeypatch.setattr(model_dir.os, "access", lambda path, mode: path != read_only and real_access(path, mode))
    assert f"cannot be written ({read_only} is read-only to this user)" in model_dir.unwritable(str(base))
    base.mkdir()
    assert model_dir.unwritable(str(base)) is None  # itself writable
    assert model_dir.unwritable("gs://bucket/serving/taxi") is None
