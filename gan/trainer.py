"""The one training loop: the preset's compiled step, events to callbacks, pause/resume/stop.

`Trainer.create(config)` or `Trainer.resume(run_dir)` prepares a run (raising `ConfigError`
for bad settings or data); `Trainer.run(callbacks, control)` trains and never raises: it
always ends with an `EndEvent`. With `config.out_dir` set, the run folder (see
gan.runfolder) holds both networks, run.json and a grid per epoch, all written atomically.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from gan import io, runfolder
from gan.checkpoints import Checkpoints, SaveError
from gan.config import LIVE_SETTINGS, ConfigError, RunConfig
from gan.control import Control
from gan.d_view import DViewer
from gan.data import Dataset, batches, prepared_data
from gan.events import (
    STATS,
    Callback,
    Emitter,
    EndEvent,
    EpochEvent,
    QualityEvent,
    SamplesEvent,
    StartEvent,
    StepEvent,
)
from gan.latent import render, tile
from gan.presets import find_preset
from gan.recipe import Preset
from gan.runfolder import RunState
from gan.starts import fixed_inputs, moving_average_of, start_from

QUALITY_SAMPLES = 300  # latents scored by the live quality metrics


class Trainer:
    """A prepared GAN run: data pipeline, both networks, optimisers and the compiled step."""

    def __init__(
        self,
        config: RunConfig,
        data: Dataset,
        generator,
        discriminator,
        state: RunState | None = None,
        average=None,
        preset: Preset | None = None,
    ) -> None:
        import keras
        import tensorflow as tf

        from gan.steps import ONE_NETWORK, STEPS, Networks, discriminator_step

        self.config, self.data = config, data
        self.preset = preset or find_preset(config.preset)
        self.generator, self.discriminator = generator, discriminator
        self.state = state or RunState()
        # What a running training can be told to change (`change`), as graph variables.
        self.learning_rates = tf.Variable([config.lr_g, config.lr_d], trainable=False)
        self.nets = Networks(
            self.preset,
            config.latent_dim,
            generator,
            discriminator,
            keras.optimizers.Adam(config.lr_g, beta_1=config.beta_1),
            keras.optimizers.Adam(config.lr_d, beta_1=config.beta_1),
            keras.random.SeedGenerator(config.seed),
            tf.Variable(float(config.g_loss == "minimax"), trainable=False),
        )
        self.steps_per_epoch = len(data) // config.batch_size
        # One endless, reshuffled stream for the loop and a paused run's steps: a new
        # iterator each epoch stalled the epoch's first step 10-14 s here.
        self.batches = iter(batches(data, config.batch_size, self.preset.data_range, config.seed))
        self.fixed_noise, self.fixed_digits = fixed_inputs(config, self.preset)
        self.average = average if average is not None else moving_average_of(generator, self.preset)
        self.steps_done = tf.Variable(float(self.state.step), trainable=False)  # in-graph count
        self._update = STEPS[self.preset.update]
        self.train_step = tf.function(self._step, jit_compile=config.xla)
        self.d_step = tf.function(partial(discriminator_step, self.nets), jit_compile=config.xla)
        self.one_network = {  # Step D and Step G: one network's update alone
            which: tf.function(partial(self._one_network_step, which, step), jit_compile=config.xla)
            for which, step in ONE_NETWORK.items()
        }
        self.d_viewer = DViewer(self.nets, data)
        self.control: Control | None = None  # while running: its Control (see `run`)
        self._emit, self._epoch, self._loop_start = Emitter([]), 0, time.monotonic()
        self.checkpoints = Checkpoints(self)  # saves the run folder as the loop goes
        self._judge = None  # the metrics classifier, loaded on first use

    @classmethod
    def create(
        cls, config: RunConfig, data: Dataset | None = None, preset: Preset | None = None
    ) -> Trainer:
        """A fresh run; loads the dataset unless given. Raises ConfigError for bad input.
        `preset` trains with a variant of the config's preset (benchmarks)."""
        import keras

        from gan.models import build_pair

        data = prepared_data(config, data)
        preset = preset or find_preset(config.preset)
        keras.utils.set_random_seed(config.seed)  # the same seed starts from the same weights
        generator, discriminator = build_pair(preset, config.latent_dim, data.images)
        if config.init_from:
            start_from(Path(config.init_from), generator, discriminator)
        return cls(config, data, generator, discriminator, preset=preset)

    @classmethod
    def resume(cls, run_dir: str | Path, data: Dataset | None = None, **overrides: Any) -> Trainer:
        """Continue the run saved in `run_dir` (e.g. with more `epochs`)."""
        run_dir = Path(run_dir)
        values, state = runfolder.read_record(run_dir)
        values.update({k: v for k, v in overrides.items() if v is not None}, out_dir=str(run_dir))
        config = RunConfig.from_dict(values)
        data = prepared_data(config, data)
        saved = io.load_model(run_dir / runfolder.GENERATOR)
        discriminator = io.load_model(run_dir / runfolder.DISCRIMINATOR)
        if find_preset(config.preset).ema:  # generator.keras is the average; G trains on
            generator, average = io.load_model(run_dir / runfolder.TRAINING_GENERATOR), saved
        else:
            generator, average = saved, None
        trainer = cls(config, data, generator, discriminator, state, average)
        files = runfolder.read_json_files(run_dir)
        trainer.checkpoints = Checkpoints(trainer, (state.epoch, state.step), files)
        return trainer

    @property
    def output_generator(self):
        """The generator a user gets: the moving average if the preset keeps one."""
        return self.average if self.average is not None else self.generator

    @property
    def total_steps(self) -> int:
        steps = self.config.epochs * self.steps_per_epoch
        return min(steps, self.config.max_steps) if self.config.max_steps else steps

    def _step(self, images, digits):
        """One update in the preset's order (see gan.steps), then the moving average."""
        self.steps_done.assign_add(1.0)
        self._set_learning_rates()
        stats = self._update(self.nets, images, digits)
        if self.average is not None:
            self._update_average()
        return stats

    def _one_network_step(self, which: str, step, images, digits):
        """Step D or Step G (see gan.steps.ONE_NETWORK); the moving average follows G."""
        self.steps_done.assign_add(1.0)
        self._set_learning_rates()
        stats = step(self.nets, images, digits)
        if self.average is not None and which == "g":
            self._update_average()
        return stats

    def step_once(self, which: str) -> StepEvent:
        """One update on a fresh batch, asked for while the run is paused (`Control.step`):
        "both" (the preset's update), "d" or "g" (that network alone). Reported like any
        step, followed by the grid."""
        if which != "both" and which not in self.one_network:
            raise ConfigError(f"A step updates both networks, d or g, not {which!r}.")
        images, digits = next(self.batches)
        if which == "both":
            stats = self.train_on(images, digits)
        else:
            stats = self.one_network[which](images, digits).numpy()
        self.state.step += 1
        event = self._report(stats, self._epoch, 0.0, time.monotonic() - self._loop_start)
        self._emit("on_samples", self.samples(self._epoch))
        return event

    def _report(self, stats, epoch: int, rate: float, elapsed: float) -> StepEvent:
        """The StepEvent of the step just done: kept in the history and sent to callbacks."""
        event = StepEvent(self.state.step, epoch, *map(float, stats), rate, elapsed)
        self.state.record_step(event)
        self._emit("on_step", event)
        return event

    def _set_learning_rates(self) -> None:
        """The run's learning rates, falling as lr / (1 + t / lr_decay_steps) at step t if the
        preset decays them: fast early, annealed later (and where it was when a run is
        resumed)."""
        factor = 1.0
        if self.preset.lr_decay_steps:
            factor = 1.0 / (1.0 + self.steps_done / self.preset.lr_decay_steps)
        self.nets.g_optimizer.learning_rate.assign(self.learning_rates[0] * factor)
        self.nets.d_optimizer.learning_rate.assign(self.learning_rates[1] * factor)

    def train_on(self, images, digits):
        """One training step on a batch: `d_steps - 1` extra updates of D, then the preset's
        update of both; returns the step's STATS."""
        for _ in range(self.config.d_steps - 1):
            self.d_step(images, digits)
        return self.train_step(images, digits).numpy()

    def change(self, **values: Any) -> dict[str, Any]:
        """Change LIVE_SETTINGS of the running training (between two batches); raises
        ConfigError for a bad value or another setting. Returns the values now in force."""
        unknown = set(values) - set(LIVE_SETTINGS)
        if unknown:
            raise ConfigError(
                f"A running training cannot change {', '.join(sorted(unknown))}; it can "
                f"change {', '.join(LIVE_SETTINGS)}."
            )
        self.config = replace(self.config, **values)  # validated; saved in run.json
        self.learning_rates.assign([self.config.lr_g, self.config.lr_d])
        self.nets.minimax.assign(float(self.config.g_loss == "minimax"))
        return {name: getattr(self.config, name) for name in LIVE_SETTINGS}

    def _update_average(self) -> None:
        """Move the average generator toward the trained one. The decay warms up as
        (1 + t) / (10 + t) so that early averages are not dominated by the initial weights."""
        from keras import ops

        count = self.steps_done
        decay = ops.minimum(self.preset.ema, (1.0 + count) / (10.0 + count))
        for average, weight in zip(self.average.weights, self.generator.weights, strict=True):
            average.assign(decay * average + (1.0 - decay) * weight)

    def grid_images(self) -> np.ndarray:
        """The progress grid's images `(n, 28, 28, 1)` in [0, 1]."""
        return render(self.output_generator, self.fixed_noise, self.fixed_digits)

    def samples(self, epoch: int) -> SamplesEvent:
        """The progress grid, with what D says of it and of a row of real digits."""
        images = self.grid_images()
        view = self.d_viewer(images, self.fixed_digits)
        return SamplesEvent(self.state.step, epoch, tile(images, self.preset.grid), view)

    def measure_quality(self, epoch: int) -> QualityEvent:
        """Metrics of the generator's output on a fixed set of QUALITY_SAMPLES latents."""
        from gan.metrics import Judge

        started = time.monotonic()
        if self._judge is None:
            self._judge = Judge()
        quality = self._judge.evaluate_generator(
            self.output_generator, QUALITY_SAMPLES, seed=self.config.seed + 2
        )
        self.state.record_quality(self.state.step, quality)
        return QualityEvent(self.state.step, epoch, quality, time.monotonic() - started)

    def run(
        self,
        callbacks: Iterable[Callback] = (),
        control: Control | None = None,
        started_at: float | None = None,
    ) -> EndEvent:
        """Train until done, stopped, out of time, diverged or failed; never raises."""
        control = self.control = control or Control()
        emit = self._emit = Emitter([*callbacks, self.checkpoints])
        try:
            end = self._loop(emit, control, started_at or time.monotonic())
            self.checkpoints.finish(end)
            if self.config.quality_every is not None and end.reason in ("finished", "stopped"):
                emit("on_quality", self.measure_quality(self.state.epoch))  # the final figures
        except SaveError as error:
            end = EndEvent("error", str(error), self.state.step, self.state.epoch)
        except Exception as error:  # the worker must never die silently
            end = EndEvent(
                "error", f"{type(error).__name__}: {error}", self.state.step, self.state.epoch
            )
        control.run_tasks(self)
        try:
            self.checkpoints.write_record(end)
        except OSError as error:  # e.g. the disk filled up after the last checkpoint
            failure = self.checkpoints.failure(error)
            end = EndEvent("error", failure, self.state.step, self.state.epoch)
        emit("on_end", end)
        return end

    def _loop(self, emit: Emitter, control: Control, started_at: float) -> EndEvent:
        config, state = self.config, self.state
        deadline = started_at + config.max_seconds if config.max_seconds else math.inf
        emit("on_start", self._start_event())
        # Where G starts (noise, for a fresh run): shown before the first step's slow trace.
        emit("on_samples", self.samples(state.epoch))
        loop_start = last_sample = last_quality = self._loop_start = time.monotonic()
        step_time = None
        for epoch in range(state.epoch + 1, config.epochs + 1):
            self._epoch = epoch
            epoch_start, sums, count = time.monotonic(), np.zeros(len(STATS)), 0
            for _ in range(self.steps_per_epoch):
                images, digits = next(self.batches)
                if not control.proceed(self):
                    return EndEvent("stopped", control.stop_reason, state.step, state.epoch)
                before = time.monotonic()
                stats = self.train_on(images, digits)
                now = time.monotonic()
                state.step += 1
                state.seconds += now - before
                if not np.all(np.isfinite(stats)):
                    return EndEvent("diverged", self._diverged_message(), state.step, epoch - 1)
                step_time = smoothed(step_time, now - before) if state.step > 1 else None
                rate = config.batch_size / step_time if step_time else 0.0
                self._report(stats, epoch, rate, now - loop_start)
                sums, count = sums + stats, count + 1
                if now - last_sample >= config.sample_every:
                    emit("on_samples", self.samples(epoch))
                    last_sample = time.monotonic()
                if config.quality_every is not None and now - last_quality >= config.quality_every:
                    emit("on_quality", self.measure_quality(epoch))
                    last_quality = time.monotonic()
                limit = self._limit_reached(deadline)
                if limit:
                    self._finish_epoch(emit, epoch, sums, count, epoch_start)
                    return EndEvent("finished", limit, state.step, state.epoch)
            self._finish_epoch(emit, epoch, sums, count, epoch_start)
        epochs = f"{config.epochs} epoch{'' if config.epochs == 1 else 's'}"
        return EndEvent("finished", f"{epochs} done", state.step, state.epoch)

    def _limit_reached(self, deadline: float) -> str | None:
        """Why the run must end now (its time budget or step limit), or None."""
        config = self.config
        if time.monotonic() >= deadline:
            return f"time budget of {config.max_seconds:g} s reached"
        if config.max_steps is not None and self.state.step >= config.max_steps:
            return f"step limit of {config.max_steps} reached"
        return None

    def _start_event(self) -> StartEvent:
        return StartEvent(
            self.config,
            self.data.source,
            self.data.notice,
            len(self.data),
            self.steps_per_epoch,
            self.total_steps,
            self.state.step,
            self.state.epoch,
        )

    def _finish_epoch(
        self, emit: Emitter, epoch: int, sums: np.ndarray, count: int, started: float
    ) -> None:
        """Report the epoch's grid, and its means if all its batches ran."""
        means = dict(zip(STATS, (sums / max(count, 1)).tolist(), strict=True))
        emit("on_samples", self.samples(epoch))
        if count == self.steps_per_epoch:
            self.state.epochs.append({"epoch": epoch, "step": self.state.step, **means})
            self.state.epoch = epoch
            emit("on_epoch", EpochEvent(epoch, self.state.step, means, time.monotonic() - started))

    def _diverged_message(self) -> str:
        saved = self.checkpoints.saved_at
        kept = f"the checkpoint from step {saved[1]} is kept" if saved else "nothing was saved"
        return f"losses became NaN or infinite at step {self.state.step}; {kept}"

    def record(self, end: EndEvent | None, checkpoint: tuple[int, int], files: dict) -> dict:
        """run.json's content for a checkpoint (see gan.runfolder.record_of)."""
        data = {"source": self.data.source, "notice": self.data.notice, "n_images": len(self.data)}
        config = self.config.to_dict()
        return runfolder.record_of(config, data, self.state, checkpoint, files, end)


def smoothed(average: float | None, value: float) -> float:
    """A moving average of step times (the first value starts it)."""
    return value if average is None else 0.9 * average + 0.1 * value


def prepare(config: RunConfig, data: Dataset | None = None) -> Trainer | EndEvent:
    """`Trainer.create` (or `Trainer.resume` with `config.resume`), or the `EndEvent("error")`
    that says why it failed (never raises)."""
    try:
        if config.resume:  # the saved run's settings, within this config's time budget
            keep = ("max_seconds", "quality_every", "checkpoint_every", "checkpoint_floor")
            return Trainer.resume(config.out_dir, data, **{k: getattr(config, k) for k in keep})
        return Trainer.create(config, data)
    except ConfigError as error:
        return EndEvent("error", str(error))
    except Exception as error:
        return EndEvent("error", f"{type(error).__name__}: {error}")


def train(
    config: RunConfig,
    callbacks: Iterable[Callback] = (),
    control: Control | None = None,
    *,
    data: Dataset | None = None,
    started_at: float | None = None,
) -> EndEvent:
    """Prepare and run in one call; never raises."""
    prepared = prepare(config, data)
    if isinstance(prepared, EndEvent):
        Emitter(callbacks)("on_end", prepared)
        return prepared
    return prepared.run(callbacks, control, started_at)
