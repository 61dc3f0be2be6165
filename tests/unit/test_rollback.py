"""Rolling back the newest version: its folder is renamed out of every server's sight and kept, and
put back on demand; pushes after it never reuse its number; and `tfxpipe rollback` says what it did."""
import os
import subprocess
import sys
import time

import pytest

from pipeline import training_data
from serving import model_dir, rollback
from tests.unit.test_baseline import Pushes


def publish(saved_model, base, weights: bytes) -> int:
    (saved_model / "variables" / "variables.index").write_bytes(weights)
    return int(os.path.basename(model_dir.publish(str(saved_model), base)))


def test_the_newest_version_is_withdrawn_kept_and_put_back(saved_model, tmp_path):
    base = str(tmp_path / "taxi")
    first, second = publish(saved_model, base, b"first"), publish(saved_model, base, b"second")
    withdrawn = rollback.withdraw(base, "wrong tips for card payments")
    assert withdrawn.version == second and model_dir.versions(base) == [first]
    assert rollback.withdrawals(base) == {second: withdrawn}
    assert rollback.withdrawal_of(os.path.join(base, str(second))) == withdrawn
    assert rollback.withdrawal_of(os.path.join(base, str(second)), before_s=withdrawn.at) is None  # not yet then
    assert rollback.withdrawal_of(os.path.join(base, str(first))) is None
    assert os.path.isfile(os.path.join(base, f".withdrawn-{second}", "variables", "variables.index"))
    assert rollback.withdrawn_copy(str(saved_model), base) == withdrawn  # its files, byte for byte
    third = publish(saved_model, base, b"third")
    assert third > second and rollback.withdrawn_copy(str(saved_model), base) is None
    assert rollback.put_back(base) == withdrawn
    assert model_dir.versions(base) == [first, second, third] and rollback.withdrawals(base) == {}


def test_a_rollback_that_cannot_be_done_says_why_and_changes_nothing(saved_model, tmp_path):
    base = str(tmp_path / "taxi")
    only = publish(saved_model, base, b"only")
    with pytest.raises(rollback.RollbackError, match=f"version {only} is the only one"):
        rollback.withdraw(base, "x")
    with pytest.raises(rollback.RollbackError, match=f"has no version 7; it has {only}"):
        rollback.withdraw(base, "x", 7)
    with pytest.raises(rollback.RollbackError, match="no version of .* is withdrawn"):
        rollback.put_back(base)
    with pytest.raises(rollback.RollbackError, match="object store"):
        rollback.withdraw("gs://bucket/serving/taxi", "x")
    with pytest.raises(rollback.RollbackError, match="holds no version to roll back"):
        rollback.withdraw(str(tmp_path / "empty"), "x")
    newer = publish(saved_model, base, b"newer")
    (tmp_path / model_dir.SERVER_CONFIG).write_text(
        f'model_config_list {{ config {{ name: "taxi" version_labels {{ key: "stable" value: {newer} }} }} }}')
    with pytest.raises(rollback.RollbackError, match=f"version {newer} is pinned by models.config"):
        rollback.withdraw(base, "x")  # servers started with that file would lose the version they serve
    assert model_dir.versions(base) == [only, newer] and rollback.withdrawals(base) == {}


def test_a_rolled_back_push_is_no_baseline_from_the_time_it_was_rolled_back(tmp_path):
    pushes = Pushes(tmp_path)
    pushes.push(1, 100)
    pushes.push(2, 200)
    assert training_data.models_by_push(pushes.store) == [2, 1]
    time.sleep(0.01)  # MLMD times pushes to the millisecond
    withdrawn = rollback.withdraw(str(tmp_path), "a bad day")
    assert withdrawn.version == 200
    assert training_data.models_by_push(pushes.store) == [1]
    assert training_data.models_by_push(pushes.store, before_ms=withdrawn.at * 1000 - 1) == [2, 1]  # what runs saw then
    time.sleep(0.01)
    during_ms = int(time.time() * 1000)
    time.sleep(0.01)
    assert rollback.put_back(str(tmp_path)) == withdrawn
    assert training_data.models_by_push(pushes.store) == [2, 1]
    assert training_data.models_by_push(pushes.store, before_ms=during_ms) == [1], \
        "a run made while it was withdrawn had the version before as baseline, after the undo too"
    (tmp_path / rollback.UNDONE_FILE).write_text('[{"version": 200, "at": "yesterday"}, 7]')  # edited by hand
    assert training_data.models_by_push(pushes.store, before_ms=during_ms) == [2, 1]


def tfxpipe(*args):
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=120, check=False)


def test_the_rollback_command_serves_the_version_before_and_undo_puts_it_back(saved_model, tmp_path):
    serving = tmp_path / "serving"
    first, second = (publish(saved_model, str(serving / "taxi"), w) for w in (b"first", b"second"))
    where = ("--serving-dir", str(serving), "--work-dir", str(tmp_path / "work"))
    assert tfxpipe("rollback", *where).returncode == 2  # no reason given
    done = tfxpipe("rollback", "--reason", "complaints about tips", *where)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Rolled back version {second}, withdrawn " in done.stdout and ": complaints about tips." in done.stdout
    assert f"version {first} is served again once" in done.stdout
    # the undo as printed acts on this serving dir and this work dir's history, not the defaults
    assert f"`tfxpipe rollback --undo --serving-dir {serving} --work-dir {tmp_path / 'work'}` puts it back" \
        in done.stdout, done.stdout
    assert model_dir.versions(str(serving / "taxi")) == [first]
    refused = tfxpipe("rollback", "--reason", "again", *where)
    assert refused.returncode == 1 and f"error: version {first} is the only one" in refused.stdout
    undone = tfxpipe("rollback", "--undo", *where)
    assert undone.returncode == 0 and f"Put back version {second}" in undone.stdout and "it is the newest" in undone.stdout
    assert model_dir.versions(str(serving / "taxi")) == [first, second]
