"""Every page through Streamlit's AppTest: widgets, validation, a tiny live run, the explorer."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import BAD_MODEL_WORDS, training_children, wait_until
from streamlit.testing.v1 import AppTest

from gan.latent import latent_dim_of
from pages.common.forms import LINK_SETTINGS
from pages.common.pickers import NOISE_PICKS, UPLOAD
from pages.common.runs import registry
from pages.common.state import BROWSER

TIMEOUT = 120
ROOT = Path(__file__).resolve().parents[1]


def page(name: str) -> AppTest:
    """The app opened at one page, through the navigation as a user gets there."""
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    return app.switch_page(f"pages/{name}.py")


def errors(app: AppTest) -> list[str]:
    return [e.value for e in app.error]


def picture(app: AppTest, index: int = 0):
    """The `index`-th image element's first picture (url and caption)."""
    return app.get("image")[index].proto.imgs[0]


def set_tiny_settings(app: AppTest) -> None:
    app.number_input(key="latent_dim").set_value(8)
    app.number_input(key="epochs").set_value(2)
    app.number_input(key="batch_size").set_value(32)
    app.number_input(key="train_size").set_value(256)
    app.run()


def current(app: AppTest):
    """The run the page shows: its browser's latest (AppTest has no cookie: one session)."""
    return registry().latest(app.session_state[BROWSER])


def long_tiny_run() -> AppTest:
    """The Train page with a tiny run of 500 epochs started and stepping."""
    app = page("train").run()
    set_tiny_settings(app)
    app.number_input(key="epochs").set_value(500).run()
    app.button[0].click().run()
    poll_until(app, lambda r: r.snapshot().last is not None)
    return app


def poll_until(app: AppTest, done, seconds: float = 90.0) -> None:
    """Rerun the page (as the fragment's timer would) until `done(run)` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.run()
        if done(current(app)):
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for the run: {current(app).snapshot()}")


def test_home_page_explains_and_shows_real_digits():
    app = page("home").run()
    assert not app.exception
    text = " ".join(m.value for m in app.markdown)
    assert "generator" in text and "discriminator" in text
    assert any("mode collapse" in s.value for s in app.subheader)  # section 4 explains it
    assert not errors(app)
    assert len(app.get("image")) >= 1


def test_train_page_renders_its_controls_with_defaults():
    app = page("train").run()
    assert not app.exception and not errors(app)
    assert app.selectbox(key="preset").value == "quick-digits"
    assert app.number_input(key="latent_dim").value == 64
    assert app.checkbox(key="xla").value is False
    assert app.button[0].label == "Train" and not app.button[0].disabled


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("latent_dim", 0, "Latent dimension"),
        ("latent_dim", 100_000, "Latent dimension"),
        ("epochs", 0, "Epochs"),
        ("epochs", 1_000_000, "Epochs"),
        ("lr_g", 0.0, "learning rate"),
    ],
)
def test_train_page_shows_validation_messages(key, value, words):
    app = page("train").run()
    app.number_input(key=key).set_value(value).run()
    assert any(words in e for e in errors(app)), errors(app)
    assert app.button[0].disabled  # Train is off while a value is invalid


def test_changing_the_preset_loads_its_defaults():
    app = page("train").run()
    app.selectbox(key="preset").set_value("dcgan").run()
    assert app.number_input(key="latent_dim").value == 100
    assert app.number_input(key="batch_size").value == 256


@pytest.mark.system  # trains in a child process
def test_a_tiny_training_run_completes_and_the_live_view_updates():
    app = page("train").run()
    set_tiny_settings(app)
    app.checkbox(key="xla").check().run()  # the setting reaches the engine
    app.button[0].click().run()
    run = current(app)
    poll_until(app, lambda r: r.snapshot().last is not None)
    assert len(app.get("plotly_chart")) >= 2
    poll_until(app, lambda r: not r.active)
    app.run()
    assert run.snapshot().end.reason == "finished"
    assert json.loads((Path(run.config.out_dir) / "run.json").read_text())["config"]["xla"]
    assert any("Run finished" in s.value for s in app.success)
    assert any(b.label == "Download generator (.keras)" for b in app.get("download_button"))
    assert any(s.value == "Your runs" for s in app.subheader)
    record = json.loads((Path(run.config.out_dir) / "run.json").read_text())
    assert record["history"]["quality"]["recognizability"]  # kept with the run
    (table,) = app.dataframe  # runs compared by what they draw
    row = table.value.iloc[-1]
    assert "finished" in row["run"] and row["recognizable"].endswith("%"), row
    assert run.snapshot().quality["recognizability"]  # the final quality measurement
    assert any("recognizable" in c.value for c in app.caption)
    app.multiselect(key="compare_grids").set_value([]).run()  # no grids, kept after a visit
    app.switch_page("pages/home.py").run()
    app.switch_page("pages/train.py").run()
    assert app.multiselect(key="compare_grids").value == []


@pytest.mark.system  # trains in a child process
def test_the_server_ends_a_training_at_its_time_limit_saved(monkeypatch):
    monkeypatch.setenv("GAN_MAX_TRAIN_MINUTES", "0.1")  # 6 s
    app = page("train").run()
    set_tiny_settings(app)
    app.number_input(key="epochs").set_value(5000).run()
    app.button[0].click().run()
    poll_until(app, lambda r: not r.active, seconds=120)
    run = current(app)
    end = run.snapshot().end
    assert end.reason == "finished" and "time budget of 6 s reached" in end.message, end
    assert (Path(run.config.out_dir) / "generator.keras").is_file()
    assert any("ends a training after 0.1 min" in c.value for c in app.caption)


@pytest.mark.system  # trains in a child process
def test_pause_holds_the_step_resume_goes_on_and_stop_ends_the_run():
    app = long_tiny_run()
    pause = next(b for b in app.button if b.label == "Pause")
    pause.click().run()
    run = current(app)
    (pid,) = training_children()  # the training runs in a niced child process
    assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 10
    poll_until(app, lambda r: r.snapshot().status == "paused")
    assert any(b.label == "Resume" for b in app.button)
    paused_at = run.snapshot().last.step
    wait_until(lambda: run.snapshot().last.step > paused_at + 1, seconds=2, raises=False)
    assert run.snapshot().last.step <= paused_at + 1  # at most the batch in flight
    next(b for b in app.button if b.label == "Resume").click().run()
    poll_until(app, lambda r: r.snapshot().last.step > paused_at + 3)  # and it goes on
    next(b for b in app.button if b.label == "Stop").click().run()
    assert run.join(120)
    app.run()
    assert run.snapshot().end.reason == "stopped"
    assert any("Run stopped" in i.value for i in app.info)


@pytest.mark.system  # trains in a child process
def test_a_second_training_waits_in_the_queue_and_says_so():
    from gan.control import Control
    from pages.common.server import training_slots

    slots = training_slots()
    held = [object() for _ in range(slots.limit)]  # other students' runs hold every slot
    for owner in held:
        assert slots.acquire(owner, Control())
    try:
        app = page("train").run()
        set_tiny_settings(app)
        app.button[0].click().run()
        run = current(app)
        poll_until(app, lambda r: r.snapshot().status == "queued")
        assert run.snapshot().queue_position == 1
        assert any("you are number 1 in the queue" in w.value for w in app.warning)
    finally:
        for owner in held:
            slots.release(owner)
    poll_until(app, lambda r: r.snapshot().last is not None)  # a free slot: it trains
    next(b for b in app.button if b.label == "Stop").click().run()
    assert run.join(60)


@pytest.mark.system  # trains in a child process
def test_a_diverged_run_is_shown_as_such(monkeypatch):
    import gan.trainer

    real_batches = gan.trainer.batches

    def poisoned(*args, **kwargs):
        return real_batches(*args, **kwargs).map(lambda x, y: (x * float("nan"), y))

    monkeypatch.setattr(gan.trainer, "batches", poisoned)
    monkeypatch.setenv("GAN_TRAIN_NICE", "off")  # in this process, where the patch applies
    app = page("train").run()
    set_tiny_settings(app)
    app.button[0].click().run()
    poll_until(app, lambda r: not r.active)
    app.run()
    assert current(app).snapshot().end.reason == "diverged"
    assert any("Run diverged: losses became NaN" in e for e in errors(app)), errors(app)


def test_explorer_renders_an_image_that_follows_the_sliders():
    app = page("explore").run()
    assert not app.exception, app.exception
    first = picture(app).url
    slider = app.slider(key="z-0-0")
    slider.set_value(2.5).run()
    assert not app.exception
    assert app.session_state["explore_z"][0] == pytest.approx(2.5)
    assert picture(app).url != first  # a new picture
    caption = picture(app).caption
    assert "rendered in" in caption


def test_explorer_offers_a_digit_for_the_conditional_model():
    app = page("explore").run()
    labels = app.selectbox(key="generator_choice").options
    conditional = next(label for label in labels if "pick the digit" in label)
    app.selectbox(key="generator_choice").set_value(conditional).run()
    assert not app.exception
    assert app.selectbox(key="explore_digit").value == 7


def test_explorer_asks_the_default_model_for_a_digit_through_its_digit_map():
    app = page("explore").run()
    picker = app.selectbox(key="explore_digit-code")
    assert picker.value == NOISE_PICKS and picker.options[1:] == [str(d) for d in range(10)]
    how = "reads the digit from where (z[0], z[1]) lies"
    assert any(how in caption.value for caption in app.caption)
    assert len(app.get("plotly_chart")) == 1  # the digit map, the point marked on it
    first = picture(app).url
    picker.set_value(3).run()
    assert not app.exception, app.exception
    assert picture(app).url != first
    assert not any(how in caption.value for caption in app.caption)
    assert len(app.get("plotly_chart")) == 1


def frame_captions(app: AppTest) -> list[str]:
    """What is written under each frame of the Interpolate strip (one image element holding
    every frame; the GIF is the last element)."""
    return [frame.caption for frame in app.get("image")[0].proto.imgs]


def test_interpolation_produces_k_frames_each_with_the_digit_the_classifier_reads():
    app = page("interpolate").run()
    assert not app.exception, app.exception
    app.slider(key="frames").set_value(5).run()
    assert any("5 frames by slerp" in h.value for h in app.subheader)
    captions = frame_captions(app)
    assert len(captions) == 5
    for caption in captions:  # "3 · 99%": a digit and a confidence
        digit, confidence = caption.split(" · ")
        assert digit in "0123456789" and 0 <= int(confidence.rstrip("%")) <= 100
    assert any(b.label == "Download GIF" for b in app.get("download_button"))


@pytest.mark.parametrize("model", ["generator.keras", "conditional_generator.keras"])
def test_interpolation_morphs_one_digit_into_another(model):
    app = page("interpolate").run()
    choice = next(o for o in app.selectbox(key="generator_choice").options if model in o)
    app.selectbox(key="generator_choice").set_value(choice).run()
    app.radio(key="walk").set_value("From one digit to another").run()
    assert app.selectbox(key="start_digit").value == 3
    assert app.selectbox(key="end_digit").value == 8
    app.slider(key="frames").set_value(8).run()
    assert not app.exception, app.exception
    assert any("A 3 becomes an 8 in 8 frames" in h.value for h in app.subheader)
    read = [caption.split(" · ")[0] for caption in frame_captions(app)]
    assert read[0] == "3" and read[-1] == "8", read
    assert any(b.label == "Download GIF" for b in app.get("download_button"))


def test_a_generator_that_cannot_take_a_digit_walks_between_points_only(trained_run):
    app = upload(trained_run / "generator.keras", "interpolate")
    assert not app.exception and not errors(app)
    assert app.radio(key="walk").disabled


def upload(path: Path, name: str = "explore") -> AppTest:
    """A page (the explorer) with `path` uploaded as the generator."""
    app = page(name).run()
    app.selectbox(key="generator_choice").set_value(UPLOAD).run()
    app.file_uploader(key="upload").set_value(
        (path.name, path.read_bytes(), "application/octet-stream")
    )
    return app.run()


@pytest.mark.parametrize(("name", "words"), BAD_MODEL_WORDS.items())
def test_explorer_refuses_an_upload_that_is_not_a_safe_generator(bad_models, name, words):
    app = upload(bad_models[name])
    assert not app.exception, app.exception
    assert any(words in e for e in errors(app)), errors(app)
    assert not app.get("image")  # nothing drawn from a refused file


def test_explorer_refuses_an_oversized_upload(trained_run, monkeypatch):
    monkeypatch.setattr("pages.common.pickers.MAX_MODEL_BYTES", 1024)
    app = upload(trained_run / "generator.keras")
    assert any("are refused" in e for e in errors(app)), errors(app)


def test_explorer_draws_from_an_uploaded_generator(trained_run):
    app = upload(trained_run / "generator.keras")
    assert not app.exception and not errors(app)
    assert app.get("image")


def test_the_shipped_generators_exist_and_load_as_the_pages_load_them():
    from pages.common.resources import PRETRAINED, pretrained_generator

    for path in PRETRAINED.values():
        assert path.is_file(), f"{path} is missing"
        assert latent_dim_of(pretrained_generator(str(path))) > 0


def test_reruns_leave_keras_state_alone():
    """Streamlit's per-rerun clear_session would reset Keras under running trainings. Guards
    keep_keras_state's patch of Streamlit's private script_runner._clean_problem_modules."""
    from keras.src.backend.common import global_state

    app = page("explore").run()
    tracker = global_state.GLOBAL_STATE_TRACKER
    app.slider(key="dir-0-0").set_value(1.0).run()
    app.run()
    assert global_state.GLOBAL_STATE_TRACKER is tracker


def test_missing_data_is_explained_when_train_is_pressed(monkeypatch, tmp_path):
    monkeypatch.delenv("GAN_FASHION_DATA_DIR", raising=False)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path))  # holds no fashion-mnist folder
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    app = page("train").run()
    app.selectbox(key="dataset").set_value("fashion_mnist").run()
    app.button[0].click().run()
    assert any("No fashion_mnist train data found" in e for e in errors(app)), errors(app)
    assert "run" not in app.session_state


def test_a_bad_server_setting_is_reported_when_train_is_pressed(monkeypatch):
    monkeypatch.setenv("GAN_TRAIN_NICE", "low")
    app = page("train").run()
    set_tiny_settings(app)
    app.button[0].click().run()
    assert any("GAN_TRAIN_NICE must be a whole number" in e for e in errors(app)), errors(app)
    assert "run" not in app.session_state


def test_server_config_turns_off_the_per_run_gc_and_the_file_watcher():
    """Both cost every student's explorer update its latency (benchmarks/load_classroom.py)."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none"


def test_times_read_as_hours_minutes_and_seconds():
    from pages.common.text import count, duration

    assert duration(20_583) == "5 h 43 min"
    assert duration(4_967) == "1 h 22 min"
    assert duration(250) == "4 min 10 s"
    assert duration(120) == "2 min"
    assert duration(9.6) == "10 s"
    assert duration(-3) == "0 s"
    assert (count(1, "epoch"), count(3, "epoch")) == ("1 epoch", "3 epochs")


@pytest.mark.system  # trains in a child process
def test_the_end_of_a_run_says_it_is_saving_and_offers_no_pause(monkeypatch):
    """Between the last step and the end (the last checkpoint, the final measurements) the
    page says so, with Pause and Stop off; then "1 epoch done"."""
    import threading

    from gan.trainer import Trainer

    gate, real = threading.Event(), Trainer.measure_quality

    def held_at_the_end(self, epoch):
        if self.state.step >= self.total_steps:
            gate.wait(60)
        return real(self, epoch)

    monkeypatch.setattr(Trainer, "measure_quality", held_at_the_end)
    monkeypatch.setenv("GAN_TRAIN_NICE", "off")  # in this process, where the patch applies
    app = page("train").run()
    set_tiny_settings(app)
    app.number_input(key="epochs").set_value(1).run()
    app.button[0].click().run()
    try:
        poll_until(app, lambda r: r.snapshot().status == "finishing")
        app.run()
        progress = app.get("progress")[0].proto.text
        assert progress.startswith("saving and measuring…"), progress
        controls = {b.label: b.disabled for b in app.button if b.label in ("Pause", "Stop")}
        assert controls == {"Pause": True, "Stop": True}
        assert any(m.label == "Time left" and m.value == "—" for m in app.metric)
    finally:
        gate.set()
    poll_until(app, lambda r: not r.active)
    app.run()
    assert any("Run finished: 1 epoch done" in s.value for s in app.success)


def test_the_classroom_offers_each_failure_demo_as_one_button():
    app = page("home").run()
    assert not app.exception
    assert any("failure lab" in s.value for s in app.subheader)
    demos = [b for b in app.button if b.label.startswith("Run ")]
    assert [b.label for b in demos] == [
        "Run collapse-demo",
        "Run strong-d-demo",
        "Run oscillation-demo",
    ]
    assert not any(b.disabled for b in demos)


def test_the_class_runs_preset_brings_its_own_epochs_and_the_teachers_epochs_stay_after():
    from gan.presets import PRESETS

    app = page("home").run()
    assert app.number_input(key="class-epochs").value == PRESETS["quick-digits"].epochs
    app.selectbox(key="class-preset").set_value("strong-d-demo").run()
    assert app.number_input(key="class-epochs").value == PRESETS["strong-d-demo"].epochs
    app.number_input(key="class-epochs").set_value(7).run()
    app.switch_page("pages/train.py").run()
    app.switch_page("pages/home.py").run()
    assert app.selectbox(key="class-preset").value == "strong-d-demo"
    assert app.number_input(key="class-epochs").value == 7
    assert not app.exception


@pytest.mark.system  # trains in a child process
def test_a_demo_started_from_the_classroom_is_fixed_mid_run_from_the_train_page():
    app = page("home").run()
    next(b for b in app.button if b.label == "Run strong-d-demo").click().run()
    run = current(app)
    assert run.config.preset == "strong-d-demo" and run.config.g_loss == "minimax"
    assert app.selectbox(key="preset").value == "strong-d-demo"  # the Train page, its form set
    app.switch_page("pages/train.py")  # where the browser now is (AppTest reruns the first page)
    poll_until(app, lambda r: r.snapshot().last is not None)
    assert any(s.value == "Failure detectors" for s in app.subheader)
    fix = next(b for b in app.button if b.label.startswith("Fix it: Switch G"))
    fix.click().run()
    assert any("non-saturating" in c for c in run.snapshot().changes)
    assert any("Done: switch G to the non-saturating loss" in s.value for s in app.success)
    poll_until(app, lambda r: r.snapshot().d_view is not None)
    assert any(s.value == "What D sees" for s in app.subheader)
    next(b for b in app.button if b.label == "Stop").click().run()
    assert run.join(120)
    record = json.loads((Path(run.config.out_dir) / "run.json").read_text())
    assert record["config"]["g_loss"] == "non-saturating"  # the change is saved with the run


def linked(name: str, **query: str) -> AppTest:
    """A page opened from a lesson link: its URL carries `query`."""
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    app.switch_page(f"pages/{name}.py")
    app.query_params.update(query)
    return app.run()


def test_a_lesson_link_sets_the_train_page_and_the_url_follows_the_form():
    app = linked("train", preset="fast", epochs="3", lr_d="0.0002", seed="7")
    assert not app.exception and not errors(app)
    assert app.selectbox(key="preset").value == "fast"
    assert app.number_input(key="epochs").value == 3
    assert app.number_input(key="lr_d").value == pytest.approx(2e-4)
    assert app.number_input(key="seed").value == 7
    assert app.number_input(key="latent_dim").value == 64  # the preset's, not in the link
    app.number_input(key="epochs").set_value(4).run()
    assert app.number_input(key="epochs").value == 4  # the link does not undo a change
    assert app.query_params["epochs"] == "4" and app.query_params["preset"] == "fast"


def test_an_address_bar_a_run_behind_is_not_a_new_link():
    """On a slow server (CI, through nginx) a browser asked for a rerun before its address bar
    had the last run's values; the older values undid the Epochs just typed, and a run meant
    for 2,000 epochs trained 3. Values the page wrote itself are never a new link."""
    app = linked("train", preset="fast", epochs="3")
    written = {name: app.query_params[name] for name in LINK_SETTINGS}
    app.number_input(key="epochs").set_value(2000).run()
    app.query_params.update(written)  # the address bar one run behind
    app.number_input(key="train_size").set_value(512).run()
    assert app.number_input(key="epochs").value == 2000 and not errors(app)
    assert app.query_params["epochs"] == "2000"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"epochs": "zero"}, "Epochs must be a whole number"),
        ({"preset": "wide-conditional"}, "Unknown preset"),
        ({"lr_g": "-1"}, "Generator learning rate must be"),
    ],
)
def test_a_bad_lesson_link_is_explained_and_the_defaults_stay(query, words):
    app = linked("train", **query)
    assert any(
        e.startswith("This link's settings were not used") and words in e for e in errors(app)
    )
    assert app.selectbox(key="preset").value == "quick-digits"
    assert not app.button[0].disabled  # the defaults still train


def test_a_lesson_link_sets_the_explorers_seed_and_digit():
    app = linked("explore", seed="7", digit="3")
    assert not app.exception and not errors(app)
    assert app.number_input(key="explore_seed").value == 7
    assert app.selectbox(key="explore_digit-code").value == 3
    app = linked("explore", digit="12")
    assert any("Digit must be a whole number from 0 to 9" in e for e in errors(app))


@pytest.mark.system  # trains in a child process
def test_a_paused_run_steps_one_network_at_a_time_and_runs_in_slow_motion():
    app = long_tiny_run()
    run = current(app)
    next(b for b in app.button if b.label == "Pause").click().run()
    poll_until(app, lambda r: r.snapshot().status == "paused")
    before = run.snapshot().last.step
    next(b for b in app.button if b.label == "Step D").click().run()
    after_d = run.snapshot().last
    assert after_d.step == before + 1 and after_d.g_gradient == 0.0  # G did not learn
    next(b for b in app.button if b.label == "Step G").click().run()
    assert run.snapshot().last.step == before + 2 and run.snapshot().last.g_gradient > 0
    next(b for b in app.button if b.label == "Step").click().run()
    assert run.snapshot().last.step == before + 3
    assert run.snapshot().status == "paused"  # and it stays paused
    app.select_slider(key=f"pace-{run.config.out_dir}").set_value("1").run()
    next(b for b in app.button if b.label == "Resume").click().run()
    poll_until(app, lambda r: r.snapshot().last.step >= before + 5)
    next(b for b in app.button if b.label == "Stop").click().run()
    assert run.join(120)
