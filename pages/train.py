"""Train: pick a recipe, click Train, watch the GAN learn live; pause, stop, save, compare."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from gan.config import ConfigError
from gan.presets import find_preset
from gan.runfolder import GENERATOR, GENERATOR_NOW
from gan.trainer import QUALITY_SAMPLES
from pages.common.charts import compare_figure, live_figure, run_colour, show_image
from pages.common.forms import config_form
from pages.common.lab import d_view_section, failure_lab
from pages.common.runs import current_run, resume_run, run_label, saved_runs, start_run
from pages.common.server import (
    max_training_seconds,
    start_page,
    tensorflow_ready,
    training_slots,
)
from pages.common.state import explore_generator
from pages.common.text import duration

CHARTS_EVERY_S = 2.0  # the progress and the grid update every second
STEPS = (  # the buttons of a paused run: one update at a time, as in GAN Lab
    ("Step", "both", "One update of both networks, then pause again."),
    ("Step D", "d", "One update of D alone: G stays as it is."),
    ("Step G", "g", "One update of G alone: D stays as it is."),
)
PACES = {"full speed": None, "10": 10.0, "5": 5.0, "2": 2.0, "1": 1.0}  # slow motion
SLOW_BATCH = 16  # smaller batches get a hint that training will be slow

start_page()
st.title("Train a GAN")

run = current_run()
active = run is not None and run.active

with st.sidebar:
    st.header("Settings")
    config, problem, link_problem = config_form(disabled=active)
    if run is None and not tensorflow_ready():
        st.info("Loading TensorFlow in the background (first start only)…")

if not active:
    if st.button("Train", type="primary", disabled=config is None, width="stretch"):
        try:
            start_run(config)
            st.rerun()  # draw the controls of the running state
        except ConfigError as error:
            st.error(str(error))
    if link_problem:
        st.error(link_problem)
    if problem:  # here too: on a phone the sidebar with the field is closed
        st.error(f"{problem} Change it under Settings (the sidebar) to train.")
    elif config is not None and config.batch_size < SLOW_BATCH:
        st.caption(
            f"Batches of {config.batch_size} make every image cost more: training takes much "
            "longer than with the preset's batch size."
        )


def run_controls(snap) -> None:
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
        on_click=run.resume if paused else run.pause,
    )
    right.button(
        "Stop",
        key="stop",
        width="stretch",
        disabled=snap.status not in ("queued", "preparing", "running", "paused"),
        on_click=run.stop,
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
        st.info("Preparing: loading data, building the networks, compiling the step…")
        return
    last, start = snap.last, snap.start
    step = last.step if last else 0
    state = "saving and measuring…" if snap.status == "finishing" else snap.status
    st.progress(snap.progress, text=f"{state} — step {step:,} of {start.total_steps:,}")
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


def quality_view(snap) -> None:
    """Live sample-quality metrics: what the losses cannot tell."""
    quality = snap.quality
    if not quality.get("step"):
        return
    latest = snap.latest_quality
    if latest.collapse_warning:
        st.warning(latest.collapse_warning)
    elif latest.coverage_note:
        st.info(latest.coverage_note)
    left, right = st.columns(2)
    left.plotly_chart(
        live_figure(
            "quality",
            quality,
            ("recognizability", "smallest_share", "smallest_digit_diversity"),
            "Sample quality",
            (0, 1.2),
            window=1,
        ),
        width="stretch",
        key="quality",
    )
    right.plotly_chart(
        live_figure(
            "frechet",
            quality,
            ("frechet_distance", "frechet_floor"),
            "Fréchet digit distance (lower is better)",
            window=1,
        ),
        width="stretch",
        key="frechet",
    )
    st.caption(
        f"On {QUALITY_SAMPLES} fixed latents: recognizable = share a digit classifier labels "
        "with ≥90% confidence; smallest digit share falls towards 0 when digits vanish, and "
        "the least varied digit (its samples' variety against real digits') when G draws one "
        "image of a digit for every z."
    )


@st.fragment(run_every=1.0 if active else None)
def live_progress() -> None:
    """Redrawn every second while the run trains: the grid first (on a phone, the first
    thing on screen), the controls beside it, then how far it is or how it ended."""
    run.touch()
    snap = run.snapshot()
    picture, side = st.columns([3, 2])
    if snap.grid is not None:
        show_image(snap.grid, "Fixed noise: the same z in every frame", container=picture)
    with side:
        if snap.end is None:
            run_controls(snap)
        else:
            end_line(snap)
        if snap.start is not None or snap.end is None:
            status_line(snap)
    if active and snap.end is not None:
        st.rerun()  # one full rerun: polling off, Train enabled again


@st.fragment(run_every=CHARTS_EVERY_S if active else None)
def live_charts() -> None:
    """The curves, redrawn less often than the progress (Plotly figures cost the server most)."""
    snap = run.snapshot()
    if snap.start is None:
        return
    losses, outputs = st.columns(2)
    losses.plotly_chart(
        live_figure("losses", snap.history, ("g_loss", "d_loss"), "Losses"),
        width="stretch",
        key="losses",
    )
    names = ("d_real", "d_fake")
    if find_preset(snap.start.config.preset).reports_accuracy:
        names += ("acc_real", "acc_fake")
    outputs.plotly_chart(
        live_figure("d_outputs", snap.history, names, "What D says", (0, 1)),
        width="stretch",
        key="d_outputs",
    )
    quality_view(snap)
    failure_lab(run, snap)
    d_view_section(snap)


def saved_runs_view(active: bool) -> None:
    """This browser's saved runs (from any tab, and after a server restart): continue an
    interrupted one; compare the others by what they draw, not by their losses."""
    saved = [r for r in saved_runs() if (r.folder / GENERATOR).is_file()]
    if not saved:
        return
    st.subheader("Your runs")
    for index, earlier in enumerate(saved):
        if earlier.resumable:
            text, button = st.columns([3, 1])
            text.info(
                f"{run_label(earlier)}: saved at step {earlier.step:,}; it can go on from there."
            )
            if button.button("Continue", key=f"continue-{index}", disabled=active):
                try:
                    resume_run(earlier)
                    st.rerun()
                except ConfigError as error:
                    st.error(str(error))
    compare_runs(saved)


def compare_runs(saved) -> None:
    """A table of every run, their quality curves, and the grids the student picks, each run
    in one colour throughout."""
    import pandas as pd

    colours = {run_label(r): run_colour(i) for i, r in enumerate(saved)}
    table = pd.DataFrame(
        {
            "": "■",
            "run": run_label(r),
            "recognizable": last(r.quality, "recognizability", "{:.0%}"),
            "smallest digit": last(r.quality, "smallest_share", "{:.1%}"),
            "Fréchet": last(r.quality, "frechet_distance", "{:.1f}"),
        }
        for r in saved
    )
    marks = [f"color: {colour}" for colour in colours.values()]
    st.dataframe(table.style.apply(lambda _: marks, subset=[""]), hide_index=True)
    curves = [(run_label(r), colours[run_label(r)], r.quality) for r in saved]
    if any(r.quality.get("step") for r in saved):
        left, right = st.columns(2)
        left.plotly_chart(compare_figure(curves, "recognizability"), key="compare-recognizable")
        right.plotly_chart(compare_figure(curves, "frechet_distance"), key="compare-frechet")
    labels = list(colours)
    shown = st.multiselect("Grids to show", labels, default=labels[-4:], key="compare_grids")
    columns = st.columns(4)
    for index, label in enumerate(shown):
        earlier = saved[labels.index(label)]
        if earlier.grid is not None:
            with columns[index % 4]:
                st.markdown(
                    f"<span style='color:{colours[label]}'>■</span> {label}",
                    unsafe_allow_html=True,
                )
                st.image(str(earlier.grid), width="stretch")


def last(curves: dict, name: str, form: str) -> str:
    """The latest value of a quality curve, formatted; "—" if never measured."""
    values = curves.get(name)
    return form.format(values[-1]) if values else "—"


if run is None:
    st.info(
        "Choose a preset and press **Train**. The default, *quick-digits*, draws mostly "
        "readable digits after about 30 s on 2 CPU cores; the classic recipes need hours "
        "on a CPU."
    )
else:
    live_progress()
    live_charts()
    status = run.snapshot().status
    if status in ("running", "paused") and st.button("Explore the generator as it is now"):
        try:
            explore_generator(run.save_generator(Path(run.config.out_dir) / GENERATOR_NOW))
        except ConfigError as error:
            st.error(str(error))
    generator = Path(run.config.out_dir) / GENERATOR
    if not active and generator.is_file():
        a, b = st.columns(2)
        a.download_button(
            "Download generator (.keras)",
            generator.read_bytes(),
            "generator.keras",
            mime="application/octet-stream",
            width="stretch",
        )
        if b.button("Open in the latent explorer", width="stretch"):
            explore_generator(generator)
st.caption(
    f"This server ends a training after {max_training_seconds() / 60:g} min, saved; a run "
    "keeps going while any tab of this browser is open, on any page."
)
saved_runs_view(active)
