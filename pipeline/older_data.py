"""A run on data older than data the gate accepted for the pipeline is refused before it starts.

Runs read the newest span of a folder of `span-N/` folders, or span 0 of a file or a folder without
spans. A run on another source than its runs read (`--data` left out: the declaration's CSV, span
0, after spans 1 to 12 of a folder of spans) would train on older data and be judged on that data's
eval split, where its model can beat the served one, trained on newer data, and replace it. Spans
excluded by hand (`tfxpipe exclude-span`) do not count: that is how newer data found wrong is set
aside, and older data trained on again.
"""
from typing import Optional, Tuple

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from pipeline import resolvers


def newest_accepted(store: mlmd.MetadataStore, pipeline_name: str) -> Optional[Tuple[int, str]]:
    """(span, data folder) of the newest data the pipeline's gate accepted, not excluded since;
    None before any."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    gate_types = {t.id for t in store.get_execution_types() if t.name.endswith("DataGate")}
    if pipeline is None or not gate_types:
        return None
    gates = [e.id for e in store.get_executions_by_context(pipeline.id) if e.type_id in gate_types]
    checked = list({e.artifact_id for e in store.get_events_by_execution_ids(gates)
                    if e.type == metadata_store_pb2.Event.INPUT and e.path.steps
                    and e.path.steps[0].key == resolvers.GATE_STATISTICS_KEY})
    spans = resolvers.statistics_spans(store, list(resolvers.accepted_statistics(store, checked))) if checked else {}
    if not spans:
        return None
    newest = max(spans, key=lambda a: (spans[a], a))
    return spans[newest], resolvers.data_roots(store, [newest]).get(newest, "an earlier data folder")


def refusal(store: mlmd.MetadataStore, pipeline_name: str, span: int, read: str, options: str) -> Optional[str]:
    """Why a run of `pipeline_name` on `span` (read from `read`) must not start, with what to do;
    None where no newer data was accepted. `options`: those a suggested command needs."""
    found = newest_accepted(store, pipeline_name)
    if found is None or span >= found[0]:
        return None
    newest, root = found
    what = f"span {span} of {read}" if span else f"{read} (no span-N/ folders: span 0)"
    return (f"{what} is older than span {newest} of {root}, the newest data the data gate accepted for pipeline "
            f"'{pipeline_name}': a model trained on it would be judged on older data, where it can beat the served "
            f"model, trained on newer data, and replace it. Give the data the runs read (--data {root}); if its "
            f"newer spans are wrong, take them out of use first (`tfxpipe exclude-span N --reason TEXT{options} "
            f"--data {root}`), then run again")
