"""Page helpers that keep live views cheap: PNG encoding."""

import io

import numpy as np
from PIL import Image

from pages.common.charts import crisp, png_bytes


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
