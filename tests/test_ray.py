"""Trainings as Ray actors (GAN_TRAIN_BACKEND=ray), against a local Ray instance."""

from __future__ import annotations

import pytest
from conftest import StepGate, quiet, tiny, wait_until

from gan import io
from gan.config import ConfigError
from gan.runs import BackgroundRun

ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")

from gan.ray_runner import RayRunner  # noqa: E402

pytestmark = pytest.mark.system  # child processes or a Ray cluster


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_a_tiny_run_on_an_actor_streams_its_events_and_writes_its_folder(tmp_path):
    out = tmp_path / "run"
    kinds = StepGate()
    run = BackgroundRun(
        tiny(epochs=2, sample_every=0.0, out_dir=str(out)), runner=RayRunner(), callbacks=[kinds]
    ).start()  # no data given: the actor loads MNIST itself, as a child process does
    assert run.join(300)
    snap = run.snapshot()
    assert snap.end.reason == "finished", snap.end
    assert kinds.kinds[0] == "start" and kinds.kinds[-1] == "end"
    assert kinds.kinds.count("step") == 8 and "samples" in kinds.kinds
    assert snap.grid is not None and len(snap.history["g_loss"]) == 8
    assert io.load_generator(out / "generator.keras") is not None


def test_pause_resume_snapshot_and_stop_go_through_the_actor(tmp_path):
    kinds = StepGate()
    run = BackgroundRun(
        tiny(epochs=10_000, sample_every=0.0), runner=RayRunner(), callbacks=[kinds]
    ).start()
    kinds.wait(run, 300)
    run.pause()
    wait_until(lambda: quiet(kinds.stepped, 0.5))  # the actor got the pause; events drained
    paused_at = kinds.last
    assert quiet(kinds.stepped, 2.0), "a step while paused"
    assert run.snapshot().last.step == paused_at and run.snapshot().status == "paused"
    path = run.save_generator(tmp_path / "snapshot.keras")  # done by the actor, while paused
    assert io.load_generator(path) is not None
    run.resume()
    assert kinds.stepped.wait(60), "no step after resume"
    run.stop()
    assert run.join(120)
    assert run.snapshot().end.reason == "stopped"


def test_a_killed_actor_ends_the_run_as_error_and_keeps_its_files(tmp_path):
    out = tmp_path / "run"
    kinds, runner = StepGate(step=12), RayRunner()  # 12 steps: past two checkpoints
    run = BackgroundRun(
        tiny(epochs=10_000, out_dir=str(out)), runner=runner, callbacks=[kinds]
    ).start()
    kinds.wait(run, 300)
    ray.kill(runner.actor)
    assert run.join(120)
    end = run.snapshot().end
    assert end.reason == "error" and "Ray actor" in end.message, end
    assert end.step >= 12
    assert io.load_generator(out / "generator.keras") is not None
    assert io.read_json(out / "run.json")["checkpoint"]["step"] >= 4


def test_bad_ray_settings_are_clear_errors(monkeypatch):
    monkeypatch.setenv("GAN_RAY_GPUS", "lots")
    with pytest.raises(ConfigError, match="GAN_RAY_GPUS"):
        RayRunner.from_environment()


def test_a_run_the_cluster_cannot_schedule_ends_as_an_error_and_stop_always_ends_it():
    """A GPU asked of a CPU-only cluster: the actor is never placed. The run ends as an error
    when the schedule timeout passes; pressed before that, Stop ends it."""
    waiting = BackgroundRun(tiny(), runner=RayRunner(num_gpus=1, schedule_timeout=5)).start()
    assert waiting.join(60)
    end = waiting.snapshot().end
    assert end.reason == "error" and "did not start this training within 5 s" in end.message

    stopped = BackgroundRun(tiny(), runner=RayRunner(num_gpus=1, schedule_timeout=600)).start()
    wait_until(lambda: stopped.snapshot().status == "preparing")
    stopped.stop()
    assert stopped.join(120)
    assert stopped.snapshot().end.reason == "stopped"
