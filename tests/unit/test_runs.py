"""`runs show` takes a run id as `runs` prints it or as its report file is named (pipeline/runs.py)."""
import pytest

from pipeline import run_report, runs

RUN_ID = "2026-12-02T04:49:06.890538"


@pytest.mark.parametrize("given", [RUN_ID, "2026-12-02T04-49-06.890538",
                                   run_report.path_for("work/reports/taxi", RUN_ID)])
def test_a_run_id_is_read_from_the_report_file_name_too(given):
    assert runs.run_id_of(given) == RUN_ID
