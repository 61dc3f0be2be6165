import io
import itertools
import logging
import signal
import subprocess
import sys

import pytest

from pipeline import progress
from pipeline.progress import ComponentProgress, process_output_to


def _log(handler, msg, *args):
    handler.handle(logging.LogRecord("absl", logging.INFO, __file__, 1, msg, args, None))


def test_one_line_per_component_with_time_and_cache_state():
    out = io.StringIO()
    ticks = itertools.count(0, 2.5)
    handler = ComponentProgress(out=out, clock=lambda: next(ticks))
    _log(handler, "Component %s is running.", "Transform")
    _log(handler, "Some other message %s", "ignored")
    _log(handler, "Component %s is finished.", "Transform")
    _log(handler, "Component %s is running.", "Trainer")
    _log(handler, "A cached execution %d is used.", 7)
    _log(handler, "Component %s is finished.", "Trainer")
    lines = out.getvalue().splitlines()
    assert [line.split() for line in lines] == [
        ["Transform", "2.5", "s", "done"],
        ["Trainer", "2.5", "s", "cached"],
    ]


def test_failure_names_the_running_component():
    ticks = itertools.count(0, 4.0)
    handler = ComponentProgress(out=io.StringIO(), clock=lambda: next(ticks))
    _log(handler, "Component %s is running.", "Evaluator")
    assert handler.report_failure() == "Evaluator failed after 4.0 s"


def test_child_process_output_and_library_errors_go_to_the_log_while_python_stderr_stays_on_the_terminal(
        tmp_path, capfd, monkeypatch, request):
    log = tmp_path / "logs" / "run.log"
    # sys.stderr on descriptor 2, as outside pytest, and the one console handler configure_logging
    # makes on it before the run
    stream = open(2, "w", buffering=1, closefd=False)  # pylint: disable=consider-using-with
    request.addfinalizer(stream.close)
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.StreamHandler(sys.stderr)])
    with process_output_to(str(log)):
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('worker noise\\n')"],
                       check=True)
        logging.getLogger("apache_beam.runners.common").error(
            "An error occurred while trying to apply the transformation")
        print("for the user", file=sys.stderr)
    captured = capfd.readouterr().err
    assert log.read_text() == "worker noise\nAn error occurred while trying to apply the transformation\n"
    assert "for the user" in captured and "worker noise" not in captured and "transformation" not in captured
    subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('after\\n')"], check=True)
    assert "after" in capfd.readouterr().err, "the descriptor is restored after the block"


def test_an_empty_output_log_is_removed(tmp_path):
    with process_output_to(str(tmp_path / "run.log")):
        pass
    assert not (tmp_path / "run.log").exists()


def test_components_with_no_blessed_model_are_said_skipped_not_done():
    """A refused run's InfraValidator starts no server and its Pusher pushes nothing: "done" would
    read as a model validated and pushed."""
    from pipeline import run_summary  # pylint: disable=import-outside-toplevel

    out = io.StringIO()
    handler = ComponentProgress(out=out, clock=lambda: 0.0)
    for node, message, args in [
            ("InfraValidator", "Infra validation: the model will not be pushed: %s",
             (f"{run_summary.NOT_VALIDATED}no candidate was blessed",)),
            ("Pusher", "Model on %s was not blessed by model validation", ("model/1",)),
            ("InfraValidator", "Infra validation: the model will not be pushed: %s", ("no answer in 180 s",)),
            ("Pusher", "Model on %s was not blessed by infra validator", ("model/2",)),
            ("Pusher", "Model pushed to %s", ("serving/1",))]:
        _log(handler, "Component %s is running.", node)
        _log(handler, message, *args)
        _log(handler, "Component %s is finished.", node)
    assert [line.split(None, 3)[3] for line in out.getvalue().splitlines()] == [
        "skipped (not blessed)", "skipped (not blessed)", "not servable", "skipped (not blessed)", "done"]


@pytest.mark.parametrize("number, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, progress.Terminated)])
def test_a_stop_swallowed_where_it_landed_is_raised_again_as_the_next_component_starts(number, raised):
    """A Ctrl-C that native code cleared where it landed must not let the run go on to push."""
    progress.forget_stop()
    out = io.StringIO()
    handler = ComponentProgress(out=out)
    _log(handler, "Component %s is running.", "Transform")  # no stop asked: nothing raised
    try:
        try:
            progress.stop_on_signal(number)
        except KeyboardInterrupt:
            pass  # swallowed
        _log(handler, "Some other message %s", "ignored")  # only as a component starts:
        _log(handler, "Component %s is finished.", "Transform")  # what ended is done and said so
        words = out.getvalue().split()
        assert (words[0], words[-1]) == ("Transform", "done")
        with pytest.raises(raised):
            _log(handler, "Component %s is running.", "Trainer")
    finally:
        progress.forget_stop()  # never left for the tests after this one
    _log(handler, "Component %s is running.", "Trainer")


@pytest.mark.parametrize("code, said", [
    (0, "terminated (SIGTERM) while the run was finishing: it finished first (see above)"),
    (1, "terminated (SIGTERM): tfxpipe run stopped (if the run had started, `tfxpipe runs` lists it as abandoned")])
def test_a_stop_swallowed_in_the_last_component_is_said_after_the_run_ended(monkeypatch, capsys, code, said):
    """Nothing starts after the last component, so nothing raises a stop swallowed there: the run
    ends, finished or failed, and says that the stop came, exiting as a stopped command does."""
    from cli import main  # pylint: disable=import-outside-toplevel  (the command line, above pipeline)

    def last_component(_args):
        try:
            progress.stop_on_signal(signal.SIGTERM)
        except KeyboardInterrupt:
            pass  # swallowed where it landed
        print("what the run did")
        return code

    monkeypatch.setattr(main, "_run", last_component)
    assert main.main(["run"]) == 143
    out, err = capsys.readouterr()
    assert "what the run did" in out and said in err
    assert progress.stop_asked() is None  # forgotten as the command ended


def test_a_stop_dropped_in_a_finalizer_prints_no_traceback_but_other_dropped_errors_still_do(monkeypatch, capsys):
    """Ctrl-C landing in a weakref callback (importlib's module-lock one, seen in CI) is dropped by
    Python with "Exception ignored in ... Traceback": the stop is remembered and said in one line."""
    from cli import main  # pylint: disable=import-outside-toplevel  (the command line, above pipeline)

    class Finalized:
        def __init__(self, finalizer):
            self.finalizer = finalizer

        def __del__(self):
            self.finalizer()

    def a_real_error():
        raise ValueError("a real error in a finalizer")

    def run_that_swallows_a_stop_in_a_finalizer(_args):
        Finalized(lambda: progress.stop_on_signal(signal.SIGINT))  # collected at once: dropped, remembered
        Finalized(a_real_error)
        return 0

    monkeypatch.setattr(main, "_run", run_that_swallows_a_stop_in_a_finalizer)
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)  # pytest's own collects them
    assert main.main(["run"]) == 130
    err = capsys.readouterr().err
    assert "KeyboardInterrupt" not in err and "interrupted while the run was finishing" in err
    assert "ValueError: a real error in a finalizer" in err  # still reported as Python reports it
    assert sys.unraisablehook is sys.__unraisablehook__ and progress.stop_asked() is None
