"""The project's own Keras layers: saved in `.keras` files by name, so `gan.io.load_model`
imports this module before loading (safe mode loads registered classes, never code)."""

from __future__ import annotations

import keras
from keras import ops

from gan.latent import digit_map


@keras.saving.register_keras_serializable(package="gan")
class Sparsemax(keras.layers.Layer):
    """Sparsemax over the last axis (Martins & Astudillo 2016): the Euclidean projection onto
    the probability simplex. Like a softmax it sums to 1 and moves continuously, but values
    more than 1 below the largest get exactly 0: away from ties the output is one-hot, and
    across a tie two entries trade places linearly. (Written out here: `keras.ops.sparsemax`
    of Keras 3.15 returns all zeros on the TensorFlow backend wherever two or more entries
    share the output; it gets only the one-hot case right.)"""

    def call(self, x):
        size = x.shape[-1]
        ranked = ops.flip(ops.sort(x, axis=-1), axis=-1)  # largest first
        rank = ops.arange(1, size + 1, dtype=x.dtype)
        inside = ops.cast(1.0 + rank * ranked > ops.cumsum(ranked, axis=-1), x.dtype)
        count = ops.sum(inside, axis=-1, keepdims=True)
        threshold = (ops.sum(ranked * inside, axis=-1, keepdims=True) - 1.0) / count
        return ops.maximum(x - threshold, 0.0)


def map_scores(points):
    """The ten digit scores `(n, 10)` of points `(n, 2)` on the digit map
    (`gan.latent.digit_map`), as tensors: the largest picks the digit."""
    weights, bias = digit_map()
    return ops.matmul(points, ops.convert_to_tensor(weights)) + ops.convert_to_tensor(bias)


@keras.saving.register_keras_serializable(package="gan")
class DigitMap(keras.layers.Layer):
    """`map_scores` as a layer: a fixed affine map with no weights to train, so the map is the
    same in every file."""

    def call(self, x):
        return map_scores(x)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 10)
