"""Interpolate: walk between two latent points, or from one digit to another; strip and GIF."""

from __future__ import annotations

import numpy as np
import streamlit as st

from gan.io import gif_bytes
from gan.latent import (
    digit_mixes,
    interpolate,
    latent_dim_of,
    render,
    render_mixed,
    sample_noise,
)
from pages.common.charts import frame_strip
from pages.common.pickers import chosen_generator, digit_picker
from pages.common.resources import digit_mixer_for, read_digits
from pages.common.server import start_page
from pages.common.state import explorer_point

POINTS, DIGITS = "Between two latent points", "From one digit to another"


def article(digit: int) -> str:
    return "an" if digit == 8 else "a"


start_page()
st.title("Interpolate between two digits")
st.caption(
    "**lerp** walks the straight line between two latent points; **slerp** follows the "
    "sphere where Gaussian noise actually lives, so the middle frames stay typical. Under "
    "each frame: the digit a classifier reads, and how sure it is."
)

path, generator = chosen_generator()
mixer = digit_mixer_for(path)

dim = latent_dim_of(generator)
with st.sidebar:
    st.header("Path")
    walk = st.radio(
        "Walk",
        [POINTS, DIGITS],
        key="walk",
        persist_state="session",
        disabled=mixer is None,
        help="From one digit to another needs a generator that can be asked for a digit.",
    )
    by_digit = walk == DIGITS and mixer is not None
    if by_digit:
        start_digit = st.selectbox(
            "Start digit", range(10), index=3, key="start_digit", persist_state="session"
        )
        end_digit = st.selectbox(
            "End digit", range(10), index=8, key="end_digit", persist_state="session"
        )
    start_from = st.radio(
        "Start point",
        ["Seed", "Explorer's current point"],
        key="start_from",
        persist_state="session",
        disabled=explorer_point() is None,
    )
    seed_a = st.number_input(
        "Start seed", min_value=0, step=1, value=0, key="seed_a", persist_state="session"
    )
    if not by_digit:
        seed_b = st.number_input(
            "End seed", min_value=0, step=1, value=1, key="seed_b", persist_state="session"
        )
        method = st.radio(
            "Method", ["slerp", "lerp"], horizontal=True, key="method", persist_state="session"
        )
    frames = st.slider("Frames", 2, 48, 12, key="frames", persist_state="session")
    fps = st.slider("GIF frames per second", 1, 30, 8, key="fps", persist_state="session")

explorer_z = explorer_point()
use_explorer = start_from != "Seed" and explorer_z is not None and len(explorer_z) == dim
start = explorer_z if use_explorer else sample_noise(1, dim, int(seed_a))[0]
if by_digit:
    path_z = np.repeat(start[None], frames, axis=0)
    images = render_mixed(mixer, generator, path_z, digit_mixes(start_digit, end_digit, frames))
    title = (
        f"{article(start_digit).title()} {start_digit} becomes {article(end_digit)} {end_digit} "
        f"in {frames} frames (the noise stays put)"
    )
    name = f"morph-{start_digit}-to-{end_digit}.gif"
else:
    digit = digit_picker(generator, "interp_digit")
    path_z = interpolate(start, sample_noise(1, dim, int(seed_b))[0], frames, method)
    images = render(generator, path_z, None if digit is None else np.full(frames, digit))
    title = f"{frames} frames by {method}"
    name = f"interpolation-{method}.gif"

st.subheader(title)
frame_strip(images[..., 0], read_digits(images))
animation = gif_bytes(list(images[..., 0]), fps=fps)
left, right = st.columns([1, 2])
left.image(animation, caption="Animated")
right.download_button("Download GIF", animation, name, mime="image/gif")
norms = np.linalg.norm(path_z, axis=1)
right.caption(
    f"|z| along the path: {norms.min():.2f} … {norms.max():.2f} "
    f"(typical for {dim} dims: {np.sqrt(dim):.2f})"
)
