import hashlib
import json
import threading

import numpy as np
import pytest
from conftest import tiny, wait_until

from gan import io
from gan.config import ConfigError, RunConfig
from gan.control import Control
from gan.data import Dataset
from gan.events import Callback
from gan.runfolder import TRAINING_GENERATOR
from gan.runs import BackgroundRun, TrainingSlots
from gan.trainer import Trainer, train


class Recorder(Callback):
    """Keeps every event, in order; optionally acts on a step."""

    def __init__(self, on_step=None):
        self.events, self._on_step = [], on_step

    def on_start(self, event):
        self.events.append(event)

    def on_step(self, event):
        self.events.append(event)
        if self._on_step:
            self._on_step(event)

    def on_samples(self, event):
        self.events.append(event)

    def on_epoch(self, event):
        self.events.append(event)

    def on_quality(self, event):
        self.events.append(event)

    def on_end(self, event):
        self.events.append(event)

    def kinds(self):
        return [type(e).__name__ for e in self.events]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_events_arrive_in_order(small):
    recorder = Recorder()
    end = train(tiny(epochs=2), [recorder], data=small)
    assert end.reason == "finished" and end.epoch == 2 and end.step == 8
    kinds = recorder.kinds()
    assert kinds[0] == "StartEvent" and kinds[-1] == "EndEvent"
    assert kinds.count("StepEvent") == 8 and kinds.count("EpochEvent") == 2
    assert kinds[:3] == ["StartEvent", "SamplesEvent", "StepEvent"]  # where G starts, at once
    assert recorder.events[1].step == 0
    assert kinds.index("EpochEvent") > kinds.index("SamplesEvent", 2) > kinds.index("StepEvent")
    grids = [e.grid for e in recorder.events if type(e).__name__ == "SamplesEvent"]
    assert grids[0].ndim == 2 and grids[0].min() >= 0.0 and grids[0].max() <= 1.0
    start = recorder.events[0]
    assert (start.n_images, start.steps_per_epoch, start.total_steps) == (128, 4, 8)


def test_stop_from_another_thread_takes_effect_within_one_batch(small):
    control = Control()
    stopped_at = []

    def stop_at_step_3(event):
        if event.step == 3:
            stopped_at.append(event.step)
            stopper = threading.Thread(target=control.stop)  # as the Stop button does
            stopper.start()
            stopper.join()  # it has landed before the next batch starts

    recorder = Recorder(stop_at_step_3)
    end = train(tiny(epochs=50), [recorder], control, data=small)
    assert end.reason == "stopped"
    assert end.step == 3 == stopped_at[0]


def test_pause_blocks_training_until_resume(small):
    control, paused, stepped = Control(), threading.Event(), threading.Event()

    def pause_at_step_2(event):
        stepped.set()
        if event.step == 2:
            control.pause()
            paused.set()

    recorder = Recorder(pause_at_step_2)
    worker = threading.Thread(
        target=train, args=(tiny(epochs=2), [recorder], control), kwargs={"data": small}
    )
    worker.start()
    assert paused.wait(60)
    stepped.clear()
    assert not stepped.wait(1.0)  # no step while paused
    assert recorder.kinds().count("StepEvent") == 2
    control.resume()
    assert stepped.wait(30)  # and it goes on
    worker.join(60)
    assert recorder.events[-1].reason == "finished"
    assert recorder.kinds().count("StepEvent") == 8


def test_while_paused_step_d_and_step_g_each_change_one_network_and_step_changes_both(small):
    def weights(trainer):
        return [
            [w.numpy().copy() for w in network.trainable_weights]
            for network in (trainer.generator, trainer.discriminator)
        ]

    def changed(before, after) -> list[bool]:  # [G changed, D changed]
        return [
            any(not np.array_equal(a, b) for a, b in zip(x, y, strict=True))
            for x, y in zip(before, after, strict=True)
        ]

    control, asked = Control(), {}

    def pause_at_step_2(event):
        if event.step == 2 and not asked:
            control.pause()
            for name in ("start", "d", "after d", "g", "after g", "both", "after both"):
                work = weights if name.startswith(("start", "after")) else None
                asked[name] = control.submit(weights) if work else control.step(name)
            asked["bad"] = control.step("e")
            control.submit(lambda trainer: control.resume())

    recorder = Recorder(pause_at_step_2)
    assert train(tiny(epochs=1), [recorder], control, data=small).reason == "finished"
    seen = {name: future.result() for name, future in asked.items() if name != "bad"}
    assert changed(seen["start"], seen["after d"]) == [False, True]  # Step D: D alone
    assert changed(seen["after d"], seen["after g"]) == [True, False]  # Step G: G alone
    assert changed(seen["after g"], seen["after both"]) == [True, True]
    assert [seen[name].step for name in ("d", "g", "both")] == [3, 4, 5]  # each one a step
    assert seen["d"].g_gradient == 0.0 and seen["g"].g_gradient > 0.0
    with pytest.raises(ConfigError, match="not 'e'"):
        asked["bad"].result()
    steps = [e.step for e in recorder.events if type(e).__name__ == "StepEvent"]
    assert steps == list(range(1, 4 + 3 + 1))  # 4 batches of the epoch and 3 asked for


def test_slow_motion_sets_the_pace_of_the_training_process_and_refuses_nonsense(small):
    control = Control()
    futures = [control.slow_motion(5.0), control.slow_motion(0.0), control.slow_motion(None)]
    assert train(tiny(epochs=1), [], control, data=small).reason == "finished"
    assert futures[0].result() == 5.0 and futures[2].result() is None
    with pytest.raises(ConfigError, match="Slow motion"):
        futures[1].result()
    assert control.pace is None


@pytest.mark.system  # several trainings, resumed or timed out
def test_checkpoint_round_trip_and_resume(tmp_path, small):
    out = tmp_path / "run"
    assert train(tiny(epochs=1, out_dir=str(out)), data=small).reason == "finished"
    record = json.loads((out / "run.json").read_text())
    assert record["checkpoint"] == {
        "epoch": 1,
        "step": 4,
        "seconds": record["checkpoint"]["seconds"],
        "files": {name: digest(out / name) for name in ("generator.keras", "discriminator.keras")},
    }
    assert record["config"]["latent_dim"] == 8 and record["data"]["n_images"] == 128
    assert {"tensorflow", "keras", "numpy"} <= set(record["versions"])
    assert (out / "samples" / "epoch_001.png").is_file()

    generator = io.load_generator(out / "generator.keras")
    trainer = Trainer.resume(out, data=small, epochs=3)
    noise = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    np.testing.assert_allclose(
        trainer.generator(noise, training=False), generator(noise, training=False), atol=1e-6
    )
    end = trainer.run()
    assert (end.reason, end.epoch, end.step) == ("finished", 3, 12)
    record = json.loads((out / "run.json").read_text())
    assert record["checkpoint"]["epoch"] == 3
    assert [e["epoch"] for e in record["history"]["epochs"]] == [1, 2, 3]


@pytest.mark.system  # several trainings, resumed or timed out
def test_a_run_stopped_mid_epoch_resumes_where_it_stopped(tmp_path, small):
    out = tmp_path / "run"
    control = Control()
    recorder = Recorder(lambda e: e.step == 6 and control.stop())  # half-way through epoch 2
    end = train(tiny(epochs=3, out_dir=str(out)), [recorder], control, data=small)
    assert (end.reason, end.step, end.epoch) == ("stopped", 6, 1)
    record = json.loads((out / "run.json").read_text())
    assert record["checkpoint"]["step"] == 6 and record["checkpoint"]["epoch"] == 1
    assert record["end"]["reason"] == "stopped"
    saved = io.load_generator(out / "generator.keras")
    noise = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)

    trainer = Trainer.resume(out, data=small)
    np.testing.assert_allclose(
        trainer.generator(noise, training=False), saved(noise, training=False), atol=1e-6
    )
    assert (trainer.state.step, trainer.state.epoch) == (6, 1)
    resumed = Recorder()
    end = trainer.run([resumed])
    assert (end.reason, end.epoch) == ("finished", 3)
    steps = [e.step for e in resumed.events if type(e).__name__ == "StepEvent"]
    assert steps[0] == 7 and end.step == 6 + 2 * 4  # epoch 2 starts afresh, then epoch 3
    record = json.loads((out / "run.json").read_text())
    assert [e["epoch"] for e in record["history"]["epochs"]] == [1, 2, 3]
    assert record["history"]["steps"]["step"][:6] == [1, 2, 3, 4, 5, 6]  # history kept


@pytest.mark.system  # several trainings, resumed or timed out
def test_a_run_can_start_from_another_runs_networks(tmp_path, small):
    """A fine-tune starts from the other run's weights, not from its own seed's."""
    coded = tmp_path / "coded"
    values = {"epochs": 1, "batch_size": 32, "latent_dim": 16, "train_size": 128}
    assert (
        train(RunConfig.create("coded-digits", **values, out_dir=str(coded)), data=small).reason
        == "finished"
    )
    tuned = Trainer.create(RunConfig.create("coded-digits", **values, init_from=str(coded)), small)
    for name, network in (("generator", tuned.generator), ("discriminator", tuned.discriminator)):
        source = io.load_model(coded / f"{name}.keras").get_weights()
        for mine, theirs in zip(network.get_weights(), source, strict=True):
            np.testing.assert_array_equal(mine, theirs)


@pytest.mark.system  # several trainings, resumed or timed out
def test_a_moving_average_run_saves_the_average_and_resumes_from_the_trained_generator(
    tmp_path, small
):
    out = tmp_path / "run"
    config = RunConfig.create(
        "coded-digits", epochs=1, batch_size=32, latent_dim=12, train_size=128, out_dir=str(out)
    )
    trainer = Trainer.create(config, small)
    assert trainer.run().reason == "finished"
    noise = np.random.default_rng(0).standard_normal((4, 12)).astype(np.float32)

    def output(model):
        return np.asarray(model(noise, training=False))

    saved = io.load_generator(out / "generator.keras")
    trained = io.load_generator(out / TRAINING_GENERATOR)
    np.testing.assert_allclose(output(saved), output(trainer.average), atol=1e-6)
    np.testing.assert_allclose(output(trained), output(trainer.generator), atol=1e-6)
    assert np.abs(output(saved) - output(trained)).max() > 1e-3  # the average lags behind
    assert trainer.output_generator is trainer.average

    resumed = Trainer.resume(out, data=small, epochs=2)
    np.testing.assert_allclose(output(resumed.generator), output(trained), atol=1e-6)
    np.testing.assert_allclose(output(resumed.average), output(saved), atol=1e-6)
    assert float(resumed.steps_done.numpy()) == 4.0  # the decay goes on where it was
    assert resumed.run().reason == "finished"


def test_a_run_without_an_average_saves_only_the_trained_generator(trained_run):
    assert not (trained_run / TRAINING_GENERATOR).exists()


def test_the_same_seed_starts_from_the_same_weights(small):
    first, second, other = (
        Trainer.create(tiny(seed=seed), small).generator.get_weights() for seed in (3, 3, 4)
    )
    for mine, same in zip(first, second, strict=True):
        np.testing.assert_array_equal(mine, same)
    assert any(np.abs(a - b).max() > 0 for a, b in zip(first, other, strict=True) if a.std())


@pytest.mark.system  # several trainings, resumed or timed out
def test_nan_losses_end_as_diverged_and_keep_the_last_good_model(tmp_path, small):
    out = tmp_path / "run"
    assert train(tiny(epochs=1, out_dir=str(out)), data=small).reason == "finished"
    before = digest(out / "generator.keras")
    poisoned = Dataset("mnist", small.images, small.labels, "test")
    trainer = Trainer.resume(out, data=poisoned, epochs=2)
    trainer.batches = ((images * np.nan, digits) for images, digits in trainer.batches)
    end = trainer.run()
    assert end.reason == "diverged"
    assert "step 4 is kept" in end.message
    assert digest(out / "generator.keras") == before
    assert io.load_generator(out / "generator.keras") is not None
    assert json.loads((out / "run.json").read_text())["end"]["reason"] == "diverged"


def test_an_interrupted_save_leaves_the_previous_model_intact(tmp_path, trained_run):
    target = tmp_path / "generator.keras"
    target.write_bytes((trained_run / "generator.keras").read_bytes())
    before = digest(target)

    def crash_half_way(temp):
        temp.write_bytes(b"half a model")
        raise OSError("disk full")

    with pytest.raises(OSError):
        io.atomic_write(target, crash_half_way)
    assert digest(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["generator.keras"]  # no temp left behind
    assert io.load_generator(target) is not None


def test_stop_pressed_during_a_save_waits_for_it_and_keeps_a_loadable_model(
    tmp_path, small, monkeypatch
):
    out = tmp_path / "run"
    saving, stop_pressed = threading.Event(), threading.Event()
    real_write = io.atomic_write

    def slow_write(path, write):
        if path.name == "generator.keras" and not saving.is_set():
            saving.set()
            assert stop_pressed.wait(30)  # the first save is still going when Stop arrives
        return real_write(path, write)

    monkeypatch.setattr(io, "atomic_write", slow_write)
    config = tiny(epochs=100, out_dir=str(out), checkpoint_every=3600.0)  # saves at epoch ends
    run = BackgroundRun(config, small).start()
    assert saving.wait(180)  # the first trace, on a machine busy with other tests
    run.stop()
    stop_pressed.set()
    assert run.join(60)
    end = run.snapshot().end
    assert end.reason == "stopped" and end.step == 4  # the stop landed after the epoch's save
    assert io.load_generator(out / "generator.keras") is not None
    assert json.loads((out / "run.json").read_text())["checkpoint"]["step"] == 4
    assert not list(out.glob(".*"))  # no half-written file left


def test_background_run_reports_snapshots_and_saves_mid_training(tmp_path, small):
    gate = threading.Event()
    run = BackgroundRun(
        tiny(epochs=100, sample_every=0.0),
        small,
        callbacks=[Recorder(lambda e: e.step == 5 and gate.set())],
    )
    run.start()
    assert gate.wait(180)  # the first trace, on a machine busy with other tests
    path = run.save_generator(tmp_path / "snapshot.keras")
    assert io.load_generator(path) is not None
    snap = run.snapshot()
    assert snap.status == "running" and snap.start.n_images == 128
    assert snap.grid is not None and len(snap.history["g_loss"]) >= 5
    assert 0.0 < snap.progress < 1.0
    run.pause()
    assert run.snapshot().status == "paused"
    run.stop()
    assert run.join(120)
    snap = run.snapshot()
    assert (snap.status, snap.end.reason) == ("ended", "stopped")
    with pytest.raises(ConfigError, match="run folder"):
        run.save_generator(tmp_path / "late.keras")


def test_a_run_nobody_watches_stops_itself(small):
    run = BackgroundRun(tiny(epochs=10_000), small, idle_timeout=0.5)
    run.start()
    assert run.join(60)
    end = run.snapshot().end
    assert end.reason == "stopped" and "nobody watched" in end.message


def test_a_runner_that_fails_ends_the_run_as_an_error(small):
    def unreachable_cluster(config, data, control, callbacks):
        raise ConnectionError("no cluster at ray://head:10001")

    run = BackgroundRun(tiny(), small, runner=unreachable_cluster, idle_timeout=60).start()
    assert run.join(120)
    end = run.snapshot().end
    assert end.reason == "error" and "no cluster at ray://head:10001" in end.message


def test_bad_settings_end_the_worker_with_a_clear_error(small):
    run = BackgroundRun(tiny(batch_size=1000), small).start()
    assert run.join(120)
    end = run.snapshot().end
    assert end.reason == "error" and "larger than the training data" in end.message


@pytest.mark.system  # several trainings, resumed or timed out
def test_a_queued_run_shows_its_place_and_can_leave_the_queue(small):
    slots = TrainingSlots(1)
    first = BackgroundRun(tiny(epochs=10_000), small, slots=slots).start()
    wait_until(lambda: first.snapshot().last is not None, seconds=60)
    second = BackgroundRun(tiny(epochs=10_000), small, slots=slots).start()
    third = BackgroundRun(tiny(epochs=10_000), small, slots=slots).start()
    wait_until(lambda: third.snapshot().queue_position == 2)
    assert (second.snapshot().status, second.snapshot().queue_position) == ("queued", 1)
    second.stop()  # leaves the queue before it trains
    assert second.join(120)
    assert second.snapshot().end.message == "left the queue before training started"
    wait_until(lambda: third.snapshot().queue_position == 1)
    first.stop()
    assert first.join(60)
    wait_until(lambda: third.snapshot().last is not None, seconds=60)  # its turn now
    third.stop()
    assert third.join(60)


def test_training_slots_queue_runs_first_come_first_served():
    slots = TrainingSlots(1)
    first, second = object(), object()
    assert slots.acquire(first, Control())
    waiting = Control()
    result = []
    worker = threading.Thread(target=lambda: result.append(slots.acquire(second, waiting)))
    worker.start()
    wait_until(lambda: slots.position(second) == 1)
    assert slots.busy == 1
    slots.release(first)
    worker.join(5)
    assert result == [True] and slots.busy == 1
    leaving = Control()
    leaving.stop()
    assert slots.acquire(object(), leaving) is False


@pytest.mark.parametrize("data_range", ["tanh", "sigmoid"])
def test_the_pipeline_serves_every_image_once_per_epoch_scaled_like_the_data_module(
    small, data_range
):
    from gan.data import batches, scale

    stream = batches(small, 64, data_range, seed=0).take(2 * len(small) // 64)  # two epochs
    served = [(x.numpy(), y.numpy()) for x, y in stream]
    images = np.concatenate([x for x, _ in served])
    labels = np.concatenate([y for _, y in served])
    assert images.shape == (1024, 28, 28, 1) and images.dtype == np.float32
    reference = scale(small.images, data_range)
    order = [int(np.flatnonzero((reference == image).all(axis=(1, 2, 3)))[0]) for image in images]
    first, second = order[:512], order[512:]
    assert sorted(first) == sorted(second) == list(range(512))  # each digit once per epoch
    assert first != second  # reshuffled for the second epoch
    assert np.array_equal(labels, small.labels[order])


@pytest.mark.system  # several trainings, resumed or timed out
def test_live_quality_metrics_arrive_as_events(small):
    recorder = Recorder()
    end = train(tiny(epochs=1, quality_every=0.0), [recorder], data=small)
    assert end.reason == "finished"
    qualities = [e for e in recorder.events if type(e).__name__ == "QualityEvent"]
    assert len(qualities) == 5  # one per step (interval 0) plus the final one
    last = qualities[-1].quality
    assert last.n == 300 and 0.0 <= last.recognizability <= 1.0
    assert last.frechet_distance > last.frechet_floor > 0.0  # 4 steps: far from real digits


@pytest.mark.system  # several trainings, resumed or timed out
def test_a_run_stays_while_its_browser_is_present_and_stops_once_it_is_gone(small):
    """No touch() at all (the student is on another page): presence alone keeps the run."""
    here = threading.Event()
    here.set()
    run = BackgroundRun(tiny(epochs=10_000), small, idle_timeout=1.0, present=here.is_set).start()
    wait_until(lambda: run.snapshot().last is not None, seconds=60)
    assert not run.join(3.0)  # three timeouts later, still training
    here.clear()  # every tab closed
    assert run.join(120)
    assert "nobody watched this run for 1 s" in run.snapshot().end.message


@pytest.mark.system  # several trainings, resumed or timed out
def test_checkpoints_keep_a_floor_between_them_even_for_one_image_batches(
    tmp_path, small, monkeypatch
):
    """batch 1 on 64 images: 64 epochs' ends in a few seconds, not 64 checkpoints."""
    from gan import runfolder

    saves, real = [], runfolder.save_checkpoint

    def counted(*args, **kwargs):
        saves.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runfolder, "save_checkpoint", counted)
    config = tiny(
        epochs=64, batch_size=1, train_size=1, checkpoint_floor=3600.0, out_dir=str(tmp_path)
    )
    end = Trainer.create(config, small).run()
    assert end.reason == "finished" and end.step == 64
    assert len(saves) == 1  # only the last one: the floor skipped every epoch's end
    assert runfolder.verify(tmp_path)["checkpoint"]["step"] == 64


def test_clean_up_removes_old_then_oldest_folders_but_never_a_live_one(tmp_path):
    import os
    import time

    from gan.registry import clean_up

    def folder(name: str, age_days: float, size: int):
        path = tmp_path / "browser" / name
        path.mkdir(parents=True)
        (path / "generator.keras").write_bytes(bytes(size))
        stamp = time.time() - age_days * 86400
        os.utime(path, (stamp, stamp))
        return path

    ancient, live = folder("ancient", 30, 10), folder("live", 40, 10)
    old, new = folder("old", 2, 600), folder("new", 1, 600)
    removed = clean_up(tmp_path, max_age_s=7 * 86400, max_bytes=1000, keep=[live])
    assert removed == [ancient, old]  # too old; then the oldest until the rest fit
    assert live.exists() and new.exists()


def test_a_saved_run_of_a_preset_this_version_lacks_is_listed_but_not_continued(trained_run):
    """A student's run of a retired preset still shows under Your runs, without Continue."""
    import shutil

    from gan.registry import read_saved_run

    folder = trained_run.parent / "retired"
    shutil.copytree(trained_run, folder)
    record = json.loads((folder / "run.json").read_text())
    record["end"] = None  # interrupted: it could go on...
    assert read_saved_run(folder) is not None
    io.write_json(folder / "run.json", record)
    assert read_saved_run(folder).resumable
    record["config"]["preset"] = "map-digits"  # ...were its preset still here
    io.write_json(folder / "run.json", record)
    saved = read_saved_run(folder)
    assert saved is not None and not saved.resumable
