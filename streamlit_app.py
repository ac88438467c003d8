"""MNIST GAN Studio: `streamlit run streamlit_app.py`. Each page lives in pages/.

`streamlit run` imports this file to find the server (`app`: Streamlit plus the class feed's
HTTP routes, pages/common/class_feed.py), then runs it as each session's script (`__main__`):
the navigation.
"""

import streamlit as st

if __name__ == "__main__":
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
else:
    from pages.common.class_feed import routes

    app = st.App(__file__, routes=routes())
