"""Training in a child process: its own GIL, its own TensorFlow thread pools, a lower priority.

On a small shared server (a classroom) a training in the server's process competes with every
page for the GIL and for the cores; in a niced child the operating system gives the pages the
CPU first and the training takes what is left. `run_in_child` is called on the parent's worker
thread: it starts the child, mirrors the parent's `Control` to it (pause, resume, stop,
submitted work) and hands the child's events to the parent's callbacks. The child runs the
same `train()` as the CLI. If the child dies, the run ends as "error"; its files are whole,
because every write in the run folder is atomic. If the parent dies, the child stops its run
(saving a checkpoint) and exits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from gan.config import RunConfig
from gan.control import Control, RunMirror
from gan.data import Dataset
from gan.events import Callback, Emitter, Relay
from gan.trainer import train

POLL_S = 0.05  # how often the parent passes on commands while no event arrives
PARENT_GONE = "the app that started this training went away"


def run_in_child(
    config: RunConfig,
    data: Dataset | None,
    control: Control,
    callbacks: Iterable[Callback],
    nice: int = 0,
) -> None:
    """Train `config` in a fresh process; returns once the child has ended."""
    emit = Emitter(callbacks)
    process, conn = spares.take(nice)
    link = _ParentLink(conn, control)
    try:
        conn.send((config, data))
        ended = False
        while not ended:
            link.pass_on_commands()
            message = link.receive()
            if message is None:  # the child is gone without saying how the run ended
                emit("on_end", link.lost(_died(process)))
                return
            if message[0] == "event":
                emit(message[1], message[2])
                ended = message[1] == "on_end"
            elif message[0] == "result":
                link.settle(*message[1:])
        _wait(process, 10)
    except OSError:  # the pipe broke: the child died (before or while sending)
        emit("on_end", link.lost(_died(process)))
    finally:
        link.abandon()
        conn.close()
        if process.poll() is None:
            process.kill()
            process.wait()
        spares.replace(nice)  # now, not at the start: its import would slow this run's start


class SpareChild:
    """At most one child kept ready, TensorFlow already imported, for the next run.

    Off until `prestart()`; from then on every run that ends starts a new spare (one idle
    process, a few hundred MB, in exchange for TensorFlow's 4-8 s import on every Train).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: tuple[subprocess.Popen, Connection, int] | None = None  # (process, pipe, nice)
        self.enabled = False

    @property
    def pid(self) -> int | None:
        """The waiting spare's process id, if there is one."""
        with self._lock:
            return None if self._ready is None else self._ready[0].pid

    def prestart(self, nice: int = 0) -> None:
        """Keep one child ready at priority `nice` from now on; start it now."""
        self.enabled = True
        with self._lock:
            ready = self._ready
            if ready is not None and ready[0].poll() is None and ready[2] == nice:
                return
            self._ready = (*_launch(nice), nice)
        if ready is not None:
            ready[1].close()  # a spare that reads end-of-file exits

    def replace(self, nice: int) -> None:
        """After a run: start the next spare, if spares are on."""
        if self.enabled:
            self.prestart(nice)

    def take(self, nice: int) -> tuple[subprocess.Popen, Connection]:
        """The spare child if one is ready at this priority, else a new one."""
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is None:
            return _launch(nice)
        process, conn, ready_nice = ready
        if process.poll() is None and ready_nice == nice:
            return process, conn
        conn.close()
        return _launch(nice)

    def discard(self) -> None:
        """Turn spares off and let the waiting one exit."""
        self.enabled = False
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is not None:
            ready[1].close()
            ready[0].wait(30)


spares = SpareChild()


def prestart(nice: int = 0) -> None:
    """Keep one training process ready (see `SpareChild`)."""
    spares.prestart(nice)


def _launch(nice: int) -> tuple[subprocess.Popen, Connection]:
    """`python -m gan.child FD NICE`, talking pickled messages over a socket pair.

    A fresh interpreter rather than multiprocessing's spawn: nothing of the parent (its
    `__main__`, its threads, TensorFlow's state) is copied or re-imported.
    """
    ours, theirs = socket.socketpair()
    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    with theirs:
        process = subprocess.Popen(
            [sys.executable, "-m", "gan.child", str(theirs.fileno()), str(nice)],
            pass_fds=[theirs.fileno()],
            env=env,
        )
    return process, Connection(ours.detach())


def _died(process: subprocess.Popen) -> str:
    """How a child that died (killed, out of memory, crashed) ended."""
    return f"the training process ended unexpectedly (exit code {_wait(process, 5)})"


def _wait(process: subprocess.Popen, timeout: float) -> int | None:
    """The child's exit code, once it has exited (None if it is still running)."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


class _ParentLink(RunMirror):
    """The parent's end of the pipe: commands out, events and task results in."""

    def __init__(self, conn: Connection, control: Control) -> None:
        super().__init__(control)
        self.conn = conn

    def pass_on_commands(self) -> None:
        """Send what changed in the parent's control since the last call."""
        if changed := self.changed_commands():
            self.conn.send(("control", *changed))
        for work, future in self.control.take_tasks():
            self.pending[id(future)] = future
            self.conn.send(("task", id(future), work))

    def receive(self) -> tuple | None:
        """The next message, ("idle",) if none within POLL_S, None once the child is gone."""
        try:
            if not self.conn.poll(POLL_S):
                return ("idle",)
            message = self.conn.recv()
        except (EOFError, OSError):
            return None
        if message[0] == "event":
            self.heard(message[2])
        return message

    def settle(self, key: int, ok: bool, value: Any) -> None:
        """Resolve a submitted task's future with the child's answer."""
        future = self.pending.pop(key, None)
        if future is None:
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def child_main(fd: int, nice: int) -> None:
    """The child: lower its priority, import TensorFlow, wait for its run, train it."""
    if nice:
        os.nice(nice)
    import gan.models  # noqa: F401  (TensorFlow and Keras: the slow part, done before any run)

    conn = Connection(fd)
    try:
        config, data = conn.recv()
    except (EOFError, OSError):  # a spare that was never used
        return
    control = Control()
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        with send_lock:
            try:
                conn.send(message)
            except OSError:
                control.stop(PARENT_GONE)

    threading.Thread(
        target=_follow_parent, args=(conn, control, send), name="gan-commands", daemon=True
    ).start()
    train(config, [Relay(lambda hook, event: send(("event", hook, event)))], control, data=data)
    conn.close()


def _follow_parent(conn: Connection, control: Control, send: Callable[[tuple], None]) -> None:
    """Apply the parent's commands to the child's control; stop if the parent goes away."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            control.stop(PARENT_GONE)
            return
        if message[0] == "control":
            _, paused, stopped, reason = message
            if stopped:
                control.stop(reason or "stopped by the user")
            elif paused:
                control.pause()
            else:
                control.resume()
        elif message[0] == "task":
            _, key, work = message
            future = control.submit(work)
            future.add_done_callback(lambda done, key=key: send(_answer(key, done)))


def _answer(key: int, future: Future) -> tuple:
    """A task's result (or its exception) as a message to the parent."""
    error = future.exception()
    return ("result", key, error is None, future.result() if error is None else error)


if __name__ == "__main__":
    child_main(int(sys.argv[1]), int(sys.argv[2]))
