"""Infra validation before the push, without Docker: the candidate model, with its warmup requests,
must load in a model server in a separate process and answer real eval examples (serving/validation).

Its output is TFX's own InfraBlessing, made the way TFX's InfraValidator makes it with
`make_warmup`: the blessed model (SavedModel + `assets.extra/tf_serving_warmup_requests`) sits in
the blessing's `stamped_model/` and `has_model` is set, so the stock Pusher logic pushes exactly the
model that was validated, warmup included; `blessed` = 0 means nothing is pushed.
"""
import os
from typing import List

import tensorflow as tf
from absl import logging
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils, path_utils

from pipeline import model_choice, run_summary
from serving import validation, warmup

EVAL_SPLIT = "eval"
CHOICE = "choice"
CURRENT_MODEL_ID = "current_model_id"


def serving_examples(examples: standard_artifacts.Examples, count: int, features: List[str]) -> list:
    """The first `count` eval examples as a client sends them: serving `features` only, no label."""
    split_uri = artifact_utils.get_split_uri([examples], EVAL_SPLIT)
    files = sorted(tf.io.gfile.glob(os.path.join(split_uri, "*")))
    sent = set(features)
    serialized = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").take(count):
        example = tf.train.Example.FromString(record.numpy())
        for name in [n for n in example.features.feature if n not in sent]:
            del example.features.feature[name]
        serialized.append(example.SerializeToString(deterministic=True))  # the same bytes each run (map order)
    return serialized


@component
def InfraValidator(  # pylint: disable=invalid-name  (TFX component naming)
    model: InputArtifact[List[standard_artifacts.Model]],
    examples: InputArtifact[standard_artifacts.Examples],
    blessing: OutputArtifact[standard_artifacts.InfraBlessing],
    model_name: Parameter[str],
    serving_features: Parameter[List[str]],
    task: Parameter[str],
    model_blessing: InputArtifact[List[standard_artifacts.ModelBlessing]] = None,
    num_examples: Parameter[int] = 16,
    timeout_seconds: Parameter[int] = 180,
) -> None:
    """`model_blessing`: when the Evaluator blessed no candidate, none can be pushed anyway, so the
    model server is not started (seconds saved on every rejected run)."""
    choice = model_choice.choose(model, model_blessing)
    blessing.set_string_custom_property(CHOICE, choice.reason)
    if choice.model is None:
        _record(blessing, f"{run_summary.NOT_VALIDATED}{choice.reason}")
        return
    blessing.set_int_custom_property(CURRENT_MODEL_ID, choice.model.id)
    serialized = serving_examples(examples, num_examples, serving_features)
    stamped = path_utils.stamped_model_path(blessing.uri)
    io_utils.copy_dir(path_utils.serving_model_path(choice.model.uri), stamped)
    warmup.write(stamped, warmup.requests_for(model_name, serialized, task))
    _record(blessing, validation.check_servable(stamped, model_name, serialized, task,
                                                timeout_seconds))


def _record(blessing: standard_artifacts.InfraBlessing, problem) -> None:
    """TFX's InfraBlessing conventions: marker file, `blessed` and `has_model` properties."""
    blessed = problem is None
    io_utils.write_string_file(
        os.path.join(blessing.uri, "INFRA_BLESSED" if blessed else "INFRA_NOT_BLESSED"), "")
    blessing.set_int_custom_property("blessed", int(blessed))
    blessing.set_int_custom_property("has_model", int(blessed))
    if problem:
        blessing.set_string_custom_property("failure_reason", problem)
        logging.warning("Infra validation: the model will not be pushed: %s", problem)
