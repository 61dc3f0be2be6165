"""A date whose time of day is lost upstream (an export now writing `2010/01/01` for
`2010/01/01 05:00:00`) on real data: San Francisco's hourly temperatures (vega_datasets) drafted by
`init` with the hour as a part, then the same rows with their dates cut to the day. Every value
still looks like a date, which no statistic tells apart, but the model's hour would be missing in
every row: the gate stops the run before Transform, the served model is untouched, `validate` gives
the same verdict and `score` says so."""
import os

import pandas as pd
import pytest

from benchmarks import public_datasets
from pipeline import metadata_store, run_summary, runs
from schema import checks
from tests.e2e.conftest import snapshot
from tests.e2e.test_datasets import Trained, _run, initialized, tfxpipe


@pytest.fixture(scope="module")
def temperatures(tmp_path_factory) -> Trained:
    return _run(initialized(public_datasets.SF_TEMPS, str(tmp_path_factory.mktemp("sf_temps"))))


@pytest.fixture(scope="module")
def days_only(temperatures, tmp_path_factory) -> str:
    """The same rows, their dates written without the time of day."""
    frame = pd.read_csv(os.path.join(temperatures.data, "sf_temps.csv"), dtype=str)
    frame["date"] = frame["date"].str.slice(0, 10)
    folder = tmp_path_factory.mktemp("days_only") / "data"
    folder.mkdir()
    frame.to_csv(folder / "sf_temps.csv", index=False)
    return str(folder)


def test_init_makes_the_hour_a_part_of_dates_written_with_their_time(temperatures):
    [date] = [f for f in temperatures.declaration.features if f.name == "date"]
    assert (date.kind.value, date.parts) == ("date", ("hour", "weekday", "month"))
    assert temperatures.summary().pushed


def test_dates_that_lost_their_time_stop_the_run_before_transform_and_leave_the_served_model(
        temperatures, days_only):
    served = snapshot(temperatures.serving_dir)
    run = tfxpipe(*temperatures.run_args("--data", days_only), offline=True)
    assert run.returncode == 1, run.stdout + run.stderr[-3000:]
    assert f"- date: {checks.NO_TIME}. 8,759 of 8,759 dates carry no " \
           "time of day" in run.stderr, run.stderr[-3000:]
    store = metadata_store.open_store(temperatures.config.metadata_path)
    record = runs.record(store, run_summary.run_ids(store)[-1])
    assert record.status == "stopped by gate" and "date" in record.failure
    assert not runs.node_outputs(store, record.run_id, "Transform")  # it never ran
    assert snapshot(temperatures.serving_dir) == served


def test_validate_refuses_them_too_and_score_says_what_the_model_misses(temperatures, days_only, tmp_path):
    data = os.path.join(days_only, "sf_temps.csv")
    validated = tfxpipe("validate", data, "--dataset", temperatures.folder)
    assert validated.returncode == 1 and f"- date: {checks.NO_TIME}." in validated.stdout, validated.stdout
    scored = tfxpipe("score", data, "--dataset", temperatures.folder, "--serving-dir", temperatures.serving_dir,
                     "--out", str(tmp_path / "scored.csv"), offline=True)
    assert scored.returncode == 0, scored.stdout + scored.stderr[-3000:]
    assert ("warning: dates the model reads only in part, among 8,759 rows: date: 8,759 of 8,759 dates carry "
            "no time of day ('2010/01/01'") in scored.stdout, scored.stdout
