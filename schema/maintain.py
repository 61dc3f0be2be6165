"""Schema maintenance: what new data would change in the curated schema, in plain words.

TFDV's `update_schema` relaxes the curated schema just enough to accept the new statistics (new
values in a domain, wider ranges, lower presence); everything curated by hand is kept. Nothing is
written unless asked to.

What no schema change should accept is told apart: TFDV deprecates a column whose data changed type
(a text cell among numbers), and a deprecated column is one that TFDV checks no longer and Transform
does not read, so the run would fail later on a KeyError. Such a column keeps its curated form here
and the data is to be corrected; the gate's own checks, run against the proposed schema, say what.
"""
import dataclasses
from typing import Dict, List, Optional, Tuple

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from schema import calibration, checks, descriptions, distances, schema_text

# Lifecycle stages with which tfx_bsl leaves a column out of what Transform and the model read
# (tfx_bsl.tfxio.tensor_representation_util._DISQUALIFYING_LIFECYCLE_STAGES).
UNREAD_STAGES = (schema_pb2.DEPRECATED, schema_pb2.DISABLED, schema_pb2.PLANNED, schema_pb2.ALPHA,
                 schema_pb2.DEBUG_ONLY, schema_pb2.VALIDATION_DERIVED)


# Values a column's statistics list (TFDV's rank histogram, 1000 by default, the most common first):
# a new span of names (restaurants) brings more new values than that, and a schema updated from the
# first 1000 would leave the rest unknown, and say nothing of them after `--write`
EVERY_VALUE = 100_000


def is_unread(feature: schema_pb2.Feature) -> bool:
    return feature.deprecated or feature.lifecycle_stage in UNREAD_STAGES


def updated(curated: schema_pb2.Schema,
            statistics: statistics_pb2.DatasetFeatureStatisticsList) -> schema_pb2.Schema:
    """`curated`, relaxed to accept `statistics`. New values of a column that tolerates some
    (`min_domain_mass` below 1: the gate lets them pass unsaid) are added too, so `schema-diff` tells
    them; the tolerance itself is kept. A column TFDV would deprecate keeps its curated form, the
    label its presence (every training row needs one), a column of categories its least number of
    distinct values (one value in every row is a broken export, not a change to accept)."""
    strict = schema_pb2.Schema()
    strict.CopyFrom(curated)
    for feature in strict.feature:
        feature.ClearField("distribution_constraints")
    result = tfdv.update_schema(strict, statistics)
    tolerances = {f.name: f.distribution_constraints for f in curated.feature
                  if f.HasField("distribution_constraints")}
    kept = {f.name: f for f in curated.feature}
    for feature in result.feature:
        if feature.name in kept and is_unread(feature) and not is_unread(kept[feature.name]):
            feature.CopyFrom(kept[feature.name])
            continue
        if feature.name in tolerances:
            feature.distribution_constraints.CopyFrom(tolerances[feature.name])
        if checks.is_training_only(kept.get(feature.name)):
            feature.presence.CopyFrom(kept[feature.name].presence)
        elif feature.name in kept and feature.presence.min_fraction < kept[feature.name].presence.min_fraction:
            # TFDV lowers it to the share seen in the whole file; the gate checks each split, whose
            # shares scatter around it: less a tenth, as `calibrate`'s smallest margin
            feature.presence.min_fraction *= 1 - calibration.PRESENCE_SLACK
        if feature.name in kept and kept[feature.name].HasField("unique_constraints"):
            feature.unique_constraints.CopyFrom(kept[feature.name].unique_constraints)
    return result


@dataclasses.dataclass(frozen=True)
class Proposal:
    schema: schema_pb2.Schema  # the curated schema, relaxed to accept the data
    changes: List[str]  # from the curated schema to `schema`, in words
    refused: List[checks.Finding]  # what the data would still fail: to correct in the data


def propose(curated: schema_pb2.Schema,
            statistics: statistics_pb2.DatasetFeatureStatisticsList) -> Proposal:
    """What accepting `statistics` would change in `curated`, and what no change accepts: the gate's
    checks against the proposed schema, and new values that are known ones written differently."""
    proposed = updated(curated, statistics)
    return Proposal(proposed, differences(curated, proposed),
                    checks.check_statistics(statistics, proposed) + written_differently(curated, proposed))


WRITTEN_DIFFERENTLY = "Known value written differently"


def written_differently(old: schema_pb2.Schema, new: schema_pb2.Schema) -> List[checks.Finding]:
    """Values `new` adds to a column's domain that are one `old` lists but for case or punctuation
    (`morris` for `Morris`), which the gate's report already calls values to correct: accepted, the
    model would take each for a category it never saw. Not a word's start (`M` for `Male`, which the
    report names too): a new code may be one (`A` beside `AA`)."""
    found = []
    before = {f.name: f for f in old.feature}
    for feature in (f for f in new.feature if f.name in before):
        values = descriptions.domain_values(old, before[feature.name])
        listed = set(values)  # up to EVERY_VALUE of them: looked up, not scanned
        known = {descriptions.loose_key(value): value for value in values}
        near = [(value, known[key]) for value in descriptions.domain_values(new, feature) if value not in listed
                for key in [descriptions.loose_key(value)] if key in known]
        if near:
            found.append(checks.Finding(
                feature.name, WRITTEN_DIFFERENTLY,
                ", ".join(f"'{v}' for '{k}'" for v, k in near)
                + ". To a model each is a category it never saw: correct the data rather than accept them.",
                "the values as the schema lists them", f"{len(near)} value(s) written differently"))
    return found


def _range(feature: schema_pb2.Feature) -> str:
    return descriptions.range_text(feature) or ""


def differences(old: schema_pb2.Schema, new: schema_pb2.Schema) -> List[str]:
    """One sentence per change from `old` to `new`."""
    changes = []
    if distances.quantile_buckets(old) != distances.quantile_buckets(new):
        changes.append(f"numeric columns are compared over quantile histograms of {distances.quantile_buckets(new)} "
                       f"buckets (was {distances.quantile_buckets(old)}), as their thresholds are calibrated")
    old_features = {f.name: f for f in old.feature}
    new_features = {f.name: f for f in new.feature}
    for name in sorted(set(new_features) - set(old_features)):
        kind = schema_pb2.FeatureType.Name(new_features[name].type)
        changes.append(f"new column '{name}' ({kind})")
    for name in sorted(set(old_features) - set(new_features)):
        changes.append(f"column '{name}' would be removed")
    for name in sorted(set(old_features) & set(new_features)):
        before, after = old_features[name], new_features[name]
        if before.type != after.type:
            changes.append(f"'{name}' changes type from {schema_pb2.FeatureType.Name(before.type)} "
                           f"to {schema_pb2.FeatureType.Name(after.type)}")
        added = [v for v in descriptions.domain_values(new, after) if v not in set(descriptions.domain_values(old, before))]
        if added:
            shown = ", ".join(repr(v) for v in added[:10])
            changes.append(f"'{name}' accepts {len(added)} new value(s): {shown}")
        if _range(before) != _range(after):  # wider (schema-diff), or drafted (calibrate)
            changes.append(f"'{name}' range widens from {_range(before)} to {_range(after)}"
                           if _range(before) else f"'{name}' gets the range {_range(after)}")
        if before.HasField("int_domain") and after.int_domain.is_categorical != before.int_domain.is_categorical:
            changes.append(f"'{name}' is compared by its values' shares, not by quantiles"
                           if after.int_domain.is_categorical else
                           f"'{name}' is compared by quantiles, not by its values' shares")
        for kind, against in (("drift_comparator", "previous span"), ("skew_comparator", "training")):
            old_limit = distances.threshold_of(getattr(before, kind))
            new_limit = distances.threshold_of(getattr(after, kind))
            if old_limit != new_limit:
                measure = distances.measure(getattr(before if new_limit is None else after, kind))
                now = "unchecked" if new_limit is None else f"at most {new_limit:g}"
                changes.append(f"'{name}' {measure} vs {against}: {now} "
                               f"(was {'unchecked' if old_limit is None else f'{old_limit:g}'})")
        if before.presence.min_fraction != after.presence.min_fraction:
            changes.append(f"'{name}' must be present in {after.presence.min_fraction:.0%} of rows "
                           f"instead of {before.presence.min_fraction:.0%}")
    return changes


COMPARATORS = (("drift", "drift_comparator", "drift vs previous span"), ("skew", "skew_comparator", "skew vs training"))


@dataclasses.dataclass(frozen=True)
class HandEdits:
    schema: schema_pb2.Schema  # the proposed schema with the comparators set by hand put back
    kept: Dict[Tuple[str, str], Optional[float]]  # (feature, "drift"/"skew") -> its threshold by hand
    said: List[str]  # one sentence per comparator kept, with the calibrated value


def keep_hand_edits(curated: schema_pb2.Schema, proposed: schema_pb2.Schema,
                    calibrated: Dict[str, Tuple[schema_text.Recorded, schema_text.Recorded]]) -> HandEdits:
    """`proposed` with the comparators of `curated` set by hand put back: those that differ from
    what its last calibration recorded (`calibrated`, `schema_text.calibrated_thresholds`), or that
    it recorded as kept by hand already. A threshold raised, or a comparator removed, as the gate
    advises for a column that moves by design, is a decision a new calibration must not undo; the
    calibration comment marks it so that the next one keeps it too. A column that calibration
    never measured (added since, or only ever in TFDV's inference) is not an edit."""
    result = schema_pb2.Schema()
    result.CopyFrom(proposed)
    before = {f.name: f for f in curated.feature}
    kept, said = {}, []
    for feature in (f for f in result.feature if f.name in calibrated and f.name in before):
        for (check, field, what), recorded in zip(COMPARATORS, calibrated[feature.name]):
            edited = getattr(before[feature.name], field)
            now, calibrated_now = distances.threshold_of(edited), distances.threshold_of(getattr(feature, field))
            if recorded != schema_text.BY_HAND and _same(now, recorded):
                continue  # as the last calibration set it
            if now is None:
                feature.ClearField(field)
            else:
                getattr(feature, field).CopyFrom(edited)
            kept[(feature.name, check)] = now
            said.append(f"'{feature.name}' {what}: {'unchecked' if now is None else f'at most {now:g}'} "
                        f"(calibrated: {'unchecked' if calibrated_now is None else f'{calibrated_now:g}'})")
    return HandEdits(result, kept, said)


def _same(threshold: Optional[float], other: Optional[float]) -> bool:
    """Equal as the calibration comment writes thresholds (3 decimals), or both unchecked."""
    return (threshold is None) == (other is None) and (threshold is None or abs(threshold - other) < 5e-4)
