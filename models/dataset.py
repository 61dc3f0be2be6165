"""The one declaration of a dataset: its features and how each is encoded, the label and the task.

A dataset is a folder: `dataset.yaml` (this declaration) and `schema.pbtxt` (the curated schema, the
data contract). `preprocessing_fn`, the Keras model's inputs and head, the loss, TFMA's metrics and
thresholds, the serving signatures, infra validation and `predict` are all derived from it, so a new
CSV needs a new folder (`tfxpipe init` drafts one), never new code.

What training depends on travels to Transform and Trainer as a plain dict in their `custom_config`
(`to_config` / `from_config`), so it is part of TFX's cache key: an edit re-runs what it affects, and
an edit of the blessing or slices (the Evaluator's) or of where the data lies re-runs no training.
"""
import dataclasses
import enum
import os
from typing import Any, Dict, Mapping, Tuple

import yaml

# The declaration's parts, re-exported: callers import every declared type from here.
from models.declaration_parts import (
    CATEGORICAL_KINDS, TUNABLE, Blessing, DeclarationError, DerivedLabel, Feature, Kind, Label, ModelInput,
    Task, check_known, parse_feature, parse_label, parse_tuning, safe_name,
)

__all__ = ["CATEGORICAL_KINDS", "DECLARATION_FILE", "LABEL_KEY", "PACKAGE_PREFIX", "SCHEMA_FILE",
           "TUNABLE", "Blessing", "Dataset", "DeclarationError", "DerivedLabel", "Feature", "Kind",
           "Label", "ModelInput", "Task", "load", "parse", "safe_name"]

DECLARATION_FILE = "dataset.yaml"
SCHEMA_FILE = "schema.pbtxt"
LABEL_KEY = "label"  # transformed label the model learns (features end in `_xf`: no clash)
PACKAGE_PREFIX = "package:"  # data shipped inside an installed Python package


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str
    label: Label
    features: Tuple[Feature, ...]
    data: str = ""  # default data folder: relative to the dataset folder, absolute, or package:...
    missing_values: Tuple[str, ...] = ("",)  # CSV cells read as "no value"
    slices: Tuple[str, ...] = ()  # features the Evaluator also reports per value
    blessing: Blessing = dataclasses.field(default_factory=Blessing)
    excluded: Mapping[str, str] = dataclasses.field(default_factory=dict)  # column -> why
    # Search ranges for `run --tune`: name -> list of choices or {min, max} (models/tuning.py).
    tuning: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    folder: str = ""  # where the declaration was read from

    @property
    def task(self) -> Task:
        return self.label.task

    @property
    def schema_file(self) -> str:
        return os.path.join(self.folder, SCHEMA_FILE)

    def feature_names(self) -> Tuple[str, ...]:
        """Raw columns a client sends at serving time: the features, not the label's columns."""
        return tuple(f.name for f in self.features)

    def number_names(self) -> Tuple[str, ...]:
        """Features the model reads as numbers (numeric, bucketized; timestamps, integers since 1970):
        their schema ranges are units, where an integer code's range is its list of categories."""
        return tuple(f.name for f in self.features if f.kind in (Kind.NUMERIC, Kind.BUCKETIZED) or f.unit)

    def model_inputs(self) -> Tuple[ModelInput, ...]:
        """The model's inputs, in the declaration's order: Transform's outputs but the label."""
        return tuple(i for f in self.features for i in f.model_inputs)

    def dates_written_as_text(self) -> Tuple[str, ...]:
        """Date features written as text, which the gate checks cell by cell (models/calendar.py)."""
        return tuple(f.name for f in self.features if f.kind is Kind.DATE and not f.unit)

    def dates_with_hour(self) -> Tuple[str, ...]:
        """Of those, the ones whose parts include the hour: their dates must carry a time of day, which
        the gate checks too (schema/date_cells.py)."""
        return tuple(f.name for f in self.features if f.kind is Kind.DATE and not f.unit and "hour" in f.parts)

    def read_columns(self) -> Tuple[str, ...]:
        """Raw columns a run reads: the features and the columns the label comes from."""
        return tuple(dict.fromkeys(self.feature_names() + self.label.source_columns))

    def data_root(self) -> str:
        """The declared data folder, resolved (a `package:` path inside an installed package)."""
        if not self.data:
            raise DeclarationError(f"dataset {self.name!r} declares no data folder: pass --data")
        if self.data.startswith(PACKAGE_PREFIX):
            import importlib.util  # pylint: disable=import-outside-toplevel

            package, _, inner = self.data[len(PACKAGE_PREFIX):].partition("/")
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise DeclarationError(f"data {self.data!r}: package {package!r} is not installed")
            return os.path.join(list(spec.submodule_search_locations)[0], inner)
        return self.data if os.path.isabs(self.data) else os.path.join(self.folder, self.data)

    def to_config(self, with_tuning: bool = False) -> Dict[str, Any]:
        """JSON-able form for Transform's, Trainer's (and, `with_tuning`, the Tuner's) `custom_config`:
        what the model depends on. The folder, the data's place, the blessing, slices, the excluded
        columns' reasons and the search ranges (read by the Tuner alone) are left out: custom_config is
        part of TFX's cache key, so a tightened threshold or an edited reason would otherwise train
        again, and training is not bit-for-bit repeatable (a new model may then fail the max_drop it
        was meant to be judged by, or be pushed as a second version of the same model)."""
        plain = {k: v for k, v in _plain(self).items() if k not in ("folder", "data", "blessing", "slices")}
        # left empty rather than out, so a declaration without them keeps the cache key it had
        return {**plain, "excluded": {}, **({} if with_tuning else {"tuning": {}}), "task": self.task.value}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Dataset":
        return parse(config, folder=config.get("folder", ""))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def parse(raw: Mapping[str, Any], folder: str = "") -> Dataset:
    """A Dataset from the declaration's mapping (as read from YAML or `to_config`)."""
    if not isinstance(raw, Mapping):
        raise DeclarationError("the declaration must be a mapping of settings")
    check_known("", raw, [f.name for f in dataclasses.fields(Dataset)] + ["task"])
    missing = [key for key in ("name", "task", "label", "features") if key not in raw]
    if missing:
        raise DeclarationError(f"missing setting(s): {', '.join(missing)}")
    try:
        task = Task(raw["task"])
    except ValueError:
        raise DeclarationError(f"unknown task {raw['task']!r}; one of "
                               f"{', '.join(t.value for t in Task)}") from None
    label = parse_label(raw["label"], task)
    features_raw = raw["features"]
    if isinstance(features_raw, list):  # to_config's form: a list of feature dicts
        features = tuple(parse_feature(f["name"], {k: v for k, v in f.items() if k != "name"})
                         for f in features_raw)
    else:
        features = tuple(parse_feature(name, spec) for name, spec in (features_raw or {}).items())
    if not features:
        raise DeclarationError("no features declared")
    if label.label_only_column in {f.name for f in features}:
        raise DeclarationError(f"{label.label_only_column}: the label cannot also be a feature")
    names = [i.name for f in features for i in f.model_inputs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DeclarationError(f"model inputs of the same name: {', '.join(duplicates)} (feature names that differ "
                               "only in punctuation or case, or a date's part named like another feature); "
                               "exclude or rename one")
    slices = tuple(raw.get("slices") or ())
    unknown_slices = [s for s in slices if s not in {f.name for f in features}]
    if unknown_slices:
        raise DeclarationError(f"slices {', '.join(unknown_slices)} are not declared features")
    blessing_raw = dict(raw.get("blessing") or {})
    check_known("blessing: ", blessing_raw, [f.name for f in dataclasses.fields(Blessing)])
    blessing = Blessing(
        minimum=dict(blessing_raw.pop("minimum", {}) or {}),
        maximum=dict(blessing_raw.pop("maximum", {}) or {}),
        **{k: float(v) for k, v in blessing_raw.items() if k in ("max_drop", "naive_margin")})
    return Dataset(
        name=str(raw["name"]), label=label, features=features, data=str(raw.get("data") or ""),
        missing_values=tuple(str(v) for v in raw.get("missing_values", ("",))),
        slices=slices, blessing=blessing, excluded=dict(raw.get("excluded") or {}),
        tuning=parse_tuning(raw.get("tuning") or {}), folder=folder)


def load(folder: str) -> Dataset:
    """Reads `<folder>/dataset.yaml`; DeclarationError says what is wrong and where."""
    path = os.path.join(folder, DECLARATION_FILE)
    if not os.path.isfile(path):
        raise DeclarationError(f"{folder} is not a dataset folder: no {DECLARATION_FILE} "
                               "(`tfxpipe init DATA --label COLUMN` drafts one)")
    with open(path, encoding="utf-8") as f:
        try:
            raw = yaml.safe_load(f)
        except yaml.YAMLError as error:
            raise DeclarationError(f"{path} is not valid YAML: {error}") from None
    try:
        return parse(raw, folder=os.path.abspath(folder))
    except (DeclarationError, TypeError, KeyError) as error:
        raise DeclarationError(f"{path}: {error}") from None
