"""A run on data older than data the gate accepted for the pipeline is refused before it starts.

Runs read the newest span of a folder of `span-N/` folders, or span 0 of a file or a folder without
spans. Two runs that would train on older data than the served model's, be judged on that data's
eval split, where their model can beat the served one, and replace it:
- a run on a folder of spans whose newer spans the runs read are gone (deleted, renumbered), or on
  one of its `span-N` folders (or a file in one) given with `--data`;
- a run on the dataset's declared data, a file or a folder without spans (`--data` left out: span
  0), after runs on a folder of spans given with `--data`.
Spans of two folders of spans are not compared (a new feed numbered from 1, a backfill): they say
nothing of which is newer. Spans excluded by hand (`tfxpipe exclude-span`) do not count: that is how
newer data found wrong is set aside, and older data trained on again.
"""
import os
import shlex
from typing import Dict, Optional, Tuple

import ml_metadata as mlmd

from models.dataset import DeclarationError
from pipeline import resolvers
from pipeline.configs import PipelineConfig, resolved_path, store_options
from pipeline.pipeline import example_gen_input
from schema import data_folder


def newest_accepted(store: mlmd.MetadataStore, pipeline_name: str) -> Dict[str, int]:
    """Data folder -> the newest span of it the pipeline's gate accepted, not excluded since."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    gate_types = {t.id for t in store.get_execution_types() if t.name.endswith("DataGate")}
    if pipeline is None or not gate_types:
        return {}
    checked = resolvers.gate_checked(
        store, [e.id for e in store.get_executions_by_context(pipeline.id) if e.type_id in gate_types])
    spans = resolvers.statistics_spans(store, list(resolvers.accepted_statistics(store, checked))) if checked else {}
    roots = resolvers.data_roots(store, list(spans))
    newest: Dict[str, int] = {}
    for statistics, span in spans.items():
        if statistics in roots:
            newest[roots[statistics]] = max(span, newest.get(roots[statistics], span))
    return newest


def _declared(config: PipelineConfig) -> bool:
    """Whether the run reads the dataset's declared data."""
    try:
        dataset = config.dataset()
        return bool(dataset.data) and resolved_path(config.data_root) == resolved_path(dataset.data_root())
    except DeclarationError:  # a `package:` path of a package not installed, where --data is given
        return False


def refusal(store: mlmd.MetadataStore, config: PipelineConfig, span: int, read: str) -> Optional[str]:
    """Why a run of `config` (resolved) on `span` of `read` must not start, with what to do; None
    where it may. A folder `span-N` of a folder of spans (given with --data, or holding the file
    given) is span N of that folder."""
    base, _ = example_gen_input(config)
    here = resolved_path(base)
    newest = newest_accepted(store, config.pipeline_name)
    inside = data_folder.SPAN_FOLDER.match(os.path.basename(here))
    if here not in newest and inside and os.path.dirname(here) in newest:
        here, span = os.path.dirname(here), int(inside.group(1))
    found: Optional[Tuple[int, str]] = (newest[here], here) if newest.get(here, -1) > span else None
    if found is None and span == 0 and _declared(config):  # `--data` left out after runs on spans
        found = max(((s, root) for root, s in newest.items() if s > span), default=None)
    if found is None:
        return None
    newer, root = found
    exclude = f"`tfxpipe exclude-span N --reason TEXT{store_options(config)} --data {shlex.quote(root)}`"
    what = f"span {span} of {read}" if span else f"{read} (no span-N/ folders: span 0)"
    said = (f"{what} is older than span {newer} of {root}, which the data gate accepted for pipeline "
            f"'{config.pipeline_name}': a model trained on it would be judged on older data, where it can beat the "
            "served model, trained on newer data, and replace it. ")
    if root == here:
        return said + (f"The newer spans are gone from {root}: put them back, or, if they were wrong, take them out "
                       f"of use ({exclude}), then run again")
    return said + (f"Give the data the runs read (--data {shlex.quote(root)}); to train on {read} on purpose, take "
                   f"the newer spans of {root} out of use first ({exclude})")
