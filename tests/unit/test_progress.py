import io
import itertools
import logging

from pipeline.progress import ComponentProgress


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
