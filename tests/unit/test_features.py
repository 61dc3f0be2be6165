import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv

import schema
from models import features
from models.features import Feature, Kind
from tests.conftest import TAXI_CSV


def test_ids_are_derived_from_the_declaration():
    hour = Feature("h", Kind.CATEGORICAL_INT, vocab_size=24, oov_buckets=2)
    assert hour.cardinality == 27
    assert hour.missing_id == 26  # after 24 vocabulary ids and 2 OOV buckets
    month = Feature("m", Kind.CATEGORICAL_INT, max_value=12)
    assert not month.uses_vocabulary
    assert (month.oov_id, month.missing_id, month.cardinality) == (13, 14, 15)
    lat = Feature("lat", Kind.BUCKETIZED, buckets=10)
    assert (lat.cardinality, lat.missing_id) == (11, 10)
    with pytest.raises(ValueError, match="numeric feature 'x'"):
        Feature("x", Kind.NUMERIC).missing_id


def test_label_is_big_tip_and_missing_values_are_not_big():
    nan = math.nan
    raw = {
        "tips": tf.constant([[3.0], [1.0], [nan], [1.0], [0.0]]),
        "fare": tf.constant([[10.0], [10.0], [10.0], [nan], [0.0]]),
    }
    assert features.compute_label(raw).numpy().ravel().tolist() == [1, 0, 0, 0, 0]


def test_curated_schema_declares_every_feature_and_label_column():
    curated = tfdv.load_schema_text(schema.SCHEMA_FILE)
    declared = set(features.feature_names()) | set(features.LABEL.source_columns)
    assert declared <= {f.name for f in curated.feature}


def test_label_columns_are_absent_from_serving_environment():
    curated = tfdv.load_schema_text(schema.SCHEMA_FILE)
    serving_only = set(features.LABEL.source_columns) - set(features.feature_names())
    for feature in curated.feature:
        if feature.name in serving_only:
            assert "SERVING" in feature.not_in_environment


def test_bundled_data_meets_the_curated_schema(taxi_frame):
    stats = tfdv.generate_statistics_from_csv(TAXI_CSV)
    anomalies = tfdv.validate_statistics(
        stats, tfdv.load_schema_text(schema.SCHEMA_FILE), environment="TRAINING"
    )
    assert dict(anomalies.anomaly_info) == {}
    assert np.isnan(taxi_frame["pickup_census_tract"]).sum() > 0  # missing values are real here
