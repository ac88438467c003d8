"""Interpolate: walk between two latent points by lerp or slerp; strip and animated GIF."""

from __future__ import annotations

import numpy as np
import streamlit as st

from gan.io import gif_bytes
from gan.latent import interpolate, latent_dim_of, render, sample_noise, tile
from pages.common.charts import show_image
from pages.common.pickers import chosen_generator, digit_picker
from pages.common.resources import tensorflow_warmup

tensorflow_warmup()
st.title("Interpolate between two digits")
st.caption(
    "**lerp** walks the straight line between two latent points; **slerp** follows the "
    "sphere where Gaussian noise actually lives, so the middle frames stay typical."
)

path, generator = chosen_generator()

dim = latent_dim_of(generator)
with st.sidebar:
    st.header("Path")
    start_from = st.radio(
        "Start point",
        ["Seed", "Explorer's current point"],
        key="start_from",
        disabled="explore_z" not in st.session_state,
    )
    seed_a = st.number_input("Start seed", min_value=0, step=1, value=0, key="seed_a")
    seed_b = st.number_input("End seed", min_value=0, step=1, value=1, key="seed_b")
    method = st.radio("Method", ["slerp", "lerp"], horizontal=True, key="method")
    frames = st.slider("Frames", 2, 48, 12, key="frames")
    fps = st.slider("GIF frames per second", 1, 30, 8, key="fps")
digit = digit_picker(generator, "interp_digit")

explorer_z = st.session_state.get("explore_z")
use_explorer = start_from != "Seed" and explorer_z is not None and len(explorer_z) == dim
start = explorer_z if use_explorer else sample_noise(1, dim, int(seed_a))[0]
end = sample_noise(1, dim, int(seed_b))[0]
path_z = interpolate(start, end, frames, method)
images = render(generator, path_z, None if digit is None else np.full(frames, digit))[..., 0]

show_image(tile(images, columns=min(frames, 12)), f"{frames} frames by {method}")
animation = gif_bytes(list(images), fps=fps)
left, right = st.columns([1, 2])
left.image(animation, caption="Animated")
right.download_button("Download GIF", animation, f"interpolation-{method}.gif", mime="image/gif")
norms = np.linalg.norm(path_z, axis=1)
right.caption(
    f"|z| along the path: {norms.min():.2f} … {norms.max():.2f} "
    f"(typical for {dim} dims: {np.sqrt(dim):.2f})"
)
