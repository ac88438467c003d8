"""What D sees: its scores of the live grid's fakes and of ten real digits, and where it
looks in one fake (the gradient of its score with respect to the image, the signal G
learns from). Computed on the training thread with each progress grid."""

from __future__ import annotations

from functools import partial

import numpy as np

from gan.data import Dataset, from_unit, scale, to_unit
from gan.events import DView
from gan.recipe import Preset

SHOWN_OF = 10  # real digits D judges together per digit, as the grid's rows are; one shown


def real_row(data: Dataset, preset: Preset) -> tuple[np.ndarray, np.ndarray]:
    """SHOWN_OF real training digits of each of 0 to 9 where the labels say so, digit by
    digit, and their labels: a D that compares the batch's images of one digit
    (`digit_spread`) judges them in company, as it judges the grid's."""
    rng = np.random.default_rng(0)
    pools = [np.flatnonzero(data.labels == digit) for digit in range(10)]
    picks = np.concatenate(
        [
            rng.choice(pool if len(pool) else [0], SHOWN_OF, replace=len(pool) < SHOWN_OF)
            for pool in pools
        ]
    )
    return scale(data.images[picks], preset.data_range), data.labels[picks].astype(np.int32)


class DViewer:
    """What D sees, for one run: `viewer(images, digits)` -> `DView`. One compiled function
    scores the grid and the real digits and takes the gradient (D runs in inference mode;
    only a `digit_spread` D looks at an image's companions of its digit)."""

    def __init__(self, nets, data: Dataset) -> None:
        import tensorflow as tf

        self.preset = nets.preset
        self.real_images, self.real_digits = real_row(data, nets.preset)
        self._look = tf.function(partial(look, nets))

    def __call__(self, images: np.ndarray, digits: np.ndarray | None) -> DView:
        """For the grid's `images` `(n, 28, 28, 1)` in [0, 1] (and their digits, if any)."""
        fakes = from_unit(images, self.preset.data_range)
        asked = digits if digits is not None else np.zeros(len(images), np.int32)
        outputs = self._look(fakes, asked, self.real_images, self.real_digits)
        fake_scores, real_scores, where = (np.asarray(output) for output in outputs)
        return DView(
            fake_scores=fake_scores,
            real_images=to_unit(self.real_images[::SHOWN_OF], self.preset.data_range),
            real_scores=real_scores[::SHOWN_OF],
            looks=where / where.max() if where.max() > 0 else where,
        )


def look(nets, fakes, asked, real_images, real_digits):
    """D's scores (probabilities) of the fakes and the real images, and the size of the
    gradient of the first fake's score with respect to its pixels (graph code)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(fakes)
        fake_scores = score(nets, fakes, asked)
        first = fake_scores[0]
    where = tf.abs(tape.gradient(first, fakes))[0, ..., 0]
    return fake_scores, score(nets, real_images, real_digits), where


def score(nets, images, digits):
    """D's probability that each image is real, `(n,)`, in inference mode."""
    from gan.steps import judge, probability

    return probability(nets.preset, judge(nets, images, digits, training=False).score)[:, 0]
