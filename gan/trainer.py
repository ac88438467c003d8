"""The one training loop: a `tf.function` GAN step, events to callbacks, pause/resume/stop.

`Trainer.create(config)` or `Trainer.resume(run_dir)` prepares a run (raising
`ConfigError` for bad settings or data); `Trainer.run(callbacks, control)` trains and never
raises: it always ends with an `EndEvent`. `BackgroundRun` runs it on a worker thread for
the app. With `config.out_dir` set, the run folder holds `generator.keras`,
`discriminator.keras`, `run.json` and `samples/epoch_NNN.png`, all written atomically.
"""

from __future__ import annotations

import math
import platform
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from gan import io
from gan.config import ConfigError, RunConfig
from gan.data import Dataset, load_dataset
from gan.latent import render, sample_noise, tile

STATS = ("g_loss", "d_loss", "d_real", "d_fake", "acc_real", "acc_fake")
QUALITY_SAMPLES = 300  # latents scored by the live quality metrics
TRAINING_GENERATOR = "generator_training.keras"  # trained G when generator.keras is its average
MAX_HISTORY = 2000  # per-step points kept; older ones are thinned to every other


@dataclass(frozen=True)
class StartEvent:
    """The run is prepared: what it trains on and how long it will take."""

    config: RunConfig
    data_source: str
    notice: str | None
    n_images: int
    steps_per_epoch: int
    total_steps: int
    step: int  # > 0 when resuming
    epoch: int


@dataclass(frozen=True)
class StepEvent:
    """One optimisation step; D outputs are mean probabilities on this batch."""

    step: int
    epoch: int
    g_loss: float
    d_loss: float
    d_real: float  # mean D(x)
    d_fake: float  # mean D(G(z))
    acc_real: float  # share of real images D calls real
    acc_fake: float  # share of fakes D calls fake
    images_per_s: float
    elapsed: float  # seconds since the loop started


@dataclass(frozen=True)
class SamplesEvent:
    """The fixed-noise progress grid: `(H, W)` float32 in [0, 1]."""

    step: int
    epoch: int
    grid: np.ndarray


@dataclass(frozen=True)
class EpochEvent:
    """Means of the step statistics over one finished epoch (1-based)."""

    epoch: int
    step: int
    stats: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class QualityEvent:
    """Sample-quality metrics (see gan.metrics) of a fixed set of latents at this step."""

    step: int
    epoch: int
    quality: Any  # gan.metrics.Quality
    seconds: float  # how long computing it took (it runs on the training thread)


@dataclass(frozen=True)
class EndEvent:
    """How the run ended, and why."""

    reason: Literal["finished", "stopped", "diverged", "error"]
    message: str = ""
    step: int = 0
    epoch: int = 0


class SaveError(OSError):
    """The run folder could not be written (full disk, lost permission); earlier files stay."""


class Callback:
    """Override the hooks you need. Hooks run on the training thread: copy, never render."""

    def on_start(self, event: StartEvent) -> None: ...

    def on_step(self, event: StepEvent) -> None: ...

    def on_samples(self, event: SamplesEvent) -> None: ...

    def on_epoch(self, event: EpochEvent) -> None: ...

    def on_quality(self, event: QualityEvent) -> None: ...

    def on_end(self, event: EndEvent) -> None: ...


class Control:
    """Thread-safe pause / resume / stop, and work to run on the training thread.

    The loop calls `proceed()` once per batch: it blocks while paused, runs submitted
    work, and returns False once stopped. With `idle_timeout`, a run whose owner has not
    called `touch()` for that many seconds stops itself (a closed browser tab).
    """

    def __init__(self, idle_timeout: float | None = None) -> None:
        self._stop, self._running = threading.Event(), threading.Event()
        self._running.set()
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._idle_timeout = idle_timeout
        self._last_touch = time.monotonic()
        self.stop_reason = ""

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self, reason: str = "stopped by the user") -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
        self._stop.set()
        self._running.set()

    def touch(self) -> None:
        """Say the owner is still there."""
        self._last_touch = time.monotonic()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def submit(self, work: Callable[[Trainer], Any]) -> Future:
        """Run `work(trainer)` on the training thread between two batches."""
        future: Future = Future()
        self._tasks.put((work, future))
        return future

    def proceed(self, trainer: Trainer) -> bool:
        """Block while paused (still running submitted work); False once stopped."""
        while True:
            self.run_tasks(trainer)
            self.check_idle()
            if self._running.wait(timeout=0.1):
                self.run_tasks(trainer)
                return not self._stop.is_set()

    def check_idle(self) -> None:
        """Stop if the owner has not touched the run for `idle_timeout` seconds."""
        if self._idle_timeout and time.monotonic() - self._last_touch > self._idle_timeout:
            self.stop(f"nobody watched this run for {self._idle_timeout:.0f} s")

    def take_tasks(self) -> list[tuple[Callable[[Trainer], Any], Future]]:
        """Remove and return the submitted work (to run it elsewhere, e.g. in a child process)."""
        tasks = []
        while not self._tasks.empty():
            tasks.append(self._tasks.get())
        return tasks

    def run_tasks(self, trainer: Trainer) -> None:
        """Run submitted work now, reporting results and errors through the futures."""
        for work, future in self.take_tasks():
            try:
                future.set_result(work(trainer))
            except Exception as error:
                future.set_exception(error)


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
    ) -> None:
        import keras
        import tensorflow as tf

        self.config, self.data = config, data
        self.recipe = config.recipe
        self.generator, self.discriminator = generator, discriminator
        self.state = state or RunState()
        self.g_optimizer = keras.optimizers.Adam(config.lr_g, beta_1=config.beta_1)
        self.d_optimizer = keras.optimizers.Adam(config.lr_d, beta_1=config.beta_1)
        self.noise_seed = keras.random.SeedGenerator(config.seed)
        self.dataset = batches(data, config.batch_size, self.recipe.data_range, config.seed)
        self.steps_per_epoch = len(data) // config.batch_size
        self.fixed_noise, self.fixed_digits = fixed_inputs(config)
        self.average = average if average is not None else moving_average_of(generator, config)
        self.average_updates = tf.Variable(float(self.state.step), trainable=False)
        self.train_step = tf.function(self._step, jit_compile=config.xla)
        self.saved_at: tuple[int, int] | None = None  # (epoch, step) of the files on disk
        self._judge = None  # the metrics classifier, loaded on first use

    @classmethod
    def create(cls, config: RunConfig, data: Dataset | None = None) -> Trainer:
        """A fresh run; loads the dataset unless given. Raises ConfigError for bad input."""
        data = _prepared_data(config, data)
        from gan.models import build_pair

        generator, discriminator = build_pair(config.recipe, config.latent_dim, data.images)
        return cls(config, data, generator, discriminator)

    @classmethod
    def resume(cls, run_dir: str | Path, data: Dataset | None = None, **overrides: Any) -> Trainer:
        """Continue the run saved in `run_dir` (e.g. with more `epochs`)."""
        run_dir = Path(run_dir)
        record = io.read_json(run_dir / "run.json")
        try:
            values = {**record["config"], "out_dir": str(run_dir)}
            saved, history = record["checkpoint"], record["history"]
            state = RunState(
                step=saved["step"],
                epoch=saved["epoch"],
                seconds=saved["seconds"],
                epochs=history["epochs"],
                steps=defaultdict(list, history["steps"]),
                stride=history["stride"],
            )
        except (KeyError, TypeError) as error:
            raise ConfigError(f"{run_dir / 'run.json'} is not a run record ({error}).") from error
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = RunConfig.from_dict(values)
        data = _prepared_data(config, data)
        saved = io.load_model(run_dir / "generator.keras")
        discriminator = io.load_model(run_dir / "discriminator.keras")
        if config.recipe.ema:  # generator.keras holds the average; training goes on from this
            generator, average = io.load_model(run_dir / TRAINING_GENERATOR), saved
        else:
            generator, average = saved, None
        trainer = cls(config, data, generator, discriminator, state, average)
        trainer.saved_at = (state.epoch, state.step)
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
        """One GAN update (TF tutorial or Keras-GAN order, as the preset says); returns STATS."""
        import keras
        import tensorflow as tf
        from keras import ops

        recipe, latent_dim = self.recipe, self.config.latent_dim
        generator, discriminator = self.generator, self.discriminator
        n = ops.shape(images)[0]
        from_logits = recipe.d_output == "logits"
        real_target = ops.full((n, 1), recipe.real_label)

        def bce(target, score):
            return ops.mean(keras.losses.binary_crossentropy(target, score, from_logits))

        def judge(x, labels):
            """D's score, and its digit logits (None without a digit head)."""
            out = discriminator([x, labels] if recipe.d_takes_label else x, training=True)
            return (out[0], out[1]) if recipe.digit_head else (out, None)

        def noise():
            z = keras.random.normal((n, latent_dim), seed=self.noise_seed)
            if recipe.digit_code:  # the digit(s) G was asked for: the code inside its noise
                return z, code_targets(z[:, : recipe.digit_code], recipe.code_temperature)
            fake_digits = keras.random.randint((n,), 0, 10, seed=self.noise_seed, dtype="int32")
            return ([z, fake_digits] if recipe.conditional else z), fake_digits

        def d_losses(real_score, real_logits, fake_score):
            loss = bce(real_target, real_score) + bce(ops.zeros_like(fake_score), fake_score)
            return loss if real_logits is None else loss + digit_fit(real_logits, digits)

        def g_losses(fake_score, fake_logits, fake_digits):
            loss = bce(ops.ones_like(fake_score), fake_score)
            if fake_logits is None:
                return loss
            if recipe.digit_code:  # AC-GAN: D's digit head must read the code's digit(s)
                return loss + recipe.digit_head * code_fit(fake_logits, fake_digits)
            if recipe.conditional:  # AC-GAN: ... and the digit G was asked to draw
                return loss + recipe.digit_head * digit_fit(fake_logits, fake_digits)
            return loss + recipe.digit_head * digit_spread(fake_logits)

        z, fake_digits = noise()
        if recipe.update == "simultaneous":  # TF tutorial: one pass, both tapes
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                fakes = generator(z, training=True)
                real_score, real_logits = judge(images, digits)
                fake_score, fake_logits = judge(fakes, fake_digits)
                g_loss = g_losses(fake_score, fake_logits, fake_digits)
                d_loss = d_losses(real_score, real_logits, fake_score)
            d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        else:  # Keras-GAN: D on real and on predicted fakes, then G through frozen D
            fakes = generator(z, training=False)
            with tf.GradientTape() as d_tape:
                real_score, real_logits = judge(images, digits)
                fake_score, _ = judge(fakes, fake_digits)
                d_loss = d_losses(real_score, real_logits, fake_score)
            d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(
                zip(d_grads, discriminator.trainable_variables, strict=True)
            )
            z, fake_digits = noise()
            with tf.GradientTape() as g_tape:
                fakes = generator(z, training=True)
                # "Frozen" D, as in Keras 2's combined model: its weights are not updated (only
                # G's gradients are applied) but it runs as in training (batch-statistics BN).
                g_loss = g_losses(*judge(fakes, fake_digits), fake_digits)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        if recipe.update == "simultaneous":
            self.d_optimizer.apply_gradients(
                zip(d_grads, discriminator.trainable_variables, strict=True)
            )
        if self.average is not None:
            self._update_average()
        p_real = ops.sigmoid(real_score) if from_logits else real_score
        p_fake = ops.sigmoid(fake_score) if from_logits else fake_score
        return ops.stack(
            [
                g_loss,
                d_loss,
                ops.mean(p_real),
                ops.mean(p_fake),
                ops.mean(ops.cast(p_real > 0.5, "float32")),
                ops.mean(ops.cast(p_fake < 0.5, "float32")),
            ]
        )

    def _update_average(self) -> None:
        """Move the average generator toward the trained one. The decay warms up as
        (1 + t) / (10 + t) so that early averages are not dominated by the initial weights."""
        from keras import ops

        self.average_updates.assign_add(1.0)
        count = self.average_updates
        decay = ops.minimum(self.recipe.ema, (1.0 + count) / (10.0 + count))
        for average, weight in zip(self.average.weights, self.generator.weights, strict=True):
            average.assign(decay * average + (1.0 - decay) * weight)

    def sample_grid(self) -> np.ndarray:
        """The progress grid from the run's fixed noise: `(H, W)` float32 in [0, 1]."""
        images = render(self.output_generator, self.fixed_noise, self.fixed_digits)
        return tile(images, self.recipe.grid)

    def measure_quality(self, epoch: int) -> QualityEvent:
        """Metrics of the generator's output on a fixed set of QUALITY_SAMPLES latents."""
        from gan.metrics import Judge

        started = time.monotonic()
        if self._judge is None:
            self._judge = Judge()
        quality = self._judge.evaluate_generator(
            self.output_generator, QUALITY_SAMPLES, seed=self.config.seed + 2
        )
        return QualityEvent(self.state.step, epoch, quality, time.monotonic() - started)

    def run(
        self,
        callbacks: Iterable[Callback] = (),
        control: Control | None = None,
        started_at: float | None = None,
    ) -> EndEvent:
        """Train until done, stopped, out of time, diverged or failed; never raises."""
        callbacks = list(callbacks)
        control = control or Control()
        emit = _Emitter(callbacks)
        try:
            end = self._loop(emit, control, started_at or time.monotonic())
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
            self._write_record(end)
        except OSError as error:  # e.g. the disk filled up after the last checkpoint
            end = EndEvent("error", self._save_failure(error), self.state.step, self.state.epoch)
        emit("on_end", end)
        return end

    def _loop(self, emit: _Emitter, control: Control, started_at: float) -> EndEvent:
        config, state = self.config, self.state
        deadline = started_at + config.max_seconds if config.max_seconds else math.inf
        emit(
            "on_start",
            StartEvent(
                config,
                self.data.source,
                self.data.notice,
                len(self.data),
                self.steps_per_epoch,
                self.total_steps,
                state.step,
                state.epoch,
            ),
        )
        loop_start = last_sample = last_quality = time.monotonic()
        step_time = None
        for epoch in range(state.epoch + 1, config.epochs + 1):
            epoch_start, sums, count = time.monotonic(), np.zeros(len(STATS)), 0
            for images, digits in self.dataset:
                if not control.proceed(self):
                    self._checkpoint(epoch - 1)
                    return EndEvent("stopped", control.stop_reason, state.step, state.epoch)
                before = time.monotonic()
                stats = self.train_step(images, digits).numpy()
                now = time.monotonic()
                state.step += 1
                state.seconds += now - before
                if not np.all(np.isfinite(stats)):
                    return EndEvent("diverged", self._diverged_message(), state.step, epoch - 1)
                # Smoothed speed; the first step (graph tracing) is left out.
                step_time = (
                    (now - before if step_time is None else 0.9 * step_time + 0.1 * (now - before))
                    if state.step > 1
                    else None
                )
                rate = config.batch_size / step_time if step_time else 0.0
                event = StepEvent(state.step, epoch, *map(float, stats), rate, now - loop_start)
                state.record_step(event)
                emit("on_step", event)
                sums, count = sums + stats, count + 1
                if now - last_sample >= config.sample_every:
                    emit("on_samples", SamplesEvent(state.step, epoch, self.sample_grid()))
                    last_sample = time.monotonic()
                if config.quality_every is not None and now - last_quality >= config.quality_every:
                    emit("on_quality", self.measure_quality(epoch))
                    last_quality = time.monotonic()
                out_of_time = time.monotonic() >= deadline
                at_limit = config.max_steps is not None and state.step >= config.max_steps
                if out_of_time or at_limit:
                    why = (
                        f"time budget of {config.max_seconds:g} s reached"
                        if out_of_time
                        else f"step limit of {config.max_steps} reached"
                    )
                    self._finish_epoch(emit, epoch, sums, count, epoch_start)
                    return EndEvent("finished", why, state.step, state.epoch)
            self._finish_epoch(emit, epoch, sums, count, epoch_start)
        return EndEvent("finished", f"{config.epochs} epochs done", state.step, state.epoch)

    def _finish_epoch(
        self,
        emit: _Emitter,
        epoch: int,
        sums: np.ndarray,
        count: int,
        started: float,
    ) -> None:
        """Report the epoch's means (if all its batches ran) and grid; checkpoint the run."""
        means = dict(zip(STATS, (sums / max(count, 1)).tolist(), strict=True))
        grid = self.sample_grid()
        emit("on_samples", SamplesEvent(self.state.step, epoch, grid))
        if count == self.steps_per_epoch:
            self.state.epochs.append({"epoch": epoch, "step": self.state.step, **means})
            emit("on_epoch", EpochEvent(epoch, self.state.step, means, time.monotonic() - started))
            self.state.epoch = epoch
        if self.config.out_dir:
            with self._saving():
                io.save_png(
                    grid, Path(self.config.out_dir) / "samples" / f"epoch_{epoch:03d}.png", scale=4
                )
        self._checkpoint(self.state.epoch)

    def _checkpoint(self, epoch: int) -> None:
        """Save both networks and run.json atomically (no-op without an out_dir)."""
        if not self.config.out_dir or self.saved_at == (epoch, self.state.step):
            return
        folder, checkpoint = Path(self.config.out_dir), (epoch, self.state.step)
        with self._saving():
            io.save_model(self.output_generator, folder / "generator.keras")
            io.save_model(self.discriminator, folder / "discriminator.keras")
            if self.average is not None:
                io.save_model(self.generator, folder / TRAINING_GENERATOR)
            every = self.recipe.snapshot_every
            if every and epoch and epoch % every == 0:
                snapshot = folder / "snapshots" / f"generator_epoch_{epoch:03d}.keras"
                io.save_model(self.output_generator, snapshot)
            self._write_record(None, checkpoint)
        self.saved_at = checkpoint  # only once run.json names it

    @contextmanager
    def _saving(self):
        """Turn a failed write in the run folder (full disk, lost permission) into SaveError."""
        try:
            yield
        except OSError as error:
            raise SaveError(self._save_failure(error)) from error

    def _save_failure(self, error: OSError) -> str:
        """What went wrong writing the run folder, and what is still there."""
        kept = (
            f"last complete checkpoint: step {self.saved_at[1]}"
            if self.saved_at
            else "no checkpoint was complete yet"
        )
        return (
            f"could not save to {self.config.out_dir} ({error.strerror or error}); "
            f"every file there is whole ({kept})"
        )

    def _diverged_message(self) -> str:
        kept = (
            f"the checkpoint from step {self.saved_at[1]} is kept"
            if self.saved_at
            else "nothing had been saved yet"
        )
        return f"losses became NaN or infinite at step {self.state.step}; {kept}"

    def _write_record(self, end: EndEvent | None, checkpoint: tuple[int, int] | None = None):
        """run.json: config, data, the checkpoint's counters (default: the last one saved),
        history, timing, versions."""
        checkpoint = checkpoint or self.saved_at
        if not self.config.out_dir or checkpoint is None:
            return
        epoch, step = checkpoint
        state = self.state
        record = {
            "config": self.config.to_dict(),
            "data": {
                "source": self.data.source,
                "notice": self.data.notice,
                "n_images": len(self.data),
            },
            "checkpoint": {"epoch": epoch, "step": step, "seconds": state.seconds},
            "history": {
                "epochs": [e for e in state.epochs if e["epoch"] <= epoch],
                "steps": {k: v for k, v in state.steps.items()},
                "stride": state.stride,
            },
            "end": asdict(end) if end else None,
            "versions": library_versions(),
        }
        io.write_json(Path(self.config.out_dir) / "run.json", record)


class _Emitter:
    """Calls a hook on every callback."""

    def __init__(self, callbacks: list[Callback]) -> None:
        self.callbacks = callbacks

    def __call__(self, hook: str, event: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(event)


def _prepared_data(config: RunConfig, data: Dataset | None) -> Dataset:
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
    """tf.data pipeline of (images `(b, 28, 28, 1)` float32 in the preset's range, digits `(b,)`).

    Shuffles indices, not images, and keeps the digits as uint8 until a batch is gathered:
    a quarter of the memory of a float copy, and no 60,000-image shuffle buffer per epoch.
    """
    import tensorflow as tf

    images, labels = tf.constant(data.images), tf.constant(data.labels.astype(np.int32))

    def gather(index):
        unit = tf.cast(tf.gather(images, index), tf.float32)[..., None] / 255.0
        return (unit * 2.0 - 1.0 if data_range == "tanh" else unit), tf.gather(labels, index)

    return (
        tf.data.Dataset.range(len(data))
        .shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def fixed_inputs(config: RunConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """The run's fixed progress-grid noise, and digits (one row per digit) if the preset can
    be asked for a digit (by label or by code)."""
    recipe = config.recipe
    count = recipe.grid**2
    noise = sample_noise(count, config.latent_dim, seed=config.seed + 1)
    digits = (np.arange(count) // recipe.grid % 10).astype(np.int32)
    return noise, digits if recipe.conditional or recipe.digit_code else None


def moving_average_of(generator, config: RunConfig):
    """A copy of `generator` to hold its moving average, or None if the preset keeps none."""
    if not config.recipe.ema:
        return None
    import keras

    average = keras.models.clone_model(generator)
    average.set_weights(generator.get_weights())
    return average


def digit_fit(logits, digits):
    """D's digit head on real images: cross-entropy against the labels."""
    import keras
    from keras import ops

    return ops.mean(keras.losses.sparse_categorical_crossentropy(digits, logits, from_logits=True))


def code_targets(head, temperature: float):
    """What a digit code `(n, size)` asks for, as a distribution over digits: the one-hot
    largest value, or the soft code at `temperature` (as G's code layer computes it)."""
    from keras import ops

    if temperature:
        return ops.softmax(head / temperature)
    return ops.one_hot(ops.argmax(head, axis=-1), head.shape[-1])


def code_fit(logits, targets):
    """D's digit head on fakes: cross-entropy against the code's digit distribution."""
    import keras
    from keras import ops

    return ops.mean(keras.losses.categorical_crossentropy(targets, logits, from_logits=True))


def digit_spread(logits):
    """Low when each fake is one clear digit and the batch covers all digits evenly: the mean
    per-image entropy plus how far the batch's digit mix falls short of uniform (both >= 0)."""
    from keras import ops

    probabilities = ops.softmax(logits)
    per_image = -ops.sum(probabilities * ops.log_softmax(logits), axis=1)
    mix = ops.mean(probabilities, axis=0)
    mix_entropy = -ops.sum(mix * ops.log(mix + 1e-8))
    return ops.mean(per_image) + (math.log(logits.shape[-1]) - mix_entropy)


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


def prepare(
    config: RunConfig, callbacks: Iterable[Callback] = (), data: Dataset | None = None
) -> Trainer | None:
    """`Trainer.create`, reporting a failure as `EndEvent("error")` instead of raising."""
    try:
        return Trainer.create(config, data)
    except Exception as error:
        message = (
            str(error) if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
        )
        _Emitter(list(callbacks))("on_end", EndEvent("error", message))
        return None


def train(
    config: RunConfig,
    callbacks: Iterable[Callback] = (),
    control: Control | None = None,
    *,
    data: Dataset | None = None,
    started_at: float | None = None,
) -> EndEvent:
    """Prepare and run in one call; never raises."""
    callbacks = list(callbacks)
    ended: list[EndEvent] = []
    trainer = prepare(config, [*callbacks, _Recorder(ended)], data)
    if trainer is None:
        return ended[0]
    return trainer.run(callbacks, control, started_at)


class _Recorder(Callback):
    """Keeps the end event (for `train`'s return value)."""

    def __init__(self, ended: list[EndEvent]) -> None:
        self.ended = ended

    def on_end(self, event: EndEvent) -> None:
        self.ended.append(event)


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a background run's state for the UI."""

    status: Literal["queued", "preparing", "running", "paused", "stopping", "ended"]
    start: StartEvent | None
    last: StepEvent | None
    history: dict[str, list[float]]
    epochs: list[dict[str, float]]
    grid: np.ndarray | None
    end: EndEvent | None
    queue_position: int = 0
    quality: dict[str, list[float]] = field(default_factory=dict)  # step -> metric curves
    latest_quality: Any = None  # the latest gan.metrics.Quality

    @property
    def progress(self) -> float:
        """Share of the planned steps done, 0..1."""
        if not self.start or not self.last or not self.start.total_steps:
            return 0.0
        return min(1.0, self.last.step / self.start.total_steps)

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the current speed (None until measured)."""
        if not self.start or not self.last or not self.last.images_per_s:
            return None
        steps_left = max(0, self.start.total_steps - self.last.step)
        return steps_left * self.start.config.batch_size / self.last.images_per_s


class BackgroundRun(Callback):
    """One training run on a daemon worker thread; the UI reads snapshots and sends commands.

    The worker never touches the UI. `slots` (see `TrainingSlots`) limits how many runs
    train at once; `idle_timeout` stops a run nobody has `touch()`ed for that long. With
    `in_child`, the worker thread only relays: the training itself runs in a child process
    at priority `nice` (see `gan.child`), so that it cannot slow the process that started it.
    """

    def __init__(
        self,
        config: RunConfig,
        data: Dataset | None = None,
        *,
        slots: TrainingSlots | None = None,
        idle_timeout: float | None = None,
        callbacks: Iterable[Callback] = (),
        in_child: bool = False,
        nice: int = 0,
    ) -> None:
        self.config, self.control = config, Control(idle_timeout)
        self._in_child, self._nice = in_child, nice
        self._data, self._slots, self._callbacks = data, slots, list(callbacks)
        self._lock = threading.Lock()
        self._state = RunState()
        self._status = "queued" if slots else "preparing"
        self._start: StartEvent | None = None
        self._last: StepEvent | None = None
        self._grid: np.ndarray | None = None
        self._end: EndEvent | None = None
        self._quality: dict[str, list[float]] = defaultdict(list)
        self._latest_quality = None
        self._thread = threading.Thread(target=self._work, name="gan-train", daemon=True)

    def start(self) -> BackgroundRun:
        self._thread.start()
        return self

    def _work(self) -> None:
        if self._slots and not self._slots.acquire(self, self.control):
            self.on_end(EndEvent("stopped", "left the queue before training started"))
            return
        try:
            self._set_status("preparing")
            if self._in_child:
                from gan.child import run_in_child

                callbacks = [self, *self._callbacks]
                run_in_child(self.config, self._data, self.control, callbacks, self._nice)
                return
            trainer = prepare(self.config, [self], self._data)
            if trainer is not None:
                trainer.run([self, *self._callbacks], self.control)
                self.control.run_tasks(trainer)
        finally:  # the networks go with the thread: an ended run keeps only its files
            if self._slots:
                self._slots.release(self)
            self._data = None

    def _set_status(self, status: str) -> None:
        with self._lock:
            self._status = status

    # Hooks (training thread): copy a few values under the lock.
    def on_start(self, event: StartEvent) -> None:
        with self._lock:
            self._start, self._status = event, "running"

    def on_step(self, event: StepEvent) -> None:
        with self._lock:
            self._last = event
            self._state.record_step(event)

    def on_samples(self, event: SamplesEvent) -> None:
        with self._lock:
            self._grid = event.grid

    def on_epoch(self, event: EpochEvent) -> None:
        with self._lock:
            self._state.epochs.append({"epoch": event.epoch, **event.stats})

    def on_quality(self, event: QualityEvent) -> None:
        quality = event.quality
        with self._lock:
            self._quality["step"].append(event.step)
            for name in ("recognizability", "smallest_share", "frechet_distance", "frechet_floor"):
                self._quality[name].append(getattr(quality, name))
            self._latest_quality = quality

    def on_end(self, event: EndEvent) -> None:
        with self._lock:
            self._end, self._status = event, "ended"

    # Commands (UI thread).
    def touch(self) -> None:
        self.control.touch()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker; True once it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def active(self) -> bool:
        """True until the run has ended."""
        with self._lock:
            return self._end is None

    def snapshot(self) -> Snapshot:
        with self._lock:
            status = self._status
            if status == "running" and self.control.stopped:
                status = "stopping"
            elif status == "running" and self.control.paused:
                status = "paused"
            position = self._slots.position(self) if self._slots and status == "queued" else 0
            return Snapshot(
                status,
                self._start,
                self._last,
                {k: v[:] for k, v in self._state.steps.items()},
                [dict(e) for e in self._state.epochs],
                self._grid,
                self._end,
                position,
                {k: v[:] for k, v in self._quality.items()},
                self._latest_quality,
            )

    def save_generator(self, path: str | Path, timeout: float = 60.0) -> Path:
        """Save the generator as it is now, between two batches of the running training."""
        if self.snapshot().status not in ("running", "paused", "stopping"):
            raise ConfigError(
                "Only a running training can be snapshotted; an ended run's "
                "generator is in its run folder."
            )
        future = self.control.submit(partial(_save_generator, path))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return future.result(timeout=0.1)
            except TimeoutError:
                if not self._thread.is_alive() and not future.done():
                    break  # the run ended before it got to the request
        raise ConfigError(
            "The training ended before the snapshot was taken; its generator is in the run folder."
        )


def _save_generator(path: str | Path, trainer: Trainer) -> Path:
    """Work for `Control.submit` (a module-level function: it may travel to a child process)."""
    return io.save_model(trainer.output_generator, path)


class TrainingSlots:
    """A first-come, first-served limit on how many runs train at the same time."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ConfigError("The number of training slots must be at least 1.")
        self.limit = limit
        self._cond = threading.Condition()
        self._active: set[int] = set()
        self._waiting: list[int] = []

    def acquire(self, owner: object, control: Control) -> bool:
        """Wait for a slot in arrival order; False if `control` stops first."""
        key = id(owner)
        with self._cond:
            self._waiting.append(key)
            try:
                while not (len(self._active) < self.limit and self._waiting[0] == key):
                    if control.stopped:
                        return False
                    self._cond.wait(timeout=0.2)
                self._active.add(key)
                return True
            finally:
                self._waiting.remove(key)
                self._cond.notify_all()

    def release(self, owner: object) -> None:
        with self._cond:
            self._active.discard(id(owner))
            self._cond.notify_all()

    def position(self, owner: object) -> int:
        """1-based place in the queue (0: not waiting)."""
        with self._cond:
            key = id(owner)
            return self._waiting.index(key) + 1 if key in self._waiting else 0

    @property
    def busy(self) -> int:
        with self._cond:
            return len(self._active)
