"""Spans taken out of use by hand (`tfxpipe exclude-span`).

A span can pass the data gate and still be wrong in a way no statistic shows: labels shuffled by a
broken join, a vendor's test feed with plausible values. Found later, it must stop being used: as
the gate's drift reference, in later `--train-spans` windows, as what `validate` and `calibrate`
count as accepted. Deleting its folder does none of that (ExampleGen's copy lives on in the
pipeline root, and ML Metadata lists it), so the mark goes where those choices are read: an MLMD
context of its own type per span (its reason a property), attributed to the span's Examples, which
`resolvers` checks through lineage. Not a property on the Examples themselves: TFX's cache key
hashes each input artifact whole, update time included, so marking one (or taking the mark off)
would make every component that read it run again. Files of the span changed afterwards are new
data: ExampleGen makes a new, unmarked version, which the gate checks again.
"""
import copy
import os
import shlex
from typing import Dict, List, Optional, Set

import ml_metadata as mlmd
from ml_metadata import errors
from ml_metadata.proto import metadata_store_pb2
from tfx.proto import example_gen_pb2

from pipeline.configs import is_remote
from schema import data_folder

EXCLUSION_TYPE = "tfxpipe.ExcludedSpan"  # a context per span: `reason` ("" once put back)
REASON = "reason"
EXAMPLES_TYPE = "Examples"


def reasons(store: mlmd.MetadataStore) -> Dict[int, str]:
    """Examples artifact id -> why it is excluded, for every Examples excluded now."""
    if EXCLUSION_TYPE not in {t.name for t in store.get_context_types()}:
        return {}
    found = {}
    for context in store.get_contexts_by_type(EXCLUSION_TYPE):
        why = context.custom_properties[REASON].string_value if REASON in context.custom_properties else ""
        if why:
            found.update({artifact.id: why for artifact in store.get_artifacts_by_context(context.id)})
    return found


def excluded(store: mlmd.MetadataStore, examples_ids) -> Set[int]:
    """The Examples among `examples_ids` excluded now."""
    return set(examples_ids) & set(reasons(store))


def spans(store: mlmd.MetadataStore, data_root: str) -> Set[int]:
    """Spans of `data_root` excluded now: their newest version read is (older ones were changed since)."""
    return _excluded(store, read_from(store, data_root))


def _excluded(store: mlmd.MetadataStore, read: Dict[int, List[metadata_store_pb2.Artifact]]) -> Set[int]:
    why = reasons(store)
    return {span for span, versions in read.items() if versions[-1].id in why}


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
    root = _folder(data_root)
    there = {x.id for x in store.get_executions_by_id(list(set().union(*made_by.values())))
             if "input_base" in x.custom_properties
             and _folder(x.custom_properties["input_base"].string_value) == root}
    found: Dict[int, List[metadata_store_pb2.Artifact]] = {}
    for artifact_id, artifact in sorted(spanned.items()):
        if made_by.get(artifact_id, set()) & there:
            found.setdefault(artifact.custom_properties["span"].int_value, []).append(artifact)
    return found


def passed_over(store: mlmd.MetadataStore, data_root: str, accepted: Optional[Set[int]] = None) -> List[int]:
    """Spans of `data_root` after the newest span the data gate accepted (`accepted`:
    resolvers.accepted_spans, which leaves out spans excluded by hand; None where no gate checked
    any: the newest span a run read) and before the newest span, which this run reads instead (a run
    reads one span, the newest): no gate checks them, no model trains on them, unless someone runs
    for each. A span whose run did not pass the gate is among them: corrected since or not, it is not
    read again. [] before any run read a span here."""
    return _passed_over(store, read_from(store, data_root), [span for span, _ in data_folder.spans(data_root)],
                        accepted)


def _passed_over(store: mlmd.MetadataStore, read: Dict[int, List[metadata_store_pb2.Artifact]],
                 found: List[int], accepted: Optional[Set[int]]) -> List[int]:
    """`passed_over` of the spans `read` from a folder holding spans `found`."""
    if not read or not found:
        return []
    since = max(read) if accepted is None else max(accepted, default=min(read) - 1)
    excluded = _excluded(store, read)  # taken out of use by hand: not waiting to be read
    return [span for span in found[:-1] if span > since and span not in excluded]


PER_SPAN = ("To have each checked and trained on, run once per span, oldest first: move the newer span "
            "folder(s) out of the data folder, run, put them back one at a time and run again")


def passed_over_warning(store: mlmd.MetadataStore, data_root: str, accepted: Optional[Set[int]] = None
                        ) -> Optional[str]:
    """What a run says of the spans it passes over (`passed_over`), or of the older spans of a folder
    no run read yet (its history: the next span is compared with the newest alone), or None."""
    read, found = read_from(store, data_root), [span for span, _ in data_folder.spans(data_root)]
    skipped = _passed_over(store, read, found, accepted)
    if skipped:
        failed = [span for span in skipped if span in read]  # read, never accepted: stopped, or crashed
        return (f"warning: span(s) {', '.join(map(str, skipped))} of {data_root} are not read: a run reads the "
                f"newest span, {found[-1]}, so no gate checks them and no model trains on them"
                + (f" (span(s) {', '.join(map(str, failed))} did not pass the data gate when read: corrected "
                   "since or not, no run reads them again)" if failed else " (they arrived since the last run)")
                + f". {PER_SPAN}")
    if len(found) > 1 and not read:
        return (f"note: this first run on {data_root} reads its newest span, {found[-1]}; span(s) "
                f"{', '.join(map(str, found[:-1]))} are not read, so no gate checks them and no model trains on them "
                f"(`--train-spans` adds earlier spans the gate accepted). {PER_SPAN}")
    return None


def mark(store: mlmd.MetadataStore, data_root: str, span: int,
         artifacts: List[metadata_store_pb2.Artifact], why: str) -> None:
    """Marks `artifacts` (span `span` of `data_root`) excluded for `why`, or puts them back when `why`
    is "" (MLMD deletes no context: its reason is emptied), from every exclusion that holds them (one
    made under the path the folder had then, when a link now leads there by another)."""
    try:
        type_id = store.get_context_type(EXCLUSION_TYPE).id
    except errors.NotFoundError:
        type_id = store.put_context_type(metadata_store_pb2.ContextType(name=EXCLUSION_TYPE))
    name = f"{_folder(data_root)}#span-{span}"
    context = store.get_context_by_type_and_name(EXCLUSION_TYPE, name) or \
        metadata_store_pb2.Context(type_id=type_id, name=name)
    context.custom_properties[REASON].string_value = why
    (context_id,) = store.put_contexts([context])
    store.put_attributions_and_associations(
        [metadata_store_pb2.Attribution(context_id=context_id, artifact_id=a.id) for a in artifacts], [])
    if not why:
        others = {c.id: c for a in artifacts for c in store.get_contexts_by_artifact(a.id)
                  if c.type_id == type_id and c.id != context_id}
        for other in others.values():
            other.custom_properties[REASON].string_value = ""
        if others:
            store.put_contexts(list(others.values()))


def _folder(path: str) -> str:
    """A data folder as exclusions name it: the real path of a local one, a remote URI as it is."""
    return path if is_remote(path) else os.path.realpath(path)


def refusal(store: mlmd.MetadataStore, input_base: str, input_config: example_gen_pb2.Input,
            options: str = "") -> str:
    """Why a run must not read the span ExampleGen would read now (its input folder and config):
    a span excluded by hand whose files are still those excluded (TFX's fingerprint of them: count,
    sizes and modification times), here or in the folder they were moved from; "" otherwise. The
    gate cannot refuse it: its result is cached while its inputs are unchanged, and a moved folder's
    span passed the gate before. `options`: what the undo command needs to read the same store
    (`configs.store_options`)."""
    # pylint: disable=import-outside-toplevel  (it loads every TFX component: `tfxpipe runs` reads
    # `reasons` without them)
    from tfx.components.example_gen import utils as example_gen_utils

    fingerprint, span, _ = example_gen_utils.calculate_splits_fingerprint_span_and_version(
        input_base, copy.deepcopy(input_config).splits)  # it fills the span into the pattern given
    why = reasons(store)
    for artifact in store.get_artifacts_by_id(sorted(why)):
        recorded = artifact.custom_properties.get(example_gen_utils.FINGERPRINT_PROPERTY_NAME)
        read_span = artifact.custom_properties.get("span")
        if read_span is None or read_span.int_value != span or recorded is None \
                or recorded.string_value != fingerprint:
            continue
        where = _excluded_in(store, artifact.id)
        undo = f"`tfxpipe exclude-span {span} --undo{options} --data {shlex.quote(input_base)}`"
        if where not in (_folder(input_base), os.path.abspath(input_base)):  # moved, not linked
            where_said = f" as span {span} of {where}, where its files were,"
            undo = f"`tfxpipe exclude-span {span} --undo{options} --data {shlex.quote(where)}`"
        else:
            where_said = ""
        return (f"span {span} of {input_base} was excluded by hand ({why[artifact.id]}){where_said} and its "
                f"files are unchanged since: correct them (changed files are new data, which the gate checks), "
                f"add span {span + 1}, or put it back: {undo}")
    return ""


def _excluded_in(store: mlmd.MetadataStore, artifact_id: int) -> str:
    """The data folder of the exclusion in force that holds `artifact_id` (named for it)."""
    type_id = store.get_context_type(EXCLUSION_TYPE).id
    names = [c.name for c in store.get_contexts_by_artifact(artifact_id)
             if c.type_id == type_id and c.custom_properties[REASON].string_value]
    return names[0].rsplit("#span-", 1)[0] if names else ""
