import keras
import numpy as np
import pytest

from gan import io
from gan.io import ModelFileError


def test_refuses_a_model_carrying_lambda_code(tmp_path):
    inputs = keras.Input((8,))
    x = keras.layers.Dense(784)(inputs)
    x = keras.layers.Lambda(lambda t: t * 2.0)(x)
    model = keras.Model(inputs, keras.layers.Reshape((28, 28, 1))(x))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match="Lambda"):
        io.load_generator(path)


def test_refuses_a_file_that_is_not_a_keras_model(tmp_path):
    path = tmp_path / "notes.keras"
    path.write_text("hello")
    with pytest.raises(ModelFileError, match="not a loadable Keras model"):
        io.load_generator(path)


def test_refuses_a_model_of_the_wrong_shape(tmp_path):
    classifier = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    path = tmp_path / "classifier.keras"
    classifier.save(path)
    with pytest.raises(ModelFileError, match="latent vector"):
        io.load_generator(path)
    wrong_output = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32 * 32)])
    wrong_output.save(path)
    with pytest.raises(ModelFileError, match="28x28x1"):
        io.load_generator(path)


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
