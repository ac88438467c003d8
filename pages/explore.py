"""Latent explorer: move through a generator's latent space with sliders and directions."""

from __future__ import annotations

import time
from functools import partial

import numpy as np
import streamlit as st

from gan.config import ConfigError, parse_int
from gan.latent import (
    DIRECTION_LIMIT,
    DIRECTION_STEP,
    MAP_VALUES,
    code_temperature_of,
    digit_code_of,
    is_conditional,
    latent_dim_of,
    render,
    sample_noise,
    with_digit_code,
)
from pages.common.charts import map_figure, show_image
from pages.common.links import from_link, keep_link
from pages.common.pickers import chosen_generator, code_help, digit_picker
from pages.common.resources import directions_for
from pages.common.server import start_page
from pages.common.state import set_explorer_point

DIGIT_KEY = "explore_digit"


def point_from_link(generator, given: dict[str, str]) -> str | None:
    """Set the seed and the digit from a lesson link, or say why they cannot be used."""
    try:
        seed = parse_int(
            "Seed", given.get("seed", st.session_state.get("explore_seed", 0)), 0, 2**31 - 1
        )
        digit = parse_int("Digit", given["digit"], 0, 9) if "digit" in given else None
    except ConfigError as error:
        return f"This link's point was not used: {error}"
    if digit is not None:
        if is_conditional(generator):
            st.session_state[DIGIT_KEY] = digit
        elif digit_code_of(generator):
            st.session_state[f"{DIGIT_KEY}-code"] = digit
        else:
            return "This link asks for a digit, but this generator cannot be asked for one."
    st.session_state["explore_seed"] = seed
    return None


start_page()
st.title("Latent explorer")
st.caption(
    "Every image is the generator's answer to one latent vector z. Move z, watch the "
    "digit change: nearby points give similar digits."
)

path, generator = chosen_generator()
link_problem = from_link("explore", ("seed", "digit"), partial(point_from_link, generator))
if link_problem:
    st.error(link_problem)

dim = latent_dim_of(generator)
# The controls used while looking sit above the picture (on a phone the sidebar is closed).
randomize, digit_box = st.columns(2, vertical_alignment="bottom")
if randomize.button("Randomize", width="stretch"):
    st.session_state["explore_seed"] = int(np.random.default_rng().integers(0, 10_000))
digit = digit_picker(generator, DIGIT_KEY, digit_box)
with st.sidebar:
    st.header("Latent point")
    seed = st.number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        step=1,
        key="explore_seed",
        persist_state="session",
    )
    shown = st.multiselect(
        "Dimensions with sliders",
        list(range(dim)),
        default=list(range(min(6, dim))),
        key="explore_dims",
        persist_state="session",
        help="Pick which coordinates of z get a slider.",
    )


@st.fragment
def latent_point(generator, start: np.ndarray, directions: np.ndarray, shown, digit, seed) -> None:
    """Sliders and the image. A fragment: moving a slider reruns only this part of the page."""
    z = start.copy()
    picture, controls = st.columns([2, 3])  # the picture first: on a phone it comes on top
    with controls:
        st.subheader("Meaningful directions")
        st.caption(
            "Principal directions of the generator's first layer (GANSpace): each moves "
            "several coordinates at once along the axis where images vary most."
        )
        for index, direction in enumerate(directions):
            amount = st.slider(
                f"Direction {index + 1}",
                -DIRECTION_LIMIT,
                DIRECTION_LIMIT,
                0.0,
                DIRECTION_STEP,
                key=f"dir-{index}-{seed}",
                persist_state="session",
            )
            z = z + amount * direction
        st.subheader("Coordinates")
        code = digit_code_of(generator)
        if code and digit is None:
            st.caption(
                f"{code_help(code)} Move z[0]…z[{code - 1}] and watch the digit "
                + ("morph into another." if code_temperature_of(generator) else "change.")
            )
        for i in shown:
            z[i] = st.slider(
                f"z[{i}]",
                -3.0,
                3.0,
                float(np.clip(z[i], -3, 3)),
                0.05,
                key=f"z-{i}-{seed}",
                persist_state="session",
            )
    started = time.perf_counter()
    image = render(generator, z[None], None if digit is None else np.array([digit]))[0, ..., 0]
    elapsed_ms = (time.perf_counter() - started) * 1000
    set_explorer_point(z)
    with picture:
        show_image(image, f"G(z), rendered in {elapsed_ms:.0f} ms", scale=10)
        st.caption("Use the **Interpolate** page to walk from this point to another.")
    if code == MAP_VALUES:  # below both columns: on a phone the sliders come first
        point = z if digit is None else with_digit_code(z[None], [digit], MAP_VALUES)[0]
        st.plotly_chart(map_figure(point[:MAP_VALUES]), key="digit-map")
        st.caption(
            "Where z[0], z[1] lie on this generator's digit map; across a border the digit "
            "morphs into its neighbour."
        )


keep_link("explore", {"seed": int(seed), "digit": digit})
latent_point(
    generator, sample_noise(1, dim, int(seed))[0], directions_for(path), shown, digit, seed
)
