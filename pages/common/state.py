"""What the pages share through a browser session, each value under one name spelled here."""

from __future__ import annotations

import numpy as np
import streamlit as st

BROWSER = "browser"  # which browser this session belongs to (pages.common.server.browser_id)
EXPLORER_MODEL = "explore_model"  # a generator file the Train page opened in the explorer
EXPLORER_POINT = "explore_z"  # the explorer's current latent point, for Interpolate
LIVE_FIGURES = "live_figures"  # Plotly figures the live view reuses
TEACHER = "class_teacher"  # class code -> teacher token, for the class runs this tab drives
JOINED = "class_joined"  # the class this tab has open, shown again after a visit elsewhere
GENERATOR_CHOICE = "generator_choice"  # the explorer's and Interpolate's generator
FROM_TRAIN = "From the Train page (latest opened)"  # that choice, for EXPLORER_MODEL


def explorer_point() -> np.ndarray | None:
    """The latent point the explorer last drew, if any."""
    return st.session_state.get(EXPLORER_POINT)


def set_explorer_point(z: np.ndarray) -> None:
    st.session_state[EXPLORER_POINT] = z


def generator_to_explore() -> str | None:
    """The generator file the Train page last opened in the explorer, if any."""
    return st.session_state.get(EXPLORER_MODEL)


def explore_generator(path) -> None:
    """Open a generator file in the latent explorer."""
    st.session_state[EXPLORER_MODEL] = str(path)
    st.session_state[GENERATOR_CHOICE] = FROM_TRAIN  # over the choice kept from earlier
    st.switch_page("pages/explore.py")
