"""Layout of a TF Serving model directory: `<serving dir>/<model name>/<integer version>/`.

TF Serving loads every integer-named sub-folder that holds a `saved_model.pb`, so a version folder
must appear complete or not at all. `publish` copies into a hidden staging folder (not an integer,
so never loaded) and renames it into place: a rename within one file system is atomic.
A push killed half-way leaves only its staging folder, which the next push removes (the next on
another machine, once that push started a day ago); a push killed after the rename but before TFX
recorded it is not repeated (the model is already the newest version).
"""
import errno
import filecmp
import os
import shutil
import socket
import time
from typing import List, Optional, Set


STAGING_PREFIX = ".staging-"
WITHDRAWN_PREFIX = ".withdrawn-"  # a version rolled back (serving/rollback.py): kept, never loaded
KEEP_VERSIONS = "keep_versions"  # the Pusher's custom_config: how many versions a push leaves
REMOVED_VERSIONS = "removed_versions"  # its PushedModel's property: the versions it removed, comma-separated
REMOVAL_FAILED = "removal_failed"  # ... or why it could not remove them (the push itself stands)
# ... 1 when the newest version already held the model: a model pushed before, evaluated again (a
# blessing edit re-runs the Evaluator, not the Trainer), is served as it was and nothing is copied.
ALREADY_SERVED = "already_served"
SERVER_CONFIG = "models.config"  # TF Serving's --model_config_file, beside the model folders (deploy-config)
# A push copies one model: minutes at most. A staging folder of another machine whose push started
# a day ago is one whose push was killed.
ABANDONED_AFTER_SECONDS = 24 * 3600


def _names(model_base: str) -> List[str]:
    """What `model_base` holds; on an object store (gs://...) read through TFX's file I/O, which
    imports TensorFlow: local folders are listed without it (`tfxpipe runs` reads this)."""
    if "://" not in model_base:
        return os.listdir(model_base) if os.path.isdir(model_base) else []
    from tfx.dsl.io import fileio  # pylint: disable=import-outside-toplevel

    return [name.rstrip("/") for name in fileio.listdir(model_base)] if fileio.isdir(model_base) else []


def versions(model_base: str) -> List[int]:
    """Integer versions present under `<serving dir>/<model name>`, oldest first."""
    return sorted(int(name) for name in _names(model_base) if name.isdigit())


def withdrawn_versions(model_base: str) -> List[int]:
    """Versions rolled back under `<serving dir>/<model name>` (`.withdrawn-<version>` folders), oldest first."""
    return sorted(int(name[len(WITHDRAWN_PREFIX):]) for name in _names(model_base)
                  if name.startswith(WITHDRAWN_PREFIX) and name[len(WITHDRAWN_PREFIX):].isdigit())


def next_version(model_base: str) -> int:
    """Unix time in seconds (TFX's convention), bumped past any existing version, withdrawn ones
    included, so it is unique (a withdrawn version can be put back)."""
    existing = versions(model_base) + withdrawn_versions(model_base)
    return max([int(time.time())] + [v + 1 for v in existing])


def _publish_remote(saved_model_dir: str, model_base: str) -> str:
    """Object stores (gs://...) cannot rename a folder atomically. As TFX does, everything but
    `saved_model.pb` is copied first: TF Serving loads a version only once that file exists."""
    from tfx.utils import io_utils  # pylint: disable=import-outside-toplevel

    target = f"{model_base.rstrip('/')}/{next_version(model_base)}"
    io_utils.copy_dir(saved_model_dir, target, deny_regex_patterns=[r"saved_model\.pb"])
    io_utils.copy_file(f"{saved_model_dir}/saved_model.pb", f"{target}/saved_model.pb")
    return target


class NoSpaceLeft(OSError):
    pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # OverflowError: no process can have that id
        return False
    except PermissionError:
        return True
    return True


def remove_abandoned_staging(model_base: str) -> List[str]:
    """Staging folders of pushes killed mid-copy: on this machine, those whose process is gone; from
    other machines (pods sharing the serving volume, each named differently), those whose push
    started `ABANDONED_AFTER_SECONDS` ago, where no process here can tell whether theirs still runs.
    A push's start is the version in the folder's name (the time it began, or later): the folder's
    own time is the source's once copytree copies its metadata, a day old for a cached model."""
    removed = []
    for entry in os.scandir(model_base) if os.path.isdir(model_base) else ():
        if not (entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False)):
            continue
        # `<host>-<pid>-<version>`, read from the right: a host name may hold dashes (`web-2`).
        parts = entry.name[len(STAGING_PREFIX):].rsplit("-", 2)
        if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
            continue
        host, pid, started = parts
        if host == socket.gethostname():
            abandoned = not _alive(int(pid))
        else:
            abandoned = time.time() - int(started) > ABANDONED_AFTER_SECONDS
        if abandoned:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed


def _disk_full(error: BaseException) -> bool:
    """ENOSPC, also inside the shutil.Error that copytree raises after trying every file (it keeps
    only each file's message)."""
    if isinstance(error, shutil.Error):
        return any(os.strerror(errno.ENOSPC) in str(entry) for entry in error.args[0])
    return isinstance(error, OSError) and error.errno == errno.ENOSPC


def same_tree(left: str, right: str) -> bool:
    def files(root):
        return sorted(os.path.relpath(os.path.join(folder, name), root)
                      for folder, _, names in os.walk(root) for name in names)
    names = files(left)
    if names != files(right):
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
    return not mismatch and not errors


def already_published(saved_model_dir: str, model_base: str) -> Optional[str]:
    """The newest version folder when it holds exactly this SavedModel, else None."""
    existing = versions(model_base)
    newest = os.path.join(model_base, str(existing[-1])) if existing else None
    return newest if newest and same_tree(saved_model_dir, newest) else None


def publish(saved_model_dir: str, model_base: str) -> str:
    """Copies a SavedModel to the next version folder atomically and returns that folder (or the
    newest version, when it already holds this SavedModel). NoSpaceLeft when the disk fills up:
    nothing is left behind and the versions already there are untouched."""
    if "://" in model_base:
        return _publish_remote(saved_model_dir, model_base)
    if not os.path.exists(os.path.join(saved_model_dir, "saved_model.pb")):
        raise FileNotFoundError(f"no SavedModel to publish in {saved_model_dir}")
    os.makedirs(model_base, exist_ok=True)
    remove_abandoned_staging(model_base)
    done = already_published(saved_model_dir, model_base)
    if done:
        return done
    version = next_version(model_base)
    staging = os.path.join(model_base, f"{STAGING_PREFIX}{socket.gethostname()}-{os.getpid()}-{version}")
    target = os.path.join(model_base, str(version))
    try:
        shutil.copytree(saved_model_dir, staging)
        os.rename(staging, target)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if _disk_full(error):
            raise NoSpaceLeft(
                errno.ENOSPC, f"no space left on the device of {model_base} while copying the "
                f"model: nothing was published and the versions there are unchanged; free space and "
                "run again (the run reuses its cached steps)") from error
        raise
    return target


def pinned_versions(model_base: str) -> Set[int]:
    """Versions of this model that `models.config` beside its folder names (a `specific` policy,
    labels such as `stable`): a server started with that file serves them whatever is newer."""
    path = os.path.join(os.path.dirname(model_base.rstrip("/")), SERVER_CONFIG)
    if not os.path.isfile(path):
        return set()
    # pylint: disable=import-outside-toplevel  (loads TensorFlow's protos: only when a file is there)
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    with open(path, encoding="utf-8") as file:
        try:
            text_format.Parse(file.read(), config)
        except text_format.ParseError as error:
            raise ValueError(f"{path} is not TF Serving's model config ({error}): nothing was changed; "
                             "correct it or move it away") from None
    name = os.path.basename(model_base.rstrip("/"))
    return {version for model in config.model_config_list.config if model.name == name
            for version in [*model.model_version_policy.specific.versions, *model.version_labels.values()]}


def remove_old_versions(model_base: str, keep: int) -> List[int]:
    """Removes the versions older than the newest `keep`, but for those `models.config` pins, and
    returns them. Rolled-back versions stay (they keep their model from being pushed again). Each is
    first renamed to a staging name, so no server sees a half-deleted version, and a removal
    killed half-way is finished by the next push (`remove_abandoned_staging`)."""
    if "://" in model_base:
        raise ValueError(f"{model_base} is on an object store: old versions are removed from local (or mounted) "
                         "folders only")
    pinned = pinned_versions(model_base)
    removed = [v for v in versions(model_base)[:-keep] if v not in pinned]
    for version in removed:
        doomed = os.path.join(model_base, f"{STAGING_PREFIX}{socket.gethostname()}-{os.getpid()}-{version}")
        os.rename(os.path.join(model_base, str(version)), doomed)
        shutil.rmtree(doomed)
    return removed


def unwritable(model_base: str) -> Optional[str]:
    """Why a push into local `model_base` could not be written (it, or the nearest folder above it
    that exists, is read-only: a mount, another user's), so a run can say so before training rather
    than at the Pusher; None where a push can write."""
    if "://" in model_base:
        return None
    existing = os.path.abspath(model_base)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if os.access(existing, os.W_OK | os.X_OK):
        return None
    return (f"the serving dir {model_base} cannot be written ({existing} is read-only to this user): a blessed "
            "model could not be pushed there; make it writable, or give another --serving-dir")
