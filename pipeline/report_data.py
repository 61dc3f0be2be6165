"""Each feature's distribution beside others, from TFDV's statistics, with the features a check
flagged marked: in a run report this span beside the previous span's (the statistics the data gate
compared); in `monitor`'s report the logged requests beside the training data and the window before.

Numeric features are drawn as cumulative shares at TFDV's quantile boundaries (each span has its own
boundaries, so curves compare where bars could not); categorical ones as the shares of this span's
most frequent values in both spans.
"""
import json
import os
import re
from typing import Dict, List, Optional, Set, Tuple

import tensorflow as tf
import tensorflow_data_validation as tfdv
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2

from pipeline import code_digest, report_charts, run_summary
from schema import distances, report
from schema.csv_files import UNNAMED

SPLIT = "Split-train"
TOP_VALUES = 8


def _statistics_of(store, run_id: str) -> Tuple[Optional[str], Optional[str], Set[str]]:
    """URIs of the statistics the run's DataGate read (this span, previous span) and the features
    its failure names."""
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    for execution in store.get_executions_by_context(run.id):
        if run_summary.node_of(store, execution.id) != "DataGate":
            continue
        events = [e for e in store.get_events_by_execution_ids([execution.id])
                  if e.type == metadata_store_pb2.Event.INPUT]
        by_id = {a.id: a.uri for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
        uris = {e.path.steps[0].key: by_id[e.artifact_id] for e in events}
        reason = execution.custom_properties.get(run_summary.FAILURE_REASON)
        flagged = set(re.findall(r"^- ([^:]+):", reason.string_value, re.M)) if reason else set()
        return uris.get("statistics"), uris.get("previous_statistics"), flagged
    return None, None, set()


def by_feature(statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList]
               ) -> Dict[str, statistics_pb2.FeatureNameStatistics]:
    if statistics is None:
        return {}
    return {f.path.step[0]: f for d in statistics.datasets for f in d.features}


def _load(uri: Optional[str]) -> Dict[str, statistics_pb2.FeatureNameStatistics]:
    path = os.path.join(uri, SPLIT, "FeatureStats.pb") if uri else ""
    if not path or not tf.io.gfile.exists(path):
        return {}
    return by_feature(tfdv.load_stats_binary(path))


def _cumulative(feature: statistics_pb2.FeatureNameStatistics) -> Optional[Tuple[List[float], List[float]]]:
    for histogram in feature.num_stats.histograms:
        if histogram.type == statistics_pb2.Histogram.QUANTILES and histogram.buckets:
            total = sum(b.sample_count for b in histogram.buckets) or 1.0
            xs, ys, seen = [histogram.buckets[0].low_value], [0.0], 0.0
            for bucket in histogram.buckets:
                seen += bucket.sample_count
                xs.append(bucket.high_value)
                ys.append(seen / total)
            return xs, ys
    return None


Series = Tuple[str, Dict[str, statistics_pb2.FeatureNameStatistics]]


def feature_charts(series: List[Series], flagged: Set[str]) -> List[str]:
    """One chart per feature of the first series, with each other series that has the feature."""
    first = series[0][1]
    if not first:
        return []
    out = ["<div class='charts' id='distributions'>"]
    for name in sorted(first):
        present = [(label, features[name]) for label, features in series if name in features]
        if first[name].HasField("num_stats"):
            curves = [(label, _cumulative(f)) for label, f in present]
            curves = [(label, c) for label, c in curves if c]
            if curves:
                out.append(report_charts.cumulative(name or UNNAMED, curves, name in flagged))
        elif first[name].HasField("string_stats"):
            top = list(distances.value_shares(first[name]))[:TOP_VALUES]
            shares = [(label, distances.value_shares(f)) for label, f in present]
            bars = [(label, top, [of.get(v, 0.0) for v in top]) for label, of in shares]
            if top:
                out.append(report_charts.distribution(name or UNNAMED, bars, name in flagged))
    return out + ["</div>"]


def distributions(store, run_id: str, cache_path: Optional[str] = None) -> List[str]:
    """The run's span beside the previous span, as its data gate compared them.

    Drawing takes seconds (a matplotlib chart per feature), most of an unchanged re-run's report,
    and such a re-run compares the same statistics: with `cache_path`, the charts last drawn are
    kept there and reused while the statistics (artifacts, never rewritten, named by their URIs),
    the flagged features and the drawing code are the same."""
    current_uri, previous_uri, flagged = _statistics_of(store, run_id)
    key = [current_uri, previous_uri, sorted(flagged), code_digest.code_digest(f"{__name__}.feature_charts")]
    if cache_path and tf.io.gfile.exists(cache_path):
        with tf.io.gfile.GFile(cache_path) as f:
            cached = json.load(f)
        if cached["key"] == key:
            return cached["charts"]
    charts = feature_charts([("this span", _load(current_uri)), ("previous span", _load(previous_uri))],
                            flagged)
    if cache_path:
        report.write_atomically(cache_path, json.dumps({"key": key, "charts": charts}))
    return charts
