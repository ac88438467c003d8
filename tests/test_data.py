import gzip
import os

import numpy as np
import pytest

from gan.data import FALLBACK_NOTICE, DataError, load_dataset, scale, to_unit


def write_idx(folder, split, images, labels, compress=True):
    """Write real digits as the official IDX files (optionally gzipped)."""
    prefix = "train" if split == "train" else "t10k"
    header_images = np.array([2051, len(images), 28, 28], ">u4").tobytes()
    header_labels = np.array([2049, len(labels)], ">u4").tobytes()
    for kind, payload in (
        ("images-idx3", header_images + images.tobytes()),
        ("labels-idx1", header_labels + labels.tobytes()),
    ):
        name = folder / f"{prefix}-{kind}-ubyte{'.gz' if compress else ''}"
        name.write_bytes(gzip.compress(payload) if compress else payload)


@pytest.fixture
def no_sources(monkeypatch, tmp_path):
    """No env path, an empty Keras cache and no downloads: only the bundled fallback is left."""
    monkeypatch.delenv("GAN_DATA_DIR", raising=False)
    monkeypatch.delenv("GAN_FASHION_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("GAN_OFFLINE", "1")


def test_full_mnist_is_found_through_the_environment(mnist):
    if not os.environ.get("GAN_DATA_DIR"):
        pytest.skip("GAN_DATA_DIR is not set (CI sets it to the full MNIST)")
    assert len(mnist) == 60_000 and mnist.notice is None
    assert mnist.source.startswith("local files: ")
    assert mnist.images.shape[1:] == (28, 28) and mnist.images.dtype == np.uint8
    assert np.bincount(mnist.labels).min() > 5000  # every digit, as in the real training set


def test_reads_a_keras_layout_npz(tmp_path, small):
    path = tmp_path / "digits.npz"
    np.savez(
        path,
        x_train=small.images,
        y_train=small.labels,
        x_test=small.images[:10],
        y_test=small.labels[:10],
    )
    data = load_dataset("mnist", path)
    assert np.array_equal(data.images, small.images)
    assert str(path) in data.source
    assert len(load_dataset("mnist", path, split="test")) == 10


@pytest.mark.parametrize("compress", [True, False])
def test_reads_a_folder_of_idx_files(tmp_path, small, compress):
    write_idx(tmp_path, "train", small.images, small.labels, compress)
    data = load_dataset("mnist", tmp_path)
    assert np.array_equal(data.images, small.images)
    assert np.array_equal(data.labels, small.labels)


def test_env_var_points_at_the_data(tmp_path, small, monkeypatch):
    write_idx(tmp_path, "train", small.images, small.labels)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path))
    assert len(load_dataset("mnist")) == len(small)


def test_keras_cache_is_read_directly(tmp_path, small, no_sources, monkeypatch):
    cache = tmp_path / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    np.savez(
        cache / "mnist.npz",
        x_train=small.images,
        y_train=small.labels,
        x_test=small.images,
        y_test=small.labels,
    )
    data = load_dataset("mnist")
    assert data.source.startswith("Keras cache") and data.notice is None


def test_nothing_found_falls_back_to_the_bundled_subset_as_long_as_mnist(no_sources):
    """An epoch of the offline subset is as many steps as one of full MNIST: each of its
    5,000 digits comes 12 times."""
    data = load_dataset("mnist")
    assert len(data) == 60_000 and len(np.unique(data.images.reshape(60_000, -1), axis=0)) == 5000
    assert data.notice == FALLBACK_NOTICE and "5,000" in data.notice
    assert set(np.unique(data.labels)) == set(range(10))


def test_fashion_mnist_has_no_fallback_and_says_how_to_get_it(no_sources):
    with pytest.raises(DataError, match="GAN_FASHION_DATA_DIR"):
        load_dataset("fashion_mnist")


def test_corrupt_npz_names_the_file(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match="mnist.npz"):
        load_dataset("mnist", path)


def test_truncated_idx_names_the_file(tmp_path, small):
    write_idx(tmp_path, "train", small.images, small.labels, compress=False)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*truncated"):
        load_dataset("mnist", tmp_path)


def test_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "cifar.npz"
    np.savez(path, x_train=np.zeros((4, 32, 32, 3), np.uint8), y_train=np.zeros(4, np.uint8))
    with pytest.raises(DataError, match=r"cifar.npz.*\(n, 28, 28\)"):
        load_dataset("mnist", path)


def test_missing_path_is_an_error_not_a_silent_fallback(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist", tmp_path / "nowhere")


def test_scaling_follows_the_preset_range(small):
    tanh, sigmoid = scale(small.images, "tanh"), scale(small.images, "sigmoid")
    assert tanh.shape == (len(small), 28, 28, 1) and tanh.dtype == np.float32
    assert (tanh.min(), tanh.max()) == (-1.0, 1.0)
    assert (sigmoid.min(), sigmoid.max()) == (0.0, 1.0)
    np.testing.assert_allclose(to_unit(tanh, "tanh"), sigmoid, atol=1e-6)
