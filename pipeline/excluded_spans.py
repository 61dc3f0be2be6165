"""Spans taken out of use by hand (`tfxpipe exclude-span`).

A span can pass the data gate and still be wrong in a way no statistic shows: labels shuffled by a
broken join, a vendor's test feed with plausible values. Found later, it must stop being used: as
the gate's drift reference, in later `--train-spans` windows, as what `validate` and `calibrate`
count as accepted. Deleting its folder does none of that (ExampleGen's copy lives on in the
pipeline root, and ML Metadata lists it), so the mark goes where those choices are read: an
`excluded` custom property (the reason) on the span's Examples, which `resolvers` checks through
lineage. Files of the span changed afterwards are new data: ExampleGen makes a new, unmarked
version, which the gate checks again.
"""
import os
from typing import Dict, List, Set

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.proto import example_gen_pb2

EXCLUDED = "excluded"  # custom property of ExampleGen's Examples: why the span is out of use
EXAMPLES_TYPE = "Examples"


def reason(artifact: metadata_store_pb2.Artifact) -> str:
    """Why `artifact` is excluded; "" when it is not."""
    return artifact.custom_properties[EXCLUDED].string_value if EXCLUDED in artifact.custom_properties else ""


def excluded(store: mlmd.MetadataStore, examples_ids) -> Set[int]:
    """The Examples among `examples_ids` marked excluded."""
    return {a.id for a in store.get_artifacts_by_id(list(examples_ids)) if reason(a)}


def read_from(store: mlmd.MetadataStore, data_root: str) -> Dict[int, List[metadata_store_pb2.Artifact]]:
    """Span -> the Examples ExampleGen made from `data_root`'s span-N folders (every version)."""
    if EXAMPLES_TYPE not in {t.name for t in store.get_artifact_types()}:
        return {}
    spanned = {a.id: a for a in store.get_artifacts_by_type(EXAMPLES_TYPE) if "span" in a.custom_properties}
    if not spanned:
        return {}
    made_by: Dict[int, Set[int]] = {}  # its maker, and executions that published it again (a resume)
    for event in store.get_events_by_artifact_ids(list(spanned)):
        if event.type == metadata_store_pb2.Event.OUTPUT:
            made_by.setdefault(event.artifact_id, set()).add(event.execution_id)
    root = os.path.realpath(data_root)
    there = {x.id for x in store.get_executions_by_id(list(set().union(*made_by.values())))
             if "input_base" in x.custom_properties
             and os.path.realpath(x.custom_properties["input_base"].string_value) == root}
    found: Dict[int, List[metadata_store_pb2.Artifact]] = {}
    for artifact_id, artifact in sorted(spanned.items()):
        if made_by.get(artifact_id, set()) & there:
            found.setdefault(artifact.custom_properties["span"].int_value, []).append(artifact)
    return found


def mark(store: mlmd.MetadataStore, artifacts: List[metadata_store_pb2.Artifact], why: str) -> None:
    """Marks `artifacts` excluded for `why`, or takes the mark off when `why` is ""."""
    for artifact in artifacts:
        if why:
            artifact.custom_properties[EXCLUDED].string_value = why
        elif EXCLUDED in artifact.custom_properties:
            del artifact.custom_properties[EXCLUDED]
    store.put_artifacts(artifacts)


def refusal(store: mlmd.MetadataStore, input_base: str, input_config: example_gen_pb2.Input) -> str:
    """Why a run must not read the span ExampleGen would read now (its input folder and config):
    a span excluded by hand whose files are still those excluded (TFX's fingerprint of them); ""
    otherwise. The gate cannot refuse it: its result is cached while its inputs are unchanged."""
    fingerprint, span, _ = example_gen_utils.calculate_splits_fingerprint_span_and_version(
        input_base, input_config.splits)
    for artifact in read_from(store, input_base).get(span, []):
        recorded = artifact.custom_properties.get(example_gen_utils.FINGERPRINT_PROPERTY_NAME)
        if reason(artifact) and recorded is not None and recorded.string_value == fingerprint:
            return (f"span {span} of {input_base} was excluded by hand ({reason(artifact)}) and its files are "
                    f"unchanged since: correct them (changed files are new data, which the gate checks), add "
                    f"span {span + 1}, or put it back: `tfxpipe exclude-span {span} --undo`")
    return ""
