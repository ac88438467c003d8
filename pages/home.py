"""Classroom: what a GAN is, shown with real pictures next to each short explanation, and
the failure lab: each classic failure one click away."""

from __future__ import annotations

import numpy as np
import streamlit as st

from gan.config import ConfigError, RunConfig
from gan.detectors import FAILURES
from gan.presets import PRESETS
from pages.common.charts import show_image
from pages.common.classroom import class_page, class_setup, open_class
from pages.common.forms import choose_preset
from pages.common.resources import PRETRAINED, pretrained_generator, training_data
from pages.common.runs import current_run, start_run
from pages.common.server import start_page, tensorflow_ready

start_page()
if (code := open_class()) is not None:  # a class run's link: the class, not the lesson
    class_page(code)
    st.stop()
st.title("MNIST GAN Studio")
st.markdown(
    "A **Generative Adversarial Network** is two networks playing a game. The **generator** G "
    "turns random noise z into an image. The **discriminator** D looks at an image and says "
    "how sure it is that the image is real. D learns to catch fakes; G learns to fool D. "
    "Neither ever sees a rule for what a digit looks like — G only ever learns through D's "
    "verdicts."
)
st.page_link(
    "pages/train.py",
    label="Train one yourself — the default draws readable digits in about 30 seconds",
    icon=":material/model_training:",
)
with st.container(border=True):
    st.markdown(
        "**Class runs.** A teacher starts one training here; every student who opens its "
        "link (or types its code) watches the same run live, and only the teacher can pause "
        "it, step it one update at a time or stop it."
    )
    class_setup()


def real_row() -> np.ndarray:
    """Twelve real training digits as one strip."""
    from gan.latent import tile

    data = training_data("mnist")
    pick = np.random.default_rng(0).choice(len(data), 12, replace=False)
    return tile(data.images[pick] / 255.0, columns=12)


def generated_row(scale: float = 1.0) -> np.ndarray | None:
    """Twelve samples of the shipped generator (noise scaled by `scale`); None if not ready."""
    path = next(iter(PRETRAINED.values()))
    if not tensorflow_ready() or not path.is_file():
        return None
    from gan.latent import latent_dim_of, render, sample_noise, tile

    generator = pretrained_generator(str(path))
    noise = sample_noise(12, latent_dim_of(generator), seed=3) * scale
    if scale < 1.0:
        noise += sample_noise(1, latent_dim_of(generator), seed=4)
    return tile(render(generator, noise), columns=12)


st.subheader("1. What D sees")
st.markdown(
    "D gets a mix of both rows below and must say which is real. (In the Train page's "
    "default recipe D also learns the real digits' names: section 2 says why.) With the "
    "classic recipes the first fakes are blobs and D wins easily; with the default, G paints "
    "digit shapes within seconds, and D's average scores for real and fake stay close "
    "together instead of running apart."
)
show_image(real_row(), "Real: handwritten digits from MNIST")


@st.fragment(run_every=1.0 if not tensorflow_ready() else None)
def generated_strip(caption: str, scale: float = 1.0) -> None:
    """Samples of the shipped generator, drawn as soon as TensorFlow has loaded."""
    row = generated_row(scale)
    if row is None:
        st.info("Loading TensorFlow to draw fakes (first start only)…")
    else:
        show_image(row, caption)


st.subheader("2. What G sees")
st.markdown(
    "G never sees a real digit. It sees noise, and the gradient of D's verdict on its "
    "fakes: 'make this pixel brighter and D would believe you more'. (The Train page's "
    "default, *quick-digits*, gives G a head start: it paints with 128 stroke patterns "
    "computed from the training digits, their principal components, instead of pixel by "
    "pixel, and D judges each image as the digit it should be. That is why it draws "
    "readable digits in about 30 seconds on 2 CPU cores; the classic recipes next to it "
    "need hours.)"
)
generated_strip("Fake: G(z) for 12 random z, from the shipped generator")

st.subheader("3. What the curves mean")
st.markdown(
    "- **D loss and G loss** measure the game, not the images. They pull against each other, so "
    "they wobble and do *not* steadily fall. A falling G loss can even mean D has got worse, "
    "not that the images got better — judge the pictures, not the loss.\n"
    "- **mean D(x)** (real) and **mean D(G(z))** (fake) are D's average confidence. Healthy "
    "training keeps both away from 0 and 1; if D(G(z)) sits at 0, D has won and G learns little.\n"
    "- **NaN** losses mean training diverged: the app stops the run and keeps the last good "
    "model.\n"
    "- If D wins outright, D(G(z)) sits at 0 and, with the original minimax loss, G's "
    "gradient vanishes: **see it happen** with the *D wins* demo in section 5."
)

st.subheader("4. What mode collapse looks like")
st.markdown(
    "A generator that finds one shape D cannot catch may draw it for every z. The Train "
    "page's fixed-noise grid is where you would spot it. With the default recipe each row "
    "of the grid asks for one digit, so collapse shows *inside* a row: ten copies of one "
    "image. With a recipe without labels (such as *fast*) the whole grid shrinks to a few "
    "images. Below, an imitation made for this page: the shipped generator fed twelve "
    "*nearly identical* z's, which is what a collapsed generator draws for *every* z."
)
generated_strip("Imitated collapse: twelve nearly identical z, one shape", scale=0.05)
st.markdown(
    "That was an imitation. To watch a real generator collapse, and a detector name it while "
    "it happens, run the *mode collapse* demo in section 5."
)

DEMO_TEXT = {
    "collapse": "D learns 70 times slower than G. G chases what a nearly still D likes and "
    "ends up drawing only a few digits, since nothing tells it that it repeats itself.",
    "vanishing": "D learns 5 times per step of G and 10 times faster, and G uses the "
    "original minimax loss. D rejects every fake and G's gradient fades to nothing.",
    "oscillation": "Learning rates 30 times too high. Every step overshoots the other "
    "network's last one, and what G draws never settles.",
}


def demo_buttons() -> None:
    """One click starts a demo for this browser and opens the Train page, where the
    detectors name the failure and a switch cures it."""
    running = current_run() is not None and current_run().active
    demos = [preset for preset in PRESETS.values() if preset.group == "demo"]
    for column, preset in zip(st.columns(len(demos)), demos, strict=True):
        failure = FAILURES[preset.demonstrates]
        with column:
            st.markdown(f"**{failure.title}**")
            st.caption(DEMO_TEXT[preset.demonstrates])
            if st.button(f"Run {preset.name}", key=f"demo-{preset.name}", disabled=running):
                start_demo(preset.name)
    if running:
        st.caption("Your run is still training: stop it on the Train page to start a demo.")


def start_demo(name: str) -> None:
    try:
        start_run(RunConfig.create(name))
    except ConfigError as error:
        st.error(str(error))
        return
    choose_preset(name)
    st.switch_page("pages/train.py")


st.subheader("5. Break it on purpose: the failure lab")
st.markdown(
    "Each button below starts a real training that fails in one classic way. On the Train "
    "page, the **failure detectors** watch every run: they say *too early to tell* until they "
    "can judge, then name the failure with its evidence plotted beside it. Press **Fix it** "
    "to change the one setting that cures it, in the middle of the run, and watch the "
    "detector clear. **What D sees** shows D's score of every fake and where it looks."
)
demo_buttons()
