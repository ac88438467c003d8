"""Generator and discriminator builders, looked up by the names presets give.

Generators map `(n, latent_dim)` noise (plus `(n,)` int labels when conditional) to
`(n, 28, 28, 1)` images in the preset's range; discriminators map images (plus labels)
to `(n, 1)` logits or probabilities.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import keras
import numpy as np
from keras import layers, ops

from gan.data import scale
from gan.latent import (
    CODE_LAYER,
    CODE_SCALE,
    MAP_LAYER,
    MAP_VALUES,
    digit_code_of,
    digit_map,
    is_conditional,
    latent_dim_of,
    principal_directions,
    sample_noise,
)
from gan.presets import Preset

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


def _noise_input(latent_dim: int, conditional: bool, digit_code: int = 0, temperature: float = 0):
    """Generator inputs and the tensor the body starts from: noise, noise ++ one-hot label,
    or with `digit_code` the noise whose first `digit_code` values became a digit code."""
    noise = keras.Input((latent_dim,), name="noise")
    if digit_code:
        return noise, _categorical_code(noise, digit_code, temperature)
    if not conditional:
        return noise, noise
    label = keras.Input((), dtype="int32", name="digit")
    one_hot = make(layers.CategoryEncoding, N_CLASSES, output_mode="one_hot", name="digit_one_hot")(
        label
    )
    return [noise, label], make(layers.Concatenate, name="noise_and_digit")([noise, one_hot])


def _categorical_code(noise, size: int, temperature: float = 0.0):
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
        scores = _frozen_dense(head, weights, bias, MAP_LAYER)
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


def _image_input(conditional: bool):
    """Discriminator inputs, the image tensor, and the one-hot label (None if unconditional)."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    if not conditional:
        return image, image, None
    label = keras.Input((), dtype="int32", name="digit")
    one_hot = make(layers.CategoryEncoding, N_CLASSES, output_mode="one_hot", name="digit_one_hot")(
        label
    )
    return [image, label], image, one_hot


def _head(features, one_hot, activation: str | None, digit_head: bool = False):
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


def _strided_convs(x, width: int):
    """Two strided 4x4 convs (`width`, 2 x `width` filters), each with LeakyReLU 0.2."""
    for filters in (width, 2 * width):
        x = make(layers.Conv2D, filters, 4, strides=2, padding="same")(x)
        x = make(layers.LeakyReLU, 0.2)(x)
    return x


def principal_basis(images, k: int, data_range: str, sample: int = 10_000):
    """The training digits' mean image `(784,)` and top-`k` principal components `(k, 784)`,
    each scaled by its standard deviation, in the preset's data range. From an evenly spread
    `sample` of the images: a fraction of a second."""
    pick = np.linspace(0, len(images) - 1, min(sample, len(images))).astype(int)
    flat = scale(images[pick], data_range).reshape(len(pick), -1).astype(np.float64)
    mean = flat.mean(axis=0)
    variances, axes = np.linalg.eigh(np.cov(flat - mean, rowvar=False))
    order = np.argsort(variances)[::-1][:k]
    spread = np.sqrt(np.clip(variances[order], 1e-12, None))
    return mean.astype(np.float32), (axes[:, order].T * spread[:, None]).astype(np.float32)


def _frozen_dense(x, kernel, bias, name: str):
    """A Dense layer with fixed weights (not trained, saved with the model)."""
    layer = make(layers.Dense, kernel.shape[1], trainable=False, name=name)
    y = layer(x)
    layer.set_weights([kernel, bias])
    return y


def principal_generator(
    latent_dim: int, conditional: bool = False, basis=None, width: int = 256
) -> keras.Model:
    """An MLP (Dense `width` x2, BatchNorm, LeakyReLU 0.2) that picks the weights of the data's
    principal components: `basis` = (mean, components) from `principal_basis`; the image is
    the mean plus the weighted components (a fixed layer), so every output is a smooth stroke
    image, clipped to [-1, 1]."""
    mean, components = basis
    inputs, x = _noise_input(latent_dim, conditional)
    for _ in range(2):
        x = make(layers.Dense, width, use_bias=False)(x)
        x = make(layers.BatchNormalization)(x)
        x = make(layers.LeakyReLU, 0.2)(x)
    weights = make(layers.Dense, len(components), name="component_weights")(x)
    image = _frozen_dense(weights, components, mean, "principal_components")
    image = make(layers.Activation, "hard_tanh")(image)  # the data's range, [-1, 1]
    return keras.Model(inputs, make(layers.Reshape, IMAGE_SHAPE)(image), name="generator")


def principal_discriminator(
    conditional: bool = False, digit_head: bool = False, basis=None, width: int = 16
) -> keras.Model:
    """The slim discriminator looking through a fixed lens: each image is first projected
    onto the principal components' span (what G can draw), so D judges strokes, not the fine
    detail no generated image can have. Convs of `width` and 2 x `width` filters."""
    mean, components = basis
    inputs, image, one_hot = _image_input(conditional)
    gram = components @ components.T  # components are scaled: project with their pseudo-inverse
    encoder = (components.T @ np.linalg.inv(gram)).astype(np.float32)
    x = make(layers.Flatten)(image)
    x = _frozen_dense(x, encoder, (-mean @ encoder).astype(np.float32), "to_components")
    x = _frozen_dense(x, components, mean, "from_components")
    x = make(layers.Activation, "hard_tanh")(x)  # clipped to [-1, 1] as G's images are
    x = _strided_convs(make(layers.Reshape, IMAGE_SHAPE)(x), width)
    return keras.Model(inputs, _head(x, one_hot, None, digit_head), name="discriminator")


def fast_generator(
    latent_dim: int,
    conditional: bool = False,
    digit_code: int = 0,
    code_temperature: float = 0.0,
    width: int = 64,
    mapping: tuple[int, ...] = (),
) -> keras.Model:
    """Slim DCGAN generator: (Dense `mapping` units ->) Dense 7x7x`width` -> 14x14x(`width`/2)
    -> 28x28x1 tanh, each hidden layer with BatchNorm and LeakyReLU 0.2; optionally from a
    digit code (see `_categorical_code`)."""
    inputs, x = _noise_input(latent_dim, conditional, digit_code, code_temperature)
    for units in (*mapping, 7 * 7 * width):
        x = make(layers.Dense, units, use_bias=False)(x)
        x = make(layers.BatchNormalization)(x)
        x = make(layers.LeakyReLU, 0.2)(x)
    x = make(layers.Reshape, (7, 7, width))(x)
    x = make(layers.Conv2DTranspose, width // 2, 4, strides=2, padding="same", use_bias=False)(x)
    x = make(layers.BatchNormalization)(x)
    x = make(layers.LeakyReLU, 0.2)(x)
    image = make(layers.Conv2DTranspose, 1, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(inputs, image, name="generator")


def fast_discriminator(
    conditional: bool = False, digit_head: bool = False, width: int = 32
) -> keras.Model:
    """Slim DCGAN discriminator: two strided convs (`width`, 2 x `width` filters) -> one
    logit (and optionally 10 digit logits)."""
    inputs, x, one_hot = _image_input(conditional)
    x = _strided_convs(x, width)
    return keras.Model(inputs, _head(x, one_hot, None, digit_head), name="discriminator")


def wide_generator(
    latent_dim: int,
    conditional: bool = False,
    digit_code: int = 0,
    code_temperature: float = 0.0,
    width: int = 128,
) -> keras.Model:
    """The fast generator, wider and one layer deeper: Dense 256 -> Dense 7x7x128 ->
    14x14x64 -> 28x28x1 tanh."""
    return fast_generator(latent_dim, conditional, digit_code, code_temperature, width, (256,))


def wide_discriminator(
    conditional: bool = False, digit_head: bool = False, width: int = 64
) -> keras.Model:
    """The fast discriminator at twice the width (64, 128 filters); optionally a digit head."""
    return fast_discriminator(conditional, digit_head, width)


def dcgan_generator(latent_dim: int, conditional: bool = False) -> keras.Model:
    """TF tutorial: Dense 7x7x256 -> BN -> LeakyReLU -> Conv2DTranspose 128, 64, 1 (tanh)."""
    inputs, x = _noise_input(latent_dim, conditional)
    x = make(layers.Dense, 7 * 7 * 256, use_bias=False)(x)
    x = make(layers.BatchNormalization)(x)
    x = make(layers.LeakyReLU)(x)
    x = make(layers.Reshape, (7, 7, 256))(x)
    for filters, strides in ((128, 1), (64, 2)):
        x = make(
            layers.Conv2DTranspose, filters, 5, strides=strides, padding="same", use_bias=False
        )(x)
        x = make(layers.BatchNormalization)(x)
        x = make(layers.LeakyReLU)(x)
    image = make(
        layers.Conv2DTranspose, 1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
    )(x)
    return keras.Model(inputs, image, name="generator")


def dcgan_discriminator(conditional: bool = False) -> keras.Model:
    """TF tutorial: (Conv2D 5x5/2 -> LeakyReLU -> Dropout 0.3) x2 -> Flatten -> Dense logit."""
    inputs, x, one_hot = _image_input(conditional)
    for filters in (64, 128):
        x = make(layers.Conv2D, filters, 5, strides=2, padding="same")(x)
        x = make(layers.LeakyReLU)(x)
        x = make(layers.Dropout, 0.3)(x)
    return keras.Model(inputs, _head(x, one_hot, None), name="discriminator")


def mlp_generator(latent_dim: int, conditional: bool = False) -> keras.Model:
    """Keras-GAN MLP: Dense 256/512/1024 + LeakyReLU(0.2) + BN(0.8) -> Dense 784 tanh."""
    inputs, x = _noise_input(latent_dim, conditional)
    for units in (256, 512, 1024):
        x = make(layers.Dense, units)(x)
        x = make(layers.LeakyReLU, 0.2)(x)
        x = make(layers.BatchNormalization, momentum=0.8)(x)
    x = make(layers.Dense, 28 * 28, activation="tanh")(x)
    return keras.Model(inputs, make(layers.Reshape, IMAGE_SHAPE)(x), name="generator")


def mlp_discriminator(conditional: bool = False) -> keras.Model:
    """Keras-GAN MLP: Flatten -> Dense 512 -> Dense 256 (LeakyReLU 0.2) -> sigmoid."""
    inputs, x, one_hot = _image_input(conditional)
    x = make(layers.Flatten)(x)
    for units in (512, 256):
        x = make(layers.Dense, units)(x)
        x = make(layers.LeakyReLU, 0.2)(x)
    return keras.Model(inputs, _head(x, one_hot, "sigmoid"), name="discriminator")


def conv_sigmoid_generator(latent_dim: int, conditional: bool = False) -> keras.Model:
    """Brownlee: Dense 7x7x128 -> Conv2DTranspose 4x4/2 x2 (LeakyReLU) -> Conv2D 7x7 sigmoid."""
    inputs, x = _noise_input(latent_dim, conditional)
    x = make(layers.Dense, 128 * 7 * 7)(x)
    x = make(layers.LeakyReLU, 0.2)(x)
    x = make(layers.Reshape, (7, 7, 128))(x)
    for _ in range(2):
        x = make(layers.Conv2DTranspose, 128, 4, strides=2, padding="same")(x)
        x = make(layers.LeakyReLU, 0.2)(x)
    image = make(layers.Conv2D, 1, 7, padding="same", activation="sigmoid")(x)
    return keras.Model(inputs, image, name="generator")


def conv_sigmoid_discriminator(conditional: bool = False) -> keras.Model:
    """Brownlee: (Conv2D 64 3x3/2 -> LeakyReLU 0.2 -> Dropout 0.4) x2 -> Dense sigmoid."""
    inputs, x, one_hot = _image_input(conditional)
    for _ in range(2):
        x = make(layers.Conv2D, 64, 3, strides=2, padding="same")(x)
        x = make(layers.LeakyReLU, 0.2)(x)
        x = make(layers.Dropout, 0.4)(x)
    return keras.Model(inputs, _head(x, one_hot, "sigmoid"), name="discriminator")


def upsampling_generator(latent_dim: int, conditional: bool = False) -> keras.Model:
    """Keras-GAN DCGAN: Dense 7x7x128 relu -> (UpSampling -> Conv 3x3 -> BN -> ReLU) x2 -> tanh."""
    inputs, x = _noise_input(latent_dim, conditional)
    x = make(layers.Dense, 128 * 7 * 7, activation="relu")(x)
    x = make(layers.Reshape, (7, 7, 128))(x)
    for filters in (128, 64):
        x = make(layers.UpSampling2D)(x)
        x = make(layers.Conv2D, filters, 3, padding="same")(x)
        x = make(layers.BatchNormalization, momentum=0.8)(x)
        x = make(layers.Activation, "relu")(x)
    image = make(layers.Conv2D, 1, 3, padding="same", activation="tanh")(x)
    return keras.Model(inputs, image, name="generator")


def _bn_leaky_dropout(x):
    """BatchNorm(0.8) -> LeakyReLU(0.2) -> Dropout(0.25), the Keras-GAN D block."""
    x = make(layers.BatchNormalization, momentum=0.8)(x)
    x = make(layers.LeakyReLU, 0.2)(x)
    return make(layers.Dropout, 0.25)(x)


def deep_conv_discriminator(conditional: bool = False) -> keras.Model:
    """Keras-GAN DCGAN: Conv 32/64/128/256 3x3 with BN(0.8), LeakyReLU 0.2, Dropout 0.25."""
    inputs, x, one_hot = _image_input(conditional)
    x = make(layers.Conv2D, 32, 3, strides=2, padding="same")(x)
    x = make(layers.LeakyReLU, 0.2)(x)
    x = make(layers.Dropout, 0.25)(x)
    x = make(layers.Conv2D, 64, 3, strides=2, padding="same")(x)
    x = make(layers.ZeroPadding2D, ((0, 1), (0, 1)))(x)
    x = _bn_leaky_dropout(x)
    for filters, strides in ((128, 2), (256, 1)):
        x = make(layers.Conv2D, filters, 3, strides=strides, padding="same")(x)
        x = _bn_leaky_dropout(x)
    return keras.Model(inputs, _head(x, one_hot, "sigmoid"), name="discriminator")


BUILDERS: dict[str, Callable[..., keras.Model]] = {
    builder.__name__: builder
    for builder in (
        fast_generator,
        fast_discriminator,
        wide_generator,
        wide_discriminator,
        dcgan_generator,
        dcgan_discriminator,
        mlp_generator,
        mlp_discriminator,
        conv_sigmoid_generator,
        conv_sigmoid_discriminator,
        upsampling_generator,
        deep_conv_discriminator,
        principal_generator,
        principal_discriminator,
    )
}


def build_pair(preset: Preset, latent_dim: int, images=None) -> tuple[keras.Model, keras.Model]:
    """The preset's (generator, discriminator), freshly initialised; `images` (the training
    digits, uint8) are needed by presets that work in the span of their principal components."""
    g_options, d_options = {}, {}
    if preset.digit_code:
        g_options = {
            "digit_code": preset.digit_code,
            "code_temperature": preset.code_temperature,
        }
    if preset.digit_head:
        d_options["digit_head"] = True
    if preset.g_width:
        g_options["width"] = preset.g_width
    if preset.d_width:
        d_options["width"] = preset.d_width
    if preset.principal_components:
        basis = principal_basis(images, preset.principal_components, preset.data_range)
        g_options["basis"] = d_options["basis"] = basis
    generator = BUILDERS[preset.generator](latent_dim, preset.conditional, **g_options)
    discriminator = BUILDERS[preset.discriminator](preset.d_takes_label, **d_options)
    return generator, discriminator


def digit_mixer(generator: keras.Model) -> keras.Model | None:
    """The generator with its digit as a mix `(n, 10)` instead of one digit: it takes
    [noise, mix] where the digit enters as a one-hot (a conditional G's label, or a coded G's
    code), so a 3 can become an 8 in small steps. None if no digit can be asked for."""
    if is_conditional(generator):
        try:
            digit = generator.get_layer("digit_one_hot").output
        except ValueError:  # a conditional G not built by this project
            return None
    elif digit_code_of(generator):
        digit = generator.get_layer(CODE_LAYER).input[0]
    else:
        return None
    return keras.Model([generator.inputs[0], digit], generator.outputs[0], name="digit_mixer")


def latent_directions(generator: keras.Model, k: int = 6, n: int = 512, seed: int = 0):
    """GANSpace-style directions `(k, latent_dim)`: principal axes of the first Dense layer's
    activations over `n` random latents, mapped back to latent space (unit vectors)."""
    noise = sample_noise(n, latent_dim_of(generator), seed)
    inputs = [noise, np.arange(n, dtype=np.int32) % N_CLASSES][: len(generator.inputs)]
    dense = next((layer for layer in generator.layers if isinstance(layer, layers.Dense)), None)
    probe = keras.Model(generator.inputs, dense.output if dense else generator.outputs[0])
    features = np.asarray(probe(inputs, training=False))
    return principal_directions(noise, features.reshape(n, -1), k)
