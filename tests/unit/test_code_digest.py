"""The code digest in Transform's and Trainer's custom_config: TFX's cache key holds the dotted path
of the user function, so the digest is what makes an edit to the code behind it re-run them."""
import shutil
import sys

from pipeline.configs import PROJECT_ROOT
from pipeline.code_digest import code_digest
from pipeline.candidates import RUN_FN
from pipeline.pipeline import PREPROCESSING_FN


def _digests_of_a_copy(tmp_path, monkeypatch, edit=None):
    """Digests with the `models` package read from a copy (optionally edited) instead."""
    shutil.copytree(f"{PROJECT_ROOT}/models", tmp_path / "models",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if edit:
        path = tmp_path / "models" / edit[0]
        path.write_text(path.read_text() + edit[1])
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
        monkeypatch.delitem(sys.modules, name)
    return code_digest(PREPROCESSING_FN), code_digest(RUN_FN)


def test_an_identical_copy_has_the_same_digests(tmp_path, monkeypatch):
    before = code_digest(PREPROCESSING_FN), code_digest(RUN_FN)
    assert _digests_of_a_copy(tmp_path, monkeypatch) == before
    assert before[0] != before[1]


def test_an_edit_to_the_model_changes_only_the_trainers_digest(tmp_path, monkeypatch):
    preprocessing, run = code_digest(PREPROCESSING_FN), code_digest(RUN_FN)
    edited = _digests_of_a_copy(tmp_path, monkeypatch, ("model.py", "\nEXTRA_UNITS = 8\n"))
    assert edited[0] == preprocessing and edited[1] != run


def test_an_edit_to_a_module_both_import_changes_both_digests(tmp_path, monkeypatch):
    preprocessing, run = code_digest(PREPROCESSING_FN), code_digest(RUN_FN)
    edited = _digests_of_a_copy(tmp_path, monkeypatch, ("dataset.py", "\n# changed\n"))
    assert edited[0] != preprocessing and edited[1] != run
