"""One GAN update, in either of the two orders the classic recipes use.

`simultaneous_step` is the TensorFlow DCGAN tutorial's: one batch of fakes, both tapes, both
updates. `alternating_step` is the Keras-GAN combined-model order: `discriminator_step` (D on
real images and on predicted fakes) then `generator_step` (G through the frozen D on fresh
noise). Both return the step's STATS as one tensor; `Trainer` compiles the preset's one with
`tf.function`, and `discriminator_step` alone for extra D updates (`d_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import ops

from gan.latent import MAP_VALUES, digit_map
from gan.losses import Verdict, discriminator_loss, generator_loss, mode_seeking
from gan.recipe import Preset


@dataclass
class Networks:
    """What a step works on: the preset, both networks and their optimisers, G's noise, and
    which loss G minimises (a variable: a running training can switch it)."""

    preset: Preset
    latent_dim: int
    generator: keras.Model
    discriminator: keras.Model
    g_optimizer: keras.optimizers.Optimizer
    d_optimizer: keras.optimizers.Optimizer
    noise_seed: keras.random.SeedGenerator
    minimax: tf.Variable  # 1.0: G minimises log(1 - D(G(z))); 0.0: -log D(G(z))


def simultaneous_step(nets: Networks, images, digits):
    """TF tutorial: G and D see the same fakes; both update from one forward pass."""
    g_inputs, asked = draw_noise(nets, ops.shape(images)[0])
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
        fakes = nets.generator(g_inputs, training=True)
        real = judge(nets, images, digits)
        fake = judge(nets, fakes, asked)
        g_loss = generator_loss(nets.preset, fake, asked, nets.minimax)
        g_objective = g_loss + seek_modes(nets, g_inputs, fakes)
        d_loss = discriminator_loss(nets.preset, real, fake, digits)
    g_gradient = update(nets.g_optimizer, g_tape, g_objective, nets.generator)
    update(nets.d_optimizer, d_tape, d_loss, nets.discriminator)
    return statistics(nets.preset, g_loss, d_loss, real, fake, g_gradient)


def alternating_step(nets: Networks, images, digits):
    """Keras-GAN: D on real images and on G's predicted fakes, then G through a frozen D."""
    d_loss, real, fake, _ = discriminator_step(nets, images, digits)
    g_loss, g_gradient, _ = generator_step(nets, ops.shape(images)[0])
    return statistics(nets.preset, g_loss, d_loss, real, fake, g_gradient)


def discriminator_step(nets: Networks, images, digits):
    """One update of D alone, on real images and on G's predicted fakes: (loss, verdicts on
    the real images and on the fakes, the digits the fakes were asked for)."""
    g_inputs, asked = draw_noise(nets, ops.shape(images)[0])
    fakes = nets.generator(g_inputs, training=False)
    with tf.GradientTape() as d_tape:
        real = judge(nets, images, digits)
        fake = judge(nets, fakes, asked)
        d_loss = discriminator_loss(nets.preset, real, fake, digits)
    update(nets.d_optimizer, d_tape, d_loss, nets.discriminator)
    return d_loss, real, fake, asked


def generator_step(nets: Networks, n):
    """One update of G alone on `n` fresh fakes, through D (its weights unchanged): (loss,
    the norm of G's gradient, D's verdict on the fakes)."""
    g_inputs, asked = draw_noise(nets, n)
    with tf.GradientTape() as g_tape:
        # "Frozen" D, as in Keras 2's combined model: its weights are not updated (only G's
        # gradients are applied) but it runs as in training (batch-statistics BN).
        fakes = nets.generator(g_inputs, training=True)
        fake_for_g = judge(nets, fakes, asked)
        g_loss = generator_loss(nets.preset, fake_for_g, asked, nets.minimax)
        g_objective = g_loss + seek_modes(nets, g_inputs, fakes)
    return g_loss, update(nets.g_optimizer, g_tape, g_objective, nets.generator), fake_for_g


def discriminator_only_step(nets: Networks, images, digits):
    """Step D: one update of D alone; G's loss on those fakes is reported, not applied."""
    d_loss, real, fake, asked = discriminator_step(nets, images, digits)
    g_loss = generator_loss(nets.preset, fake, asked, nets.minimax)
    return statistics(nets.preset, g_loss, d_loss, real, fake, ops.zeros(()))


def generator_only_step(nets: Networks, images, digits):
    """Step G: one update of G alone; D's loss on the real images and on those fakes is
    reported, not applied."""
    g_loss, g_gradient, fake = generator_step(nets, ops.shape(images)[0])
    real = judge(nets, images, digits)
    d_loss = discriminator_loss(nets.preset, real, fake, digits)
    return statistics(nets.preset, g_loss, d_loss, real, fake, g_gradient)


STEPS = {"simultaneous": simultaneous_step, "alternating": alternating_step}
ONE_NETWORK = {"d": discriminator_only_step, "g": generator_only_step}  # Step D, Step G


def draw_noise(nets: Networks, n):
    """G's inputs for `n` fakes, and the digits G was asked to draw: by label for a
    conditional G, by its code for a coded one (the largest value's digit, also where a soft
    code blends two), random and unused otherwise."""
    preset = nets.preset
    z = keras.random.normal((n, nets.latent_dim), seed=nets.noise_seed)
    if preset.digit_code:
        head = z[:, : preset.digit_code]
        if preset.digit_code == MAP_VALUES:
            weights, bias = digit_map()
            head = ops.matmul(head, weights) + bias  # the map's ten scores
        return z, ops.argmax(head, axis=-1)  # the digit the code favours
    digits = keras.random.randint((n,), 0, 10, seed=nets.noise_seed, dtype="int32")
    if preset.mode_seeking:  # fakes i and half + i are asked for one digit: a pair to compare
        digits = ops.concatenate([digits[: n // 2], digits[: n - n // 2]])
    return ([z, digits] if preset.conditional else z), digits


def seek_modes(nets: Networks, g_inputs, fakes):
    """The preset's weighted mode-seeking term, added to what G minimises (0 when off); the
    G loss the step reports stays D's verdict alone."""
    if not nets.preset.mode_seeking:
        return 0.0
    z = g_inputs[0] if isinstance(g_inputs, list) else g_inputs
    return nets.preset.mode_seeking * mode_seeking(fakes, z)


def judge(nets: Networks, images, digits, training: bool = True) -> Verdict:
    """D's verdict on `images` (given their digits if D takes labels)."""
    out = nets.discriminator(
        [images, digits] if nets.preset.d_takes_label else images, training=training
    )
    return Verdict(out[0], out[1]) if nets.preset.digit_head else Verdict(out, None)


def update(optimizer, tape: tf.GradientTape, loss, model: keras.Model):
    """Apply `loss`'s gradients to `model`'s trainable weights; returns their global norm."""
    weights = model.trainable_variables
    gradients = tape.gradient(loss, weights)
    optimizer.apply_gradients(zip(gradients, weights, strict=True))
    return tf.linalg.global_norm(gradients)


def probability(preset: Preset, score):
    """D's score as the probability that the image is real."""
    return ops.sigmoid(score) if preset.d_output == "logits" else score


def statistics(preset: Preset, g_loss, d_loss, real: Verdict, fake: Verdict, g_gradient):
    """The step's STATS: losses, mean D(x) and D(G(z)) as probabilities, D's accuracies, the
    norm of G's gradient."""
    p_real, p_fake = probability(preset, real.score), probability(preset, fake.score)
    return ops.stack(
        [
            g_loss,
            d_loss,
            ops.mean(p_real),
            ops.mean(p_fake),
            ops.mean(ops.cast(p_real > 0.5, "float32")),
            ops.mean(ops.cast(p_fake < 0.5, "float32")),
            ops.cast(g_gradient, "float32"),
        ]
    )
