"""Dataset declaration, preprocessing and Keras model of the pipeline.

Keras: TF 2.16 installs Keras 3, but TFT, TFMA and TFX 1.16 are built on Keras 2 (`tf_keras`). Our model
code imports `tf_keras` explicitly; the default below also makes any `tf.keras` reached through
TensorFlow resolve to Keras 2, so nobody has to export TF_USE_LEGACY_KERAS by hand.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
