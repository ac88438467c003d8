"""`Control`: pause, resume and stop a run from another thread, change its learning rates,
loss or D steps, and hand it work to do between two batches (saving the generator as it is
now, say)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

from gan.config import ConfigError
from gan.events import EndEvent

Work = Callable[[Any], Any]  # called with the Trainer, on the training thread


class RunEndedError(RuntimeError):
    """Submitted work that the run ended before doing."""


class Control:
    """Thread-safe pause / resume / stop. The loop calls `proceed()` once per batch: it blocks
    while paused, runs submitted work, and returns False once stopped."""

    def __init__(self) -> None:
        self._stop, self._running = threading.Event(), threading.Event()
        self._running.set()
        self._tasks: queue.SimpleQueue[tuple[Work, Future]] = queue.SimpleQueue()
        self.stop_reason = ""
        self.pace: float | None = None  # slow motion: at most this many updates a second
        self._passed = 0.0  # when `proceed` last let a batch through

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self, reason: str = "stopped by the user") -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def submit(self, work: Work) -> Future:
        """Run `work(trainer)` on the training thread between two batches."""
        future: Future = Future()
        self._tasks.put((work, future))
        return future

    def change(self, **settings: Any) -> Future:
        """Change settings of the running training between two batches (`Trainer.change`:
        learning rates, G's loss, D steps per G step); the future holds the values in force,
        or the ConfigError that refused them."""
        return self.submit(partial(change_settings, settings))

    def step(self, which: str = "both") -> Future:
        """While paused: one update of both networks ("both"), of D alone ("d") or of G
        alone ("g"), on a fresh batch (`Trainer.step_once`); the future holds its StepEvent."""
        return self.submit(partial(step_networks, which))

    def slow_motion(self, updates_per_s: float | None) -> Future:
        """At most `updates_per_s` updates a second from now on (None: full speed)."""
        return self.submit(partial(set_pace, updates_per_s))

    def proceed(self, trainer) -> bool:
        """Block while paused (still running submitted work), then keep the pace of slow
        motion; False once stopped."""
        while True:
            self.run_tasks(trainer)
            if self._running.wait(timeout=0.1):
                self.run_tasks(trainer)
                break
        if self.pace:
            self._stop.wait(max(0.0, self._passed + 1.0 / self.pace - time.monotonic()))
        self._passed = time.monotonic()
        return not self._stop.is_set()

    def take_tasks(self) -> list[tuple[Work, Future]]:
        """Remove and return the submitted work (to run it elsewhere, e.g. in a child process)."""
        tasks = []
        while not self._tasks.empty():
            tasks.append(self._tasks.get())
        return tasks

    def abandon_tasks(self) -> None:
        """Fail the submitted work that nobody will do: the run has ended."""
        for _, future in self.take_tasks():
            future.set_exception(RunEndedError("the training ended before doing this"))

    def run_tasks(self, trainer) -> None:
        """Run submitted work now, reporting results and errors through the futures."""
        for work, future in self.take_tasks():
            try:
                future.set_result(work(trainer))
            except Exception as error:
                future.set_exception(error)


def change_settings(settings: dict[str, Any], trainer) -> dict[str, Any]:
    """Work for `Control.change` (module-level: it may travel to a child process)."""
    return trainer.change(**settings)


def step_networks(which: str, trainer):
    """Work for `Control.step`."""
    return trainer.step_once(which)


def set_pace(updates_per_s: float | None, trainer) -> float | None:
    """Work for `Control.slow_motion`: the pace is kept by the Control of the training's own
    process (a child's, an actor's), which the trainer holds while it runs."""
    if updates_per_s is not None and not 0.0 < updates_per_s <= 1000.0:
        raise ConfigError(f"Slow motion is 0 to 1,000 updates a second, not {updates_per_s}.")
    trainer.control.pace = updates_per_s
    return updates_per_s


class RunMirror:
    """The app's side of a run trained elsewhere (a child process, a Ray actor): the
    commands last sent, submitted work awaiting an answer, the last step heard of."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.sent: tuple[bool, bool] = (False, False)  # (paused, stopped) as last sent
        self.pending: dict[Any, Future] = {}  # a task's key -> the app's future
        self.last_step, self.last_epoch = 0, 0

    def changed_commands(self) -> tuple[bool, bool, str] | None:
        """(paused, stopped, stop reason) if that changed since the last call, else None."""
        state = (self.control.paused, self.control.stopped)
        if state == self.sent:
            return None
        self.sent = state
        return (*state, self.control.stop_reason)

    def heard(self, event: object) -> None:
        """Note the step and epoch of an event from the run."""
        self.last_step = getattr(event, "step", self.last_step)
        self.last_epoch = getattr(event, "epoch", self.last_epoch)

    def lost(self, what: str) -> EndEvent:
        """The end event of a run whose process died; `what` says which, and how."""
        message = f"{what}; every file in the run folder is whole (the last checkpoint is kept)"
        return EndEvent("error", message, self.last_step, self.last_epoch)

    def abandon(self) -> None:
        """Fail the tasks that were never answered."""
        for future in self.pending.values():
            future.set_exception(RunEndedError("the training ended before doing this"))
        self.pending.clear()
