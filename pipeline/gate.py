"""The data gate: the run stops before Transform when the data does not meet the curated schema.

Stock ExampleValidator only writes anomalies; nothing downstream reads them. The gate is a TFX
component that validates the statistics (the same `schema.checks` as the `validate` command, plus
drift against the previous span) and *fails* when anything is wrong. Transform is declared downstream
of it, so a failed gate means no Transform/Trainer/Evaluator/Pusher execution, a FAILED execution in
MLMD with the report as its error (lineage shows why), and a non-zero exit. We chose a failing
component over `tfx.dsl.Cond`: a Cond would record the run as successful and silently skip training.
Caching stays correct: a passing gate is cached with its inputs; a failed one is never a cache hit.
"""
import dataclasses
import json
import os
import re
import time
from typing import Dict, List, Optional, Sequence, Tuple

from tfx import types
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

import schema as schema_package
from pipeline import accepted_statistics, configs, run_summary
from schema import cell_lines, checks, data_folder, report, schema_text, vocabularies

REPORT_FILE = schema_package.REPORT_FILE
REFUSALS_DIR = "refusals"  # under the pipeline's reports: one page per refused span, kept
DRIFT_SPLIT = "train"


def refusal_page(report_dir: str, span: int) -> str:
    """Where a refusal of `span` (the gate's, or the run's before it started) keeps its own report,
    which its message and run report name: a later run rewrites the latest (REPORT_FILE), and TFX
    deletes a failed component's output artifacts."""
    return os.path.join(report_dir, REFUSALS_DIR, f"{time.strftime('%Y-%m-%dT%H-%M-%S')}-span-{span}.html")


class DataGateReport(types.Artifact):
    """The gate's verdict and its HTML report (custom properties: passed, problems)."""

    TYPE_NAME = run_summary.GATE_REPORT_TYPE  # <namespace>.<Name>: the form KFP v2 accepts


def _split_statistics(artifact: types.Artifact, split: str):
    return stats_artifact_utils.load_statistics(artifact, split).proto()


_FIGURES = re.compile(r"-?\d[\d.,]*")


def merged(per_split: Sequence[Tuple[str, Sequence[checks.Finding]]]) -> List[checks.Finding]:
    """A problem of the span shows in each split: told once, naming the splits it shows in, with the
    figures (share, distinct values, examples) of the split named first. Problems are told apart by
    their words as well as their column and title: TFDV titles a column's too small and too large
    values both "Out-of-range values". A column's type problem is one whatever the words (the split
    that holds the text cells says more: its finding is kept, and its split named first). Other
    findings differ only in figures: the first split's are kept (a longer detail there is only a
    longer number, such as the eval split's 10.8% for the train split's 7.6%)."""
    found: Dict[Tuple[str, str, str], Tuple[checks.Finding, List[str]]] = {}
    for split, findings in per_split:
        for finding in findings:
            words = "" if finding.problem == checks.WRONG_TYPE else _FIGURES.sub("#", finding.detail)
            key = (finding.feature, finding.problem, words)
            kept, splits = found.setdefault(key, (finding, []))
            if split not in splits:
                splits.append(split)
            if finding.problem == checks.WRONG_TYPE and len(finding.detail) > len(kept.detail):
                found[key] = (finding, [split] + [s for s in splits if s != split])
    return [dataclasses.replace(finding, detail=f"[{_where(splits)}] {finding.detail}")
            for finding, splits in found.values()]


def span_findings(per_split: Sequence[Tuple[str, Sequence[checks.Finding]]], rows: int) -> List[checks.Finding]:
    """What the gate reports of a span of `rows` rows: each split's findings, told once (`merged`);
    for a span too small to train on, that alone, as its other checks on so few rows are noise."""
    return [checks.too_few_rows(rows)] if rows < checks.MIN_ROWS else merged(per_split)


def _where(splits: List[str]) -> str:
    also = f"; also in the {' and '.join(splits[1:])} split" if len(splits) > 1 else ""
    return f"{splits[0]} split{also}"


LINES_HINT = (" Cells not of their column's type: `tfxpipe validate` on the span's file or folder names "
              "their lines and what to do.")


def data_read(data_files: str, span: int) -> Optional[str]:
    """The local CSV file or folder a run's CsvExampleGen read (`data_files`: its input base joined
    with its pattern, `span-{SPAN}/*`, `*` or a file name), if it is still there; None for data
    elsewhere (a bucket), which the gate does not read again."""
    if not data_files or configs.is_remote(data_files):
        return None
    base, spanned, _ = data_files.partition("span-{SPAN}")
    if spanned:  # span-3 or span-03: the folder whose number it is
        path = dict(data_folder.spans(base.rstrip(os.sep))).get(span, "") if os.path.isdir(base) else ""
    else:
        path = data_files[:-2] if data_files.endswith(os.sep + "*") else data_files
    return path if path and os.path.exists(path) else None


def next_steps(findings: Sequence[checks.Finding], schema, schema_path: str = "", drift_rows: int = 0,
               lines_named: bool = False) -> str:
    """What to do; for text among numbers, how to find its lines where the gate could not name them
    (statistics carry none: the file is read again for them, as `validate` does); for drift on a
    split of `drift_rows` rows far smaller than the thresholds were calibrated for, that too."""
    steps = report.next_steps(findings, schema)
    if not lines_named and any(checks.is_type_problem(finding, schema) for finding in findings):
        steps += LINES_HINT
    if drift_rows and any(checks.is_drift(finding) for finding in findings):
        steps += schema_text.small_sample_note(schema_path, drift_rows)
    return steps


@component
def DataGate(  # pylint: disable=invalid-name  (TFX component naming)
    statistics: InputArtifact[standard_artifacts.ExampleStatistics],
    schema: InputArtifact[standard_artifacts.Schema],
    report_out: OutputArtifact[DataGateReport],
    report_dir: Parameter[str],
    previous_statistics: InputArtifact[standard_artifacts.ExampleStatistics] = None,
    examples: InputArtifact[standard_artifacts.Examples] = None,
    data_files: Parameter[str] = "",
    missing_values: Parameter[str] = "[]",
    date_columns: Parameter[str] = "[]",
    timed_date_columns: Parameter[str] = "[]",
    accepted_record_dir: Parameter[str] = "",
    label_classes: Parameter[str] = "[]",
) -> None:
    """`examples`, `data_files` (CsvExampleGen's input base joined with its pattern) and
    `missing_values` (JSON): where the span's CSV cells are, to name the lines of cells of another
    type or out of range in the report, as `validate` does, and to check the cells of the date
    features written as text (`date_columns`, JSON; `timed_date_columns`, those whose parts include
    the hour). `label_classes` (JSON): an integer label's classes where its range holds other values
    (`absent_classes.classes_to_check`). `accepted_record_dir` (Kubeflow, where no
    `previous_statistics` are resolved): the drift reference is read from the gate's record of the
    statistics it accepted, and this span's are recorded there when it passes."""
    span = examples.get_int_custom_property("span") if examples else 0
    if accepted_record_dir:
        previous_statistics = accepted_statistics.previous(accepted_record_dir, statistics, span, DRIFT_SPLIT)
    schema_path = os.path.join(schema.uri, "schema.pbtxt")  # ImportSchemaGen's copy, comments kept
    curated = schema_text.read(schema_path)
    previous_splits = (
        set(artifact_utils.decode_split_names(previous_statistics.split_names))
        if previous_statistics else set()
    )
    per_split, split_statistics, shown, shown_split, drift_rows, rows = [], [], None, "", 0, 0
    for split in artifact_utils.decode_split_names(statistics.split_names):
        stats = _split_statistics(statistics, split)
        rows += stats.datasets[0].num_examples
        split_statistics.append(stats)
        if shown is None:  # the report shows the first split's statistics
            shown, shown_split = stats, f"{split} split"
        # Drift on the train split only: the eval split is a random fifth of the same span, and its
        # smaller samples are noisier than the thresholds were calibrated for.
        previous = (_split_statistics(previous_statistics, split)
                    if split == DRIFT_SPLIT and split in previous_splits else None)
        if previous:
            drift_rows = min(stats.datasets[0].num_examples, previous.datasets[0].num_examples)
        per_split.append((split, checks.check_statistics(stats, curated, previous, classes=json.loads(label_classes))))
    findings = span_findings(per_split, rows)
    dates, missing = json.loads(date_columns), json.loads(missing_values)
    alone = any(f.problem == checks.TOO_FEW_ROWS for f in findings)  # its cells are not looked at either
    read = data_read(data_files, span) if (findings or dates) and examples and not alone else None
    if read:
        findings = cell_lines.located(findings, read, curated, missing) + cell_lines.undated_cells(
            read, dates, missing, json.loads(timed_date_columns))
    lines_named = any(example.startswith("line ") for finding in findings for example in finding.examples)
    title = f"{run_summary.GATE_VERDICT_TITLE}{f', span {span}' if span else ''})"
    report.write_html(os.path.join(report_dir, REPORT_FILE), findings, title, shown,  # the latest
                      statistics_name=shown_split)
    report.write_html(os.path.join(report_out.uri, REPORT_FILE), findings, title, shown,
                      statistics_name=shown_split)
    report_out.set_int_custom_property("passed", int(not findings))
    report_out.set_int_custom_property("problems", len(findings))
    if findings:
        path = report.write_html(refusal_page(report_dir, span), findings, title, shown, statistics_name=shown_split)
        steps = next_steps(findings, curated, schema_path, drift_rows, lines_named)
        raise checks.DataValidationError(report.render_text(findings, title, path, steps))
    report_out.set_string_custom_property(run_summary.LET_THROUGH, vocabularies.let_through_record(
        rows, vocabularies.let_through([s.datasets[0] for s in split_statistics], curated)))
    if accepted_record_dir:
        accepted_statistics.record(accepted_record_dir, statistics, span)
