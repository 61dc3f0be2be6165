"""serving/process_exit.py: the process ends with its code and leaves none of autograph's module files
in the temporary folder (os._exit skips the atexit hook that would delete them)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHILD = """
import tensorflow as tf
from serving.process_exit import exit_now

@tf.function
def clipped(x):
    if x > 0:  # Python control flow on a tensor: autograph converts it, writing a module file
        return x
    return -x

clipped(tf.constant(2.0))
exit_now(3)
"""


def _autograph_files_left(tmp_path, source):
    """Runs `source` as a script (autograph reads the source of what it converts) with its own
    temporary folder; checks it ended with code 3 and returns the autograph files left there."""
    script, temporary = tmp_path / "child.py", tmp_path / "tmp"
    script.write_text(source)
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": ROOT}
    ended = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                           timeout=300)
    assert ended.returncode == 3, ended.stderr[-2000:]
    return [name for name in os.listdir(temporary) if name.startswith("__autograph_generated_file")]


def test_a_process_ended_by_exit_now_keeps_its_code_and_leaves_no_autograph_files(tmp_path):
    assert _autograph_files_left(tmp_path, CHILD) == []


def test_the_child_does_write_autograph_files_which_a_bare_os_exit_leaves_behind(tmp_path):
    """The check above can fail: the same child ended by os._exit leaves autograph's files."""
    assert _autograph_files_left(tmp_path, CHILD.replace("exit_now(3)", "import os; os._exit(3)"))


def test_output_whose_reader_stopped_ends_the_command_quietly(tmp_path):
    """`tfxpipe runs | head -0`: the reader closes the pipe before the command writes; the command
    ends with exit 1 and no traceback, as Unix tools end (the output is buffered, as in a shell)."""
    child = subprocess.Popen([sys.executable, "-m", "cli", "runs", "--work-dir", str(tmp_path)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": ""})
    child.stdout.close()
    _, errors = child.communicate(timeout=300)
    assert child.returncode == 1 and b"Traceback" not in errors and b"BrokenPipe" not in errors, errors[-3000:]
