"""Rolling a pushed model back: its version folder is withdrawn, and the version before it is served.

A version that misbehaves in production (`monitor` finds skew, its users complain) must stop being
served now, not after the next run. TF Serving serves the newest version folder of a model (its
default `latest` policy); once that folder is gone it loads the one below it and unloads the newest
only when that one is available (`tfxpipe serve` does the same, serving/servables.py), so requests
never meet a gap. A rollback renames `<model base>/<V>` to `<model base>/.withdrawn-<V>`, a name no
server loads: atomic on one file system, nothing deleted, and `put_back` renames it back. Why and
when sit beside it in `.withdrawn-<V>.json`; a withdrawal put back is kept in `.withdrawals-undone.json`,
so that reports of the runs made while it lasted still name the baseline those runs had.

The folder is also what runs read, so the next run cannot undo a rollback: the Evaluator's baseline
passes over a withdrawn version's model (`training_data.models_by_push`), and the Pusher refuses a
model whose files equal a withdrawn version's (`withdrawn_copy`: a cached Trainer's model, blessed
again). A model trained anew is pushed as usual.
"""
import dataclasses
import json
import os
import time
from typing import Dict, List, Optional

from serving import model_dir

NOTE_SUFFIX = ".json"
UNDONE_FILE = ".withdrawals-undone.json"  # [{version, reason, at, undone_at}], oldest first
KEPT_BACK = "withdrawn"  # the Pusher's PushedModel properties: the withdrawal that kept its model back,
KEPT_BACK_VERSION = "withdrawn_version"  # and the version withdrawn


class RollbackError(ValueError):
    """A rollback that cannot be done as asked; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class Withdrawal:
    version: int
    reason: str
    at: float  # seconds since 1970

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.at))
        return f"version {self.version}, withdrawn {when}" + (f": {self.reason}" if self.reason else "")


def _folder(model_base: str, version: int) -> str:
    return os.path.join(model_base, f"{model_dir.WITHDRAWN_PREFIX}{version}")


def _local(model_base: str) -> bool:
    return "://" not in model_base


def withdrawals(model_base: str) -> Dict[int, Withdrawal]:
    """Version -> its withdrawal, for every version withdrawn under `model_base` now ({} on an
    object store, where no rollback is made)."""
    if not _local(model_base):
        return {}
    found = {}
    for version in model_dir.withdrawn_versions(model_base):
        note = _folder(model_base, version) + NOTE_SUFFIX
        try:
            with open(note, encoding="utf-8") as file:
                recorded = json.load(file)
            found[version] = Withdrawal(version, str(recorded.get("reason", "")), float(recorded["at"]))
        except (OSError, ValueError, KeyError, TypeError):  # renamed by hand, or its note lost
            found[version] = Withdrawal(version, "", os.path.getmtime(_folder(model_base, version)))
    return found


def _undone(model_base: str) -> List[dict]:
    """The withdrawals of `model_base` put back since, oldest first ([] before any); entries a hand
    damaged are passed over."""
    try:
        with open(os.path.join(model_base, UNDONE_FILE), encoding="utf-8") as file:
            recorded = json.load(file)
    except (OSError, ValueError):
        return []
    return [w for w in recorded if isinstance(w, dict) and isinstance(w.get("version"), int)
            and all(isinstance(w.get(key), (int, float)) for key in ("at", "undone_at"))] \
        if isinstance(recorded, list) else []


def withdrawal_of(version_dir: str, before_s: Optional[float] = None) -> Optional[Withdrawal]:
    """The withdrawal of the version a push wrote to `version_dir`: the one in force now, or, with
    `before_s`, the one in force at that time (also one put back since); None where there is none."""
    base, version = os.path.split(version_dir.rstrip("/"))
    if not version.isdigit():
        return None
    found = withdrawals(base).get(int(version))
    if before_s is None or (found and found.at < before_s):
        return found
    return next((Withdrawal(int(version), str(w.get("reason", "")), float(w["at"])) for w in _undone(base)
                 if w.get("version") == int(version) and float(w["at"]) < before_s < float(w["undone_at"])), None)


def withdrawn_copy(saved_model_dir: str, model_base: str) -> Optional[Withdrawal]:
    """The withdrawal whose folder holds exactly this SavedModel, if any."""
    return next((w for v, w in sorted(withdrawals(model_base).items(), reverse=True)
                 if model_dir.same_tree(saved_model_dir, _folder(model_base, v))), None)


def withdraw(model_base: str, reason: str, version: Optional[int] = None) -> Withdrawal:
    """Withdraws `version` (default: the newest, the one served under the `latest` policy); the
    note is written first, so a rename that fails leaves no withdrawal behind."""
    if not _local(model_base):
        raise RollbackError(f"{model_base} is on an object store, where a folder cannot be renamed at once: "
                            "roll back by serving the earlier version with `tfxpipe deploy-config --policy "
                            "specific --version N`")
    present = model_dir.versions(model_base)
    if not present:
        raise RollbackError(f"{model_base} holds no version to roll back (no folder named by an integer): give the "
                            "--serving-dir and --model-name the runs push to")
    version = present[-1] if version is None else version
    if version not in present:
        raise RollbackError(f"{model_base} has no version {version}; it has {', '.join(map(str, present))}")
    if version in model_dir.pinned_versions(model_base):
        raise RollbackError(f"version {version} is pinned by {model_dir.SERVER_CONFIG} beside {model_base} (a `specific` "
                            "policy or a label): servers started with that file would lose it; point the file at "
                            "another version first (`tfxpipe deploy-config`), then roll back")
    if len(present) == 1:
        raise RollbackError(f"version {version} is the only one in {model_base}: there is no earlier version to "
                            "serve instead (stop its server, or push another model first)")
    withdrawal = Withdrawal(version, reason, time.time())
    note = _folder(model_base, version) + NOTE_SUFFIX
    _write_json(note, {"reason": reason, "at": withdrawal.at})
    try:
        os.rename(os.path.join(model_base, str(version)), _folder(model_base, version))
    except OSError:
        os.remove(note)
        raise
    return withdrawal


def _write_json(path: str, value) -> None:
    """`value` written to `path` whole or not at all."""
    with open(path + ".tmp", "w", encoding="utf-8") as file:
        json.dump(value, file)
    os.replace(path + ".tmp", path)


def put_back(model_base: str, version: Optional[int] = None) -> Withdrawal:
    """Puts a withdrawn version back (default: the one withdrawn last); it is served again if it
    is the newest."""
    found = withdrawals(model_base)
    if not found:
        raise RollbackError(f"no version of {model_base} is withdrawn")
    version = max(found, key=lambda v: found[v].at) if version is None else version
    if version not in found:
        raise RollbackError(f"version {version} of {model_base} is not withdrawn; withdrawn: "
                            f"{', '.join(map(str, sorted(found)))}")
    # The history first, so that no version is served again without its withdrawal kept (a crash
    # between the two leaves both, which read as the withdrawal in force); taken back if the rename fails.
    history, before = os.path.join(model_base, UNDONE_FILE), _undone(model_base)
    _write_json(history, [*before, {**dataclasses.asdict(found[version]), "undone_at": time.time()}])
    try:
        os.rename(_folder(model_base, version), os.path.join(model_base, str(version)))
    except OSError:
        _write_json(history, before)
        raise
    try:
        os.remove(_folder(model_base, version) + NOTE_SUFFIX)
    except FileNotFoundError:
        pass
    return found[version]
