"""The one declaration of the dataset: its features, how each is encoded, and the label.

`preprocessing_fn`, the Keras model's inputs and the serving signature are all derived from FEATURES and
LABEL. A new CSV dataset needs this file and its curated schema (`schema/schema.pbtxt`), nothing else.
"""
import dataclasses
import enum
from typing import Mapping, Optional, Tuple

import tensorflow as tf


class Kind(enum.Enum):
    NUMERIC = "numeric"  # z-scored; missing -> 0 (the mean)
    CATEGORICAL_STRING = "categorical_string"  # vocabulary of the top values + OOV buckets
    # Integer codes: identity ids when the range [0, max_value] is declared (no analyzer pass over the
    # data, out-of-range values get one OOV id), else a vocabulary like strings (census tracts).
    CATEGORICAL_INT = "categorical_int"
    BUCKETIZED = "bucketized"  # quantile buckets of a continuous value (coordinates)


CATEGORICAL_KINDS = (Kind.CATEGORICAL_STRING, Kind.CATEGORICAL_INT)


@dataclasses.dataclass(frozen=True)
class Feature:
    name: str
    kind: Kind
    vocab_size: int = 0  # categorical: most frequent values kept in the vocabulary
    oov_buckets: int = 0  # categorical: hash buckets for values outside the vocabulary
    buckets: int = 0  # bucketized: number of quantile buckets
    max_value: Optional[int] = None  # categorical int: declared range [0, max_value] -> identity ids

    @property
    def transformed_name(self) -> str:
        return f"{self.name}_xf"

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
    def cardinality(self) -> int:
        """Number of distinct ids the transformed feature can take, the missing-value id included."""
        if self.kind is Kind.CATEGORICAL_INT and self.max_value is not None:
            return self.max_value + 3  # 0..max_value, the OOV id, the missing id
        if self.kind in CATEGORICAL_KINDS:
            return self.vocab_size + self.oov_buckets + 1
        if self.kind is Kind.BUCKETIZED:
            return self.buckets + 1
        return 0

    @property
    def missing_id(self) -> int:
        """Id reserved for a missing value: the last one, after the vocabulary, OOV buckets or buckets."""
        if self.is_numeric:
            raise ValueError(f"numeric feature {self.name!r} has no missing id (missing -> 0.0)")
        return self.cardinality - 1


@dataclasses.dataclass(frozen=True)
class Label:
    name: str  # name of the transformed label the model learns
    source_columns: Tuple[str, ...]  # raw columns the label is computed from
    classes: Tuple[str, ...]  # class names, index = label value


FEATURES: Tuple[Feature, ...] = (
    Feature("fare", Kind.NUMERIC),
    Feature("trip_miles", Kind.NUMERIC),
    Feature("trip_seconds", Kind.NUMERIC),
    Feature("pickup_latitude", Kind.BUCKETIZED, buckets=10),
    Feature("pickup_longitude", Kind.BUCKETIZED, buckets=10),
    Feature("dropoff_latitude", Kind.BUCKETIZED, buckets=10),
    Feature("dropoff_longitude", Kind.BUCKETIZED, buckets=10),
    Feature("trip_start_hour", Kind.CATEGORICAL_INT, max_value=23),
    Feature("trip_start_day", Kind.CATEGORICAL_INT, max_value=7),
    Feature("trip_start_month", Kind.CATEGORICAL_INT, max_value=12),
    Feature("pickup_community_area", Kind.CATEGORICAL_INT, max_value=77),
    Feature("dropoff_community_area", Kind.CATEGORICAL_INT, max_value=77),
    # pickup_census_tract is not a feature: 1 of the sample's 15,002 rows has a value.
    Feature("dropoff_census_tract", Kind.CATEGORICAL_INT, vocab_size=200, oov_buckets=10),
    Feature("payment_type", Kind.CATEGORICAL_STRING, vocab_size=10, oov_buckets=2),
    Feature("company", Kind.CATEGORICAL_STRING, vocab_size=100, oov_buckets=10),
)

# "Big tipper": the tip is more than 20 % of the fare (TFX's Chicago taxi task).
LABEL = Label(name="big_tipper", source_columns=("tips", "fare"), classes=("0", "1"))


def compute_label(raw: Mapping[str, tf.Tensor]) -> tf.Tensor:
    """Label from dense raw columns where missing values are NaN: a missing tip or fare is not big."""
    return tf.cast(tf.greater(raw["tips"], 0.2 * raw["fare"]), tf.int64)


def feature_names() -> Tuple[str, ...]:
    """Raw columns a client sends at serving time: the features, not the label's own columns."""
    return tuple(f.name for f in FEATURES)
