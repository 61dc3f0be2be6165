"""pipeline/scratch.py: a run's temporary folder is its own and removed when it ends; the folders of
runs killed before they could remove theirs are removed by the next run, never one a process holds."""
import os
import socket
import subprocess
import sys
import tempfile

from pipeline import scratch

HOLD = ("import fcntl, os, sys, time; d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY); "
        "fcntl.flock(d, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)")


def test_a_run_works_in_a_folder_of_its_own_that_is_gone_when_it_ends(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch.temporary_files_removed_after():
        inside = tempfile.gettempdir()
        assert os.environ["TMPDIR"] == inside and os.path.dirname(inside) == str(tmp_path)
        assert os.path.basename(inside).startswith(f"{scratch.PREFIX}{socket.gethostname()}-{os.getpid()}-")
        assert scratch.NAME.fullmatch(os.path.basename(inside))
        open(os.path.join(inside, "left.tar.gz"), "w").close()
    assert tempfile.gettempdir() == str(tmp_path) and os.listdir(tmp_path) == []


def test_the_folders_of_killed_runs_are_removed_and_those_a_process_holds_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    killed = tmp_path / f"{scratch.PREFIX}{socket.gethostname()}-12345-abcdefgh"
    running = tmp_path / f"{scratch.PREFIX}another-host-777-defghijk"  # e.g. a container sharing /tmp
    unnamed = tmp_path / f"{scratch.PREFIX}xyz"  # not named as a run's folder
    for folder in (killed, running, unnamed):
        (folder / "beam-staging").mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(running)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with scratch.temporary_files_removed_after():
            pass
        assert sorted(os.listdir(tmp_path)) == sorted([running.name, unnamed.name])
    finally:
        holder.kill()
        holder.wait()
    with scratch.temporary_files_removed_after():  # its holder gone, the folder is abandoned
        pass
    assert os.listdir(tmp_path) == [unnamed.name]
