"""The shipped generator: made by one command, and loadable with plain Keras anywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gan import io
from gan.control import Control
from gan.default_model import CONDITIONAL, make_default
from gan.latent import digit_map, latent_dim_of, render, sample_noise
from gan.models import build_pair
from gan.presets import PRESETS

MODELS = Path(__file__).resolve().parents[1] / "models"
SMALL = {"train_size": 256, "epochs": 1, "batch_size": 64, "sample_every": 0, "checkpoint_floor": 0}

PLAIN_KERAS = """
import sys, numpy as np, keras
try:
    import gan
    sys.exit("gan is importable: this is not a plain Keras")
except ImportError:
    pass
for name in sys.argv[1:]:
    model = keras.models.load_model(name + ".keras", safe_mode=True)
    inputs = np.load(name + ".in.npz")
    images = model.predict_on_batch([inputs[k] for k in sorted(inputs)][: len(model.inputs)])
    np.save(name + ".out.npy", images)
"""


def plain_keras_images(files: dict[str, object], folder: Path) -> dict[str, np.ndarray]:
    """What each generator draws for its noise (and digits) when loaded by a fresh Python that
    cannot import `gan` (`python -I` in another folder), with `safe_mode=True`."""
    names = []
    for name, generator in files.items():
        noise = sample_noise(12, latent_dim_of(generator), seed=5)
        np.savez(folder / f"{name}.in.npz", a_noise=noise, b_digits=np.arange(12) % 10)
        names.append(name)
    result = subprocess.run(
        [sys.executable, "-I", "-c", PLAIN_KERAS, *names],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return {name: np.load(folder / f"{name}.out.npy") for name in names}


def direct_images(generator) -> np.ndarray:
    noise = sample_noise(12, latent_dim_of(generator), seed=5)
    inputs = [noise, np.arange(12) % 10][: len(generator.inputs)]
    return np.asarray(generator.predict_on_batch(inputs))


@pytest.mark.system  # a fresh Python
def test_every_shipped_generator_and_every_presets_download_loads_with_plain_keras(tmp_path, small):
    """The shipped files, and the generator.keras a run of each preset lets a user download,
    draw the same images in plain Keras as in the app."""
    files = {path.stem: io.load_generator(path) for path in MODELS.glob("*generator.keras")}
    assert {"generator", "conditional_generator"} <= set(files)
    for name, preset in PRESETS.items():
        latent_dim = 16 if preset.digit_code else 8
        files[name] = build_pair(preset, latent_dim, small.images)[0]
        io.save_model(files[name], tmp_path / f"{name}.keras")
    for name in ("generator", "conditional_generator"):
        (tmp_path / f"{name}.keras").write_bytes((MODELS / f"{name}.keras").read_bytes())
    plain = plain_keras_images(files, tmp_path)
    for name, generator in files.items():
        np.testing.assert_allclose(plain[name], direct_images(generator), atol=1e-5, err_msg=name)


def test_the_shipped_generators_digit_map_is_the_one_the_app_asks_digits_from():
    """The map is stored in the file; asking for a digit (gan.latent) reads the same map."""
    layer = io.load_generator(MODELS / "generator.keras").get_layer("digit_map")
    kernel, bias = layer.get_weights()
    weights, expected_bias = digit_map()
    np.testing.assert_allclose(kernel, weights, atol=1e-6)
    np.testing.assert_allclose(bias, expected_bias, atol=1e-6)
    assert not layer.trainable


@pytest.mark.system  # trains both stages
def test_make_default_makes_the_generator_in_stages_and_goes_on_after_a_stop(tmp_path, small):
    """A stopped make-default keeps what it made; the same command goes on and writes a
    map-coded generator (with explorer directions) that draws a digit when asked."""
    control = Control()
    control.stop("the user pressed Ctrl-C")
    end = make_default(tmp_path, control=control, **SMALL)
    assert end.reason == "stopped" and (tmp_path / CONDITIONAL / "run.json").is_file()
    assert not (tmp_path / "generator.keras").exists()
    assert make_default(tmp_path, **SMALL).reason == "finished"
    generator = io.load_generator(tmp_path / "generator.keras")
    assert latent_dim_of(generator) == 66
    assert np.load(io.directions_path(tmp_path / "generator.keras")).shape == (6, 66)
    assert render(generator, sample_noise(3, 66, 0), np.array([1, 5, 8])).shape == (3, 28, 28, 1)
    again = make_default(tmp_path, **SMALL)
    assert (again.reason, again.message) == ("finished", "made before")


@pytest.mark.parametrize("bad", ["-1", "x"])
def test_make_default_refuses_a_bad_seed(tmp_path, capsys, bad):
    from gan.cli import main

    assert main(["make-default", "--out", str(tmp_path / "d"), "--seed", bad]) == 2
    assert "--seed must be a whole number" in capsys.readouterr().err
