"""TFX Trainer's `run_fn`: trains one model family (`models/families.py`) on Transform's output
and exports it with the serving signatures.

Hyperparameters, lowest precedence first: the families' defaults, the Tuner's best ones (this run's
Tuner, or the last one of the dataset: `fn_args.hyperparameters`), the run's `--hparams`.

The model is Keras 2 (`tf_keras`): TFT's transform layer and TFMA are Keras 2 in TFX 1.16, and mixing
them with the Keras 3 that TF 2.16 installs is what breaks TFX 1.16's own Keras examples at Trainer.

AutoGraph: TensorFlow never converts the `keras` package (its code is graph-ready), but Keras 2 now
ships as `tf_keras`, which AutoGraph does not know, so it re-transpiles hundreds of Keras internals on
the first `fit` (many times the training itself on small data). Registering `tf_keras` as
not-to-convert restores what Keras 2 always had; TF has no public API for a package-wide rule.
"""
import functools
import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging as absl_logging
from tfx.components.trainer.fn_args_utils import FnArgs
from tensorflow.python.autograph.core import config as _autograph_config

from models import families, signatures, training_length, tuning
from models.dataset import LABEL_KEY, Dataset, Task

DEFAULT_HYPERPARAMETERS = families.DEFAULT_HYPERPARAMETERS
if not any(rule.matches("tf_keras") for rule in _autograph_config.CONVERSION_RULES):
    _autograph_config.CONVERSION_RULES = (
        _autograph_config.DoNotConvert("tf_keras"),
    ) + _autograph_config.CONVERSION_RULES

# Training runs as this many epochs of train_steps / CHECKPOINTS steps, each followed by a pass over
# the held-out part of the train split: training stops when that loss has not improved for PATIENCE
# passes, and the best weights are kept. Without it, small datasets (a few hundred rows) are overfit
# long before the declared steps are done and score worse than the naive baseline.
CHECKPOINTS = 10
PATIENCE = 3
# Every HOLDOUT-th example of the train split (by its place in Transform's output) is held out of
# fitting: early stopping and the Tuner's objective are measured on it, never on the eval split.
# The Evaluator blesses on the eval split, and weights or hyperparameters picked by their score on
# it would score better there than on new data (picked, among several, for that very sample). A
# fifth, not less: on a few hundred rows a smaller part's loss is too noisy to stop by (diabetes'
# 442 rows: RMSE 75.7 on the eval split, worse than the mean, with a tenth held out; 59.4 with a fifth).
HOLDOUT = 5
SHUFFLE_BUFFER = 10_000  # examples (tfxio's default, which this replaces)
# Batches read to adapt the regression head to the label's mean and spread.
LABEL_SCALE_BATCHES = 200
FITTED, HELD_OUT = "fitted", "held_out"
# Written beside the exported SavedModel (in the Model artifact, next to `Format-Serving`): the kept
# weights' loss on the held-out part, by which `pipeline/model_choice.py` picks among the blessed
# candidates of several families without using the eval split they were blessed on.
HELD_OUT_LOSS_FILE = "held_out_loss.json"


def make_dataset(file_patterns: List[str], tf_transform_output: tft.TFTransformOutput, batch_size: int,
                 part: str, pass_examples: Optional[int] = None) -> tf.data.Dataset:
    """Endless batches of (transformed features, label) of Transform's output of the train split:
    its FITTED part, shuffled, or its HELD_OUT one (at most its first `pass_examples`: what one
    validation pass reads). Records are read in file order and counted so that the parts never share
    an example, whatever the epoch; tfxio's dataset factory, which TFX's examples use, hands out
    parsed batches, too late to tell examples apart."""
    files = tf.data.Dataset.list_files(file_patterns, shuffle=False)
    records = tf.data.TFRecordDataset(files, compression_type="GZIP").enumerate()
    held = part == HELD_OUT
    records = records.filter(lambda i, _: tf.equal(i % HOLDOUT, 0) if held else tf.not_equal(i % HOLDOUT, 0))
    records = records.map(lambda _, record: record)
    # Held out: what a validation pass reads (every pass reads the same first examples) is kept in
    # memory, serialized, once read, as each pass would otherwise read and drop the other four fifths
    # again (taxi: Trainer 13.0 s without, 9.2 s with, 8.6 s before the split). Fitted: shuffled.
    if held:
        records = (records.take(pass_examples) if pass_examples else records).cache()
    else:
        records = records.shuffle(SHUFFLE_BUFFER, seed=tuning.SEED)
    spec = tf_transform_output.transformed_feature_spec()

    def parsed(batch):
        features = tf.io.parse_example(batch, spec)
        return features, features.pop(LABEL_KEY)
    return records.repeat().batch(batch_size).map(parsed, num_parallel_calls=tf.data.AUTOTUNE) \
        .prefetch(tf.data.AUTOTUNE)


def label_scale(train: tf.data.Dataset) -> keras.layers.Layer:
    """Keras' Normalization layer adapted to the training labels, inverted: prediction * std + mean."""
    layer = keras.layers.Normalization(axis=None, invert=True, name="label_scale")
    layer.adapt(train.take(LABEL_SCALE_BATCHES).map(lambda _, label: label))
    return layer


def datasets(fn_args: FnArgs, dataset: Dataset, batch_size: int
             ) -> Tuple[tf.data.Dataset, tf.data.Dataset, Optional[keras.layers.Layer]]:
    """Fitting and held-out batches of the train split, and the label scale for a regression head
    (else None). The eval split is the Evaluator's alone."""
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    fitted = make_dataset(fn_args.train_files, tf_transform_output, batch_size, FITTED)
    held_out = make_dataset(fn_args.train_files, tf_transform_output, batch_size, HELD_OUT,
                            fn_args.eval_steps * batch_size if fn_args.eval_steps else None)
    scale = label_scale(fitted) if dataset.task is Task.REGRESSION else None
    return fitted, held_out, scale


@functools.lru_cache(maxsize=4)
def count_examples(file_patterns: Tuple[str, ...]) -> int:
    """Records in Transform's output files (once per process: the Tuner's trials share the count)."""
    files = tf.data.Dataset.list_files(list(file_patterns), shuffle=False)
    records = tf.data.TFRecordDataset(files, compression_type="GZIP", num_parallel_reads=tf.data.AUTOTUNE)
    return int(records.reduce(np.int64(0), lambda count, _: count + 1))


def train_steps(fn_args: FnArgs, batch_size: int) -> int:
    """`--train-steps` if given, else passes over the fitted part (models/training_length.py)."""
    if fn_args.train_steps:
        return fn_args.train_steps
    examples = count_examples(tuple(fn_args.train_files))
    fitted = examples - math.ceil(examples / HOLDOUT)
    steps = training_length.steps_for(fitted, batch_size)
    absl_logging.info("Training %d steps: %d fitted examples, batches of %d", steps, fitted, batch_size)
    return steps


def fit_schedule(steps: int, eval_steps: int) -> Dict[str, Any]:
    """`fit` arguments shared by the Trainer and the Tuner's trials: CHECKPOINTS epochs, early
    stopping on the held-out loss, best weights kept."""
    steps_per_epoch = max(1, math.ceil(steps / CHECKPOINTS))
    return {
        "steps_per_epoch": steps_per_epoch,
        "epochs": math.ceil(steps / steps_per_epoch),
        "validation_steps": eval_steps,
        "callbacks": [keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True)],
    }


def hyperparameters(tuned: Optional[Mapping[str, Any]], overrides: Mapping[str, Any]) -> Dict[str, Any]:
    return {**DEFAULT_HYPERPARAMETERS, **tuning.best_hyperparameters(tuned), **overrides}


def train(fn_args: FnArgs, dataset: Dataset, family: str, hparams: Mapping[str, Any]
          ) -> Tuple[keras.Model, Dict[str, List[float]]]:
    """Seeded training of one `family` model with `hparams`: the Trainer's, and each Tuner trial's, so
    the trial that wins the search is the model the Trainer rebuilds. Returns it and its history."""
    hparams = {**DEFAULT_HYPERPARAMETERS, **hparams}
    keras.utils.set_random_seed(tuning.SEED)
    fitted, held_out, scale = datasets(fn_args, dataset, hparams["batch_size"])
    model = families.build(family, dataset, hparams, scale)
    history = model.fit(fitted, validation_data=held_out, verbose=0,
                        **fit_schedule(train_steps(fn_args, hparams["batch_size"]), fn_args.eval_steps))
    return model, history.history


class TrainingDiverged(ValueError):
    """The trained weights are not finite: exporting them would fail only later, in the Evaluator."""


def check_finite(model: keras.Model, history: Mapping[str, List[float]], hparams: Mapping[str, Any]) -> None:
    """Refuses a model whose weights became NaN or infinite (a learning rate too high for the data),
    naming the epoch whose loss was first not finite and what to change."""
    if all(np.isfinite(weights).all() for weights in model.get_weights()):
        return
    losses = history.get("loss", [])
    epoch = next((i + 1 for i, loss in enumerate(losses) if not math.isfinite(loss)), None)
    when = f"the training loss was {losses[epoch - 1]} at epoch {epoch} of {len(losses)}" if epoch \
        else "its weights are not finite"
    rate = hparams.get("learning_rate")
    lower = f"{rate / 10:g}" if isinstance(rate, (int, float)) else "0.001"
    raise TrainingDiverged(
        f"training diverged: {when} (learning_rate {rate}); nothing was exported. Lower the "
        f"learning rate, e.g. --hparams '{{\"learning_rate\": {lower}}}', and run or resume again")


def run_fn(fn_args: FnArgs) -> None:
    """TFX Trainer entry point: train on transformed examples, export with the serving signatures."""
    config = dict(fn_args.custom_config or {})
    dataset = Dataset.from_config(config["dataset"])
    hparams = hyperparameters(fn_args.hyperparameters, config.get("hyperparameters", {}))
    model, history = train(fn_args, dataset, config.get("family", families.DEFAULT_FAMILY), hparams)
    check_finite(model, history, hparams)
    signatures.export(model, dataset, tft.TFTransformOutput(fn_args.transform_graph_path),
                      fn_args.serving_model_dir)
    write_held_out_loss(history, fn_args.serving_model_dir)


def write_held_out_loss(history: Mapping[str, List[float]], serving_model_dir: str) -> None:
    """The kept (best) weights' held-out loss, beside `serving_model_dir` (TFX's `Format-Serving`)."""
    losses = [loss for loss in history.get("val_loss", []) if math.isfinite(loss)]
    if losses:
        path = os.path.join(os.path.dirname(serving_model_dir.rstrip("/")), HELD_OUT_LOSS_FILE)
        with tf.io.gfile.GFile(path, "w") as f:
            f.write(json.dumps({"loss": min(losses)}))


def held_out_loss(model_uri: str) -> Optional[float]:
    """What `write_held_out_loss` wrote for the Model artifact at `model_uri`; None without it."""
    path = os.path.join(model_uri, HELD_OUT_LOSS_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return float(json.load(f)["loss"])
