"""pipeline/scratch.py: a run's temporary folder is its own and removed when it ends; the folders of
runs killed before they could remove theirs are removed by the next run, never a live process's."""
import os
import socket
import subprocess
import sys
import tempfile

from pipeline import scratch


def _ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_works_in_a_folder_of_its_own_that_is_gone_when_it_ends(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch.temporary_files_removed_after():
        inside = tempfile.gettempdir()
        assert os.environ["TMPDIR"] == inside and os.path.dirname(inside) == str(tmp_path)
        assert os.path.basename(inside).startswith(f"{scratch.PREFIX}{socket.gethostname()}-{os.getpid()}-")
        open(os.path.join(inside, "left.tar.gz"), "w").close()
    assert tempfile.gettempdir() == str(tmp_path) and os.listdir(tmp_path) == []


def test_the_folders_of_killed_runs_are_removed_and_those_of_live_ones_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host, ended = socket.gethostname(), _ended_pid()
        killed = tmp_path / f"{scratch.PREFIX}{host}-{ended}-abcdefgh"
        running = tmp_path / f"{scratch.PREFIX}{host}-{live.pid}-defghijk"
        elsewhere = tmp_path / f"{scratch.PREFIX}another-{host}-{ended}-ghijklmn"  # its process ids are not ours
        unnamed = tmp_path / f"{scratch.PREFIX}xyz"  # no process named
        for folder in (killed, running, elsewhere, unnamed):
            (folder / "beam-staging").mkdir(parents=True)
        with scratch.temporary_files_removed_after():
            pass
        assert sorted(os.listdir(tmp_path)) == sorted([running.name, elsewhere.name, unnamed.name])
    finally:
        live.kill()
        live.wait()
