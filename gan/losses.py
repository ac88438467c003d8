"""The GAN's losses as small named functions (graph code: `keras.ops` on tensors).

D answers with a `Verdict`: its real/fake score (a logit or a probability, as the preset's
`d_output` says) and, when it has a digit head, 10 digit logits.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import ops

from gan.recipe import Preset


class Verdict(NamedTuple):
    score: object  # (n, 1)
    digit_logits: object | None  # (n, 10), or None without a digit head


def bce(target, score, from_logits: bool):
    """Mean binary cross-entropy of D's scores against a target (label 1: real)."""
    return ops.mean(keras.losses.binary_crossentropy(target, score, from_logits))


def discriminator_loss(preset: Preset, real: Verdict, fake: Verdict, digits):
    """Call real images real (at `real_label`, < 1 is label smoothing) and fakes fake; a
    digit head also learns the real images' labels."""
    from_logits = preset.d_output == "logits"
    real_target = ops.full(ops.shape(real.score), preset.real_label)
    loss = bce(real_target, real.score, from_logits)
    loss = loss + bce(ops.zeros_like(fake.score), fake.score, from_logits)
    return loss if real.digit_logits is None else loss + digit_fit(real.digit_logits, digits)


def generator_loss(preset: Preset, fake: Verdict, asked, minimax=0.0):
    """Have D call the fakes real: minimise -log D(G(z)) (the non-saturating loss), or, with
    `minimax` 1, log(1 - D(G(z))) (the original minimax game, whose gradient vanishes when D
    rejects every fake). With a digit head (AC-GAN), also have D read the digit G was asked
    for, by label or by code."""
    from_logits = preset.d_output == "logits"
    non_saturating = bce(ops.ones_like(fake.score), fake.score, from_logits)
    saturating = -bce(ops.zeros_like(fake.score), fake.score, from_logits)
    loss = ops.where(minimax > 0.5, saturating, non_saturating)
    if fake.digit_logits is None:
        return loss
    return loss + preset.digit_head * digit_fit(fake.digit_logits, asked)


def digit_fit(logits, digits):
    """Cross-entropy of digit logits `(n, 10)` against digits `(n,)`."""
    return ops.mean(keras.losses.sparse_categorical_crossentropy(digits, logits, from_logits=True))


def mode_seeking(fakes, z):
    """Mode seeking (MSGAN, Mao et al. 2019): the fakes' two halves are pairs asked for the
    same digit; the term is small when their images are as far apart as their noises, and
    large when G maps different noises to one image."""
    half = ops.shape(fakes)[0] // 2
    apart = ops.mean(ops.abs(fakes[:half] - fakes[half : 2 * half]))
    return 1.0 / (apart / ops.mean(ops.abs(z[:half] - z[half : 2 * half])) + 1e-5)
