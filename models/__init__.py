"""Dataset declaration, preprocessing and Keras model of the pipeline.

Keras: TF 2.16 installs Keras 3, but TFT, TFMA and TFX 1.16 are built on Keras 2 (`tf_keras`). Our model
code imports `tf_keras` explicitly; the default below also makes any `tf.keras` reached through
TensorFlow resolve to Keras 2, so nobody has to export TF_USE_LEGACY_KERAS by hand.

AutoGraph: TensorFlow never converts the `keras` package (its code is graph-ready), but Keras 2 now
ships as `tf_keras`, which AutoGraph does not know, so it re-transpiles hundreds of Keras internals on
every first `fit`: measured here, 18 s of a Trainer run instead of 2 s. Registering `tf_keras` as
not-to-convert restores what Keras 2 always had; TF has no public API for a package-wide rule.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tensorflow.python.autograph.core import config as _autograph_config  # noqa: E402

if not any(rule.matches("tf_keras") for rule in _autograph_config.CONVERSION_RULES):
    _autograph_config.CONVERSION_RULES = (
        _autograph_config.DoNotConvert("tf_keras"),
    ) + _autograph_config.CONVERSION_RULES
