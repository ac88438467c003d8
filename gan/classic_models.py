"""The networks of the classic Keras/TensorFlow MNIST GAN recipes, as their sources build
them (see each preset's `source` in `gan.presets`)."""

from __future__ import annotations

import keras
from keras import layers

from gan.blocks import IMAGE_SHAPE, head, image_input, make, noise_input


def dcgan_generator(latent_dim: int, conditional: bool = False) -> keras.Model:
    """TF tutorial: Dense 7x7x256 -> BN -> LeakyReLU -> Conv2DTranspose 128, 64, 1 (tanh)."""
    inputs, x = noise_input(latent_dim, conditional)
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
    inputs, x, one_hot = image_input(conditional)
    for filters in (64, 128):
        x = make(layers.Conv2D, filters, 5, strides=2, padding="same")(x)
        x = make(layers.LeakyReLU)(x)
        x = make(layers.Dropout, 0.3)(x)
    return keras.Model(inputs, head(x, one_hot, None), name="discriminator")


def mlp_generator(latent_dim: int, conditional: bool = False) -> keras.Model:
    """Keras-GAN MLP: Dense 256/512/1024 + LeakyReLU(0.2) + BN(0.8) -> Dense 784 tanh."""
    inputs, x = noise_input(latent_dim, conditional)
    for units in (256, 512, 1024):
        x = make(layers.Dense, units)(x)
        x = make(layers.LeakyReLU, 0.2)(x)
        x = make(layers.BatchNormalization, momentum=0.8)(x)
    x = make(layers.Dense, 28 * 28, activation="tanh")(x)
    return keras.Model(inputs, make(layers.Reshape, IMAGE_SHAPE)(x), name="generator")


def mlp_discriminator(conditional: bool = False) -> keras.Model:
    """Keras-GAN MLP: Flatten -> Dense 512 -> Dense 256 (LeakyReLU 0.2) -> sigmoid."""
    inputs, x, one_hot = image_input(conditional)
    x = make(layers.Flatten)(x)
    for units in (512, 256):
        x = make(layers.Dense, units)(x)
        x = make(layers.LeakyReLU, 0.2)(x)
    return keras.Model(inputs, head(x, one_hot, "sigmoid"), name="discriminator")


def conv_sigmoid_generator(latent_dim: int, conditional: bool = False) -> keras.Model:
    """Brownlee: Dense 7x7x128 -> Conv2DTranspose 4x4/2 x2 (LeakyReLU) -> Conv2D 7x7 sigmoid."""
    inputs, x = noise_input(latent_dim, conditional)
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
    inputs, x, one_hot = image_input(conditional)
    for _ in range(2):
        x = make(layers.Conv2D, 64, 3, strides=2, padding="same")(x)
        x = make(layers.LeakyReLU, 0.2)(x)
        x = make(layers.Dropout, 0.4)(x)
    return keras.Model(inputs, head(x, one_hot, "sigmoid"), name="discriminator")


def upsampling_generator(latent_dim: int, conditional: bool = False) -> keras.Model:
    """Keras-GAN DCGAN: Dense 7x7x128 relu -> (UpSampling -> Conv 3x3 -> BN -> ReLU) x2 -> tanh."""
    inputs, x = noise_input(latent_dim, conditional)
    x = make(layers.Dense, 128 * 7 * 7, activation="relu")(x)
    x = make(layers.Reshape, (7, 7, 128))(x)
    for filters in (128, 64):
        x = make(layers.UpSampling2D)(x)
        x = make(layers.Conv2D, filters, 3, padding="same")(x)
        x = make(layers.BatchNormalization, momentum=0.8)(x)
        x = make(layers.Activation, "relu")(x)
    image = make(layers.Conv2D, 1, 3, padding="same", activation="tanh")(x)
    return keras.Model(inputs, image, name="generator")


def bn_leaky_dropout(x):
    """BatchNorm(0.8) -> LeakyReLU(0.2) -> Dropout(0.25), the Keras-GAN D block."""
    x = make(layers.BatchNormalization, momentum=0.8)(x)
    x = make(layers.LeakyReLU, 0.2)(x)
    return make(layers.Dropout, 0.25)(x)


def deep_conv_discriminator(conditional: bool = False) -> keras.Model:
    """Keras-GAN DCGAN: Conv 32/64/128/256 3x3 with BN(0.8), LeakyReLU 0.2, Dropout 0.25."""
    inputs, x, one_hot = image_input(conditional)
    x = make(layers.Conv2D, 32, 3, strides=2, padding="same")(x)
    x = make(layers.LeakyReLU, 0.2)(x)
    x = make(layers.Dropout, 0.25)(x)
    x = make(layers.Conv2D, 64, 3, strides=2, padding="same")(x)
    x = make(layers.ZeroPadding2D, ((0, 1), (0, 1)))(x)
    x = bn_leaky_dropout(x)
    for filters, strides in ((128, 2), (256, 1)):
        x = make(layers.Conv2D, filters, 3, strides=strides, padding="same")(x)
        x = bn_leaky_dropout(x)
    return keras.Model(inputs, head(x, one_hot, "sigmoid"), name="discriminator")
