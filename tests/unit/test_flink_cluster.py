"""`tfxpipe cluster`: where the local Flink cluster keeps its files, and `down` (on real processes,
without starting Flink itself)."""
import os
import subprocess

import pytest

from cli import cluster_commands, main as cli
from pipeline import flink_cluster
from pipeline.configs import PROJECT_ROOT


def test_the_clusters_files_are_the_projects_whatever_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = os.path.join(PROJECT_ROOT, ".cache", "flink")  # where make and the README say it is
    assert flink_cluster.ClusterSettings().run_dir == os.path.join(home, "run")
    assert cluster_commands.DEFAULTS.home == home


def test_down_stops_the_processes_up_started(tmp_path):
    settings = flink_cluster.ClusterSettings(home=str(tmp_path))
    os.makedirs(settings.run_dir)
    worker_pool = subprocess.Popen(["sleep", "60"], start_new_session=True)  # as up starts it
    (tmp_path / "run" / "worker-pool.pid").write_text(str(worker_pool.pid))
    assert flink_cluster.down(settings)
    assert worker_pool.wait(timeout=10) != 0, "terminated"
    assert not os.listdir(settings.run_dir)


def test_down_with_nothing_running_says_so_rather_than_that_it_stopped_a_cluster(tmp_path, capsys):
    os.makedirs(tmp_path / "run")
    ended = subprocess.Popen(["true"])  # a pid file left by a process that has ended
    ended.wait()
    (tmp_path / "run" / "job-server.pid").write_text(str(ended.pid))
    code = cli.main(["cluster", "down", "--home", str(tmp_path)])
    out = capsys.readouterr().out
    assert "stopped" not in out
    if flink_cluster.status() is None:
        assert (code, out) == (0, f"No Flink cluster started from {tmp_path} is running: nothing to stop\n")
    else:  # a cluster of another folder answers on this machine
        assert code == 1 and f"no Flink cluster started from {tmp_path} is running, yet one answers" in out
    assert not os.listdir(tmp_path / "run"), "the stale pid file removed"


def test_a_tool_the_fetch_needs_that_is_not_installed_is_named_with_how_to_install_it(monkeypatch):
    """Without Maven, `cluster fetch` ended in a FileNotFoundError traceback."""
    monkeypatch.setenv("PATH", "")
    with pytest.raises(flink_cluster.ClusterError) as raised:
        flink_cluster._run(["mvn", "-v"], "fetching Beam's Flink job server from Maven Central")  # pylint: disable=protected-access
    said = str(raised.value)
    assert said.startswith("fetching Beam's Flink job server from Maven Central needs `mvn`, which is not on this "
                           "machine's PATH") and "apt-get install default-jdk-headless maven" in said
