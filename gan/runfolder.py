"""A run folder: its file names, the progress that survives in run.json, and that file's
format (written by the trainer, read to resume). Every write is atomic (see gan.io)."""

from __future__ import annotations

import platform
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gan import io
from gan.config import ConfigError
from gan.events import STATS, EndEvent, StepEvent

GENERATOR = "generator.keras"  # what a user gets (the moving average, if the preset keeps one)
TRAINING_GENERATOR = "generator_training.keras"  # the trained G when generator.keras averages
DISCRIMINATOR = "discriminator.keras"
RECORD = "run.json"
SAMPLES = "samples"  # one grid per epoch: samples/epoch_NNN.png
SNAPSHOTS = "snapshots"  # the presets that keep a generator every N epochs
SNAPSHOT = "snapshot.keras"  # the app's "explore the generator as it is now"
MAX_HISTORY = 2000  # per-step points kept; older ones are thinned to every other


@dataclass
class RunState:
    """Progress that survives in run.json: counters, history, timing."""

    step: int = 0
    epoch: int = 0  # completed epochs
    seconds: float = 0.0  # training time so far, over all sessions of this run
    epochs: list[dict[str, float]] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    stride: int = 1  # steps between kept per-step points

    def record_step(self, event: StepEvent) -> None:
        """Keep every `stride`-th step's statistics, thinning when the history gets long."""
        if event.step % self.stride:
            return
        for name in ("step", *STATS):
            self.steps[name].append(getattr(event, name))
        if len(self.steps["step"]) > MAX_HISTORY:
            self.steps = defaultdict(list, {k: v[::2] for k, v in self.steps.items()})
            self.stride *= 2


def samples_path(folder: Path, epoch: int) -> Path:
    return folder / SAMPLES / f"epoch_{epoch:03d}.png"


def snapshot_path(folder: Path, epoch: int) -> Path:
    return folder / SNAPSHOTS / f"generator_epoch_{epoch:03d}.keras"


def write_record(
    folder: Path,
    config: dict[str, Any],
    data: dict[str, Any],
    state: RunState,
    checkpoint: tuple[int, int],
    end: EndEvent | None,
) -> None:
    """run.json: config, data, the checkpoint's (epoch, step), history, timing, versions."""
    epoch, step = checkpoint
    record = {
        "config": config,
        "data": data,
        "checkpoint": {"epoch": epoch, "step": step, "seconds": state.seconds},
        "history": {
            "epochs": [e for e in state.epochs if e["epoch"] <= epoch],
            "steps": dict(state.steps),
            "stride": state.stride,
        },
        "end": asdict(end) if end else None,
        "versions": library_versions(),
    }
    io.write_json(folder / RECORD, record)


def read_record(folder: Path) -> tuple[dict[str, Any], RunState]:
    """The saved config values and progress of the run in `folder`."""
    path = folder / RECORD
    record = io.read_json(path)
    try:
        saved, history = record["checkpoint"], record["history"]
        state = RunState(
            step=saved["step"],
            epoch=saved["epoch"],
            seconds=saved["seconds"],
            epochs=history["epochs"],
            steps=defaultdict(list, history["steps"]),
            stride=history["stride"],
        )
        return dict(record["config"]), state
    except (KeyError, TypeError) as error:
        raise ConfigError(f"{path} is not a run record ({error}).") from error


def library_versions() -> dict[str, str]:
    """Versions that matter for reproducing a run."""
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }
