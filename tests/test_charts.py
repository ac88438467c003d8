"""Page helpers that keep live views cheap: PNG encoding and reused Plotly figures."""

import io

import numpy as np
import pytest
from PIL import Image

from gan.config import ConfigError
from pages.common.charts import crisp, png_bytes
from pages.common.server import training_priority


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_png_is_the_enlarged_image_losslessly():
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    pixels = decoded(png_bytes(image, 3))
    assert pixels.shape == (84, 84)
    assert np.array_equal(pixels, np.round(crisp(image, 3) * 255).astype(np.uint8))


def test_png_is_reused_for_the_same_array_only():
    image = np.zeros((28, 28), np.float32)
    first = png_bytes(image, 2)
    assert png_bytes(image, 2) is first  # a live view redrawing the same grid
    changed = image + 1.0  # a new grid: new array, new picture
    assert decoded(png_bytes(changed, 2)).max() == 255
    assert png_bytes(image, 3) is not first  # another scale is another picture


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 10), ("0", 0), ("19", 19), (" 5 ", 5), ("off", None)]
)
def test_training_priority_from_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("GAN_TRAIN_NICE", raising=False)
    else:
        monkeypatch.setenv("GAN_TRAIN_NICE", value)
    assert training_priority() == expected


@pytest.mark.parametrize("value", ["-1", "20", "low", "1.5"])
def test_a_bad_training_priority_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("GAN_TRAIN_NICE", value)
    with pytest.raises(ConfigError, match="GAN_TRAIN_NICE must be a whole number from 0 to 19"):
        training_priority()
