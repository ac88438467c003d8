"""MNIST GAN Studio: the navigation. Each page lives in pages/."""

import streamlit as st

from pages.common.server import through_navigation

st.set_page_config(page_title="MNIST GAN Studio", page_icon=":material/draw:", layout="wide")
with through_navigation():  # pages check that they were reached this way (deep links)
    st.navigation(
        [
            st.Page("pages/home.py", title="Classroom", icon=":material/school:", default=True),
            st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
            st.Page("pages/explore.py", title="Latent explorer", icon=":material/explore:"),
            st.Page("pages/interpolate.py", title="Interpolate", icon=":material/animation:"),
        ]
    ).run()
