"""Shared fixtures: real MNIST digits (a small slice), a tiny trained run folder."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GAN_OFFLINE", "1")  # never try the network from tests

import pytest  # noqa: E402

from gan.data import Dataset, load_dataset  # noqa: E402


@pytest.fixture(scope="session")
def mnist() -> Dataset:
    """The MNIST training set from the normal loading chain (GAN_DATA_DIR in CI)."""
    return load_dataset("mnist")


@pytest.fixture(scope="session")
def small(mnist: Dataset) -> Dataset:
    """512 real digits: enough for a few steps of any preset."""
    return Dataset("mnist", mnist.images[:512], mnist.labels[:512], mnist.source, mnist.notice)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, small: Dataset):
    """A run folder from 2 short epochs of the fast preset."""
    from gan.config import RunConfig
    from gan.trainer import Trainer

    out = tmp_path_factory.mktemp("run") / "fast"
    config = RunConfig.create("fast", epochs=2, batch_size=64, train_size=256, out_dir=str(out))
    end = Trainer.create(config, small).run()
    assert end.reason == "finished", end
    return out


@pytest.fixture(scope="session")
def conditional_generator(tmp_path_factory, small: Dataset):
    """A generator file from a few steps of the conditional preset."""
    from gan.config import RunConfig
    from gan.trainer import Trainer

    out = tmp_path_factory.mktemp("run") / "conditional"
    config = RunConfig.create(
        "fast-conditional", epochs=1, batch_size=64, train_size=256, out_dir=str(out)
    )
    assert Trainer.create(config, small).run().reason == "finished"
    return out / "generator.keras"
