"""Data validation report for people: a terminal summary and a self-contained HTML page.

The HTML page needs no Jupyter and no network (TFDV's Facets view loads scripts from the web; it is
written beside the report, `statistics_facets.html`, for those who have a browser online).
"""
import html
import os
import re
import shlex
from typing import Dict, List, Optional, Sequence

import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from schema.checks import (CLASS_MISSING, COPIES_LABEL, MISSING_VALUES, NO_TIME, NOT_A_DATE, TOO_FEW_ROWS, WRONG_TYPE,
                           Finding, is_drift, is_training_only)
from schema import rescaled
from schema.csv_files import UNNAMED

STYLE = """body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eee}.fail{color:#b00}.pass{color:#070}.warning{color:#a50}code{background:#f4f4f4}
.charts{display:flex;flex-wrap:wrap;gap:1em}figure.chart{margin:0}figcaption{font-size:80%;color:#555}
pre#failure{white-space:pre-wrap;overflow-wrap:anywhere}"""


FILE_NEXT_STEPS = "What to do: correct the file(s) named above; nothing was read from them."
NEXT_STEPS = ("What to do: correct the data; or, where the change is real and expected, accept it in "
              "the schema: `tfxpipe schema-diff DATA --write` (new values, wider ranges; it says what "
              "only the data can fix), `tfxpipe calibrate --write` (drift thresholds), or edit schema.pbtxt.")

DATE_NEXT_STEPS = ("What to do: correct the data: the model would read the dates named above without their "
                   "calendar parts (no date it reads) or without their hour (no time of day), and take those "
                   "for missing. `schema-diff` cannot accept them.")

LABEL_GAPS_NEXT_STEPS = ("What to do: give every row its label, or drop the rows without one; once a model is "
                         "pushed, `tfxpipe score` predicts the rows left out. `schema-diff` cannot accept rows "
                         "without a label.")

DRIFT_NEXT_STEPS = ("What to do: find out why these columns moved. Data that is wrong (a unit, an export, a "
                    "join) is to be corrected. A change that is real and expected is accepted in schema.pbtxt: "
                    "raise the column's drift threshold (its `drift_comparator`), or remove the comparator "
                    "of a column that moves by design (a year, a running count), which a later `tfxpipe calibrate "
                    "--write` keeps; `calibrate` only sets thresholds from the data's own sampling noise, and "
                    "`schema-diff` changes no threshold.")


TYPE_NEXT_STEPS = ("What to do: correct the data: its cells are not of the type the schema gives the "
                   "column (text among numbers, fractions among integers), and a model trained on that type cannot read them. If the new type is right, the "
                   "column is a new input to the model: change its `type` in schema.pbtxt and, where the "
                   "kind no longer fits, its kind in dataset.yaml (or draft the dataset again with `tfxpipe "
                   "init`); the next model then starts a new contract, with no served model to beat. "
                   "`schema-diff` does not change types.")


COPY_ADVICE = ("A column that holds the label's values was most often written so by an export or a join "
               "that put the label into it, and no schema change accepts that: correct the data. If the "
               "column is meant to be known only with the label, take it out of the model's features "
               "(`excluded:` in dataset.yaml).")
COPY_NEXT_STEPS = f"What to do: {COPY_ADVICE}"


RESCALED_ADVICE = ("No threshold accepts a column whose non-zero values were rescaled (`Non-zero values "
                   "rescaled`): correct the data to the unit the model learned; if the new unit is to stay, "
                   "draft the dataset again with `tfxpipe init` on data in that unit, whose model then starts a "
                   "new contract.")
CLASS_ADVICE = ("A class the data no longer has was most often dropped by a filter, a join or an export "
                "upstream: correct the data. If the class is gone for good, take it out of the label's "
                "`classes` in dataset.yaml and of the label's domain in schema.pbtxt; the model then has "
                "one class fewer.")
CLASS_NEXT_STEPS = f"What to do: {CLASS_ADVICE}"
ROWS_NEXT_STEPS = ("What to do: add rows to the span (or put it together with the next one) until it holds at "
                   "least as many as the minimum, then run again; no schema change accepts a span this small.")


def next_steps(findings: Sequence[Finding], schema: Optional[schema_pb2.Schema] = None) -> str:
    """What to do about `findings`: drift alone is not accepted the way new values or wider ranges
    are (`schema-diff` proposes no threshold), nor is a changed type, a column that copies the label,
    or (with the `schema` that tells the label) rows without a label, so each gets its own advice."""
    labels = {f.name for f in schema.feature if is_training_only(f)} if schema else set()
    if findings and all(f.problem == MISSING_VALUES and f.feature in labels for f in findings):
        return LABEL_GAPS_NEXT_STEPS
    if any(f.problem == TOO_FEW_ROWS for f in findings):
        return ROWS_NEXT_STEPS
    advice = {COPIES_LABEL: (COPY_NEXT_STEPS, COPY_ADVICE), CLASS_MISSING: (CLASS_NEXT_STEPS, CLASS_ADVICE)}
    problems = {f.problem for f in findings}
    if len(problems) == 1 and problems <= set(advice):
        return advice[problems.pop()][0]
    if problems & set(advice):
        return " ".join([NEXT_STEPS] + [said for problem, (_, said) in advice.items() if problem in problems])
    if findings and all(is_drift(f) for f in findings):
        rescaled_too = any(f.problem.startswith(rescaled.PROBLEM) for f in findings)
        return DRIFT_NEXT_STEPS + (f" {RESCALED_ADVICE}" if rescaled_too else "")
    if findings and all(f.problem == WRONG_TYPE for f in findings):
        return TYPE_NEXT_STEPS
    if findings and all(f.problem in (NOT_A_DATE, NO_TIME) for f in findings):
        return DATE_NEXT_STEPS
    return NEXT_STEPS


# the commands a hint suggests that act on one dataset (its schema, its data, its runs, its model)
SUGGESTED = ("calibrate", "schema-diff", "validate", "run", "resume", "rollback")
_SUGGESTION = re.compile(rf"`tfxpipe ({'|'.join(map(re.escape, SUGGESTED))})(?=[ `])([^`]*)`")


def naming_data(text: str, data: str) -> str:
    """`text` with the data its `schema-diff` suggestion is to read: the file or folder just checked
    (a folder of spans: schema-diff reads its newest, the one checked)."""
    return text.replace("`tfxpipe schema-diff DATA", f"`tfxpipe schema-diff {shlex.quote(data)}")


def naming_dataset(text: str, dataset_flag: str) -> str:
    """`text` with each command it suggests (`SUGGESTED`, in backquotes) given `dataset_flag`
    (` --dataset DIR`, `pipeline.configs.dataset_flag`; run as written without it, a command works
    on the default dataset, and `--write` would change its schema); one that names an option of
    `dataset_flag` already (`--dataset DIR`, `--dataset=DIR`, `--schema F`) is left as it is."""
    if not dataset_flag:
        return text
    options = re.findall(r"--[\w-]+", dataset_flag)
    return _SUGGESTION.sub(lambda m: m.group(0) if any(re.search(rf"{o}[ =]", m.group(2) + " ") for o in options)
                           else f"`tfxpipe {m.group(1)}{dataset_flag}{m.group(2)}`", text)


def render_text(findings: Sequence[Finding], title: str, report_path: Optional[str] = None,
                next_steps: str = NEXT_STEPS) -> str:
    findings = list(findings)
    if not findings:
        return f"{title}: data meets the schema." + (f"\nReport: {report_path}" if report_path else "")
    lines = [f"{title}: {len(findings)} problem(s) found; the data does not meet the schema."]
    if len(findings) >= SUMMED_FROM:  # a unit change across 64 columns: what they share comes first
        lines.append("In short: " + "; ".join(
            f"{problem}: {len(names)} column(s) ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
            for problem, names in _by_problem(findings).items()))
    told = findings[:SHOWN_MAX] if report_path and len(findings) > SHOWN_MAX else findings
    for f in told:
        lines.append(f"- {f.feature}: {f.problem}. {f.detail}")
        lines.append(f"    expected: {f.expected}")
        lines.append(f"    found:    {f.actual}")
        if f.examples:  # a line break inside a value written as \n, as in TFDV's descriptions
            shown = (e.replace("\r", "\\r").replace("\n", "\\n") for e in f.examples)
            lines.append(f"    e.g.:     {', '.join(shown)}")
    if len(told) < len(findings):
        lines.append(f"... and {len(findings) - len(told)} more problem(s), each in the report below.")
    lines.append(next_steps)
    if report_path:
        lines.append(f"Report: {report_path}")
    return "\n".join(lines)


SUMMED_FROM = 5  # problems from which the text starts with each problem's columns, in one line
SHOWN_MAX = 30  # problems told in full in the text where a report has them all


def _by_problem(findings: Sequence[Finding]) -> Dict[str, List[str]]:
    grouped: Dict[str, List[str]] = {}
    for finding in findings:
        names = grouped.setdefault(finding.problem, [])
        if finding.feature not in names:
            names.append(finding.feature)
    return grouped


def row(cells: Sequence[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in cells) + "</tr>"


def statistics_table(statistics: statistics_pb2.DatasetFeatureStatisticsList, name: str = "") -> List[str]:
    """`name`: what the rows are (a pipeline's statistics are of one split, not of all the data)."""
    out = []
    for dataset in statistics.datasets:
        out.append(f"<h3>Statistics: {html.escape(name or dataset.name or 'data')} "
                   f"({dataset.num_examples} rows)</h3><table>")
        out.append(row(["feature", "type", "present", "summary"], "th"))
        for feature in dataset.features:
            kind = feature.WhichOneof("stats")
            common = getattr(feature, kind).common_stats
            present = common.num_non_missing / dataset.num_examples if dataset.num_examples else 0
            if kind == "num_stats":
                s = feature.num_stats
                summary = f"min {s.min:g} / mean {s.mean:g} / max {s.max:g} / std {s.std_dev:g}"
            else:
                top = ", ".join(b.label for b in feature.string_stats.rank_histogram.buckets[:5])
                summary = f"{feature.string_stats.unique} distinct; top: {top}"
            out.append(row([feature.path.step[-1] or UNNAMED,
                             statistics_pb2.FeatureNameStatistics.Type.Name(feature.type),
                             f"{present:.1%}", summary]))
        out.append("</table>")
    return out


def write_atomically(path: str, text: str) -> None:
    """Writes `path` whole or not at all, so a reader never sees half a page (tf.io.gfile: also
    gs:// on a cluster)."""
    tf.io.gfile.makedirs(os.path.dirname(path) or ".")
    staging = f"{path}.tmp-{os.getpid()}"
    with tf.io.gfile.GFile(staging, "w") as f:
        f.write(text)
    tf.io.gfile.rename(staging, path, overwrite=True)


def write_html(path: str, findings: Sequence[Finding], title: str,
               statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None,
               charts: Sequence[str] = (), statistics_name: str = "") -> str:
    """Writes the report (atomically: a reader never sees half a page) and returns its path.
    `charts`: HTML (inline SVG) shown before the statistics; `statistics_name`: what the statistics
    are of (a split)."""
    verdict = (f'<p class="fail">{len(findings)} problem(s): the data does not meet the schema.</p>'
               if findings else '<p class="pass">The data meets the schema.</p>')
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>", verdict]
    if findings:
        parts.append("<h2>Anomalies</h2><table>")
        parts.append(row(["feature", "problem", "details", "expected (schema)", "found (data)",
                           "offending values"], "th"))
        for f in findings:
            parts.append(row([f.feature, f.problem, f.detail, f.expected, f.actual, ", ".join(f.examples)]))
        parts.append("</table>")
    parts.extend(charts)
    if statistics is not None:
        parts.extend(statistics_table(statistics, statistics_name))
    parts.append("</body></html>")
    write_atomically(path, "\n".join(parts))
    if statistics is not None:
        _write_facets(os.path.join(os.path.dirname(path), "statistics_facets.html"), statistics)
    return path


def _write_facets(path: str, statistics: statistics_pb2.DatasetFeatureStatisticsList) -> None:
    from tensorflow_data_validation.utils import display_util  # pylint: disable=import-outside-toplevel

    with tf.io.gfile.GFile(path, "w") as f:
        f.write(display_util.get_statistics_html(statistics))
