"""The layout of a data folder: a file, a folder of files (one span), or a folder of `span-N/`
folders (spans, oldest first), each holding the CSV files of its span."""
import os
import re
from typing import AbstractSet, List, Optional, Tuple

SPAN_FOLDER = re.compile(r"^span-(\d+)$")


def spans(data_root: str) -> List[Tuple[int, str]]:
    """(span number, folder) of `span-N/` sub-folders, oldest first; empty for a flat folder."""
    found = []
    for name in os.listdir(data_root):
        match = SPAN_FOLDER.match(name)
        if match and os.path.isdir(os.path.join(data_root, name)):
            found.append((int(match.group(1)), os.path.join(data_root, name)))
    return sorted(found)


def latest_and_previous(path: str, accepted: Optional[AbstractSet[int]] = None) -> Tuple[str, Optional[str]]:
    """What a run reads from `path` and what it is compared with for drift: in a folder of `span-N/`
    folders the newest span and the span before it, or, given the spans the data gate `accepted`,
    the newest of those before it (as the gate compares); else the file or folder itself, and nothing."""
    found = spans(path) if os.path.isdir(path) else []
    if not found:
        return path, None
    earlier = [folder for span, folder in found[:-1] if accepted is None or span in accepted]
    return found[-1][1], (earlier[-1] if earlier else None)


def span_of(data_root: str, folder: str) -> int:
    """The span number of `folder` as read from `data_root` (`latest_and_previous`): N for its
    `span-N/` folder, 0 for the data root itself (a file or a folder without spans, TFX's span 0)."""
    match = SPAN_FOLDER.match(os.path.basename(folder)) if folder != data_root else None
    return int(match.group(1)) if match else 0


def data_files(folder: str) -> List[str]:
    """The files of one span's folder, hidden ones (`.DS_Store`, editors' swap files) left out."""
    return sorted(
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if not name.startswith(".") and os.path.isfile(os.path.join(folder, name))
    )
