"""A run's live view, shared by the Train page and the class run: the controls, the progress,
how it ended, and the charts (drawn from figures the caller supplies: its own, or a class's
made once for every student)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import plotly.graph_objects as go
import streamlit as st

from gan.config import ConfigError
from gan.detectors import Finding, diagnose
from gan.runs import Snapshot
from gan.trainer import QUALITY_SAMPLES
from pages.common.charts import CHARTS, snapshot_figure
from pages.common.lab import DPictures, d_pictures, d_view_section, failure_lab
from pages.common.server import max_training_seconds, training_slots
from pages.common.text import duration


@dataclass(frozen=True)
class LiveView:
    """What a run's charts show, made from one snapshot: the figures (`figure(name)`, see
    `charts.CHARTS`), the detectors' findings and the pictures of what D sees."""

    snap: Snapshot
    figure: Callable[[str], go.Figure]
    findings: list[Finding]
    d_view: DPictures | None


def live_view(snap: Snapshot, shared: bool = False) -> LiveView:
    """The live view of `snap`, for one session (its figures reused from rerun to rerun), or
    `shared` by many sessions (new figures, made once)."""
    if shared:
        figure = {name: snapshot_figure(name, snap) for name in CHARTS}.__getitem__
    else:
        figure = partial(snapshot_figure, snap=snap, cached=True)
    return LiveView(snap, figure, diagnose(snap.history, snap.quality), d_pictures(snap))


STEPS = (  # the buttons of a paused run: one update at a time, as in GAN Lab
    ("Step", "both", "One update of both networks, then pause again."),
    ("Step D", "d", "One update of D alone: G stays as it is."),
    ("Step G", "g", "One update of G alone: D stays as it is."),
)
PACES = {"full speed": None, "10": 10.0, "5": 5.0, "2": 2.0, "1": 1.0}  # slow motion
PREPARING = "Preparing: loading data, building the networks, compiling the step…"


def run_controls(run, snap) -> None:
    """Pause / Resume and Stop, offered only while they can act; while paused, one update at
    a time (both networks, D alone, G alone); slow motion."""
    can_act = snap.status in ("running", "paused")
    paused = snap.status == "paused"
    left, right = st.columns(2)
    left.button(
        "Resume" if paused else "Pause",
        key="pause",
        width="stretch",
        disabled=not can_act,
        on_click=act,
        args=(run.resume if paused else run.pause,),
    )
    right.button(
        "Stop",
        key="stop",
        width="stretch",
        disabled=snap.status not in ("queued", "preparing", "running", "paused"),
        on_click=act,
        args=(run.stop,),
    )
    if paused:
        for column, (label, which, words) in zip(st.columns(3), STEPS, strict=True):
            column.button(
                label, key=f"step-{which}", width="stretch", help=words, on_click=act,
                args=(run.step, which),
            )  # fmt: skip
    if can_act:
        key = f"pace-{run.config.out_dir}"  # each run starts at full speed
        st.select_slider(
            "Slow motion (updates a second)",
            list(PACES),
            key=key,
            on_change=lambda: act(run.slow_motion, PACES[st.session_state[key]]),
        )


def act(command, *args) -> None:
    """Send a command to the run; a refusal shows as a toast (this runs as a callback)."""
    try:
        command(*args)
    except ConfigError as error:
        st.toast(str(error))


def status_line(snap) -> None:
    """Progress bar, counters, speed, ETA and the data."""
    if snap.status == "queued":
        slots = training_slots()
        st.warning(
            f"Waiting for a free training slot: this server trains {slots.limit} run"
            f"{'s' if slots.limit != 1 else ''} at a time and all are busy; you are number "
            f"{snap.queue_position} in the queue. Each training here lasts at most "
            f"{duration(max_training_seconds())}, so the wait is at most about "
            f"{duration(max_training_seconds() * snap.queue_position)}. Training starts by "
            "itself."
        )
        return
    if snap.status == "preparing":
        st.info(PREPARING)
        return
    last, start = snap.last, snap.start
    step = last.step if last else 0
    st.progress(snap.progress, text=progress_words(snap))
    a, b = st.columns(2)
    a.metric("Epoch", f"{last.epoch if last else 1} of {start.config.epochs}")
    b.metric("Images/s", f"{last.images_per_s:,.0f}" if last else "…")
    c, d = st.columns(2)
    eta = snap.eta_seconds
    c.metric("Time left", duration(eta) if eta is not None and snap.status == "running" else "—")
    d.metric("Images seen", f"{step * start.config.batch_size:,}")
    st.caption(f"Data: {data_words(start)}")
    if start.notice:
        st.warning(start.notice)


def progress_words(snap) -> str:
    """The run's state and step ("running — step 1,200 of 18,740") once it has started."""
    step = snap.last.step if snap.last else 0
    state = "saving and measuring…" if snap.status == "finishing" else snap.status
    return f"{state} — step {step:,} of {snap.start.total_steps:,}"


def detail_words(snap) -> str:
    """Epoch, speed (while it runs) and data in one line ("" before the first step)."""
    if snap.start is None or snap.last is None:
        return ""
    speed = f"{snap.last.images_per_s:,.0f} images/s · " if snap.status == "running" else ""
    epoch = f"Epoch {snap.last.epoch} of {snap.start.config.epochs}"
    return f"{epoch} · {speed}{data_words(snap.start)}"


def data_words(start) -> str:
    """What the run trains on, in words (no server paths)."""
    name = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}[start.config.dataset]
    whole = start.n_images >= 60_000 and not start.notice
    return f"{'full ' if whole else ''}{name}, {start.n_images:,} images"


def end_line(snap) -> None:
    """How the run ended, in the right colour."""
    end = snap.end
    text = f"Run {end.reason}: {end.message}"
    {"finished": st.success, "stopped": st.info}.get(end.reason, st.error)(text)


def charts_view(view: LiveView, run=None) -> None:
    """The curves, the quality panel, the failure detectors (with their fixes when `run`, the
    run to command, is given) and what D sees."""
    snap, figure = view.snap, view.figure
    losses, outputs = st.columns(2)
    losses.plotly_chart(figure("losses"), width="stretch", key="losses")
    outputs.plotly_chart(figure("d_outputs"), width="stretch", key="d_outputs")
    quality_view(snap, figure)
    failure_lab(snap, view.findings, figure, run)
    d_view_section(view.d_view)


def quality_view(snap, figure: Callable[[str], go.Figure]) -> None:
    """Live sample-quality metrics: what the losses cannot tell."""
    if not snap.quality.get("step"):
        return
    latest = snap.latest_quality
    if latest.collapse_warning:
        st.warning(latest.collapse_warning)
    elif latest.coverage_note:
        st.info(latest.coverage_note)
    left, right = st.columns(2)
    left.plotly_chart(figure("quality"), width="stretch", key="quality")
    right.plotly_chart(figure("frechet"), width="stretch", key="frechet")
    st.caption(
        f"On {QUALITY_SAMPLES} fixed latents: recognizable = share a digit classifier labels "
        "with ≥90% confidence; smallest digit share falls towards 0 when digits vanish, and "
        "the least varied digit (its samples' variety against real digits') when G draws one "
        "image of a digit for every z."
    )
