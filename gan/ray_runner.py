"""Trainings as Ray actors: the app's training tier on a cluster (GAN_TRAIN_BACKEND=ray).

`RayRunner` is a `gan.runs.Runner`: called on a BackgroundRun's worker thread, it starts a
`TrainingActor` (the same `train()` as the CLI, on a thread inside the actor), mirrors the
run's `Control` to it (pause, resume, stop, submitted work such as saving the generator
now) and hands the actor's events to the run's callbacks. An actor that dies (killed,
`ray.cancel`, a lost node) ends the run as "error". The actor writes the run folder at the
config's `out_dir`, so the app and the Ray workers must see the same path: local Ray, or a
shared filesystem (GAN_RUNS_DIR on the app's side). Ray is optional:
`pip install -r requirements-ray.txt`.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from typing import Any

from gan.config import ConfigError, RunConfig, parse_float
from gan.control import Control, RunMirror
from gan.data import Dataset
from gan.events import Callback, Emitter, EndEvent, Relay
from gan.trainer import train

POLL_S = 0.1  # how long the actor waits for events before it answers a poll
SCHEDULE_TIMEOUT_S = 60.0  # a training the cluster cannot start by then ends as an error
ANSWER_TIMEOUT_S = 60.0  # an actor that does not answer a poll for this long is lost
RAY_MISSING = (
    "GAN_TRAIN_BACKEND=ray needs Ray, which is not installed: "
    "pip install -r requirements-ray.txt (or set GAN_TRAIN_BACKEND=local)."
)


def require_ray():
    """The `ray` module, or a ConfigError that says how to get it."""
    try:
        import ray
    except ImportError as error:
        raise ConfigError(RAY_MISSING) from error
    return ray


class TrainingActor:
    """What runs inside the Ray actor: one training on a thread, events in a queue."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.control = Control()

    def start(self, config: RunConfig, data: Dataset | None) -> None:
        import gan.models  # noqa: F401  (TensorFlow: imported before the run's clock starts)

        relay = Relay(lambda hook, event: self.events.put((hook, event)))
        threading.Thread(
            target=train, args=(config, [relay], self.control), kwargs={"data": data}, daemon=True
        ).start()

    def poll(self, wait: float) -> list[tuple[str, Any]]:
        """The events since the last poll; waits up to `wait` seconds for the first."""
        try:
            found = [self.events.get(timeout=wait)]
        except queue.Empty:
            return []
        while not self.events.empty():
            found.append(self.events.get())
        return found

    def command(self, paused: bool, stopped: bool, reason: str) -> None:
        if stopped:
            self.control.stop(reason or "stopped by the user")
        elif paused:
            self.control.pause()
        else:
            self.control.resume()

    def run_task(self, work) -> Any:
        """Run `work(trainer)` between two batches (saving the generator now, say)."""
        return self.control.submit(work).result()


class RayRunner:
    """Trains a BackgroundRun's config on a Ray actor with `num_cpus` and `num_gpus`."""

    def __init__(
        self,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        schedule_timeout: float = SCHEDULE_TIMEOUT_S,
    ) -> None:
        self.ray = require_ray()
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.schedule_timeout = schedule_timeout
        self.actor = None  # while a run trains: its actor (tests kill it)

    @classmethod
    def from_environment(cls) -> RayRunner:
        """Resources from GAN_RAY_CPUS (default 1) and GAN_RAY_GPUS (default 0); how long the
        cluster may take to start a training from GAN_RAY_SCHEDULE_TIMEOUT (default 60 s)."""
        env = os.environ.get
        cpus = parse_float("GAN_RAY_CPUS", env("GAN_RAY_CPUS", "1"), 0.0, 1024.0)
        gpus = parse_float("GAN_RAY_GPUS", env("GAN_RAY_GPUS", "0"), 0.0, 64.0, low_open=False)
        timeout = parse_float(
            "GAN_RAY_SCHEDULE_TIMEOUT", env("GAN_RAY_SCHEDULE_TIMEOUT", "60"), 0.0, 86400.0
        )
        return cls(cpus, gpus, timeout)

    def __call__(
        self, config: RunConfig, data: Dataset | None, control: Control, callbacks: list[Callback]
    ) -> None:
        ray = self.ray
        connect(ray)
        emit = Emitter(callbacks)
        actor_class = ray.remote(max_concurrency=4)(TrainingActor)
        self.actor = actor_class.options(num_cpus=self.num_cpus, num_gpus=self.num_gpus).remote()
        link = _ActorLink(ray, self.actor, control)
        try:
            if not self._started(self.actor.start.remote(config, data), control, emit):
                return
            ended = False
            while not ended:
                link.pass_on_commands()
                for hook, event in link.events():
                    emit(hook, event)
                    ended = ended or hook == "on_end"
                link.settle_tasks()
        except ray.exceptions.RayError as error:
            actor_died = (
                f"the Ray actor running this training ended unexpectedly ({type(error).__name__})"
            )
            emit("on_end", link.lost(actor_died))
        finally:
            link.abandon()
            ray.kill(self.actor)
            self.actor = None

    def _started(self, start, control: Control, emit: Emitter) -> bool:
        """Wait for the actor to start the training; end the run if the cluster cannot
        schedule it in time, or if Stop comes first."""
        deadline = time.monotonic() + self.schedule_timeout
        while not self.ray.wait([start], timeout=0.2)[0]:
            if control.stopped:
                emit("on_end", EndEvent("stopped", "stopped before the cluster started it"))
                return False
            if time.monotonic() > deadline:
                message = (
                    f"the Ray cluster did not start this training within "
                    f"{self.schedule_timeout:g} s (it asks for {self.num_cpus:g} CPU and "
                    f"{self.num_gpus:g} GPU; are they free?)"
                )
                emit("on_end", EndEvent("error", message))
                return False
        self.ray.get(start)
        return True


def connect(ray) -> None:
    """Join the cluster at RAY_ADDRESS, or start a local Ray, once per process."""
    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS") or None,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
        )


class _ActorLink(RunMirror):
    """The app's side of an actor: commands and work out, events and results in."""

    def __init__(self, ray, actor, control: Control) -> None:
        super().__init__(control)
        self.ray, self.actor = ray, actor

    def pass_on_commands(self) -> None:
        if changed := self.changed_commands():
            self.actor.command.remote(*changed)
        for work, future in self.control.take_tasks():
            self.pending[self.actor.run_task.remote(work)] = future

    def events(self) -> list[tuple[str, Any]]:
        found = self.ray.get(self.actor.poll.remote(POLL_S), timeout=POLL_S + ANSWER_TIMEOUT_S)
        for _, event in found:
            self.heard(event)
        return found

    def settle_tasks(self) -> None:
        """Resolve the futures of work the actor has finished."""
        if not self.pending:
            return
        done, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=0)
        for ref in done:
            future = self.pending.pop(ref)
            try:
                future.set_result(self.ray.get(ref))
            except Exception as error:
                future.set_exception(error)
