import numpy as np
import pytest
from conftest import BAD_MODEL_WORDS

from gan import io
from gan.io import ModelFileError


@pytest.mark.parametrize(("name", "words"), BAD_MODEL_WORDS.items())
def test_refuses_what_is_not_a_safe_generator(bad_models, name, words):
    with pytest.raises(ModelFileError, match=words):
        io.load_generator(bad_models[name])


def test_refuses_an_oversized_file(tmp_path, monkeypatch):
    path = tmp_path / "big.keras"
    path.write_bytes(b"0" * 2048)
    monkeypatch.setattr(io, "MAX_MODEL_BYTES", 1024)
    with pytest.raises(ModelFileError, match="refused"):
        io.load_generator(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelFileError, match="No model file"):
        io.load_generator(tmp_path / "none.keras")


def test_loads_a_trained_generator(trained_run):
    generator = io.load_generator(trained_run / "generator.keras")
    assert tuple(generator.outputs[0].shape) == (None, 28, 28, 1)


def test_png_and_gif_files(tmp_path):
    from PIL import Image

    grid = np.linspace(0, 1, 28 * 56, dtype=np.float32).reshape(28, 56)
    png = io.save_png(grid, tmp_path / "grid.png", scale=2)
    assert Image.open(png).size == (112, 56)
    frames = [np.full((28, 28), v, np.float32) for v in (0.0, 0.5, 1.0)]
    gif = Image.open(io.save_gif(frames, tmp_path / "a.gif"))
    assert gif.n_frames == 3 and gif.size == (112, 112)
