"""Sample-quality metrics from a small MNIST classifier: numbers about images, not losses.

- recognizability: share of samples the classifier labels with confidence >= 0.9;
- class coverage: each digit's share, the smallest share, the normalised entropy of the
  digits the recognizable samples read as (the spread), and a mode-collapse warning when a
  digit (almost) vanishes;
- Fréchet digit distance: the Fréchet distance between Gaussians fitted to the classifier's
  penultimate features of the samples and of the real test digits (like FID, but in an
  MNIST classifier's feature space — not comparable with FID numbers), with the
  real-vs-real floor for reference;
- pixel diversity: mean distance between random pairs of samples, relative to real digits
  (near 0 means identical outputs);
- within-digit diversity: for each digit, the mean feature distance between pairs of samples
  that read as that digit, relative to the same for real digits of it (near 0: collapse
  inside one digit, which coverage cannot see), with a warning when one falls;
- path smoothness: along slerp walks between random latents, the largest frame-to-frame
  pixel step as a share of the walk's whole pixel length (a walk that morphs has many small
  steps; one that snaps from digit to digit has one big one), the classifier's digit changes
  per walk, the recognizability of every frame, and StyleGAN's perceptual path length in the
  classifier's feature space.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from gan.config import ConfigError
from gan.io import MODELS, load_model
from gan.latent import (
    code_digits,
    digit_code_of,
    interpolate,
    is_conditional,
    latent_dim_of,
    render,
    sample_noise,
    slerp,
)
from gan.quality import VANISHED_SHARE, WITHIN_DIGIT_NEEDS, Quality

CONFIDENT = 0.9
SNAP_SHARE = 0.25  # a walk "snaps" when one frame-to-frame step is this much of its length
PPL_EPSILON = 1e-3  # the small step of the perceptual path length (StyleGAN uses 1e-4)
FEATURES_LAYER = "features"
CLASSIFIER = MODELS / "classifier.keras"
REFERENCE = MODELS / "classifier_reference.npz"


@dataclass(frozen=True)
class Smoothness:
    """How a generator's images change along slerp walks between random latents."""

    paths: int
    frames: int
    largest_step_median: float  # largest frame-to-frame pixel step / the walk's pixel length
    largest_step_p90: float
    snaps: float  # share of walks whose largest step is >= SNAP_SHARE of their length
    digit_changes: float  # mean number of times the classifier's digit changes along a walk
    frames_recognizable: float  # recognizability of every frame, the in-between ones included
    perceptual_path_length: float  # StyleGAN's PPL in the classifier's feature space

    def to_dict(self) -> dict:
        return asdict(self)

    def report(self) -> list[str]:
        """The walk figures as a few readable lines."""
        return [
            f"walks: {self.paths:,} slerp paths of {self.frames} frames between random latents",
            "largest frame-to-frame step, share of the walk: median "
            f"{self.largest_step_median:.4f}, 90th percentile {self.largest_step_p90:.4f} "
            f"(even steps: {1 / (self.frames - 1):.4f})",
            f"snaps (one step >= {SNAP_SHARE:.0%} of the walk): {self.snaps:.1%} of walks",
            f"digit changes per walk (classifier): {self.digit_changes:.2f}; recognizable "
            f"frames, in-between ones included: {self.frames_recognizable:.1%}",
            f"perceptual path length (classifier features): {self.perceptual_path_length:,.0f}",
        ]


def build_classifier():
    """A small CNN: (n, 28, 28, 1) in [0, 1] -> 10 class probabilities; 128-d features."""
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    features = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.3)(features)
    outputs = layers.Dense(10, activation="softmax", name="digit")(x)
    return keras.Model(inputs, outputs, name="mnist_classifier")


def train_classifier(train, test, epochs: int = 4, seed: int = 0):
    """Train the CNN on the training digits; returns (model, accuracy on the test digits)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        train.images[..., None] / 255.0, train.labels, batch_size=128, epochs=epochs, verbose=2
    )
    _, accuracy = model.evaluate(test.images[..., None] / 255.0, test.labels, verbose=0)
    return model, float(accuracy)


def feature_model(classifier):
    """The classifier with two outputs: penultimate features `(n, 128)` and probabilities."""
    import keras

    return keras.Model(
        classifier.inputs, [classifier.get_layer(FEATURES_LAYER).output, classifier.output]
    )


def load_classifier(path: str | os.PathLike = CLASSIFIER):
    """The shipped digit classifier: `(n, 28, 28, 1)` in [0, 1] -> 10 probabilities."""
    return load_model(path)


def read_digits(classifier, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The digit `(n,)` a `load_classifier()` model reads in each image, and its confidence."""
    check_images(images)
    probabilities = np.asarray(classifier.predict_on_batch(images))
    return probabilities.argmax(axis=1), probabilities.max(axis=1)


def classify(model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features, probabilities) from a `feature_model` for images `(n, 28, 28, 1)` in [0, 1]."""
    check_images(images)
    features, probabilities = [], []
    for start in range(0, len(images), 500):
        batch_features, batch_probabilities = model.predict_on_batch(images[start : start + 500])
        features.append(np.asarray(batch_features))
        probabilities.append(np.asarray(batch_probabilities))
    return np.concatenate(features), np.concatenate(probabilities)


class Judge:
    """The shipped classifier plus the real test digits' feature statistics."""

    def __init__(
        self,
        classifier_path: str | os.PathLike = CLASSIFIER,
        reference_path: str | os.PathLike = REFERENCE,
    ) -> None:
        self.model = feature_model(load_classifier(classifier_path))  # built once: no retracing
        self._baselines: dict[tuple[int, int], tuple[float, float]] = {}
        try:
            with np.load(reference_path) as reference:
                self.real_features = reference["features"]
                self.real_images = reference["images"]
        except (OSError, KeyError, ValueError) as error:
            raise ConfigError(
                f"Cannot read the metric reference {reference_path}: {error}"
            ) from error
        weights, bias = self.model.get_layer("digit").get_weights()
        real_digits = (self.real_features @ weights + bias).argmax(axis=1)
        self.real_digit_diversity = digit_diversity(self.real_features, real_digits)

    def evaluate(
        self, images: np.ndarray, digits: np.ndarray | None = None, seed: int = 0
    ) -> Quality:
        """Quality of `images` `(n, 28, 28, 1)` in [0, 1]; `digits`: what a conditional G drew."""
        features, probabilities = classify(self.model, images)
        predicted = probabilities.argmax(axis=1)
        shares = np.bincount(predicted, minlength=10) / len(images)
        confident = probabilities.max(axis=1) >= CONFIDENT
        read = predicted[confident] if confident.any() else predicted  # blobs read at random
        spread = np.bincount(read, minlength=10) / len(read)
        nonzero = spread[spread > 0]
        entropy = float(-(nonzero * np.log(nonzero)).sum() / np.log(10))
        floor, real_diversity = self._baseline(len(images), seed)
        within = digit_diversity(features[confident], predicted[confident])
        return Quality(
            n=len(images),
            recognizability=float(confident.mean()),
            class_shares=[round(float(s), 4) for s in shares],
            smallest_share=float(shares.min()),
            entropy=entropy,
            missing_digits=[int(d) for d in np.flatnonzero(shares < VANISHED_SHARE)],
            frechet_distance=frechet_distance(features, self.real_features),
            frechet_floor=floor,
            pixel_diversity=pixel_diversity(images, seed) / real_diversity,
            asked_digit_accuracy=None
            if digits is None
            else float((predicted == np.asarray(digits)).mean()),
            digit_diversity=[
                None if ours is None else round(ours / real, 4)
                for ours, real in zip(within, self.real_digit_diversity, strict=True)
            ],
        )

    def _baseline(self, n: int, seed: int) -> tuple[float, float]:
        """(real-vs-real Fréchet floor at sample size n, real pixel diversity), computed once."""
        if (n, seed) not in self._baselines:
            half = min(n, len(self.real_features) // 2)
            order = np.random.default_rng(seed).permutation(len(self.real_features))
            floor = frechet_distance(
                self.real_features[order[:half]], self.real_features[order[half : 2 * half]]
            )
            self._baselines[n, seed] = floor, pixel_diversity(self.real_images, seed)
        return self._baselines[n, seed]

    def evaluate_generator(self, generator, n: int, seed: int = 0) -> Quality:
        """Quality of `n` samples from seeded latents: digits 0-9 in turn if conditional. A
        generator with a digit code draws from the plain noise (the class shares are its own,
        and a soft code's blends count), and the asked digit is the one its code favours."""
        noise = sample_noise(n, latent_dim_of(generator), seed)
        if is_conditional(generator):
            digits = (np.arange(n) % 10).astype(np.int32)
            return self.evaluate(render(generator, noise, digits), digits, seed)
        code = digit_code_of(generator)
        asked = code_digits(noise, code) if code else None
        return self.evaluate(render(generator, noise), asked, seed)

    def path_smoothness(
        self, generator, paths: int = 200, frames: int = 32, seed: int = 0
    ) -> Smoothness:
        """Walk `paths` slerp paths of `frames` frames between random latents and measure how
        evenly the images change (a conditional generator keeps one digit per walk)."""
        rng = np.random.default_rng(seed)
        walk_digits = np.arange(paths) % 10 if is_conditional(generator) else None
        ends, images = random_walks(generator, paths, frames, rng, walk_digits)
        largest = largest_step_shares(images.reshape(paths, frames, -1))
        _, probabilities = classify(self.model, images)
        labels = probabilities.argmax(axis=1).reshape(paths, frames)
        return Smoothness(
            paths=paths,
            frames=frames,
            largest_step_median=float(np.median(largest)),
            largest_step_p90=float(np.percentile(largest, 90)),
            snaps=float((largest >= SNAP_SHARE).mean()),
            digit_changes=float((labels[:, 1:] != labels[:, :-1]).sum(axis=1).mean()),
            frames_recognizable=float((probabilities.max(axis=1) >= CONFIDENT).mean()),
            perceptual_path_length=self._perceptual_path_length(generator, ends, walk_digits, rng),
        )

    def _perceptual_path_length(self, generator, ends, digits, rng) -> float:
        """StyleGAN's PPL: squared feature distance between images `PPL_EPSILON` apart on each
        walk, at a random point, over epsilon squared; mean of the 1st-99th percentiles."""
        t = rng.uniform(0.0, 1.0 - PPL_EPSILON, len(ends))
        near = np.stack([slerp(a, b, s) for (a, b), s in zip(ends, t, strict=True)])
        far = np.stack([slerp(a, b, s + PPL_EPSILON) for (a, b), s in zip(ends, t, strict=True)])
        labels = None if digits is None else np.tile(digits, 2)
        features, _ = classify(self.model, render(generator, np.concatenate([near, far]), labels))
        distances = ((features[: len(ends)] - features[len(ends) :]) ** 2).sum(axis=1)
        distances /= PPL_EPSILON**2
        low, high = np.percentile(distances, [1, 99])
        return float(distances[(distances >= low) & (distances <= high)].mean())


def random_walks(generator, paths: int, frames: int, rng, digits=None):
    """`paths` slerp walks of `frames` frames between random latents drawn from `rng`, one
    digit per walk if `digits` (a conditional G): the ends `(paths, 2, dim)` and the images
    `(paths * frames, 28, 28, 1)`, walk after walk."""
    ends = rng.standard_normal((paths, 2, latent_dim_of(generator))).astype(np.float32)
    walks = np.concatenate([interpolate(a, b, frames, "slerp") for a, b in ends])
    labels = None if digits is None else np.repeat(digits, frames)
    return ends, render(generator, walks, labels)


def frame_steps(walks: np.ndarray) -> np.ndarray:
    """For walks `(paths, frames, pixels)`: the L2 pixel steps between frames, `(paths,
    frames - 1)`."""
    return np.linalg.norm(np.diff(walks, axis=1), axis=2)


def largest_step_shares(walks: np.ndarray) -> np.ndarray:
    """For walks `(paths, frames, pixels)`: each walk's largest frame-to-frame L2 step over
    the sum of its steps (0 for a walk whose image never changes)."""
    steps = frame_steps(walks)
    lengths = steps.sum(axis=1)
    return np.divide(steps.max(axis=1), lengths, out=np.zeros_like(lengths), where=lengths > 0)


def check_images(images: np.ndarray) -> None:
    """Raise ConfigError unless images are `(n, 28, 28, 1)` floats in [0, 1] with n >= 2."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1) or len(images) < 2:
        raise ConfigError(f"Metrics need images of shape (n >= 2, 28, 28, 1), got {images.shape}.")
    if not np.issubdtype(images.dtype, np.floating) or images.min() < 0 or images.max() > 1:
        raise ConfigError("Metrics need float images in [0, 1].")


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets `a` and `b` `(n, d)`."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr sqrt(cov_a cov_b) = sum of sqrt of the eigenvalues of cov_a cov_b (real, >= 0).
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b)
    trace_sqrt = np.sqrt(np.clip(eigenvalues.real, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def digit_diversity(
    features: np.ndarray, digits: np.ndarray, most: int = 200
) -> list[float | None]:
    """For each digit 0-9: the mean distance between the features `(n, d)` of pairs of
    samples read as that digit (its first `most`), or None with fewer than
    WITHIN_DIGIT_NEEDS of them."""
    result: list[float | None] = []
    for digit in range(10):
        group = features[digits == digit][:most].astype(np.float64)
        if len(group) < WITHIN_DIGIT_NEEDS:
            result.append(None)
            continue
        squares = (group**2).sum(axis=1)
        distances = np.sqrt(
            np.clip(squares[:, None] + squares[None] - 2 * group @ group.T, 0, None)
        )
        result.append(float(distances.sum() / (len(group) * (len(group) - 1))))
    return result


def pixel_diversity(images: np.ndarray, seed: int = 0, pairs: int = 2000) -> float:
    """Mean L2 pixel distance between random pairs of different images."""
    flat = np.asarray(images, np.float32).reshape(len(images), -1)
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(flat), pairs)
    second = (first + rng.integers(1, len(flat), pairs)) % len(flat)
    return float(np.linalg.norm(flat[first] - flat[second], axis=1).mean())
