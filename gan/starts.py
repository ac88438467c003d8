"""What a fresh run starts from: networks copied from another run (fine-tuning), the fixed
noise of its progress grid, and the copy of G that holds its moving average."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan import io, runfolder
from gan.config import ConfigError, RunConfig
from gan.latent import sample_noise
from gan.recipe import Preset


def start_from(folder: Path, generator, discriminator) -> None:
    """Copy the networks of the run in `folder` (its generator.keras and discriminator.keras)
    into freshly built ones of the same shapes: fine-tuning, e.g. a digit code made soft."""
    for name, network in (
        (runfolder.GENERATOR, generator),
        (runfolder.DISCRIMINATOR, discriminator),
    ):
        trained = io.load_model(folder / name)
        try:
            network.set_weights(trained.get_weights())
        except ValueError as error:
            raise ConfigError(
                f"{folder / name} does not fit this preset's {network.name} ({error})."
            ) from error


def fixed_inputs(config: RunConfig, preset: Preset) -> tuple[np.ndarray, np.ndarray | None]:
    """The run's fixed progress-grid noise, and digits (one row per digit) if the preset can
    be asked for a digit (by label or by code)."""
    count = preset.grid**2
    noise = sample_noise(count, config.latent_dim, seed=config.seed + 1)
    digits = (np.arange(count) // preset.grid % 10).astype(np.int32)
    return noise, digits if preset.conditional or preset.digit_code else None


def moving_average_of(generator, preset: Preset):
    """A copy of `generator` to hold its moving average, or None if the preset keeps none."""
    if not preset.ema:
        return None
    import keras

    average = keras.models.clone_model(generator)
    average.set_weights(generator.get_weights())
    return average
