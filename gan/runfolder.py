"""A run folder: its file names, the progress that survives in run.json, and that file's
format (written by the trainer, read to resume).

A checkpoint (both networks, the moving average, a kept generator, run.json) is saved as one: its
files are written into a staging folder, which one rename marks complete; then they are
moved into place, run.json last. A save that fails or is killed before that rename leaves the
previous checkpoint; after it, `settle` (called by every reader) finishes the moves. run.json
names each file's SHA-256, and `verify` checks them.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
from collections import defaultdict
from collections.abc import Callable
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
KEPT = "kept"  # the generators of presets that keep one every N epochs
GENERATOR_NOW = "generator_now.keras"  # the app's "explore the generator as it is now"
MAX_HISTORY = 2000  # per-step points kept; older ones are thinned to every other
QUALITY_CURVES = (
    "recognizability",
    "smallest_share",
    "frechet_distance",
    "frechet_floor",
    "pixel_diversity",
    "entropy",
    "smallest_digit_diversity",  # None while no digit has enough samples to judge
)
STAGING = ".checkpoint-new"  # a checkpoint being written
READY = ".checkpoint-ready"  # a complete checkpoint whose files are being moved into place


@dataclass
class RunState:
    """Progress that survives in run.json: counters, history, timing."""

    step: int = 0
    epoch: int = 0  # completed epochs
    seconds: float = 0.0  # training time so far, over all sessions of this run
    epochs: list[dict[str, float]] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    stride: int = 1  # steps between kept per-step points
    quality: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def record_step(self, event: StepEvent) -> None:
        """Keep every `stride`-th step's statistics, thinning when the history gets long."""
        if event.step % self.stride:
            return
        for name in ("step", *STATS):
            self.steps[name].append(getattr(event, name))
        if len(self.steps["step"]) > MAX_HISTORY:
            self.steps = defaultdict(list, {k: v[::2] for k, v in self.steps.items()})
            self.stride *= 2

    def record_quality(self, step: int, quality) -> None:
        """Keep a live quality measurement (a gan.metrics.Quality) for the run's record."""
        self.quality["step"].append(step)
        for name in QUALITY_CURVES:
            value = getattr(quality, name)
            self.quality[name].append(None if value is None else float(value))
        self.quality["class_shares"].append(list(quality.class_shares))


def samples_path(folder: Path, epoch: int) -> Path:
    return folder / SAMPLES / f"epoch_{epoch:03d}.png"


def kept_generator_name(epoch: int) -> str:
    return f"{KEPT}/generator_epoch_{epoch:03d}.keras"


def record_of(
    config: dict[str, Any],
    data: dict[str, Any],
    state: RunState,
    checkpoint: tuple[int, int],
    files: dict[str, str],
    end: EndEvent | None,
) -> dict[str, Any]:
    """run.json: config, data, the checkpoint's (epoch, step) and files, history, timing,
    versions."""
    epoch, step = checkpoint
    return {
        "config": config,
        "data": data,
        "checkpoint": {"epoch": epoch, "step": step, "seconds": state.seconds, "files": files},
        "history": {
            "epochs": [e for e in state.epochs if e["epoch"] <= epoch],
            "steps": dict(state.steps),
            "stride": state.stride,
            "quality": dict(state.quality),
        },
        "end": asdict(end) if end else None,
        "versions": library_versions(),
    }


def save_checkpoint(
    folder: Path,
    writes: dict[str, Callable[[Path], Any]],
    record: Callable[[dict[str, str]], dict[str, Any]],
) -> dict[str, str]:
    """Write a checkpoint's files (name -> `write(path)`) and then its run.json
    (`record(hashes)`) into the staging folder, and mark it complete with one rename.
    Returns the files' hashes. Call `settle` next to move them into place."""
    settle(folder)
    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    files = {}
    for name, write in writes.items():
        files[name] = digest(io.atomic_write(staging / name, write))
    io.write_json(staging / RECORD, record(files))
    os.replace(staging, folder / READY)  # the commit: from here on this is the checkpoint
    return files


def settle(folder: Path) -> None:
    """Finish an interrupted save: a complete checkpoint's files move into place (run.json
    last); an incomplete one is dropped. Every reader of a run folder calls this first."""
    ready = folder / READY
    if ready.is_dir():
        files = sorted((p for p in ready.rglob("*") if p.is_file()), key=lambda p: p.name == RECORD)
        for file in files:
            target = folder / file.relative_to(ready)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file, target)
        shutil.rmtree(ready)
    shutil.rmtree(folder / STAGING, ignore_errors=True)


def verify(folder: Path) -> dict[str, Any]:
    """The run record, once every file it names has the content it was saved with."""
    settle(folder)
    record = io.read_json(folder / RECORD)
    for name, expected in record.get("checkpoint", {}).get("files", {}).items():
        path = folder / name
        if not path.is_file() or digest(path) != expected:
            raise ConfigError(f"{folder.name}: {name} is not the file its checkpoint saved.")
    return record


def read_json_files(folder: Path) -> dict[str, str]:
    """The files (and hashes) of the checkpoint recorded in `folder`'s run.json."""
    return dict(io.read_json(folder / RECORD).get("checkpoint", {}).get("files", {}))


def digest(path: Path) -> str:
    """SHA-256 of a file, in hex."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def read_record(folder: Path) -> tuple[dict[str, Any], RunState]:
    """The saved config values and progress of the run in `folder` (checked: `verify`)."""
    path = folder / RECORD
    record = verify(folder)
    try:
        saved, history = record["checkpoint"], record["history"]
        state = RunState(
            step=saved["step"],
            epoch=saved["epoch"],
            seconds=saved["seconds"],
            epochs=history["epochs"],
            steps=defaultdict(list, history["steps"]),
            stride=history["stride"],
            quality=defaultdict(list, history.get("quality", {})),
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
