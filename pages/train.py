"""Train: pick a recipe, click Train, watch the GAN learn live; pause, stop, save, compare."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from gan.config import ConfigError
from gan.runfolder import GENERATOR, GENERATOR_NOW
from pages.common.charts import compare_figure, run_colour, show_image
from pages.common.forms import config_form
from pages.common.live import charts_view, end_line, live_view, run_controls, status_line
from pages.common.runs import current_run, resume_run, run_label, saved_runs, start_run
from pages.common.server import max_training_seconds, start_page, tensorflow_ready
from pages.common.state import explore_generator

CHARTS_EVERY_S = 2.0  # the progress and the grid update every second
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
            run_controls(run, snap)
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
    if snap.start is not None:
        charts_view(live_view(snap), run)


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
    shown = st.multiselect(
        "Grids to show", labels, default=labels[-4:], key="compare_grids", persist_state="session"
    )
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
