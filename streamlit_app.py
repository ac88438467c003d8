"""MNIST GAN Studio: the navigation. Each page lives in pages/."""

import streamlit as st

st.set_page_config(page_title="MNIST GAN Studio", page_icon="✍️", layout="wide")
st.navigation(
    [
        st.Page("pages/home.py", title="Classroom", icon="🎓", default=True),
        st.Page("pages/train.py", title="Train", icon="🏋️"),
        st.Page("pages/explore.py", title="Latent explorer", icon="🧭"),
        st.Page("pages/interpolate.py", title="Interpolate", icon="🎞️"),
    ]
).run()
