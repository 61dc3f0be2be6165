"""The `local-multiprocess` profile: the same pipeline with Beam work in separate worker processes."""
import os

from tests.e2e.conftest import SampleWorkspace


def test_pipeline_runs_with_beam_worker_processes_and_leaves_no_temporary_files(tmp_path):
    workspace = SampleWorkspace(tmp_path)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    run = workspace.run(["--profile", "local-multiprocess", "--train-steps", "50"],
                        env={**os.environ, "TMPDIR": str(temporary)})
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert all(states == ["executed"] for states in run.summary.node_states.values())
    assert run.summary.pushed and os.path.isdir(run.summary.pushed_destination)
    assert not os.listdir(temporary), "what the run's libraries and worker processes left is removed"
