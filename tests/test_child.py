"""Training in a child process (`BackgroundRun(in_child=True)`, what the app uses)."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import StepGate, children_of, quiet, training_children, wait_until
from conftest import tiny as tiny_config

from gan import child, io
from gan.runs import BackgroundRun, in_child_process

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.system  # child processes or a Ray cluster


def tiny(**overrides):
    """`conftest.tiny`, drawing the progress grid after every step."""
    return tiny_config(**{"sample_every": 0.0, **overrides})


def start(config, small, **options) -> tuple[BackgroundRun, StepGate]:
    gate = StepGate(options.pop("step", 3))
    run = BackgroundRun(
        config, small, runner=in_child_process(options.pop("nice", 0)), callbacks=[gate], **options
    ).start()
    gate.wait(run)
    return run, gate


def test_a_child_run_streams_events_snapshots_and_stops(tmp_path, small):
    run, _ = start(tiny(epochs=10_000), small)
    snap = run.snapshot()
    assert snap.status == "running" and snap.start.n_images == 128
    assert snap.grid is not None and len(snap.history["g_loss"]) >= 3
    path = run.save_generator(tmp_path / "snapshot.keras")  # done by the child, between batches
    assert io.load_generator(path) is not None
    run.stop()
    assert run.join(60)
    assert run.snapshot().end.reason == "stopped"
    assert training_children() == []  # the child has exited


def test_a_paused_child_takes_no_steps_and_goes_on_after_resume(small):
    run, gate = start(tiny(epochs=10_000), small)
    run.pause()
    wait_until(lambda: quiet(gate.stepped, 0.5))  # the child got the pause; events drained
    paused_at = gate.last
    assert quiet(gate.stepped, 2.0), "a step while paused"
    assert run.snapshot().last.step == paused_at
    run.resume()
    gate.step, gate.reached = paused_at + 5, threading.Event()
    gate.wait(run, 60)  # steps again after resume
    assert run.snapshot().status == "running"
    run.stop()
    assert run.join(60)


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
    run = BackgroundRun(
        tiny(epochs=10_000), small, runner=in_child_process(), idle_timeout=0.5
    ).start()
    assert run.join(120)
    end = run.snapshot().end
    assert end.reason == "stopped" and "nobody watched" in end.message


def test_bad_settings_in_a_child_end_with_the_clear_error(small):
    run = BackgroundRun(tiny(batch_size=1000), small, runner=in_child_process()).start()
    assert run.join(120)
    end = run.snapshot().end
    assert end.reason == "error" and "larger than the training data" in end.message


def test_a_spare_child_is_used_and_replaced(small):
    child.spares.discard()
    child.prestart(0)
    spare = child.spares.pid
    run, _ = start(tiny(epochs=10_000), small)
    assert training_children() == [spare]  # the spare is the run's child
    run.stop()
    assert run.join(60)
    wait_until(lambda: child.spares.pid not in (None, spare))  # a new spare waits
    replacement = child.spares.pid
    child.spares.discard()  # an unused spare exits when its pipe closes
    wait_until(lambda: not Path(f"/proc/{replacement}").exists() or zombie(replacement))


PARENT = textwrap.dedent(
    """
    import sys, threading
    from conftest import tiny
    from gan.data import load_dataset
    from gan.events import Callback
    from gan.runs import BackgroundRun, in_child_process

    class Started(Callback):
        def __init__(self):
            self.done = threading.Event()
        def on_step(self, event):
            self.done.set()

    started = Started()
    data = load_dataset("mnist")
    config = tiny(epochs=10_000, out_dir=sys.argv[1])
    BackgroundRun(config, data, runner=in_child_process(), callbacks=[started]).start()
    started.done.wait(120)
    print("training", flush=True)
    threading.Event().wait()  # until killed
    """
)


def test_the_child_stops_saves_and_exits_when_its_parent_dies(tmp_path):
    out = tmp_path / "run"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(out)],
        cwd=ROOT / "tests",
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout.readline().strip() == "training"
        (pid,) = children_of(parent.pid)
        parent.kill()  # no goodbye: the app's process is gone
        parent.wait(30)
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or zombie(pid), seconds=60)
    finally:
        parent.kill()
    record = io.read_json(out / "run.json")
    assert record["end"]["reason"] == "stopped"
    assert record["end"]["message"] == child.PARENT_GONE
    assert io.load_generator(out / "generator.keras") is not None


def zombie(pid: int) -> bool:
    """True for a process that has exited but not been reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture(autouse=True)
def no_leftover_children():
    yield
    wait_until(lambda: training_children() == [], seconds=30)
