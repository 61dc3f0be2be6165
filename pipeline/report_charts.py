"""The charts of the run report and the runs index: matplotlib figures written as inline SVG.

Why matplotlib: the Python plotting library kept longest and most widely, it draws offline straight to
SVG text that sits in the page (no JavaScript, no CDN, nothing for the page to fetch, so a report
opens on an air-gapped machine and prints), and its SVG is plain paths a test can count. Vega-Lite
(Altair) would need its JavaScript runtime inlined into every page to render without a network.
Every number drawn comes from TFMA's plots and metrics or TFDV's statistics, never recomputed here
beyond ratios of TFMA's counts (rates from its confusion matrices).
"""
import html
import io
import math
from typing import List, Optional, Sequence, Tuple

import matplotlib
from matplotlib import ticker
from matplotlib.figure import Figure

from pipeline import metrics
from pipeline.evaluation_plots import Bucket, Thresholds

matplotlib.rcParams.update({
    "svg.hashsalt": "tfxpipe",  # stable element ids: the same run draws the same page
    "svg.fonttype": "none",  # text stays text (searchable, small)
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
})
WIDTH, HEIGHT = 4.2, 3.0
NOT_DEFINED = "n/a"


def _svg(figure: Figure, chart_id: str, caption: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    return (f"<figure class='chart' id='chart-{html.escape(chart_id)}'>{svg[svg.index('<svg'):]}"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _axes(width: float = WIDTH, height: float = HEIGHT):
    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def roc_and_precision_recall(curve: Thresholds) -> List[str]:
    """ROC (TPR vs FPR) and precision-recall from TFMA's confusion matrices by threshold."""
    rates = [curve.rates(i) for i in range(len(curve.threshold))]
    roc = [(fpr, tpr) for _, tpr, fpr in rates if fpr is not None and tpr is not None]
    pr = [(tpr, precision) for precision, tpr, _ in rates if precision is not None and tpr is not None]
    figure, axes = _axes()
    axes.plot(*zip(*roc), color="tab:blue")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
    axes.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.02))
    charts = [_svg(figure, "roc", "ROC curve (eval split, TFMA's confusion matrices by threshold)")]
    figure, axes = _axes()
    axes.plot(*zip(*pr), color="tab:orange")
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    charts.append(_svg(figure, "pr", "Precision-recall curve"))
    return charts


def calibration(buckets: Sequence[Bucket], regression: bool) -> List[str]:
    """Mean label per prediction bucket (TFMA's CalibrationPlot): a reliability diagram for a binary
    model, predicted vs actual and the residuals for a regression one."""
    predicted = [b.mean_prediction for b in buckets]
    actual = [b.mean_label for b in buckets]
    figure, axes = _axes()
    low, high = min(predicted + actual), max(predicted + actual)
    axes.plot([low, high], [low, high], color="grey", linestyle=":", linewidth=0.8)
    axes.plot(predicted, actual, marker="o", markersize=3, color="tab:green")
    what = "predicted" if regression else "predicted probability"
    axes.set(xlabel=f"mean {what} (bucket)", ylabel="mean label (bucket)")
    chart_id, caption = (("predicted-vs-actual", "Predicted vs actual: mean label per prediction bucket")
                         if regression else ("calibration", "Calibration: observed rate per predicted-probability bucket"))
    charts = [_svg(figure, chart_id, caption)]
    if regression:
        figure, axes = _axes()
        axes.axhline(0, color="grey", linestyle=":", linewidth=0.8)
        axes.bar(predicted, [a - p for a, p in zip(actual, predicted)],
                 width=[0.8 * (b.upper - b.lower) for b in buckets], color="tab:purple")
        axes.set(xlabel="mean prediction (bucket)", ylabel="mean residual (label - prediction)")
        charts.append(_svg(figure, "residuals", "Residuals per prediction bucket"))
    return charts


def confusion_matrix(counts: dict, classes: Sequence[str]) -> str:
    """Multi-class confusion matrix (TFMA's MultiClassConfusionMatrixPlot), rows: actual class."""
    size = len(classes)
    grid = [[counts.get((actual, predicted), 0.0) for predicted in range(size)] for actual in range(size)]
    figure, axes = _axes(1.2 + 0.6 * size, 1.0 + 0.6 * size)
    axes.imshow(grid, cmap="Blues")
    for actual in range(size):
        for predicted in range(size):
            value = grid[actual][predicted]
            axes.text(predicted, actual, f"{value:.0f}", ha="center", va="center",
                      color="white" if value > max(map(max, grid)) / 2 else "black")
    axes.set_xticks(range(size), classes, rotation=45, ha="right")
    axes.set_yticks(range(size), classes)
    axes.set(xlabel="predicted", ylabel="actual")
    return _svg(figure, "confusion", "Confusion matrix (eval split)")


def slice_bars(metric: str, values: Sequence[Tuple[str, Optional[float]]]) -> str:
    """One bar per slice; a slice where the metric is undefined gets no bar and the label n/a."""
    figure, axes = _axes(WIDTH + 1, 0.6 + 0.28 * len(values))
    names = [name for name, _ in values]
    defined = [0.0 if v is None or math.isnan(v) else v for _, v in values]
    axes.barh(range(len(values)), defined, color="tab:blue")
    for row, (_, value) in enumerate(values):
        shown = NOT_DEFINED if value is None or math.isnan(value) else f"{value:.3f}"
        axes.text(max(defined) * 0.01 if value is None or math.isnan(value) else value, row,
                  f" {shown}", va="center")
    axes.set_yticks(range(len(values)), names)
    axes.invert_yaxis()
    axes.set(xlabel=metric)
    return _svg(figure, f"slices-{metric}", f"{metric} per slice")


def candidate_vs_baseline(names: Sequence[str], candidate: Sequence[float],
                          baseline: Sequence[Optional[float]]) -> str:
    """The candidate's change against the served model, per key metric: a bar from zero each, named
    with both values. Side by side from zero, bars of metrics near 0.9 hid changes of a hundredth."""
    rows = [(name, new, old) for name, new, old in zip(names, candidate, baseline) if old is not None]
    figure, axes = _axes(WIDTH + 0.6, 0.7 + 0.45 * len(rows))
    changes = [new - old for _, new, old in rows]
    axes.barh(range(len(rows)), changes, color="tab:blue")
    axes.axvline(0, color="black", linewidth=0.8)
    reach = max((abs(change) for change in changes), default=0.0) or 0.001
    axes.set_xlim(-1.5 * reach, 1.5 * reach)
    axes.xaxis.set_major_locator(ticker.MaxNLocator(nbins=4, symmetric=True))  # each bar says its number:
    axes.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:+.4g}"))  # not -0.00040-0.0003...
    for row, ((name, _, _), change) in enumerate(zip(rows, changes)):
        axes.text(change, row, f" {metrics.shown(name, change, change=True)} ", va="center",
                  ha="left" if change >= 0 else "right")
    axes.set_yticks(range(len(rows)), [
        f"{name}{' (lower is better)' if name in metrics.LOWER_IS_BETTER else ''}\n"
        f"{metrics.shown(name, new)} (served {metrics.shown(name, old)})" for name, new, old in rows])
    axes.invert_yaxis()
    axes.set(xlabel="candidate - served")
    return _svg(figure, "candidate-vs-baseline", "Candidate vs the served model (overall slice)")


def metric_over_runs(metric: str, points: Sequence[Tuple[str, float, bool]]) -> str:
    """Main metric per run, oldest first; pushed runs filled, others hollow."""
    figure, axes = _axes(WIDTH + 2, HEIGHT)
    xs = list(range(len(points)))
    axes.plot(xs, [p[1] for p in points], color="tab:blue", linewidth=1)
    for x, (_, value, pushed) in zip(xs, points):
        axes.plot([x], [value], marker="o", color="tab:blue",
                  markerfacecolor="tab:blue" if pushed else "white")
    axes.set_xticks(xs, [p[0] for p in points], rotation=30, ha="right")
    axes.set(ylabel=metric)
    return _svg(figure, "metric-over-runs", f"{metric} per run (filled: pushed)")


def distribution(feature: str, series: Sequence[Tuple[str, List[str], List[float]]], flagged: bool) -> str:
    """Share of rows per bucket or value, one set of bars per series (this span, previous, ...)."""
    labels = series[0][1]
    figure, axes = _axes(WIDTH + 0.4, 2.4)
    width = 0.8 / len(series)
    for index, (name, _, shares) in enumerate(series):
        axes.bar([i + index * width for i in range(len(labels))], shares, width=width, label=name)
    axes.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))], labels, rotation=45, ha="right",
                    fontsize=7)
    axes.set(ylabel="share of rows", title=f"{feature}{'  (anomaly found)' if flagged else ''}")
    axes.legend(frameon=False, fontsize=7)
    return _svg(figure, f"distribution-{feature}", f"{feature}: distribution" +
                (", flagged by the data check" if flagged else ""))


def cumulative(feature: str, curves: Sequence[Tuple[str, Tuple[List[float], List[float]]]],
               flagged: bool) -> str:
    """Cumulative share of rows up to each value (TFDV's quantile boundaries), one line per span."""
    figure, axes = _axes(WIDTH, 2.4)
    for name, (xs, ys) in curves:
        axes.step(xs, ys, where="post", label=name)
    axes.set(ylabel="share of rows <= value", ylim=(0, 1.02),
             title=f"{feature}{'  (anomaly found)' if flagged else ''}")
    axes.legend(frameon=False, fontsize=7)
    return _svg(figure, f"distribution-{feature}", f"{feature}: cumulative distribution" +
                (", flagged by the data check" if flagged else ""))
