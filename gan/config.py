"""`RunConfig`: the one object that describes a training run, validated on creation.

Forms, the CLI and the tests all build it the same way, so a bad value gets the same
readable `ConfigError` everywhere. Numpy- and TensorFlow-free.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from gan.presets import DEFAULT_PRESET, PRESETS, find_preset
from gan.recipe import G_LOSSES, MAX_D_STEPS

DATASETS = ("mnist", "fashion_mnist")
MAX_LATENT_DIM = 1024
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 4096
# The settings a preset gives a run (a user may override each), and those of them that a
# running training also takes mid-run (`Trainer.change`, sent with `Control.change`).
LIVE_SETTINGS = ("lr_g", "lr_d", "g_loss", "d_steps")
PRESET_SETTINGS = ("latent_dim", "epochs", "batch_size", "beta_1", *LIVE_SETTINGS)


class ConfigError(ValueError):
    """A user-facing value is invalid; the message is one sentence a user understands."""


def parse_int(label: str, value: Any, low: int, high: int) -> int:
    """Parse an integer given as int or text; raise ConfigError unless low <= value <= high."""
    original = value
    if isinstance(value, bool):
        value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip().replace("_", ""))
        except ValueError:
            value = None
    if not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"{label} must be a whole number from {low:,} to {high:,} (got {original!r})."
        )
    return value


def parse_float(label: str, value: Any, low: float, high: float, *, low_open: bool = True) -> float:
    """Parse a finite float; raise ConfigError unless it lies in (low, high] (or [low, high])."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    above = number > low if low_open else number >= low
    if not (math.isfinite(number) and above and number <= high):
        interval = f"{'above' if low_open else 'at least'} {low:g} and at most {high:g}"
        raise ConfigError(f"{label} must be a number {interval} (got {value!r}).")
    return number


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run. Build with `RunConfig.create(...)`."""

    preset: str = DEFAULT_PRESET
    dataset: str = "mnist"
    latent_dim: int = PRESETS[DEFAULT_PRESET].latent_dim
    epochs: int = PRESETS[DEFAULT_PRESET].epochs
    batch_size: int = PRESETS[DEFAULT_PRESET].batch_size
    lr_g: float = PRESETS[DEFAULT_PRESET].lr_g
    lr_d: float = PRESETS[DEFAULT_PRESET].lr_d
    beta_1: float = PRESETS[DEFAULT_PRESET].beta_1
    g_loss: str = PRESETS[DEFAULT_PRESET].g_loss  # one of G_LOSSES
    d_steps: int = PRESETS[DEFAULT_PRESET].d_steps  # discriminator updates per G update
    seed: int = 0
    sample_every: float = 1.0  # seconds between progress grids (0: every step)
    quality_every: float | None = None  # seconds between live quality metrics; None: off
    max_seconds: float | None = None  # wall-clock budget; None: no budget
    checkpoint_every: float = 30.0  # seconds of training between checkpoints (at most)
    checkpoint_floor: float = 5.0  # seconds between checkpoints at least, except the last
    max_steps: int | None = None  # stop after this many steps; None: run all epochs
    train_size: int | None = None  # use only the first N training images; None: all
    data_path: str | None = None  # explicit dataset file or folder
    out_dir: str | None = None  # run folder for checkpoints; None: keep in memory only
    init_from: str | None = None  # start from another run folder's networks (fine-tuning)
    resume: bool = False  # continue the run saved in out_dir (its own settings) instead
    xla: bool = False  # compile the training step with XLA (jit_compile)

    def __post_init__(self) -> None:
        if find_preset(self.preset) is None:
            names = ", ".join(PRESETS)
            raise ConfigError(f"Unknown preset {self.preset!r}; choose one of: {names}.")
        if self.dataset not in DATASETS:
            raise ConfigError(
                f"Unknown dataset {self.dataset!r}; choose one of: {', '.join(DATASETS)}."
            )
        if self.g_loss not in G_LOSSES:
            raise ConfigError(
                f"Unknown generator loss {self.g_loss!r}; choose one of: {', '.join(G_LOSSES)}."
            )
        parsed = {
            "latent_dim": parse_int("Latent dimension", self.latent_dim, 1, MAX_LATENT_DIM),
            "epochs": parse_int("Epochs", self.epochs, 1, MAX_EPOCHS),
            "batch_size": parse_int("Batch size", self.batch_size, 1, MAX_BATCH_SIZE),
            "lr_g": parse_float("Generator learning rate", self.lr_g, 0.0, 1.0),
            "lr_d": parse_float("Discriminator learning rate", self.lr_d, 0.0, 1.0),
            "beta_1": parse_float("Adam beta_1", self.beta_1, 0.0, 0.999, low_open=False),
            "seed": parse_int("Seed", self.seed, 0, 2**31 - 1),
            "d_steps": parse_int("D steps per G step", self.d_steps, 1, MAX_D_STEPS),
            "sample_every": parse_float(
                "Sample interval (seconds)", self.sample_every, 0.0, 3600.0, low_open=False
            ),
        }
        for name, label in (
            ("checkpoint_every", "Checkpoint interval (seconds)"),
            ("checkpoint_floor", "Least time between checkpoints (seconds)"),
        ):
            parsed[name] = parse_float(label, getattr(self, name), 0.0, 86400.0, low_open=False)
        if self.quality_every is not None:
            parsed["quality_every"] = parse_float(
                "Quality interval (seconds)", self.quality_every, 0.0, 3600.0, low_open=False
            )
        if self.max_seconds is not None:
            parsed["max_seconds"] = parse_float("Time budget (seconds)", self.max_seconds, 0.0, 1e7)
        if self.max_steps is not None:
            parsed["max_steps"] = parse_int("Step limit", self.max_steps, 1, 10**9)
        if self.train_size is not None:
            parsed["train_size"] = parse_int("Training-set size", self.train_size, 1, 10**7)
        code = find_preset(self.preset).digit_code
        if code and parsed["latent_dim"] <= code:
            raise ConfigError(
                f"The {self.preset} preset needs a latent dimension of at least {code + 1} "
                f"(its first {code} values pick the digit code); got {parsed['latent_dim']}."
            )
        for name, label in (("xla", "XLA"), ("resume", "Resume")):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{label} must be true or false, got {getattr(self, name)!r}.")
        for name, value in parsed.items():
            object.__setattr__(self, name, value)

    @classmethod
    def create(cls, preset: str = DEFAULT_PRESET, **overrides: Any) -> RunConfig:
        """A config with the preset's defaults, overridden by the given non-None values."""
        chosen = find_preset(preset)
        if chosen is None:
            return cls(preset=preset)  # raises the unknown-preset error
        values = {name: getattr(chosen, name) for name in PRESET_SETTINGS}
        known = {field.name for field in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(preset=preset, **values)

    def check_data_size(self, n_images: int) -> None:
        """Raise ConfigError if a batch would not fit in the training data."""
        if self.batch_size > n_images:
            raise ConfigError(
                f"Batch size {self.batch_size:,} is larger than the training data "
                f"({n_images:,} images); choose {n_images:,} or less."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Rebuild from `to_dict()` output, ignoring keys this version does not know."""
        known = {field.name for field in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
