"""The failure lab's live views, on every run: the three detectors with their evidence and
their one-switch fixes, and what D sees (its score of each fake and real digit, and where
it looks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from gan.config import ConfigError
from gan.detectors import FAILURES
from gan.latent import untile
from gan.presets import find_preset
from pages.common.charts import png_bytes, scored_grid

ICONS = {"firing": ":material/error:", "clear": ":material/check_circle:", "too early": None}


def failure_lab(snap, findings, figure, run=None) -> None:
    """The detectors' `findings` (gan.detectors.diagnose), side by side (stacked on a phone),
    each with its evidence (`figure`, see `charts.CHARTS`) and, when `run` (the run to
    command) is given, its fix."""
    st.subheader("Failure detectors")
    demonstrated = find_preset(snap.start.config.preset).demonstrates
    for column, finding in zip(st.columns(len(findings)), findings, strict=True):
        with column:
            detector_view(finding, figure(f"lab-{finding.failure}"))
            if run is not None:
                fix_button(run, snap, finding, offer=finding.failure == demonstrated)
    for change in snap.changes:
        st.caption(f"Changed mid-run at {change}.")


def detector_view(finding, evidence) -> None:
    """One detector: its state in words and its evidence plotted."""
    detector_state(finding)
    st.plotly_chart(evidence, width="stretch", key=f"lab-{finding.failure}")


def detector_state(finding) -> None:
    """A detector's state in words, coloured: firing, clear, or too early to tell."""
    failure = FAILURES[finding.failure]
    text = f"**{failure.title}**: {finding.state}. {finding.evidence}"
    {"firing": st.error, "clear": st.success}.get(finding.state, st.info)(
        text, icon=ICONS[finding.state]
    )


def fix_button(run, snap, finding, offer: bool) -> None:
    """The detector's fix when it fires (on a failure demo, from the start), or what the fix
    changed once applied."""
    failure = FAILURES[finding.failure]
    live = snap.status in ("running", "paused")
    fixed = st.session_state.get("lab_fixed", {}).get((run.config.out_dir, finding.failure))
    if fixed:
        st.success(f"{fixed}. {failure.fix.why}")
    elif (
        live
        and (offer or finding.state == "firing")
        and st.button(f"Fix it: {failure.fix.label}", key=f"fix-{finding.failure}")
    ):
        apply_fix(run, finding.failure)


def apply_fix(run, failure: str) -> None:
    """Send the failure's fix to the running training and remember what it changed."""
    fix = FAILURES[failure].fix
    try:
        run.change(**fix.settings(run.config.to_dict()))
    except ConfigError as error:
        st.error(str(error))
        return
    fixed = st.session_state.setdefault("lab_fixed", {})
    fixed[run.config.out_dir, failure] = f"Done: {fix.label[0].lower()}{fix.label[1:]}"
    st.rerun()


@dataclass(frozen=True)
class DPictures:
    """What D sees, as PNGs: the grid's fakes with D's scores, where D looks in the first,
    ten real digits and D's score of each."""

    fakes: bytes
    looks: bytes
    real: list[bytes]
    real_scores: list[str]


def d_pictures(snap) -> DPictures | None:
    """The pictures of What D sees for a snapshot (None before the first grid)."""
    view = snap.d_view
    if view is None or snap.grid is None:
        return None
    columns = find_preset(snap.start.config.preset).grid if snap.start else 10
    images = untile(snap.grid, columns)
    return DPictures(
        png_bytes(scored_grid(images, view.fake_scores, columns), 1),
        png_bytes(where_d_looks(images[0], view.looks), 6),
        [png_bytes(image, 3) for image in view.real_images[..., 0]],
        [f"{score:.0%} real" for score in view.real_scores],
    )


def d_view_section(pictures: DPictures | None) -> None:
    """What D says of the live grid and of real digits, and where it looks in one fake."""
    if pictures is None:
        return
    st.subheader("What D sees")
    fakes, looks = st.columns([3, 2])
    fakes.image(
        pictures.fakes,
        caption="The grid's fakes, each with D's score: the chance it gives that the image is real",
        output_format="PNG",
    )
    looks.image(
        pictures.looks,
        caption="Where D looks in the first fake: red where a small change of a pixel "
        "would change D's score most. This gradient is all G learns from.",
        width=224,
        output_format="PNG",
    )
    st.caption("Ten real digits, with D's score of each:")
    st.image(pictures.real, caption=pictures.real_scores, width=84, output_format="PNG")


def where_d_looks(image: np.ndarray, looks: np.ndarray) -> np.ndarray:
    """The fake in grey with the size of D's gradient in red on top: `(28, 28, 3)` in [0, 1]."""
    grey = np.repeat(image[..., None] * 0.6, 3, axis=2)
    grey[..., 0] = np.maximum(grey[..., 0], looks)
    return grey
