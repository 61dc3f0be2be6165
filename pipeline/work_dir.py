"""Whether a work dir's pipeline root belongs with the metadata store a run is given: TFX names
output folders by execution id, so a root filled under another store must be refused up front."""
import os
from typing import List, Optional

from pipeline import metadata_store
from pipeline.run_summary import INPUT_CHECK_TYPE


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
