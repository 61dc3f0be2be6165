"""`runs show` takes a run id as `runs` prints it or as its report file is named (pipeline/runs.py)."""
import datetime

import pytest

from pipeline import run_report, run_summary, runs

RUN_ID = "2026-12-02T04:49:06.890538"


@pytest.mark.parametrize("given", [RUN_ID, "2026-12-02T04-49-06.890538",
                                   run_report.path_for("work/reports/taxi", RUN_ID)])
def test_a_run_id_is_read_from_the_report_file_name_too(given):
    assert runs.run_id_of(given) == RUN_ID


def _record(pusher_state: str) -> runs.RunRecord:
    summary = run_summary.RunSummary("run", {"Pusher": [pusher_state]}, blessed=True, pushed=True,
                                     pushed_version="1701", pushed_destination="serving/taxi/1701")
    return runs.RunRecord("run", datetime.datetime(2026, 12, 2), 5.0, "ok", [1], "passed", 3, None,
                          "", summary, None)


def test_a_run_whose_pusher_was_cached_pushed_no_version_of_its_own():
    assert _record("executed").pushed_version == "1701"
    assert _record("cached").pushed_version is None  # 1701 was pushed by an earlier run
