"""Charts hold their data points; an undefined metric is shown n/a, never as zero."""
import math
import re

from pipeline import evaluation, metrics, report_charts, report_data
from pipeline.evaluation_plots import Bucket, SlicePlots, Thresholds


def _points(chart: str) -> int:
    return sum(len(re.findall(r"[ML]", d)) for d in re.findall(r'<path [^>]*?\bd="([^"]*)"', chart))


def _curve(scores, labels):
    """TFMA-like confusion counts at thresholds 0, 0.1, ..., 1 for scored examples."""
    curve = Thresholds()
    for step in range(11):
        threshold = step / 10
        curve.threshold.append(threshold)
        curve.tp.append(sum(s > threshold and y for s, y in zip(scores, labels)))
        curve.fp.append(sum(s > threshold and not y for s, y in zip(scores, labels)))
        curve.tn.append(sum(s <= threshold and not y for s, y in zip(scores, labels)))
        curve.fn.append(sum(s <= threshold and y for s, y in zip(scores, labels)))
    return curve


def test_roc_and_precision_recall_draw_one_point_per_threshold():
    scores = [i / 40 for i in range(40)]
    curve = _curve(scores, [s > 0.4 for s in scores])
    roc, pr = report_charts.roc_and_precision_recall(curve)
    assert "id='chart-roc'" in roc and "id='chart-pr'" in pr
    assert _points(roc) >= 11 and _points(pr) >= 5
    assert not re.search(r'(src|href)="(https?:)?//', roc)  # nothing to fetch


def test_an_undefined_slice_metric_is_labelled_not_defined_with_no_bar():
    chart = report_charts.slice_bars("auc", [("a", 0.8), ("b", math.nan), ("c", None)])
    assert len(re.findall(r">\s*n/a\s*<", chart)) == 2 and re.search(r">\s*0\.800\s*<", chart)


def test_a_one_class_slice_has_no_auc():
    one_class = SlicePlots(thresholds=_curve([0.1, 0.7, 0.9], [False, False, False]))
    both = SlicePlots(thresholds=_curve([0.1, 0.7, 0.9], [False, True, True]))
    values = {"auc": 0.0, "accuracy": 1.0}
    evaluation._mark_undefined(values, one_class)  # pylint: disable=protected-access
    assert math.isnan(values["auc"]) and values["accuracy"] == 1.0
    kept = {"auc": 1.0}
    evaluation._mark_undefined(kept, both)  # pylint: disable=protected-access
    assert kept == {"auc": 1.0}
    assert metrics.shown("auc", math.nan) == "n/a" and metrics.shown("auc", None) == "-"
    assert metrics.shown("auc", 0.5) == "0.5000"


def test_regression_calibration_draws_predicted_vs_actual_and_residuals():
    buckets = [Bucket(i, i + 1, 10, i + 0.6, i + 0.5) for i in range(8)]
    charts = report_charts.calibration(buckets, regression=True)
    assert [re.search(r"id='chart-([^']+)'", c).group(1) for c in charts] == \
        ["predicted-vs-actual", "residuals"]
    assert _points(charts[0]) >= 8


def test_a_feature_name_with_quotes_is_escaped_in_its_chart():
    chart = report_charts.distribution("it's", [("this span", ["a", "b"], [0.4, 0.6])], flagged=True)
    assert "id='chart-distribution-it&#x27;s'" in chart and "anomaly found" in chart


def _statistics_folder(root, frame) -> str:
    """A StatisticsGen-like artifact folder: TFDV statistics of `frame` as its train split."""
    import tensorflow_data_validation as tfdv  # pylint: disable=import-outside-toplevel

    split = root / report_data.SPLIT
    split.mkdir(parents=True)
    statistics = tfdv.generate_statistics_from_dataframe(frame)
    (split / "FeatureStats.pb").write_bytes(statistics.SerializeToString())
    return str(root)


def test_a_rerun_on_the_same_statistics_reuses_the_charts_and_new_statistics_are_drawn(
        taxi_frame, tmp_path, monkeypatch):
    columns = ["fare", "payment_type", "trip_miles"]
    first = _statistics_folder(tmp_path / "span-1", taxi_frame[columns][:7000])
    second = _statistics_folder(tmp_path / "span-2", taxi_frame[columns][7000:])
    compared = {"run": (second, first, set())}
    monkeypatch.setattr(report_data, "_statistics_of", lambda store, run_id: compared[run_id])
    drawn = []

    def draw(name, *_):  # each drawing its own: a chart drawn again is another chart
        drawn.append(name)
        return f"<svg>{name} {len(drawn)}</svg>"

    monkeypatch.setattr(report_charts, "cumulative", draw)
    monkeypatch.setattr(report_charts, "distribution", draw)
    cache = str(tmp_path / "reports" / "runs" / ".distributions.json")
    charts = report_data.distributions(None, "run", cache)
    assert sorted(drawn) == columns and len(charts) == 5  # three charts in their <div>
    assert report_data.distributions(None, "run", cache) == charts and len(drawn) == 3
    compared["run"] = (second, first, {"fare"})  # the gate flagged a feature: drawn again
    assert report_data.distributions(None, "run", cache) != charts and len(drawn) == 6
    compared["run"] = (second, second, {"fare"})  # the same span against other statistics
    report_data.distributions(None, "run", cache)
    assert len(drawn) == 9
    compared["run"] = (first, second, {"fare"})
    report_data.distributions(None, "run", cache)
    assert len(drawn) == 12
    assert report_data.distributions(None, "run", None) and len(drawn) == 15  # no cache: drawn


def test_a_column_with_an_empty_header_is_charted_and_listed_as_unnamed(tmp_path):
    """R's write.csv and pandas' to_csv name their row index column "": its chart and statistics row
    say what it is rather than showing an empty name."""
    import pandas as pd  # pylint: disable=import-outside-toplevel

    from benchmarks import public_datasets  # pylint: disable=import-outside-toplevel
    from schema import csv_statistics, report  # pylint: disable=import-outside-toplevel

    public_datasets.PENGUINS.write_csv(str(tmp_path / "penguins.csv"))
    pd.read_csv(tmp_path / "penguins.csv").to_csv(tmp_path / "indexed.csv")  # the index, its header empty
    statistics = csv_statistics.statistics_of_csv(str(tmp_path / "indexed.csv"), ("", "NA"))
    charts = report_data.feature_charts([("this span", report_data.by_feature(statistics))], set())
    assert "<figcaption>(unnamed column): cumulative distribution</figcaption>" in "".join(charts)
    page = report.write_html(str(tmp_path / "report.html"), [], "Data validation", statistics)
    with open(page, encoding="utf-8") as f:
        assert "<td>(unnamed column)</td>" in f.read()


def test_the_candidate_chart_draws_each_change_from_zero_named_with_both_values():
    """Bars of 0.952 and 0.949 side by side from zero look equal: the change is what is drawn."""
    chart = report_charts.candidate_vs_baseline(["auc", "skill_vs_naive", "rmse"], [0.952, 0.41, 59.3],
                                                [0.949, None, 60.1])
    texts = [" ".join(t.split()) for t in re.findall(r"<text[^>]*>([^<]*)</text>", chart)]
    assert "+0.0030" in texts and "-0.8000" in texts
    assert "auc" in texts and "0.9520 (served 0.9490)" in texts
    assert "rmse (lower is better)" in texts and "59.3000 (served 60.1000)" in texts
    assert not any("skill_vs_naive" in t for t in texts)  # nothing served to compare with
    tiny = report_charts.candidate_vs_baseline(["accuracy", "macro_f1"], [0.967, 0.9661], [0.9667, 0.9663])
    ticks = [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", tiny) if re.fullmatch(r"[+\-\u2212]?[\d.e\-\u2212]+", t.strip())
             and t == t.strip()]  # the bars' own labels are padded with spaces
    assert 2 <= len(ticks) <= 5, ticks  # changes of 1e-4: not nine overlapping labels, -0.0004-0.0003...
