"""The layers every network here is built from: named layers, the generator's and the
discriminator's inputs (with a digit label or a digit code), heads, frozen layers.

Every operation is a plain Keras layer or `keras.ops` call, so a saved model loads in plain
Keras, without this package.
"""

from __future__ import annotations

import itertools

import keras
from keras import layers, ops

from gan.latent import CODE_LAYER, CODE_SCALE, MAP_LAYER, MAP_VALUES, digit_map

N_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)
_layer_ids = itertools.count(1)


def make(layer_class, *args, **kwargs):
    """Create a layer with an explicit, process-unique name.

    Keras numbers automatic names with a global counter that Streamlit resets (it calls
    `keras.backend.clear_session()` after every rerun), so a model built on a worker thread
    during a rerun could get two layers of the same name.
    """
    kwargs.setdefault("name", f"{layer_class.__name__.lower()}_{next(_layer_ids)}")
    return layer_class(*args, **kwargs)


def noise_input(
    latent_dim: int,
    conditional: bool,
    digit_code: int = 0,
    temperature: float = 0,
    by_digit: bool = False,
):
    """Generator inputs and the tensor the body starts from: noise, noise ++ one-hot label,
    or with `digit_code` the noise whose first `digit_code` values became a digit code. With
    `by_digit` (conditional), the noise goes in its digit's slot (`noise_by_digit`)."""
    noise = keras.Input((latent_dim,), name="noise")
    if digit_code:
        return noise, categorical_code(noise, digit_code, temperature)
    if not conditional:
        return noise, noise
    label, one_hot = digit_label()
    read = noise_by_digit(noise, one_hot) if by_digit else noise
    return [noise, label], make(layers.Concatenate, name="noise_and_digit")([read, one_hot])


def noise_by_digit(noise, one_hot):
    """`(n, latent_dim x 10)`: the noise in its digit's slot, zeros in the others (a soft
    digit mix shares it out), so the next layer reads each digit's noise with its own weights
    and no digit's styles share noise directions with another's."""
    outer = make(layers.Multiply)(
        [make(layers.Reshape, (-1, 1))(noise), make(layers.Reshape, (1, N_CLASSES))(one_hot)]
    )
    return make(layers.Flatten, name="noise_by_digit")(outer)


def digit_label():
    """A digit label input `(n,)` int32, and its one-hot `(n, 10)`."""
    label = keras.Input((), dtype="int32", name="digit")
    one_hot = make(layers.CategoryEncoding, N_CLASSES, output_mode="one_hot", name="digit_one_hot")
    return label, one_hot(label)


def categorical_code(noise, size: int, temperature: float = 0.0):
    """A digit code drawn from the Gaussian noise, followed by the remaining values.

    Hard (`size` 10, no temperature; InfoGAN's categorical code): the position of the largest
    of the first 10 values, one-hot. The argmax of i.i.d. normals is uniform over the codes,
    so the input stays plain N(0, I) noise, and a walk switches digit from one frame to the
    next. A map (`size` 2, a temperature): where the first two values lie on the digit map
    (`gan.latent.digit_map`, a frozen Dense layer stored in the file) gives ten scores, and
    their sparsemax at that temperature is one-hot inside a region and blends two neighbours
    linearly across a border, so walks morph.
    """
    head, rest = ops.split(noise, [size], axis=-1)  # one op each, so names cannot collide
    if size == MAP_VALUES:
        weights, bias = digit_map()
        scores = frozen_dense(head, weights, bias, MAP_LAYER)
        code = sparsemax(make(layers.Rescaling, 1.0 / temperature, name=CODE_SCALE)(scores))
    else:
        code = ops.one_hot(ops.argmax(head, axis=-1), size)
    return make(layers.Concatenate, name=CODE_LAYER)([code, rest])


def sparsemax(x):
    """Sparsemax over the last axis (Martins & Astudillo 2016), the Euclidean projection onto
    the probability simplex, in plain Keras operations so a file holding it loads anywhere.
    Entry i is in the support when 1 + k_i x_i exceeds the sum of the k_i entries >= x_i.
    (`keras.ops.sparsemax` of Keras 3.15 returns zeros on TensorFlow wherever entries tie.)"""
    row, column = ops.expand_dims(x, -2), ops.expand_dims(x, -1)
    above = ops.cast(row >= column, x.dtype)  # [..., i, j]: x_j >= x_i
    count, total = ops.sum(above, axis=-1), ops.sum(above * row, axis=-1)
    support = ops.cast(1.0 + count * x > total, x.dtype)
    threshold = (ops.sum(support * x, axis=-1, keepdims=True) - 1.0) / ops.sum(
        support, axis=-1, keepdims=True
    )
    return ops.relu(x - threshold)


def image_input(conditional: bool):
    """Discriminator inputs, the image tensor, and the one-hot label (None if unconditional)."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    if not conditional:
        return image, image, None
    label, one_hot = digit_label()
    return [image, label], image, one_hot


def head(features, one_hot, activation: str | None, digit_head: bool = False):
    """Flatten (join the label when conditional) and score with one unit; with `digit_head`
    also 10 digit logits (a list of two outputs)."""
    x = make(layers.Flatten)(features)
    if one_hot is not None:
        x = make(layers.Concatenate)([x, one_hot])
        x = make(layers.Dense, 128)(x)
        x = make(layers.LeakyReLU, 0.2)(x)
    score = make(layers.Dense, 1, activation=activation, name="score")(x)
    if not digit_head:
        return score
    return [score, make(layers.Dense, N_CLASSES, name="digit_logits")(x)]


def projection_head(features, one_hot):
    """Score with one unit and, for a conditional D, add the features' projection on the
    label's learned embedding (a projection discriminator, Miyato & Koyama 2018): the label
    shapes the score directly instead of entering as one more input."""
    x = make(layers.Flatten)(features)
    score = make(layers.Dense, 1, name="score")(x)
    if one_hot is None:
        return score
    embedding = make(layers.Dense, x.shape[-1], use_bias=False, name="digit_embedding")(one_hot)
    return make(layers.Add, name="score_for_digit")([score, make(layers.Dot, 1)([embedding, x])])


def strided_convs(x, width: int):
    """Two strided 4x4 convs (`width`, 2 x `width` filters), each with LeakyReLU 0.2."""
    for filters in (width, 2 * width):
        x = make(layers.Conv2D, filters, 4, strides=2, padding="same")(x)
        x = make(layers.LeakyReLU, 0.2)(x)
    return x


def with_digit_spread(features, one_hot, gain: float):
    """Features `(n, f)` and one more: how much the batch's images of each one's digit
    differ (the mean standard deviation of their features, x `gain`). A minibatch standard
    deviation (Karras et al. 2018) taken per digit: D tells a batch whose fives are all
    alike from real fives, which one image alone cannot show. D judges real and fake
    batches apart, so each spread is of one kind."""
    counts = ops.expand_dims(ops.sum(one_hot, axis=0), 1)  # (10, 1): images of each digit
    means = ops.einsum("nd,nf->df", one_hot, features) / ops.maximum(counts, 1.0)
    deviations = features - ops.matmul(one_hot, means)
    variances = ops.einsum("nd,nf->df", one_hot, deviations**2) / ops.maximum(counts - 1.0, 1.0)
    spread = ops.mean(ops.sqrt(variances + 1e-8), axis=1, keepdims=True) * gain  # (10, 1)
    return make(layers.Concatenate)([features, ops.matmul(one_hot, spread)])


def frozen_dense(x, kernel, bias, name: str):
    """A Dense layer with fixed weights (not trained, saved with the model)."""
    layer = make(layers.Dense, kernel.shape[1], trainable=False, name=name)
    y = layer(x)
    layer.set_weights([kernel, bias])
    return y
