"""Run management for the app: a training run in the background that the UI reads and
commands, a first-come, first-served limit on concurrent runs, and the closed-tab watch.

No Streamlit here: pages keep a `BackgroundRun` in their session state and poll its
`snapshot()`. The run trains on a daemon worker thread, or elsewhere while that thread relays
its events and commands: in a child process at a lower priority (gan.child), or on a Ray
cluster (gan.ray_runner). A `Runner` says where.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from gan import io
from gan.child import run_in_child
from gan.config import ConfigError, RunConfig
from gan.control import Control, RunEndedError
from gan.data import Dataset
from gan.events import (
    Callback,
    Emitter,
    EndEvent,
    EpochEvent,
    QualityEvent,
    SamplesEvent,
    StartEvent,
    StepEvent,
)
from gan.runfolder import RunState
from gan.trainer import train

Status = Literal[
    "queued", "preparing", "running", "paused", "stopping", "finishing", "ended"
]  # finishing: every step done, the last checkpoint and measurements being made
Runner = Callable[[RunConfig, Dataset | None, Control, list[Callback]], None]


def in_this_process(
    config: RunConfig, data: Dataset | None, control: Control, callbacks: list[Callback]
) -> None:
    """Train on the calling thread (a BackgroundRun's worker thread)."""
    train(config, callbacks, control, data=data)


def in_child_process(nice: int = 0) -> Runner:
    """Train in a child process at priority `nice` (see gan.child)."""
    return partial(run_in_child, nice=nice)


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a background run's state for the UI."""

    status: Status
    start: StartEvent | None
    last: StepEvent | None
    history: dict[str, list[float]]
    epochs: list[dict[str, float]]
    grid: np.ndarray | None
    end: EndEvent | None
    queue_position: int = 0
    quality: dict[str, list[float]] = field(default_factory=dict)  # step -> metric curves
    latest_quality: Any = None  # the latest gan.metrics.Quality
    d_view: Any = None  # the latest gan.events.DView: what D says of the grid
    changes: list[str] = field(default_factory=list)  # settings changed mid-run, in words

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
    train at once; `idle_timeout` stops a run nobody has `touch()`ed for that long (a closed
    browser tab), queued or training. `runner` trains: on the worker thread itself (the
    default), or in a child process or on Ray while the worker thread only relays.
    `present()` (see `IdleWatch`) says whether the owner still has a tab open anywhere;
    `idle_reason` is how the end by idleness reads.
    """

    def __init__(
        self,
        config: RunConfig,
        data: Dataset | None = None,
        *,
        slots: TrainingSlots | None = None,
        idle_timeout: float | None = None,
        callbacks: Iterable[Callback] = (),
        runner: Runner = in_this_process,
        present: Callable[[], bool] | None = None,
        idle_reason: str = "nobody watched this run",
    ) -> None:
        self.config, self.control, self.runner = config, Control(), runner
        self._data, self._slots, self._callbacks = data, slots, list(callbacks)
        self._watch = IdleWatch(self.control, idle_timeout, present, idle_reason)
        self._lock = threading.Lock()
        self._state = RunState()
        self._status: Status = "queued" if slots else "preparing"
        self._start: StartEvent | None = None
        self._last: StepEvent | None = None
        self._grid: np.ndarray | None = None
        self._end: EndEvent | None = None
        self._latest_quality = None
        self._d_view = None
        self._changes: list[str] = []
        self._version = 0  # counts the events received: a view drawn at one version is current
        self._thread = threading.Thread(target=self._work, name="gan-train", daemon=True)

    def start(self) -> BackgroundRun:
        self._thread.start()
        self._watch.start()
        return self

    def _work(self) -> None:
        try:
            if self._slots and not self._slots.acquire(self, self.control):
                self.on_end(EndEvent("stopped", "left the queue before training started"))
                return
            self._train()
        finally:
            self._watch.stop()
            self._data = None

    def _train(self) -> None:
        callbacks = [self, *self._callbacks]
        try:
            self._set_status("preparing")
            self.runner(self.config, self._data, self.control, callbacks)
        except Exception as error:  # a runner that failed before the run could end
            if self.active:
                Emitter(callbacks)("on_end", EndEvent("error", f"{type(error).__name__}: {error}"))
        finally:  # the networks go with the thread: an ended run keeps only its files
            self.control.abandon_tasks()  # asked for after the last batch
            if self._slots:
                self._slots.release(self)

    def _set_status(self, status: Status) -> None:
        with self._lock:
            self._status, self._version = status, self._version + 1

    # Hooks (training thread): copy a few values under the lock.
    def on_start(self, event: StartEvent) -> None:
        with self._lock:
            self._version += 1
            self._start, self._status = event, "running"

    def on_step(self, event: StepEvent) -> None:
        with self._lock:
            self._version += 1
            self._last = event
            self._state.record_step(event)

    def on_samples(self, event: SamplesEvent) -> None:
        with self._lock:
            self._version += 1
            self._grid, self._d_view = event.grid, event.d_view

    def on_epoch(self, event: EpochEvent) -> None:
        with self._lock:
            self._version += 1
            self._state.epochs.append({"epoch": event.epoch, **event.stats})

    def on_quality(self, event: QualityEvent) -> None:
        quality = event.quality
        with self._lock:
            self._version += 1
            self._state.record_quality(event.step, quality)
            self._latest_quality = quality

    def on_end(self, event: EndEvent) -> None:
        with self._lock:
            self._version += 1
            self._end, self._status = event, "ended"

    # Commands (UI thread).
    def touch(self) -> None:
        """Say the owner (a browser tab) is still there."""
        self._watch.touch()

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
    def version(self) -> int:
        """A number that grows with every event of the run (a step, a grid, its end)."""
        with self._lock:
            return self._version

    @property
    def active(self) -> bool:
        """True until the run has ended."""
        with self._lock:
            return self._end is None

    def snapshot(self) -> Snapshot:
        with self._lock:
            status = self._status
            done = self._last is not None and self._last.step >= self._start.total_steps
            if status == "running" and done:
                status = "finishing"
            elif status == "running" and self.control.stopped:
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
                {k: v[:] for k, v in self._state.quality.items()},
                self._latest_quality,
                self._d_view,
                self._changes[:],
            )

    def change(self, timeout: float = 30.0, **settings: Any) -> dict[str, Any]:
        """Change settings of the running training (see `Control.change`) and note it in
        `changes`; returns the values in force. Raises ConfigError if refused or too late."""
        if self.snapshot().status not in ("running", "paused"):
            raise ConfigError("Only a running training can change its settings.")
        values = self._answer(self.control.change(**settings), timeout, "changed its settings")
        words = ", ".join(
            f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"
            for name, value in settings.items()
        )
        with self._lock:
            self._version += 1
            self._changes.append(f"step {self._last.step if self._last else 0:,}: {words}")
        return values

    def step(self, which: str = "both", timeout: float = 30.0) -> None:
        """While paused: one update of both networks, of D alone ("d") or of G alone ("g")."""
        if self.snapshot().status != "paused":
            raise ConfigError("Step works while the training is paused.")
        self._answer(self.control.step(which), timeout, "made that step")

    def slow_motion(self, updates_per_s: float | None, timeout: float = 30.0) -> None:
        """At most `updates_per_s` updates a second from now on (None: full speed)."""
        self._answer(self.control.slow_motion(updates_per_s), timeout, "changed its pace")

    def save_generator(self, path: str | Path, timeout: float = 60.0) -> Path:
        """Save the generator as it is now, between two batches of the running training."""
        if self.snapshot().status not in ("running", "paused", "stopping"):
            raise ConfigError(
                "Only a running training can save its generator now; an ended run's "
                "generator is in its run folder."
            )
        future = self.control.submit(partial(_save_generator, path))
        return self._answer(future, timeout, "saved its generator; it is in the run folder")

    def _answer(self, future: futures.Future, timeout: float, done: str) -> Any:
        """The submitted work's result, waiting while the training lives; ConfigError if it
        failed or the training ended first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (future.done() or self._thread.is_alive()):
            try:
                return future.result(timeout=0.1)
            except futures.TimeoutError:
                continue
            except RunEndedError:
                break
        raise ConfigError(f"The training ended before it {done}.")


def _save_generator(path: str | Path, trainer) -> Path:
    """Work for `Control.submit` (a module-level function: it may travel to a child process)."""
    return io.save_model(trainer.output_generator, path)


class IdleWatch:
    """Stops a run whose owner has not called `touch()` for `timeout` seconds (None: never):
    a closed browser tab leaves no other trace (Streamlit has no session-end hook).
    `present()`, if given, is asked too: while it says True, the owner counts as there (a tab
    of the same browser is open on another page)."""

    def __init__(
        self,
        control: Control,
        timeout: float | None,
        present: Callable[[], bool] | None = None,
        reason: str = "nobody watched this run",
    ) -> None:
        self.control, self.timeout, self.present, self.reason = control, timeout, present, reason
        self._last_touch = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="gan-idle-watch", daemon=True)

    def start(self) -> None:
        if self.timeout:
            self._thread.start()

    def touch(self) -> None:
        self._last_touch = time.monotonic()

    def stop(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        while not self._done.wait(min(1.0, self.timeout / 4)):
            if self.present is not None and self.present():
                self.touch()
            if time.monotonic() - self._last_touch > self.timeout:
                self.control.stop(f"{self.reason} for {self.timeout:g} s")
                return


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
