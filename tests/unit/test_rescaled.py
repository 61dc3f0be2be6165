"""A unit change of a column that is mostly zeros is refused (schema/rescaled.py): on Seattle's daily
rain (59 % dry days) millimetres recorded as inches moved its drift just under the calibrated threshold,
and a run trained on it was pushed."""
import os
import re

import pytest
import tensorflow_data_validation as tfdv

from benchmarks import drift_cases, public_datasets
from cli import main as cli
from schema import checks, csv_statistics, distances, report, rescaled


# Drafted from one year (365 rows), init set precipitation's thresholds at about this: the rain's
# same-data noise is large in small samples, and mostly the dry days'.
ONE_YEAR_THRESHOLD = 0.3


@pytest.fixture(scope="module")
def seattle(tmp_path_factory):
    """Seattle's weather drafted by init, precipitation's drift and skew thresholds as a draft from
    one year sets them, its rows in two random halves."""
    root = tmp_path_factory.mktemp("seattle")
    data = public_datasets.SEATTLE_WEATHER.write_folder(str(root / "data"))
    folder = str(root / "seattle")
    assert cli.main(["init", data, "--label", "weather", "--out", folder]) == 0
    path = os.path.join(folder, "schema.pbtxt")
    schema = tfdv.load_schema_text(path)
    rain = tfdv.get_feature(schema, "precipitation")
    for comparator in (rain.drift_comparator, rain.skew_comparator):
        comparator.jensen_shannon_divergence.threshold = ONE_YEAR_THRESHOLD
    tfdv.write_schema_text(schema, path)
    frame = drift_cases.read(os.path.join(data, "seattle_weather.csv"))
    return folder, *drift_cases.halves(frame, 0)


def test_rain_recorded_in_inches_is_refused_and_the_same_data_passes(seattle, tmp_path, capsys):
    folder, earlier, later = seattle
    case = next(c for c in drift_cases.CASES if c.name == "mm_as_inches")
    column, inches = drift_cases.broken_span(case, dataset_of(folder), later)
    assert column == "precipitation"
    capsys.readouterr()
    same = drift_cases.write_spans(str(tmp_path / "same"), [earlier, later])
    assert cli.main(["validate", same, "--dataset", folder]) == 0, capsys.readouterr().out
    broken = drift_cases.write_spans(str(tmp_path / "inches"), [earlier, inches])
    assert cli.main(["validate", broken, "--dataset", folder]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert f"- precipitation: {rescaled.PROBLEM} between current and previous. the mean of its non-zero values " \
           "moved" in out, out
    ratio = float(re.search(r"moved [\d.]+ -> [\d.]+ \(x([\d.]+)\)", out).group(1))
    assert ratio == pytest.approx(1 / 25.4, rel=0.1) and "What to do: find out why these columns moved" in out
    assert report.RESCALED_ADVICE in out  # no threshold accepts it


def test_requests_in_inches_are_skew_against_the_training_data(seattle, tmp_path):
    folder, earlier, later = seattle
    schema = tfdv.load_schema_text(os.path.join(folder, "schema.pbtxt"))
    _, inches = drift_cases.broken_span(next(c for c in drift_cases.CASES if c.name == "mm_as_inches"),
                                        dataset_of(folder), later)

    def statistics(frame, name):
        frame.drop(columns="weather").to_csv(tmp_path / name, index=False)
        return csv_statistics.statistics_of_csv(str(tmp_path / name), options=distances.stats_options(schema))

    training = statistics(earlier, "training.csv")
    assert not [f for f in checks.check_skew(statistics(later, "served.csv"), training, schema) if checks.is_skew(f)]
    skewed = [f for f in checks.check_skew(statistics(inches, "inches.csv"), training, schema) if checks.is_skew(f)]
    assert [(f.feature, f.problem) for f in skewed] == [("precipitation", f"{rescaled.PROBLEM} between training and serving")]


def dataset_of(folder):
    from models import dataset  # pylint: disable=import-outside-toplevel

    return dataset.load(folder)


def test_one_real_outlier_moves_the_mean_alone_and_is_no_unit_change(tmp_path):
    """The taxi sample's longest trip (a real row, within the schema's range) in a span of 240 trips
    more than triples the mean of their non-zero miles; their median stays, so nothing is refused."""
    from tests.bad_data import shuffled_slices, write_rows  # pylint: disable=import-outside-toplevel
    from tests.conftest import TAXI_SCHEMA  # pylint: disable=import-outside-toplevel

    header, (before, after, everything) = shuffled_slices(3, 240, 240, 14000)
    miles = header.index("trip_miles")
    longest = max(everything + before + after, key=lambda row: float(row[miles] or 0))
    after = [longest] + after[1:]
    curated = tfdv.load_schema_text(TAXI_SCHEMA)

    def statistics(rows, name):
        write_rows(str(tmp_path / name), [header] + rows)
        return csv_statistics.statistics_of_csv(str(tmp_path / name), options=distances.stats_options(curated))

    earlier, later = statistics(before, "before"), statistics(after, "after")
    mean = {name: next(s for s in stats.datasets[0].features if s.path.step[-1] == "trip_miles").num_stats
            for name, stats in (("before", earlier), ("after", later))}
    nonzero = {name: m.mean * m.common_stats.num_non_missing / (m.common_stats.num_non_missing - m.num_zeros)
               for name, m in mean.items()}
    assert nonzero["after"] / nonzero["before"] > rescaled.FACTOR  # the mean alone would have refused it
    assert rescaled.rescaled(later, earlier, ["trip_miles"]) == {}
