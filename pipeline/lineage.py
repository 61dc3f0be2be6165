"""`tfxpipe runs show ID` and the report's lineage section: each execution of a run, in
order, with what it read and what it wrote, read from ML Metadata (artifact ids link the lines);
for ExampleGen, the files it read with the span filled in."""
import json
import os
import re
from typing import Dict, Tuple

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx.components.example_gen import utils as example_gen_utils

from pipeline import excluded_spans, resolvers, run_summary
from serving import rollback


STATES = {  # an execution's state in words
          metadata_store_pb2.Execution.COMPLETE: "executed",
          metadata_store_pb2.Execution.CACHED: "cached",
          metadata_store_pb2.Execution.FAILED: "FAILED",
          metadata_store_pb2.Execution.RUNNING: "running",
          metadata_store_pb2.Execution.CANCELED: "canceled"}


def _describe_artifact(artifact, type_name: str, excluded: Dict[int, str], spans: Dict[int, int]) -> str:
    """`excluded`: Examples id -> why it was excluded by hand (`excluded_spans.reasons`); `spans`:
    statistics id -> the span they describe (the gate's drift reference is an earlier one's)."""
    props = artifact.custom_properties
    details = []
    if type_name == "ExampleStatistics" and artifact.id in spans:
        details.append(f"span {spans[artifact.id]}")
    if "span" in props and type_name == "Examples":
        details.append(f"span {props['span'].int_value}")
        if artifact.id in excluded:
            details.append(f"excluded by hand: {excluded[artifact.id]}")
    if "blessed" in props and type_name in ("ModelBlessing", "InfraBlessing"):
        details.append("blessed" if props["blessed"].int_value == 1 else "NOT blessed")
    if "passed" in props:
        details.append("passed" if props["passed"].int_value == 1 else "FAILED")
    if type_name == "ModelBlessing" and "candidate" in props:
        details.append(props["candidate"].string_value)
    if type_name == "InfraBlessing" and "current_model_id" in props:
        details.append(f"validated Model #{props['current_model_id'].int_value}")
    if type_name == "PushedModel" and props["pushed"].int_value == 1:
        withdrawn = rollback.withdrawal_of(props["pushed_destination"].string_value)
        details.append(f"version {props['pushed_version'].string_value}" + (" rolled back" if withdrawn else ""))
    elif type_name == "PushedModel":
        details.append("not pushed" + (f": the model is {props[rollback.KEPT_BACK].string_value}"
                                       if rollback.KEPT_BACK in props else ""))
    suffix = f" ({', '.join(details)})" if details else ""
    return f"{type_name} #{artifact.id}{suffix}"


def _fingerprint_totals(fingerprint: str) -> Tuple[int, int]:
    """(files, bytes) of TFX's input fingerprint: a line per split, each
    `split:NAME,num_files:N,total_bytes:B,...`."""
    files = size = 0
    for line in fingerprint.splitlines():
        fields = dict(part.split(":", 1) for part in line.split(",") if ":" in part)
        files += int(fields.get("num_files", 0))
        size += int(fields.get("total_bytes", 0))
    return files, size


def _data_read(execution, examples) -> str:
    """The files ExampleGen read: its folder, each split's file pattern with the span filled in,
    and their count and size. Span and fingerprint come from the Examples it wrote (`examples`,
    None if it wrote none): TFX's driver records them there, and a cached execution keeps its
    properties as compiled (`span-{SPAN}/*`, no fingerprint)."""
    props = execution.custom_properties
    base = props["input_base"].string_value
    splits = json.loads(props["input_config"].string_value).get("splits", []) \
        if "input_config" in props else []
    patterns = [split["pattern"] for split in splits if split.get("pattern")]
    found = examples.custom_properties if examples is not None else {}
    if examples is not None:
        span = found["span"].int_value if "span" in found else 0
        version = found["version"].int_value if "version" in found else None
        patterns = [example_gen_utils.get_pattern_for_span_version(
            p, bool(re.search(example_gen_utils.SPAN_FULL_REGEX, p)), False,
            bool(re.search(example_gen_utils.VERSION_FULL_REGEX, p)), span, version) for p in patterns]
    read = ", ".join(os.path.join(base, p) for p in patterns) or base
    if "input_fingerprint" in found:
        files, size = _fingerprint_totals(found["input_fingerprint"].string_value)
        shown = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
        read += f" ({files} file{'s' if files != 1 else ''}, {shown})"
    return f"data {read}"


def text(store: mlmd.MetadataStore, run_id: str) -> str:
    """Each execution of the run, in order: what it read and what it wrote (artifact ids link them)."""
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    types = {t.id: t.name for t in store.get_artifact_types()}
    excluded = excluded_spans.reasons(store)
    lines = [f"Run {run_id}: lineage from data to served model"]
    executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
    every_event = store.get_events_by_execution_ids([e.id for e in executions])
    by_id = {a.id: a for a in store.get_artifacts_by_id(list({e.artifact_id for e in every_event}))}
    statistics = [a.id for a in by_id.values() if types[a.type_id] == "ExampleStatistics"]
    spans = resolvers.statistics_spans(store, statistics) if statistics else {}
    for execution in executions:
        events = [e for e in every_event if e.execution_id == execution.id]

        def described(kind):
            chosen = sorted((by_id[e.artifact_id] for e in events if e.type == kind),
                            key=lambda a: (types[a.type_id], a.id))
            return [_describe_artifact(a, types[a.type_id], excluded, spans) for a in chosen]

        inputs = described(metadata_store_pb2.Event.INPUT)
        outputs = described(metadata_store_pb2.Event.OUTPUT)
        state = STATES.get(execution.last_known_state, "?")
        node = run_summary.node_of(store, execution.id)
        if node == "CsvExampleGen" and "input_base" in execution.custom_properties:
            examples = [by_id[e.artifact_id] for e in events if e.type == metadata_store_pb2.Event.OUTPUT
                        and types[by_id[e.artifact_id].type_id] == "Examples"]
            inputs = [_data_read(execution, examples[0] if examples else None)]
        if node == run_summary.INPUT_CHECK and run_summary.REFUSED_DATA in execution.custom_properties:
            inputs = [f"data {execution.custom_properties[run_summary.REFUSED_DATA].string_value}"]
        lines.append(f"  {node} [{state}]")
        lines.append(f"      in:  {', '.join(inputs) or '-'}")
        lines.append(f"      out: {', '.join(outputs) or '-'}")
        reason = execution.custom_properties.get(run_summary.FAILURE_REASON)
        if reason is not None:
            why = reason.string_value.splitlines() or [""]
            lines.extend([f"      why: {why[0]}", *(f"           {line}" for line in why[1:])])
    return "\n".join(lines)
