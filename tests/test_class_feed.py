"""The class feed: the frame a student's live view fetches (pages/common/class_feed.py), from
a run's snapshot at each stage, and the small page that fetches it."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from gan.config import RunConfig
from gan.events import EndEvent, StartEvent, StepEvent
from gan.runs import Snapshot
from pages.common.class_feed import FEED_POINTS, ROUTE, feed, student_view

START = StartEvent(RunConfig.create("quick-digits"), "mnist", None, 60_000, 937, 18_740, 0, 1)
STEP_NAMES = ("g_loss", "d_loss", "d_real", "d_fake", "acc_real", "acc_fake", "g_gradient")


def snapshot(steps: int, status: str = "running", **changes) -> Snapshot:
    """A run's snapshot after `steps` steps of made-up statistics."""
    history = {name: list(np.linspace(0.2, 0.8, steps)) for name in STEP_NAMES}
    history["step"] = list(range(1, steps + 1))
    last = StepEvent(steps, 1, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 1.0, 900.0, 9.0) if steps else None
    grid = np.zeros((56, 56)) if steps else None
    values = dict(status=status, start=START, last=last, history=history, epochs=[], grid=grid)
    return Snapshot(**{**values, "end": None, **changes})


def frame_of(snap: Snapshot) -> dict:
    """The frame's JSON as the page parses it (JSON.parse has no NaN or Infinity)."""
    return json.loads(feed(snap).body, parse_constant=lambda name: pytest.fail(name))


def test_a_run_that_has_not_stepped_yet_shows_empty_curves():
    frame = frame_of(snapshot(0))
    assert frame["status"] == "running — step 0 of 18,740" and frame["grid"] is None
    assert all(not line["x"] for chart in frame["charts"] for line in chart["lines"])


def test_a_long_run_is_thinned_and_a_diverged_curve_just_stops():
    snap = snapshot(20_000)
    snap.history["g_loss"][-50:] = [float("nan")] * 50
    frame = frame_of(snap)
    losses = frame["charts"][0]
    assert losses["title"] == "Losses" and len(losses["lines"]) == 2
    assert all(len(line["x"]) <= FEED_POINTS for line in losses["lines"])
    g, d = losses["lines"]
    assert len(g["x"]) < len(d["x"]) and len(g["x"]) == len(g["y"])
    assert frame["status"] == "running — step 20,000 of 18,740"
    assert "Epoch 1 of 3 " in frame["detail"] and "900 images/s" in frame["detail"]
    assert frame["grid"].startswith("grid.png?v=") and len(frame["verdicts"]) == 3


def test_each_frame_has_its_own_grid_address():
    snap = snapshot(10)
    assert frame_of(snap)["grid"] != frame_of(snap)["grid"]


@pytest.mark.parametrize(
    ("status", "words"),
    [("queued", "Waiting for a free training slot"), ("preparing", "Preparing: loading data")],
)
def test_a_class_that_waits_says_why(status, words):
    frame = frame_of(snapshot(0, status, start=None))
    assert frame["status"].startswith(words) and frame["charts"] == []


def test_an_ended_class_says_how():
    stopped = frame_of(snapshot(5, "stopped", end=EndEvent("stopped", "by the teacher", 5, 1)))
    assert stopped["ended"] == "Run stopped: by the teacher" and stopped["ended_well"]
    assert "images/s" not in stopped["detail"]  # the last speed is not the speed now
    failed = frame_of(snapshot(5, "error", end=EndEvent("error", "out of memory", 5, 1)))
    assert not failed["ended_well"]


def test_the_students_page_asks_this_class_and_nothing_is_left_unfilled():
    page = student_view("K7QX2")
    assert f'const feed = "{ROUTE}/K7QX2"' in page and "class=K7QX2&" in page
    assert not re.search(r"__[A-Z_]+__", page)
    assert "innerHTML" not in page  # what the server sends is shown as text, never as markup
