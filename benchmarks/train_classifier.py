"""Train the metrics classifier and its reference statistics into models/.

    GAN_DATA_DIR=../shared/data/mnist python benchmarks/train_classifier.py

Writes models/classifier.keras (the CNN) and models/classifier_reference.npz (features of
the 10,000 real test digits, plus 2,000 of them for the pixel-diversity baseline), and
prints the test accuracy (target >= 99%).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan import io  # noqa: E402
from gan.data import load_dataset  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.metrics import (  # noqa: E402
    CLASSIFIER,
    REFERENCE,
    classify,
    feature_model,
    train_classifier,
)


def without_optimizer(model):
    """An uncompiled copy with the same weights: the saved file skips Adam's state (3x smaller)."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def main() -> None:
    train, test = load_dataset("mnist"), load_dataset("mnist", split="test")
    started = time.perf_counter()
    model, accuracy = train_classifier(train, test)
    seconds = time.perf_counter() - started
    io.save_model(without_optimizer(model), CLASSIFIER)
    test_images = test.images[..., None].astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    baseline = test_images[rng.choice(len(test_images), 2000, replace=False)]
    features, _ = classify(feature_model(model), test_images)
    io.atomic_write(
        REFERENCE,
        lambda temp: np.savez_compressed(temp, features=features, images=baseline),
    )
    print(f"machine: {describe()}")
    print(f"data: {train.source} ({len(train):,} train, {len(test):,} test)")
    print(f"classifier test accuracy: {accuracy:.4f} (target >= 0.99), trained in {seconds:.0f} s")


if __name__ == "__main__":
    main()
