"""Layout of a TF Serving model directory: `<serving dir>/<model name>/<integer version>/`.

TF Serving loads every integer-named sub-folder that holds a `saved_model.pb`, so a version folder
must appear complete or not at all. `publish` copies into a hidden staging folder (not an integer,
so never loaded) and renames it into place: a rename within one file system is atomic.
"""
import os
import shutil
import time
from typing import List

from tfx.dsl.io import fileio
from tfx.utils import io_utils

STAGING_PREFIX = ".staging-"


def versions(model_base: str) -> List[int]:
    """Integer versions present under `<serving dir>/<model name>`, oldest first."""
    if not fileio.isdir(model_base):
        return []
    return sorted(int(name.rstrip("/")) for name in fileio.listdir(model_base)
                  if name.rstrip("/").isdigit())


def next_version(model_base: str) -> int:
    """Unix time in seconds (TFX's convention), bumped past any existing version so it is unique."""
    existing = versions(model_base)
    return max([int(time.time())] + [v + 1 for v in existing])


def _publish_remote(saved_model_dir: str, model_base: str) -> str:
    """Object stores (gs://...) cannot rename a folder atomically. As TFX does, everything but
    `saved_model.pb` is copied first: TF Serving loads a version only once that file exists."""
    target = f"{model_base.rstrip('/')}/{next_version(model_base)}"
    io_utils.copy_dir(saved_model_dir, target, deny_regex_patterns=[r"saved_model\.pb"])
    io_utils.copy_file(f"{saved_model_dir}/saved_model.pb", f"{target}/saved_model.pb")
    return target


def publish(saved_model_dir: str, model_base: str) -> str:
    """Copies a SavedModel to the next version folder atomically and returns that folder."""
    if not fileio.exists(os.path.join(saved_model_dir, "saved_model.pb")):
        raise FileNotFoundError(f"no SavedModel to publish in {saved_model_dir}")
    if "://" in model_base:
        return _publish_remote(saved_model_dir, model_base)
    os.makedirs(model_base, exist_ok=True)
    version = next_version(model_base)
    staging = os.path.join(model_base, f"{STAGING_PREFIX}{version}")
    target = os.path.join(model_base, str(version))
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(saved_model_dir, staging)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
