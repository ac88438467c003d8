"""Saving a run while it trains: a callback on the one training loop (`gan.trainer`).

Each checkpoint is saved as one (`gan.runfolder.save_checkpoint`): a failed or killed save
leaves the previous one whole.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from gan import io, runfolder
from gan.events import Callback, EndEvent


class SaveError(OSError):
    """The run folder could not be written (full disk, lost permission); earlier files stay."""


class Checkpoints(Callback):
    """Saves a trainer's run into its `out_dir` (nothing without one): every
    `checkpoint_every` seconds of training, at each epoch's end if `checkpoint_floor` seconds
    have passed since the last save, and when the run stops or finishes; then run.json says
    how it ended. A write that fails raises SaveError, which ends the run as an error."""

    def __init__(self, trainer, saved_at: tuple[int, int] | None = None, files=None) -> None:
        self.trainer = trainer
        self.folder = Path(trainer.config.out_dir) if trainer.config.out_dir else None
        self.saved_at = saved_at  # (epoch, step) of the files on disk
        self.saved_time = time.monotonic()  # when they were saved (or the run was prepared)
        self.files: dict[str, str] = dict(files or {})  # the checkpoint's files and hashes
        self.grid = None  # the latest progress grid, (epoch, image)

    def on_step(self, event) -> None:
        if time.monotonic() - self.saved_time >= self.trainer.config.checkpoint_every:
            self.save()  # a killed run loses at most this much

    def on_samples(self, event) -> None:
        self.grid = (event.epoch, event.grid)

    def on_epoch(self, event) -> None:
        self.save_grid()
        if time.monotonic() - self.saved_time >= self.trainer.config.checkpoint_floor:
            self.save()

    def finish(self, end: EndEvent) -> None:
        """The last save of a run that stopped or finished (not of one that diverged)."""
        if end.reason in ("finished", "stopped"):
            self.save_grid()
            self.save()

    def save_grid(self) -> None:
        """The latest grid as samples/epoch_NNN.png of its epoch."""
        if self.folder and self.grid:
            with self.saving():
                io.save_png(self.grid[1], runfolder.samples_path(self.folder, self.grid[0]), 4)

    def save(self) -> None:
        """Both networks (and the average, and a kept copy on its epoch) and run.json."""
        trainer = self.trainer
        checkpoint = (trainer.state.epoch, trainer.state.step)
        if not self.folder or self.saved_at == checkpoint:
            return
        writes = {
            runfolder.GENERATOR: trainer.output_generator.save,
            runfolder.DISCRIMINATOR: trainer.discriminator.save,
        }
        if trainer.average is not None:
            writes[runfolder.TRAINING_GENERATOR] = trainer.generator.save
        epoch, every = checkpoint[0], trainer.preset.keep_every
        if every and epoch and epoch % every == 0:
            writes[runfolder.kept_generator_name(epoch)] = trainer.output_generator.save
        with self.saving():
            self.files = runfolder.save_checkpoint(
                self.folder, writes, lambda files: trainer.record(None, checkpoint, files)
            )
        self.saved_at, self.saved_time = checkpoint, time.monotonic()  # committed
        with self.saving():
            runfolder.settle(self.folder)

    def write_record(self, end: EndEvent) -> None:
        """run.json of the last checkpoint, with how the run ended; no-op without one."""
        if not self.folder or self.saved_at is None:
            return
        runfolder.settle(self.folder)
        record = self.trainer.record(end, self.saved_at, self.files)
        io.write_json(self.folder / runfolder.RECORD, record)

    @contextmanager
    def saving(self):
        """Turn a failed write in the run folder (full disk, lost permission) into SaveError."""
        try:
            yield
        except OSError as error:
            raise SaveError(self.failure(error)) from error

    def failure(self, error: OSError) -> str:
        """What went wrong writing the run folder, and what is still there."""
        kept = (
            f"last complete checkpoint: step {self.saved_at[1]}"
            if self.saved_at
            else "no checkpoint was complete yet"
        )
        return (
            f"could not save to {self.folder} ({error.strerror or error}); "
            f"every file there is whole ({kept})"
        )
