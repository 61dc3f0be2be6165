"""Whether a work dir's pipeline root belongs with the metadata store a run is given: TFX names
output folders by execution id, so a root filled under another store must be refused up front; and
ML Metadata records outputs by absolute path, so a store whose outputs are no longer where it
recorded them (a work dir moved or restored under another path) must be too. And whether the model
a serving folder serves is one that store's runs pushed: only then can a run compare with it."""
import os
import sys
from typing import List, Optional

from tfx.dsl.io import fileio
from tfx.utils import path_utils

from pipeline import metadata_store
from pipeline.run_summary import INPUT_CHECK_TYPE
from serving import model_dir

# Validated models whose stamped copy a served version is compared with (the newest first): a push
# killed after its rename is of the newest; comparing files costs a read of each model.
RECENT_VALIDATIONS = 3


def _entries(folder: str) -> List[str]:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def foreign_outputs(uri: str, pipeline_name: str, pipeline_root: str) -> Optional[str]:
    """Why a run cannot start: `pipeline_root` holds component outputs, yet the store at `uri` has
    no component execution of the pipeline (a new store, a deleted SQLite file). TFX names output
    folders by execution id, which a new store counts from 1 again, so its first run would fail on
    "file already exists" in some component. None when the two belong together."""
    # TFX's outputs: <node>/<output key>/<execution id>/ (not this project's curated_schema/, written first)
    if not any(entry.isdigit() for node in _entries(pipeline_root) if node != "curated_schema"
               for key in _entries(os.path.join(pipeline_root, node))
               for entry in _entries(os.path.join(pipeline_root, node, key))):
        return None
    if metadata_store.exists(uri):
        store = metadata_store.open_store(uri)
        pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
        if pipeline is not None and any(e.type != INPUT_CHECK_TYPE  # refusals wrote no output
                                        for e in store.get_executions_by_context(pipeline.id)):
            return None
    return (f"{pipeline_root} holds outputs of pipeline '{pipeline_name}' that no run recorded in "
            f"{metadata_store.redacted(uri)} made: they were made with another metadata store (TFX names "
            "output folders by execution id, which a new store counts from 1 again, so components would "
            "find their folders taken). Run with a new --work-dir, or with the metadata store those runs "
            "were recorded in (--metadata)")


def moved_outputs(uri: str, pipeline_name: str, pipeline_root: str) -> Optional[str]:
    """Why a run cannot start: the newest output the store at `uri` recorded for the pipeline is
    gone from its absolute path, because the work dir was moved or restored under another path (or
    the runs recorded there ran on a machine whose paths this one lacks). Later components would
    fail on those paths, the data gate first, on its drift reference. None when it is where it was
    recorded, in a cluster path, or the store has none."""
    if not metadata_store.exists(uri):
        return None
    # writable, as the run holding the lock opens it next: a run killed mid-write leaves SQLite a
    # journal that only a writer can roll back (a reader then fails)
    store = metadata_store.open_store(uri, writable=True)
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    recorded = [a for a in store.get_artifacts_by_context(pipeline.id) if a.uri and "://" not in a.uri] \
        if pipeline is not None else []
    newest = max(recorded, key=lambda a: a.id, default=None)
    if newest is None or os.path.exists(newest.uri):
        return None
    # TFX's outputs: <pipeline root>/<node>/<output key>/<execution id>
    old_root = os.path.dirname(os.path.dirname(os.path.dirname(newest.uri.rstrip("/"))))
    if os.path.normpath(old_root) == os.path.normpath(pipeline_root):
        return None  # an output deleted by hand inside this root: the component that reads it says so
    old, new = old_root, pipeline_root
    # the link to make: the shallowest folder of the old path that is gone, as the new path names it
    while os.path.basename(old) == os.path.basename(new) and not os.path.exists(os.path.dirname(old)):
        old, new = os.path.dirname(old), os.path.dirname(new)
    return (f"{metadata_store.redacted(uri)} records the outputs of pipeline '{pipeline_name}' under {old_root}, "
            f"which this machine does not have: the work dir was moved or restored under another path (or "
            f"those runs ran on another machine). ML Metadata keeps absolute paths, so the outputs a run "
            f"compares with (the data the gate accepted, the served model's evaluation) cannot be found. "
            f"Move the work dir back, or link the old path to the new one (`mkdir -p {os.path.dirname(old)} && "
            f"ln -s {new} {old}`); "
            "a new --work-dir with a metadata store of its own starts a new history")


def unrecorded_served(uri: str, model_base: str) -> Optional[int]:
    """The version `model_base` serves (its newest) when no push recorded in the store at `uri`
    made it (the work dir whose runs pushed it was removed, or is another one), else None. The
    Evaluator's baseline is the served model as this store's runs know it: with none known, a
    candidate is judged as a first model, and a push replaces that version uncompared."""
    # complete versions only: on an object store a push copies saved_model.pb last, and a push
    # killed before it leaves a folder TF Serving does not load
    served = [v for v in model_dir.versions(model_base) if fileio.exists(f"{model_base.rstrip('/')}/{v}/saved_model.pb")]
    if not served:
        return None
    if metadata_store.exists(uri):
        store = metadata_store.open_store(uri, writable=True)  # writable: as in moved_outputs
        name = os.path.basename(model_base.rstrip("/"))
        for pushed in store.get_artifacts_by_type("PushedModel"):
            destination = pushed.custom_properties.get("pushed_destination")
            # by model name and version, not the whole path: a serving dir moved since is the same one
            if destination is not None and destination.string_value.rstrip("/").split("/")[-2:] == [name, str(served[-1])]:
                return None
        # a push killed after its rename, before TFX recorded it: the folder holds the model an
        # InfraValidator of this store validated (the Pusher copies its stamped model), which the
        # next run's Pusher finds already published
        validated = sorted((b for b in store.get_artifacts_by_type("InfraBlessing")
                            if "blessed" in b.custom_properties and b.custom_properties["blessed"].int_value == 1),
                           key=lambda b: -b.id)
        if "://" not in model_base and any(  # (a folder compared through the local file system)
                model_dir.same_tree(path_utils.stamped_model_path(b.uri), os.path.join(model_base, str(served[-1])))
                for b in validated[:RECENT_VALIDATIONS] if os.path.isdir(path_utils.stamped_model_path(b.uri))):
            return None
    return served[-1]


def unrecorded_served_refusal(uri: str, model_base: str, replace: bool) -> Optional[str]:
    """Why a run that found `unrecorded_served` is refused, and the ways on; None when there is
    nothing to refuse, or when told to `replace` it (said on stderr)."""
    version = unrecorded_served(uri, model_base)
    if version is None:
        return None
    if replace:
        print(f"note: version {version} in {model_base} was pushed by no run recorded here: a blessed model "
              "replaces it (--replace-unrecorded-model), compared with nothing", file=sys.stderr)
        return None
    return (f"the serving dir {model_base} serves version {version}, which no run recorded in "
            f"{metadata_store.redacted(uri)} pushed (the work dir whose runs pushed it was removed, or is "
            "another one; or it was copied there by hand, or served again by a rollback after "
            "--replace-unrecorded-model): this run would judge its model as a first model, compared with nothing, and a "
            f"push would replace version {version}. Run with the work dir (or --metadata) whose runs "
            "pushed it, give this work dir its own --serving-dir, or, to replace that version "
            "knowingly, add --replace-unrecorded-model")
