"""Training in a child process (`BackgroundRun(in_child=True)`, what the app uses)."""

import os
import signal
import threading
import time

import pytest
from conftest import tiny as tiny_config
from conftest import training_children

from gan import child, io
from gan.trainer import BackgroundRun, Callback


def tiny(**overrides):
    """`conftest.tiny`, drawing the progress grid after every step."""
    return tiny_config(**{"sample_every": 0.0, **overrides})


class StepGate(Callback):
    """Sets `reached` once the run has done `step` steps."""

    def __init__(self, step: int) -> None:
        self.step, self.reached = step, threading.Event()

    def on_step(self, event):
        if event.step >= self.step:
            self.reached.set()


def start(config, small, **options) -> tuple[BackgroundRun, StepGate]:
    gate = StepGate(options.pop("step", 3))
    run = BackgroundRun(config, small, in_child=True, callbacks=[gate], **options).start()
    assert gate.reached.wait(120), run.snapshot()
    return run, gate


def test_a_child_run_streams_events_pauses_snapshots_and_stops(tmp_path, small):
    run, _ = start(tiny(epochs=10_000), small)
    snap = run.snapshot()
    assert snap.status == "running" and snap.start.n_images == 128
    assert snap.grid is not None and len(snap.history["g_loss"]) >= 3
    path = run.save_generator(tmp_path / "snapshot.keras")  # done by the child, between batches
    assert io.load_generator(path) is not None
    run.pause()
    time.sleep(0.5)  # let the batch in flight finish
    step = run.snapshot().last.step
    time.sleep(1.0)
    assert run.snapshot().last.step == step and run.snapshot().status == "paused"
    run.resume()
    run.stop()
    assert run.join(60)
    assert run.snapshot().end.reason == "stopped"
    assert training_children() == []  # the child has exited


def test_the_child_runs_at_the_asked_priority(small):
    run, _ = start(tiny(epochs=10_000), small, nice=7)
    (pid,) = training_children()
    assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 7
    run.stop()
    assert run.join(60)


def test_a_killed_child_ends_the_run_as_error_and_keeps_its_files(tmp_path, small):
    out = tmp_path / "run"
    run, _ = start(tiny(epochs=10_000, out_dir=str(out)), small, step=12)  # past 2 checkpoints
    for pid in training_children():
        os.kill(pid, signal.SIGKILL)
    assert run.join(60)
    end = run.snapshot().end
    assert end.reason == "error" and "ended unexpectedly" in end.message, end
    assert io.load_generator(out / "generator.keras") is not None
    assert io.read_json(out / "run.json")["checkpoint"]["step"] >= 4


def test_a_child_run_nobody_watches_stops_itself(small):
    run = BackgroundRun(tiny(epochs=10_000), small, in_child=True, idle_timeout=0.5).start()
    assert run.join(120)
    end = run.snapshot().end
    assert end.reason == "stopped" and "nobody watched" in end.message


def test_bad_settings_in_a_child_end_with_the_clear_error(small):
    run = BackgroundRun(tiny(batch_size=1000), small, in_child=True).start()
    assert run.join(120)
    end = run.snapshot().end
    assert end.reason == "error" and "larger than the training data" in end.message


def test_a_spare_child_is_used_and_replaced(small, monkeypatch):
    monkeypatch.setattr(child, "_spare", None)
    monkeypatch.setattr(child, "_keep_spare", False)
    child.prestart(0)
    spare = child._spare[0]
    run, _ = start(tiny(epochs=10_000), small)
    assert training_children() == [spare.pid]  # the spare is the run's child
    run.stop()
    assert run.join(60)
    assert spare.wait(30) == 0
    replacement = child._spare[0]
    assert replacement.pid != spare.pid and replacement.poll() is None
    child._spare[1].close()  # an unused spare exits when its pipe closes
    assert replacement.wait(30) == 0


@pytest.fixture(autouse=True)
def no_leftover_children():
    yield
    deadline = time.monotonic() + 30
    while training_children() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert training_children() == []
