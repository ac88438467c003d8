"""Shared fixtures: real MNIST digits (a small slice), a tiny trained run folder."""

from __future__ import annotations

import errno
import faulthandler
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GAN_OFFLINE", "1")  # never try the network from tests

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gan.config import RunConfig  # noqa: E402
from gan.data import Dataset, load_dataset  # noqa: E402
from gan.events import Callback  # noqa: E402


@pytest.fixture(scope="session")
def mnist() -> Dataset:
    """The MNIST training set from the normal loading chain (GAN_DATA_DIR in CI)."""
    return load_dataset("mnist")


@pytest.fixture(scope="session")
def small(mnist: Dataset) -> Dataset:
    """512 real digits, about 51 of each, in turns (0-9, 0-9, ...): enough for a few steps of
    any preset, whatever the order of the source (the bundled subset is sorted by digit)."""
    turn = np.zeros(len(mnist.labels), int)  # each image's place among its digit's images
    for digit in range(10):
        turn[mnist.labels == digit] = np.arange(np.sum(mnist.labels == digit))
    picks = np.lexsort((mnist.labels, turn))[:512]
    return Dataset("mnist", mnist.images[picks], mnist.labels[picks], mnist.source, mnist.notice)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, small: Dataset):
    """A run folder from 2 short epochs of the fast preset."""
    from gan.config import RunConfig
    from gan.trainer import Trainer

    out = tmp_path_factory.mktemp("run") / "fast"
    config = RunConfig.create("fast", epochs=2, batch_size=64, train_size=256, out_dir=str(out))
    end = Trainer.create(config, small).run()
    assert end.reason == "finished", end
    return out


@pytest.fixture(scope="session")
def conditional_generator(tmp_path_factory, small: Dataset):
    """A generator file from a few steps of the conditional preset."""
    from gan.config import RunConfig
    from gan.trainer import Trainer

    out = tmp_path_factory.mktemp("run") / "conditional"
    config = RunConfig.create(
        "fast-conditional", epochs=1, batch_size=64, train_size=256, out_dir=str(out)
    )
    assert Trainer.create(config, small).run().reason == "finished"
    return out / "generator.keras"


@pytest.fixture
def full_disk_after(monkeypatch):
    """Call with n: n atomic writes land, then every write fails as on a full disk."""
    from gan import io

    def fill(renames: int) -> None:
        real_replace, landed = io.os.replace, []

        def replace(source, target):
            if len(landed) >= renames:
                raise OSError(errno.ENOSPC, "No space left on device")
            landed.append(target)
            return real_replace(source, target)

        monkeypatch.setattr(io.os, "replace", replace)

    return fill


@pytest.fixture(scope="session")
def bad_models(tmp_path_factory) -> dict:
    """Files a user might upload as a generator that must be refused, and the words why."""
    import keras

    folder = tmp_path_factory.mktemp("bad-models")
    files = {}

    def save(name: str, model) -> None:
        model.save(folder / name)
        files[name] = folder / name

    (folder / "notes.keras").write_text("hello")
    files["notes.keras"] = folder / "notes.keras"
    inputs = keras.Input((8,))
    x = keras.layers.Lambda(lambda t: t * 2.0)(keras.layers.Dense(784)(inputs))
    save("lambda.keras", keras.Model(inputs, keras.layers.Reshape((28, 28, 1))(x)))
    save(
        "classifier.keras",
        keras.Sequential(
            [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
        ),
    )
    save("wrong-output.keras", keras.Sequential([keras.Input((8,)), keras.layers.Dense(32 * 32)]))
    return files


BAD_MODEL_WORDS = {
    "notes.keras": "is not a Keras model file",
    "lambda.keras": "Lambda",
    "classifier.keras": "it takes images",
    "wrong-output.keras": "28×28×1",
}


def training_children() -> list[int]:
    """PIDs of this process's `gan.child` processes, the idle spare left out."""
    from gan import child

    return [pid for pid in children_of(os.getpid()) if pid != child.spares.pid]


def children_of(parent: int) -> list[int]:
    """PIDs of the `gan.child` processes whose parent is `parent` (read from /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"gan.child" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def wait_until(condition, seconds: float = 30.0, every: float = 0.05, raises: bool = True) -> bool:
    """Poll `condition()` until it holds (True); after `seconds`, fail (or return False)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            if raises:
                raise AssertionError(f"still not true after {seconds:g} s: {condition}")
            return False
        time.sleep(every)
    return True


def quiet(event, seconds: float) -> bool:
    """True if `event` (a threading.Event) is not set again within `seconds` (it is cleared
    first): a paused run that sends no more steps."""
    event.clear()
    return not event.wait(seconds)


def tiny(**overrides) -> RunConfig:
    """A run small enough for a test: 128 digits, batches of 32, an 8-d latent."""
    values = {"batch_size": 32, "latent_dim": 8, "train_size": 128, "sample_every": 3600.0}
    values["checkpoint_floor"] = 0.0  # a checkpoint at every epoch's end
    return RunConfig.create("fast", **{**values, **overrides})


class StepGate(Callback):
    """Sets `reached` once the run has done `step` steps and `stepped` on every step; keeps
    the kinds of the events it saw, in order (for runs in another process or on an actor)."""

    def __init__(self, step: int = 3) -> None:
        self.step, self.reached, self.stepped = step, threading.Event(), threading.Event()
        self.last, self.kinds = 0, []

    def on_start(self, event):
        self.kinds.append("start")

    def on_step(self, event):
        self.kinds.append("step")
        self.last = event.step
        self.stepped.set()
        if event.step >= self.step:
            self.reached.set()

    def on_samples(self, event):
        self.kinds.append("samples")

    def on_end(self, event):
        self.kinds.append("end")

    def wait(self, run, seconds: float = 120.0) -> None:
        """Wait for `step` in `run` (a BackgroundRun); fail at once if the run ends first, and
        after `seconds` with every thread's stack in the log (where a run hangs)."""
        deadline = time.monotonic() + seconds
        while not self.reached.wait(0.1):
            if not run.active and not self.reached.is_set():
                raise AssertionError(f"the run ended before step {self.step}: {run.snapshot()}")
            if time.monotonic() > deadline:
                faulthandler.dump_traceback(all_threads=True)
                raise AssertionError(f"no step {self.step} after {seconds:g} s: {run.snapshot()}")


def type_number(within, label: str, value: int) -> None:
    """Type a number into a page's field (Playwright) and wait until the page has taken it."""
    from playwright.sync_api import expect

    box = within.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    expect(box).to_have_value(str(value), timeout=60_000)


@contextmanager
def chromium_browser(*flags: str):
    """Debian's Chromium, headless, driven by Playwright (the test is skipped without them)."""
    from deploy.streamlit_client import CHROMIUM, CHROMIUM_FLAGS

    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, *flags])
        BROWSERS.append(browser)
        try:
            yield browser
        finally:
            BROWSERS.remove(browser)
            browser.close()


# A failed test's report shows what every open tab showed and logged, and the end of every
# running server's log: CI keeps nothing else of a failure.
BROWSERS: list = []  # the Chromiums open now (in this worker)
SERVER_LOGS: list[Path] = []  # the logs of the app servers running now (in this worker)
_closed_tabs: list[tuple[str, str]] = []  # tabs a failing test closed on its way out


def tab_story(tab) -> str:
    """What a tab shows and what its page logged (errors and warnings)."""
    try:
        main = tab.locator("[data-testid='stMain']")
        text = (main if main.count() else tab.locator("body")).inner_text(timeout=5_000)
    except Exception as error:  # a crashed or closed page says why
        text = f"(unreadable: {error})"
    logged = [f"page error: {error}" for error in tab.page_errors()]
    logged += [f"{m.type}: {m.text}" for m in tab.console_messages() if logs_something(m)]
    return "\n".join([*logged[-20:], "--- text ---", text[:2_500]])


def logs_something(message) -> bool:
    """An error or warning other than a blocked external resource (tests have no network)."""
    return message.type in ("error", "warning") and "ERR_NAME_NOT_RESOLVED" not in message.text


def keep_tabs(context) -> None:
    """Note a context's tabs for the failure report before a failing test closes it."""
    _closed_tabs.extend((tab.url, tab_story(tab)) for tab in context.pages)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when != "call":
        return report
    if report.failed:
        tabs = [(tab.url, tab_story(tab)) for b in BROWSERS for c in b.contexts for tab in c.pages]
        for url, story in _closed_tabs + tabs:
            report.sections.append((f"tab {url}", story))
        for log in SERVER_LOGS:
            text = log.read_text(errors="replace") if log.is_file() else "(none)"
            report.sections.append((f"log {log}", text[-2_500:]))
    _closed_tabs.clear()
    return report


def live_class(tab):
    """A student's live view of a class run: its own small page, in a frame of the
    Classroom page (pages/common/class_feed.py)."""
    frame = tab.locator("iframe[title^='Class run']")
    frame.wait_for()
    return frame.element_handle().content_frame()


def settled(read, seconds: float = 3.0):
    """`read()`, once it has returned the same value for `seconds` (a paused run's step: a
    step under way when Pause came still ends)."""
    value, since = read(), time.monotonic()
    while time.monotonic() - since < seconds:
        time.sleep(0.25)
        if (now := read()) != value:
            value, since = now, time.monotonic()
    return value
