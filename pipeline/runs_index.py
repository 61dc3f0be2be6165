"""The runs index page, `<work dir>/reports/<pipeline>/index.html`, rewritten after every run: the
last INDEX_RUNS runs recorded in ML Metadata, each with its status, spans, main metric, blessing,
pushed version and a link to its report; the main metric over those runs; which version is served."""
import html
import os
from typing import List, Optional

import tensorflow as tf

from models.dataset import Task
from pipeline import metrics, report_charts, run_report, run_summary, runs
from schema import report

INDEX_FILE = "index.html"
# Runs listed: reading a run's record from MLMD takes a few ms, and the index is rewritten after
# every run, so listing every run would make each run slower than the one before (a run every ten
# minutes: a thousand runs in a week). `tfxpipe runs` lists them all.
INDEX_RUNS = 100


def path_for(report_dir: str) -> str:
    return os.path.join(report_dir, INDEX_FILE)


def render(records: List[runs.RunRecord], task: Task, report_dir: str, pipeline_name: str,
           served_version: Optional[str], total: int) -> str:
    """`records`: the newest of `total` runs, newest first (runs.records)."""
    main = metrics.MAIN_METRIC[task]
    title = f"Runs of pipeline {pipeline_name}"
    served = (f"Serving version <b id='served'>{html.escape(served_version)}</b>." if served_version
              else "<span id='served'>No version pushed yet.</span>")
    rows = []
    for record in records:
        page = run_report.path_for(report_dir, record.run_id)
        link = (f"<a href='{html.escape(os.path.relpath(page, report_dir))}'>{html.escape(record.run_id)}</a>"
                if tf.io.gfile.exists(page) else html.escape(record.run_id))
        value = record.values.get(main)
        pushed = record.pushed_text or "-"
        if record.pushed_version and record.pushed_version == served_version:
            pushed += " (serving)"
        cells = [f"{record.started:%Y-%m-%d %H:%M:%S}", record.status,
                 runs.span_text(record.spans, record.excluded_spans), metrics.shown(main, value),
                 "-" if record.blessed is None else "yes" if record.blessed else "NO", pushed]
        rows.append(f"<tr class='run'><td>{link}</td>" +
                    "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    points = [(f"{r.started:%m-%d %H:%M}", r.values[main], bool(r.pushed_version))
              for r in reversed(records) if main in r.values]
    chart = report_charts.metric_over_runs(main, points) if points else "<p>No run evaluated yet.</p>"
    shown = (f"{total} run(s)" if total == len(records) else
             f"The last {len(records)} of {total} runs (<code>tfxpipe runs</code> lists them all)")
    return "\n".join([
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{report.STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p>{served} {shown}, newest first.</p>", chart,
        "<table id='runs'>",
        report.row(["run", "started", "status", "span(s)", main, "blessed", "pushed"], "th"),
        *rows, "</table>",
        *([f"<p id='excluded'>{html.escape(runs.EXCLUDED_NOTE)}</p>"] if any(r.excluded_spans for r in records) else []),
        "</body></html>"])


def write(store, report_dir: str, task: Task, pipeline_name: str,
          served_version: Optional[str], newest: int = INDEX_RUNS) -> str:
    path = path_for(report_dir)
    total = len(run_summary.run_ids(store, pipeline_name))
    page = render(runs.records(store, pipeline_name, newest=newest), task, report_dir, pipeline_name,
                  served_version, total)
    report.write_atomically(path, page)
    return path
