"""The curated schema `tfxpipe init` drafts from TFDV's inferred one: the label required in training
and absent in serving, every other column optional (a feature with a calibrated minimum share of
values, which tolerates a few gaps), vocabularies
loosened to tolerate a few new values, integer codes, classes and integer numbers of few values
compared by value shares, time columns bounded to plausible dates, and columns that must never hold
a single value marked so."""
import collections
import math
from typing import Dict, List, Sequence

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

import schema as schema_package
from schema.columns import EPOCH, MAX_VOCAB, TIME_UNITS, is_year, time_unit
from schema.distances import is_categorical

DOMAIN_MASS = 0.9  # new categories tolerated up to 10 % of a column's values
NO_LIMIT = 2**31 - 1  # unique_constraints' max: TFDV reads an unset one as 0
ONE_IN_A_MILLION = 1e-6


def never_one_value(cells: Dict[str, collections.Counter], columns: List[str], rows: int) -> List[str]:
    """Of `columns`, those whose every row in a split of a span (half the data, as `calibrate`
    assumes; its eval split the smallest part the gate checks) holding one value would be a
    one-in-a-million draw: for them one value is a broken export."""
    split_rows = rows / 2 * (1 - schema_package.TRAIN_SHARE)
    found = []
    for column in columns:
        counted = cells[column]
        values = sum(counted.values())  # a sparse column's split holds fewer values than rows
        top = counted.most_common(1)[0][1] / values if counted else 1.0
        if top < 1 and split_rows * values / rows * math.log(top) < math.log(ONE_IN_A_MILLION):
            found.append(column)
    return found


def curated_schema(statistics, label: str, classes: List[str], features: Dict[str, dict],
                   several_values: Sequence[str] = (), few_values: Sequence[str] = ()) -> schema_pb2.Schema:
    """TFDV's schema of `statistics`, curated as the module says; `several_values`: columns that
    must never hold one value in every row; `few_values`: integer numbers compared by value shares
    (`schema.columns.compared_by_shares`)."""
    schema = tfdv.infer_schema(statistics, max_string_domain_size=MAX_VOCAB, infer_feature_shape=False)
    schema.default_environment[:] = ["TRAINING", "SERVING"]
    by_name = {s.path.step[0]: s for s in statistics.datasets[0].features}
    for feature in schema.feature:
        spec = features.get(feature.name, {})
        if feature.name == label:
            feature.not_in_environment.append("SERVING")
            feature.presence.min_fraction, feature.presence.min_count = 1.0, 1
        else:
            # a few gaps pass, in a column without any here too: a draft of a few hundred rows has
            # none where the same data's next span has one (calibration sets a feature's minimum
            # share of values); a column the model does not read may be left out
            feature.ClearField("presence")
            feature.presence.min_fraction = 0.0
            feature.value_count.ClearField("min")
            feature.value_count.max = 1
        if spec.get("kind") == "categorical_string" and feature.HasField("bool_domain"):
            # TRUE/FALSE as R writes booleans: TFDV's bool_domain, made the string domain every other
            # category has, so the gate, `score` and `predict` name other spellings (True, yes) alike
            values = [v for v in (feature.bool_domain.true_value, feature.bool_domain.false_value) if v]
            feature.ClearField("domain_info")
            schema.string_domain.add(name=feature.name).value.extend(values)
            feature.domain = feature.name
            feature.distribution_constraints.min_domain_mass = DOMAIN_MASS
        elif spec.get("kind") == "categorical_string" and feature.domain:  # TFDV's domain, loosened
            feature.distribution_constraints.min_domain_mass = DOMAIN_MASS
        elif spec.get("kind") == "categorical_int":  # codes 0..max_value, compared as categories
            feature.ClearField("domain_info")
            feature.int_domain.min, feature.int_domain.max = 0, spec["max_value"]
            feature.int_domain.is_categorical = True
        elif feature.name == label and classes:  # the classes are the label's domain, nothing else
            feature.ClearField("domain_info")
            if feature.type == schema_pb2.BYTES:
                domain = next((d for d in schema.string_domain if d.name == label), None) or \
                    schema.string_domain.add(name=label)
                domain.ClearField("value")
                domain.value.extend(classes)
                feature.domain = label
            else:  # whole numbers (0.0/1.0 read as 0/1): a fraction is then a type change the gate refuses
                feature.type = schema_pb2.INT
                feature.int_domain.min, feature.int_domain.max = int(classes[0]), int(classes[-1])
                feature.int_domain.is_categorical = True  # classes: drift compares their shares
        else:  # numbers: no hard range; hashed and excluded strings: new values pass
            feature.ClearField("domain_info")
            if feature.name in few_values and feature.type == schema_pb2.INT:
                feature.int_domain.is_categorical = True
        if feature.name in features and is_year(feature.name, by_name[feature.name]):
            domain = feature.int_domain if feature.type == schema_pb2.INT else feature.float_domain
            domain.min, domain.max = schema_package.calendar_years(by_name[feature.name].num_stats.min)
        unit = feature.name != label and time_unit(by_name[feature.name])
        if unit:
            feature.int_domain.min, feature.int_domain.max = (t * TIME_UNITS[unit] for t in EPOCH)
        # one value in every row is refused whatever drift can tell; TFDV counts distinct values of
        # categorical columns only (strings, and integers marked is_categorical)
        if feature.name in several_values and is_categorical(feature):
            feature.unique_constraints.min, feature.unique_constraints.max = 2, NO_LIMIT
    kept = [d for d in schema.string_domain if d.name in {f.domain for f in schema.feature}]
    del schema.string_domain[:]
    schema.string_domain.extend(kept)
    return schema
