"""Files: atomic writes, safe `.keras` loading with checks, run folders, PNG grids, GIFs."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gan.config import ConfigError
from gan.modelcheck import ModelFileError, check_model_file

MAX_MODEL_BYTES = 50 * 1024 * 1024
MODELS = Path(__file__).resolve().parents[1] / "models"  # the shipped models and their cards
__all__ = ["ModelFileError"]  # raised here, defined beside the checks


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call `write(temp_path)` then rename over `path`: readers see the old or the new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(temp))
        os.chmod(temp, 0o644)  # mkstemp makes 0600; a saved model is an ordinary file
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def save_model(model, path: str | os.PathLike) -> Path:
    """Save a Keras model atomically in the `.keras` format."""
    return atomic_write(path, lambda temp: model.save(temp))


def write_json(path: str | os.PathLike, data: dict) -> Path:
    """Write JSON atomically, pretty-printed."""
    text = json.dumps(data, indent=2, default=_json_default)
    return atomic_write(path, lambda temp: temp.write_text(text + "\n"))


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON file, with a clear error naming it."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"Cannot read {path}: {error}") from error


def load_model(path: str | os.PathLike, name: str | None = None):
    """Load a `.keras` file with `safe_mode=True` (no deserialised code), after checking its
    archive and config (gan.modelcheck) before Keras builds anything. `name` is what error
    messages call the file (an upload's own name; default the file's name)."""
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise ModelFileError(f"No model file named {name}.")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelFileError(
            f"{name} is {size / 2**20:.0f} MB; models over {MAX_MODEL_BYTES // 2**20} MB "
            "are refused."
        )
    check_model_file(path, name)
    import keras  # deferred: TensorFlow takes seconds to import

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:
        if "safe_mode" in str(error) or "lambda" in str(error).lower():
            raise ModelFileError(
                f"{name} was refused: it contains code (a Lambda layer), which is not loaded "
                "for safety."
            ) from error
        raise ModelFileError(f"{name} is not a loadable Keras model file.") from error


def load_generator(path: str | os.PathLike, name: str | None = None):
    """Load a generator and check it maps a latent vector (and digit) to 28x28x1 images."""
    model = load_model(path, name)
    check_generator(model, name or Path(path).name)
    return model


def check_generator(model, name: str = "model") -> None:
    """Raise ModelFileError unless `model` maps `(n, d)` noise [+ `(n,)` digits] to 28x28x1."""
    inputs = list(model.inputs)
    noise_shape = tuple(inputs[0].shape) if inputs else ()
    if inputs and len(noise_shape) == 4:
        raise ModelFileError(
            f"{name} is a discriminator or a classifier (it takes images); upload a generator "
            "(it takes noise)."
        )
    if not inputs or len(inputs) > 2 or len(noise_shape) != 2 or not noise_shape[1]:
        raise ModelFileError(
            f"{name} is not a generator: a generator takes a list of noise values (and maybe a "
            "digit)."
        )
    if len(inputs) == 2 and tuple(inputs[1].shape) not in ((None,), (None, 1)):
        raise ModelFileError(f"{name} is not a generator: its second input is not a digit.")
    output_shape = tuple(model.outputs[0].shape)[1:]
    if len(model.outputs) != 1 or output_shape != (28, 28, 1):
        shape = "×".join(str(size) for size in output_shape)
        raise ModelFileError(
            f"{name} is not an MNIST generator: it draws {shape} pictures, not 28×28×1 digits."
        )


def directions_path(model_path: str | os.PathLike) -> Path:
    """Where a generator's precomputed latent directions live: `<name>.directions.npy`."""
    return Path(model_path).with_suffix(".directions.npy")


def save_png(grid: np.ndarray, path: str | os.PathLike, scale: int = 1) -> Path:
    """Save an `(H, W)` image in [0, 1] as a greyscale PNG, optionally enlarged."""
    return atomic_write(path, lambda temp: _to_pil(grid, scale).save(temp, format="PNG"))


def _to_pil(image: np.ndarray, scale: int = 1) -> Image.Image:
    """`(H, W)` float in [0, 1] -> 8-bit greyscale PIL image, enlarged `scale` times."""
    pixels = (np.clip(image, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    picture = Image.fromarray(pixels, mode="L")
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def gif_bytes(frames: Sequence[np.ndarray], fps: float = 10.0, scale: int = 4) -> bytes:
    """An animated, looping GIF of `(H, W)` frames in [0, 1]."""
    pictures = [_to_pil(frame, scale) for frame in frames]
    buffer = io.BytesIO()
    pictures[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=int(1000 / fps),
        loop=0,
    )
    return buffer.getvalue()


def save_gif(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 10.0) -> Path:
    """Write `gif_bytes(frames)` atomically."""
    data = gif_bytes(frames, fps)
    return atomic_write(path, lambda temp: temp.write_bytes(data))


def check_writable(folder: Path) -> None:
    """Raise ConfigError unless `folder` can be created and written (writes nothing lasting)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"Cannot write to {folder}: {error.strerror or error}.") from error
