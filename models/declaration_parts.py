"""The parts of a dataset declaration (`dataset.yaml`, see models/dataset.py) and how each section
is read: the task, each feature's kind and encoding, the label, the blessing bounds and the tuning
ranges. Each section parser raises DeclarationError naming the setting to fix."""
import dataclasses
import enum
import re
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from models import calendar, hyperparameter_values

# Hyperparameters whose search range the declaration's `tuning:` may set (models/tuning.py).
TUNABLE = ("learning_rate", "hidden_layers", "first_layer_units", "dropout", "embedding_scale")


class DeclarationError(ValueError):
    """The declaration file is missing, malformed or inconsistent; the message says what to fix."""


class Task(enum.Enum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION


class Kind(enum.Enum):
    NUMERIC = "numeric"  # z-scored; missing -> 0 (the mean)
    CATEGORICAL_STRING = "categorical_string"  # vocabulary of the top values + OOV buckets
    # Integer codes: identity ids when the range [0, max_value] is declared (no analyzer pass over the
    # data, out-of-range values get one OOV id), else a vocabulary like strings.
    CATEGORICAL_INT = "categorical_int"
    BUCKETIZED = "bucketized"  # quantile buckets of a continuous value (coordinates)
    HASHED = "hashed"  # high-cardinality strings: hash buckets, no vocabulary pass
    # A date or a timestamp: the declared `parts` (hour, weekday, month), each an input of its own,
    # computed in the graph from the value as written (models/calendar.py); `unit` for integers.
    DATE = "date"


CATEGORICAL_KINDS = (Kind.CATEGORICAL_STRING, Kind.CATEGORICAL_INT)


def safe_name(name: str) -> str:
    """A column name as TensorFlow op and Keras input names accept it ("Body Mass (g)" ->
    "body_mass_g"); CSV columns and tf.Example keys keep the original name."""
    cleaned = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return cleaned if cleaned and cleaned[0].isalpha() else f"f_{cleaned}"


@dataclasses.dataclass(frozen=True)
class Feature:
    name: str  # CSV column
    kind: Kind
    vocab_size: int = 0  # categorical: most frequent values kept in the vocabulary
    oov_buckets: int = 0  # categorical: hash buckets for values outside the vocabulary
    buckets: int = 0  # bucketized / hashed: number of buckets
    max_value: Optional[int] = None  # categorical int: declared range [0, max_value] -> identity ids
    parts: Tuple[str, ...] = ()  # date: calendar parts the model reads (calendar.PARTS)
    unit: str = ""  # date written as an integer since 1970: seconds or milliseconds

    @property
    def transformed_name(self) -> str:
        return f"{safe_name(self.name)}_xf"

    @property
    def is_numeric(self) -> bool:
        return self.kind is Kind.NUMERIC

    @property
    def uses_vocabulary(self) -> bool:
        return self.kind is Kind.CATEGORICAL_STRING or (
            self.kind is Kind.CATEGORICAL_INT and self.max_value is None
        )

    @property
    def oov_id(self) -> int:
        """Identity-coded feature: the id of a value outside [0, max_value]."""
        if self.max_value is None:
            raise ValueError(f"feature {self.name!r} has no declared range")
        return self.max_value + 1

    @property
    def model_inputs(self) -> Tuple["ModelInput", ...]:
        """What the model reads of this feature: one input, or one per calendar part of a date."""
        if self.kind is Kind.DATE:
            return tuple(ModelInput(f"{safe_name(self.name)}_{part}_xf", calendar.PARTS[part] + 1)
                         for part in self.parts)
        return (ModelInput(self.transformed_name, self.cardinality),)

    @property
    def cardinality(self) -> int:
        """Number of distinct ids the transformed feature can take, the missing-value id included."""
        if self.kind is Kind.CATEGORICAL_INT and self.max_value is not None:
            return self.max_value + 3  # 0..max_value, the OOV id, the missing id
        if self.kind in CATEGORICAL_KINDS:
            return self.vocab_size + self.oov_buckets + 1
        if self.kind in (Kind.BUCKETIZED, Kind.HASHED):
            return self.buckets + 1
        return 0

    @property
    def missing_id(self) -> int:
        """Id reserved for a missing value: the last one, after the vocabulary, OOV buckets or buckets."""
        if self.is_numeric:
            raise ValueError(f"numeric feature {self.name!r} has no missing id (missing -> 0.0)")
        return self.cardinality - 1


@dataclasses.dataclass(frozen=True)
class ModelInput:
    """One input of the model: a transformed feature, numbers (cardinality 0) or ids 0..cardinality-1."""
    name: str
    cardinality: int

    @property
    def is_numeric(self) -> bool:
        return not self.cardinality


@dataclasses.dataclass(frozen=True)
class DerivedLabel:
    """A binary label computed from raw columns: `column > times * other_column` (missing -> 0),
    e.g. "the tip is more than 20 % of the fare"; a plain label column needs none."""
    column: str
    other_column: str
    times: float


@dataclasses.dataclass(frozen=True)
class Label:
    column: str  # CSV column (or, when derived, the name of the computed label)
    task: Task
    classes: Tuple[str, ...] = ()  # classification: class names as they appear in the column
    derived: Optional[DerivedLabel] = None

    @property
    def source_columns(self) -> Tuple[str, ...]:
        """Raw columns the label is computed from (a derived label may read a feature too)."""
        if self.derived:
            return (self.derived.column, self.derived.other_column)
        return (self.column,)

    @property
    def classes_in_column(self) -> bool:
        """Classification whose classes are the column's own values (not computed from others)."""
        return self.task.is_classification and not self.derived

    @property
    def label_only_column(self) -> str:
        """The raw column that exists only in training data, never in a serving request."""
        return self.derived.column if self.derived else self.column


@dataclasses.dataclass(frozen=True)
class Blessing:
    """When the Evaluator blesses a candidate (overall slice). `minimum`/`maximum`: absolute bounds
    per metric name (`metrics.py` names); `max_drop`: how far the main metric may fall behind the
    served model; `naive_margin`: the share of a naive baseline's error (majority class / mean
    predictor on the same eval split) the candidate must remove, a bar that transfers across
    datasets where absolute thresholds do not."""
    minimum: Mapping[str, float] = dataclasses.field(default_factory=dict)
    maximum: Mapping[str, float] = dataclasses.field(default_factory=dict)
    max_drop: float = 0.01
    naive_margin: float = 0.05

    def __post_init__(self):
        # Either would make every push impossible, without a word until the Evaluator's verdict.
        if self.max_drop < 0:
            raise DeclarationError(f"blessing: max_drop (--max-drop) must be >= 0, got {self.max_drop:g}: "
                                   "it is how far the main metric may fall behind the served model")
        if self.naive_margin >= 1:
            raise DeclarationError(f"blessing: naive_margin (--naive-margin) must be below 1, got "
                                   f"{self.naive_margin:g}: a model removes at most all of the naive "
                                   "baseline's error")


def parse_feature(name: str, spec: Any) -> Feature:
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, Mapping) or "kind" not in spec:
        raise DeclarationError(f"feature {name!r}: give a kind, e.g. `{name}: numeric`")
    kinds = ", ".join(k.value for k in Kind)
    try:
        kind = Kind(spec["kind"])
    except ValueError:
        raise DeclarationError(f"feature {name!r}: unknown kind {spec['kind']!r}; one of {kinds}") from None
    check_known(f"feature {name!r}: ", spec, [f.name for f in dataclasses.fields(Feature) if f.name != "name"])
    feature = Feature(**{**spec, "name": name, "kind": kind, "parts": tuple(spec.get("parts") or ())})
    if kind is Kind.DATE:
        _check_date(feature)
    elif feature.parts or feature.unit:
        raise DeclarationError(f"feature {name!r}: `parts` and `unit` are a date's settings, not {kind.value}'s")
    if kind in (Kind.BUCKETIZED, Kind.HASHED) and feature.buckets < 1:
        raise DeclarationError(f"feature {name!r}: {kind.value} needs `buckets` >= 1")
    if feature.uses_vocabulary and feature.vocab_size < 1:
        raise DeclarationError(f"feature {name!r}: {kind.value} needs `vocab_size` >= 1 "
                               "(or `max_value` for integer codes)")
    return feature


def _check_date(feature: Feature) -> None:
    known = ", ".join(calendar.PARTS)
    if not feature.parts or set(feature.parts) - set(calendar.PARTS) or len(set(feature.parts)) < len(feature.parts):
        raise DeclarationError(f"feature {feature.name!r}: a date needs `parts`, some of {known} (each once), "
                               f"e.g. `parts: [hour, weekday]`; got {list(feature.parts)}")
    if feature.unit and feature.unit not in calendar.UNITS:
        raise DeclarationError(f"feature {feature.name!r}: unit {feature.unit!r}: one of {', '.join(calendar.UNITS)} "
                               f"(integers since 1970), or none for dates written {calendar.WRITTEN}")


def parse_label(spec: Mapping[str, Any], task: Task) -> Label:
    if not isinstance(spec, Mapping) or "column" not in spec:
        raise DeclarationError("label: give at least `column`, the CSV column the model predicts")
    check_known("label: ", spec, [f.name for f in dataclasses.fields(Label)])
    derived = None
    if spec.get("derived"):
        d = spec["derived"]
        derived = DerivedLabel(column=d["column"], other_column=d["other_column"],
                               times=float(d["times"]))
        if task is not Task.BINARY:
            raise DeclarationError("label: a derived label is binary; set `task: binary`")
    classes = tuple(str(c) for c in spec.get("classes", ()))
    if task.is_classification and len(classes) < 2:
        raise DeclarationError(f"label: a {task.value} task needs at least two `classes`")
    if task is Task.BINARY and len(classes) != 2:
        raise DeclarationError(f"label: a binary task has two classes, {len(classes)} declared")
    if task is Task.REGRESSION and classes:
        raise DeclarationError("label: a regression task has no classes")
    return Label(column=spec["column"], task=task, classes=classes, derived=derived)


def parse_tuning(raw: Any) -> Dict[str, Any]:
    """The `tuning:` section: known names, each a non-empty list of choices or {min: A, max: B}."""
    if not isinstance(raw, Mapping):
        raise DeclarationError("tuning: give a mapping of hyperparameter -> choices or {min, max}")
    checked: Dict[str, Any] = {}
    for name, value in raw.items():
        if name not in TUNABLE:
            raise DeclarationError(f"tuning: unknown hyperparameter {name!r}; known: {', '.join(TUNABLE)}")
        if isinstance(value, list) and value:
            checked[name] = list(value)
        elif (isinstance(value, Mapping) and set(value) == {"min", "max"}
              and all(isinstance(v, (int, float)) for v in value.values()) and value["min"] < value["max"]):
            checked[name] = dict(value)
        else:
            raise DeclarationError(f"tuning: {name}: give a list of choices or {{min: A, max: B}} "
                                   f"with A < B, got {value!r}")
        values = value if isinstance(value, list) else value.values()
        bad = [p for p in (hyperparameter_values.problem(name, v) for v in values) if p]
        if bad:
            raise DeclarationError(f"tuning: {bad[0]}")
    return checked


def check_known(section: str, raw: Mapping[str, Any], known: Sequence[str]) -> None:
    """A misspelt setting would otherwise be ignored without a word (`slice:` for `slices:`)."""
    unknown = sorted(str(key) for key in set(raw) - set(known))
    if unknown:
        raise DeclarationError(f"{section}unknown setting(s) {', '.join(unknown)}; "
                               f"known: {', '.join(sorted(known))}")
