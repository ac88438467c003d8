"""Generator and discriminator builders, looked up by the names presets give.

Generators map `(n, latent_dim)` noise (plus `(n,)` int labels when conditional) to
`(n, 28, 28, 1)` images in the preset's range; discriminators map images (plus labels)
to `(n, 1)` logits or probabilities.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import layers

from gan.blocks import (
    IMAGE_SHAPE,
    N_CLASSES,
    frozen_dense,
    head,
    image_input,
    make,
    noise_input,
    projection_head,
    strided_convs,
    with_digit_spread,
)
from gan.classic_models import (
    conv_sigmoid_discriminator,
    conv_sigmoid_generator,
    dcgan_discriminator,
    dcgan_generator,
    deep_conv_discriminator,
    mlp_discriminator,
    mlp_generator,
    upsampling_generator,
)
from gan.data import scale
from gan.latent import (
    CODE_LAYER,
    digit_code_of,
    is_conditional,
    latent_dim_of,
    principal_directions,
    sample_noise,
)
from gan.recipe import Preset


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


def component_encoder(components: np.ndarray) -> np.ndarray:
    """`(784, k)`: an image's weights on the (scaled) components, by their pseudo-inverse;
    `(x - mean) @ encoder @ components + mean` is x drawn in the components' span."""
    return (components.T @ np.linalg.inv(components @ components.T)).astype(np.float32)


def principal_generator(
    latent_dim: int,
    conditional: bool = False,
    basis=None,
    width: int = 256,
    noise_shortcut: bool = False,
    noise_by_digit: bool = False,
) -> keras.Model:
    """An MLP (Dense `width` x2, BatchNorm, LeakyReLU 0.2) that picks the weights of the data's
    principal components: `basis` = (mean, components) from `principal_basis`; the image is
    the mean plus the weighted components (a fixed layer), so every output is a smooth stroke
    image, clipped to [-1, 1]. With `noise_shortcut`, a linear layer from the noise adds to
    the weights: each noise value moves the stroke directly, beside the MLP. With
    `noise_by_digit`, the first layer reads each digit's noise with its own weights."""
    mean, components = basis
    inputs, x = noise_input(latent_dim, conditional, by_digit=noise_by_digit)
    for _ in range(2):
        x = make(layers.Dense, width, use_bias=False)(x)
        x = make(layers.BatchNormalization)(x)
        x = make(layers.LeakyReLU, 0.2)(x)
    weights = make(layers.Dense, len(components), name="component_weights")(x)
    if noise_shortcut:
        noise = inputs[0] if conditional else inputs
        shortcut = make(layers.Dense, len(components), use_bias=False, name="noise_shortcut")
        weights = make(layers.Add)([weights, shortcut(noise)])
    image = frozen_dense(weights, components, mean, "principal_components")
    image = make(layers.Activation, "hard_tanh")(image)  # the data's range, [-1, 1]
    return keras.Model(inputs, make(layers.Reshape, IMAGE_SHAPE)(image), name="generator")


def principal_discriminator(
    conditional: bool = False, basis=None, width: int = 16, digit_spread: float = 0.0
) -> keras.Model:
    """The slim discriminator looking through a fixed lens: each image is first projected
    onto the principal components' span (what G can draw), so D judges strokes, not the fine
    detail no generated image can have. Convs of `width` and 2 x `width` filters; the label,
    if any, through a projection head; with `digit_spread`, D also sees how much the batch's
    images of each one's digit differ (`with_digit_spread`)."""
    mean, components = basis
    inputs, image, one_hot = image_input(conditional)
    encoder = component_encoder(components)
    x = make(layers.Flatten)(image)
    x = frozen_dense(x, encoder, (-mean @ encoder).astype(np.float32), "to_components")
    x = frozen_dense(x, components, mean, "from_components")
    x = make(layers.Activation, "hard_tanh")(x)  # clipped to [-1, 1] as G's images are
    x = strided_convs(make(layers.Reshape, IMAGE_SHAPE)(x), width)
    if digit_spread:
        x = with_digit_spread(make(layers.Flatten)(x), one_hot, digit_spread)
    return keras.Model(inputs, projection_head(x, one_hot), name="discriminator")


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
    digit code (see `categorical_code`)."""
    inputs, x = noise_input(latent_dim, conditional, digit_code, code_temperature)
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
    inputs, x, one_hot = image_input(conditional)
    x = strided_convs(x, width)
    return keras.Model(inputs, head(x, one_hot, None, digit_head), name="discriminator")


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
    if preset.noise_shortcut:
        g_options["noise_shortcut"] = True
    if preset.noise_by_digit:
        g_options["noise_by_digit"] = True
    if preset.digit_spread:
        d_options["digit_spread"] = preset.digit_spread
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
