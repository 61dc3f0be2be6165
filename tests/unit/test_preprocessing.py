"""preprocessing_fn run through TFT's real Beam implementation on a sample of the bundled data."""
import dataclasses
import functools
import math

import numpy as np
import pytest
import tensorflow_data_validation as tfdv
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from models import preprocessing
from models.dataset import LABEL_KEY, Feature, Kind
from tests.conftest import TAXI, TAXI_SCHEMA

SAMPLE_ROWS = 3000
FEATURES = {f.name: f for f in TAXI.features}


def _instances(frame):
    """DataFrame rows -> TFT instance dicts; a missing value is an empty list (VarLen feature)."""
    rows = []
    for record in frame.to_dict("records"):
        row = {}
        for name, value in record.items():
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            row[name] = [] if missing else [value.encode() if isinstance(value, str) else value]
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def raw_metadata():
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    return dataset_metadata.DatasetMetadata(curated)


@pytest.fixture(scope="module")
def sample(taxi_frame):
    frame = taxi_frame.sample(SAMPLE_ROWS, random_state=7).reset_index(drop=True)
    spec = schema_utils.schema_as_feature_spec(tfdv.load_schema_text(TAXI_SCHEMA)).feature_spec
    for name in frame.columns:  # CSV ints with gaps come back as floats; the schema says INT
        if spec[name].dtype.is_integer:
            frame[name] = frame[name].astype("Int64").astype(object).where(frame[name].notna(), None)
    return frame


@pytest.fixture(scope="module")
def transformed(sample, raw_metadata, tmp_path_factory):
    """(transformed rows as dict of arrays, TFTransformOutput, transform_fn)."""
    out = tmp_path_factory.mktemp("tft")
    with tft_beam.Context(temp_dir=str(out / "tmp"), force_tf_compat_v1=False):
        (rows, _), transform_fn = (
            _instances(sample),
            raw_metadata,
        ) | tft_beam.AnalyzeAndTransformDataset(functools.partial(
            preprocessing.preprocessing_fn, custom_config={"dataset": TAXI.to_config()}))
        _ = transform_fn | tft_beam.WriteTransformFn(str(out / "fn"))
    columns = {key: np.array([r[key] for r in rows]) for key in rows[0]}
    return columns, tft.TFTransformOutput(str(out / "fn")), transform_fn


def test_a_missing_number_is_the_mean_once_scaled_zero(sample, transformed):
    columns, _, _ = transformed
    present = sample["trip_seconds"].notna().to_numpy()
    assert not present.all(), "the sample has trips without a duration"
    values = columns[FEATURES["trip_seconds"].transformed_name].ravel()
    assert np.all(values[~present] == 0.0) and np.all(values[present] != 0.0)


def test_each_numeric_feature_is_scaled_by_its_own_mean_and_deviation(sample, transformed):
    """All numeric columns share one analyzer: each must still get its own column's figures, each
    value its z-score, kept within Z_SCORE_LIMIT (the taxi sample's longest trips are cut)."""
    columns, _, _ = transformed
    numeric = [f.name for f in TAXI.features if f.kind is Kind.NUMERIC]
    assert len(numeric) >= 3
    for name in numeric:
        present = sample[name].notna().to_numpy()
        raw = sample[name][present].astype(float).to_numpy()
        limit = preprocessing.Z_SCORE_LIMIT
        expected = np.clip((raw - raw.mean()) / raw.std(), -limit, limit)
        values = columns[FEATURES[name].transformed_name].ravel()[present]
        np.testing.assert_allclose(values, expected, rtol=1e-4, atol=1e-4, err_msg=name)


def test_vocabulary_holds_the_most_frequent_values_first(sample, transformed):
    columns, output, _ = transformed
    vocabulary = output.vocabulary_by_name(FEATURES["payment_type"].transformed_name)
    top_two = sample["payment_type"].value_counts().index[:2]
    assert [v.decode() for v in vocabulary[:2]] == list(top_two) == ["Cash", "Credit Card"]
    ids = columns["payment_type_xf"].ravel()
    assert np.all(ids[(sample["payment_type"] == "Cash").to_numpy()] == 0)


def test_missing_categorical_and_bucketized_values_map_to_missing_id(sample, transformed):
    columns, _, _ = transformed
    for name in ("company", "dropoff_community_area", "dropoff_latitude"):
        missing = sample[name].isna().to_numpy()
        assert missing.any(), f"sample has no missing {name}"
        ids = columns[FEATURES[name].transformed_name].ravel()
        assert np.all(ids[missing] == FEATURES[name].missing_id), name
        assert np.all(ids[~missing] < FEATURES[name].missing_id), name


def test_bucketized_coordinates_use_all_buckets(transformed):
    columns, _, _ = transformed
    ids = columns["pickup_latitude_xf"].ravel()
    present = ids[ids != FEATURES["pickup_latitude"].missing_id]
    assert set(present.tolist()) == set(range(FEATURES["pickup_latitude"].buckets))


def test_integer_codes_with_declared_range_are_their_own_id(sample, transformed):
    columns, _, _ = transformed
    hours = columns["trip_start_hour_xf"].ravel()
    assert np.array_equal(hours, sample["trip_start_hour"].astype(int).to_numpy())


def test_a_number_far_outside_the_training_data_reads_as_a_few_deviations_not_thousands(
        sample, raw_metadata, transformed):
    """A typo (a fare of a million) must not drive the model's linear part far past every answer it
    learned: it is read as Z_SCORE_LIMIT deviations above the mean, a negative one as that below."""
    _, output, transform_fn = transformed
    typos = sample.head(2).copy()
    typos["fare"] = [1e6, -1e6]
    with tft_beam.Context(temp_dir=str(output.transform_savedmodel_dir) + "_typos"):
        rows, _ = ((_instances(typos), raw_metadata), transform_fn) | tft_beam.TransformDataset()
    limit = preprocessing.Z_SCORE_LIMIT
    assert [float(np.ravel(r["fare_xf"])[0]) for r in rows] == [limit, -limit]


def test_unseen_category_goes_to_an_oov_bucket(sample, raw_metadata, transformed):
    _, output, transform_fn = transformed
    unseen = sample.head(3).copy()
    unseen["payment_type"] = "Bitcoin"
    unseen["trip_start_hour"] = 99
    with tft_beam.Context(temp_dir=str(output.transform_savedmodel_dir) + "_tmp"):
        rows, _ = ((_instances(unseen), raw_metadata), transform_fn) | tft_beam.TransformDataset()
    vocabulary_size = len(output.vocabulary_by_name(FEATURES["payment_type"].transformed_name))
    oov = range(vocabulary_size, vocabulary_size + FEATURES["payment_type"].oov_buckets)
    assert all(int(np.ravel(r["payment_type_xf"])[0]) in oov for r in rows)
    hour = FEATURES["trip_start_hour"]
    assert all(int(np.ravel(r["trip_start_hour_xf"])[0]) == hour.oov_id for r in rows)


def test_label_matches_the_big_tipper_rule(sample, transformed):
    columns, _, _ = transformed
    tips, fare = (sample[c].to_numpy(np.float32) for c in ("tips", "fare"))  # the graph's precision
    expected = (tips > np.float32(0.2) * fare).astype(int)
    assert np.array_equal(columns[LABEL_KEY].ravel(), expected)
    assert 0.2 < expected.mean() < 0.8  # both classes are present


def test_a_dates_calendar_parts_are_the_ones_the_taxi_data_writes_beside_it(sample, raw_metadata, tmp_path):
    """The taxi trips' start timestamps declared a date (seconds since 1970): the graph's hour,
    weekday and month of each are the trip_start_hour, _day (Sunday 1) and _month the data carries."""
    dated = dataclasses.replace(TAXI, features=TAXI.features + (Feature(
        "trip_start_timestamp", Kind.DATE, parts=("hour", "weekday", "month"), unit="seconds"),))
    head = sample.head(500)
    with tft_beam.Context(temp_dir=str(tmp_path), force_tf_compat_v1=False):
        (rows, _), _ = (_instances(head), raw_metadata) | tft_beam.AnalyzeAndTransformDataset(functools.partial(
            preprocessing.preprocessing_fn, custom_config={"dataset": dated.to_config()}))
    parts = {key: np.array([np.ravel(r[key])[0] for r in rows]) for key in
             ("trip_start_timestamp_hour_xf", "trip_start_timestamp_weekday_xf", "trip_start_timestamp_month_xf")}
    assert np.array_equal(parts["trip_start_timestamp_hour_xf"], head["trip_start_hour"].astype(int))
    assert np.array_equal(parts["trip_start_timestamp_weekday_xf"], (head["trip_start_day"].astype(int) + 5) % 7)
    assert np.array_equal(parts["trip_start_timestamp_month_xf"], head["trip_start_month"].astype(int) - 1)
    assert len(set(parts["trip_start_timestamp_weekday_xf"])) == 7  # every weekday: no constant passes
