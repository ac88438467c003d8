"""Choosing a generator: shipped, from this session's runs, or uploaded (validated)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import streamlit as st

from gan.config import ConfigError
from gan.io import MAX_MODEL_BYTES
from gan.runfolder import GENERATOR
from pages.common.resources import PRETRAINED, load_any
from pages.common.runs import UPLOADS, run_label, saved_runs
from pages.common.server import wait_for_tensorflow
from pages.common.state import FROM_TRAIN, GENERATOR_CHOICE, generator_to_explore

UPLOAD = "Upload a .keras generator…"
NOISE_PICKS = "As the noise says"


def generator_picker():
    """Sidebar choice of generator; returns (path, model) or (None, None) with a message."""
    choices = {label: str(path) for label, path in PRETRAINED.items() if path.is_file()}
    from_train = generator_to_explore()
    if from_train:
        choices[FROM_TRAIN] = from_train
    for run in saved_runs():
        choices[f"Your run {run_label(run)}"] = str(run.folder / GENERATOR)
    choices[UPLOAD] = ""
    labels = list(choices)
    default = labels.index(FROM_TRAIN) if from_train else 0
    label = st.sidebar.selectbox(  # kept across pages; the default where its run's label changed
        "Generator", labels, index=default, key=GENERATOR_CHOICE, persist_state="session"
    )
    path = choices[label] or _uploaded_path()
    if not path:
        return None, None
    try:
        return path, load_any(path)
    except ConfigError as error:
        st.error(str(error))
        return None, None


def chosen_generator():
    """The sidebar's generator, loaded with a spinner: (path, model); stops the page if none."""
    with st.spinner("Loading TensorFlow and the generator (first time only)…"):
        wait_for_tensorflow()
        path, generator = generator_picker()
    if generator is None:
        st.stop()
    return path, generator


def _uploaded_path() -> str | None:
    """Save an uploaded file under a content-addressed name; None until one is given."""
    upload = st.sidebar.file_uploader("Generator file", type=["keras"], key="upload")
    if upload is None:
        st.info(
            "Upload a generator saved by this app or `python -m gan` (a `.keras` file that "
            "maps a latent vector to a 28×28×1 image)."
        )
        return None
    if upload.size > MAX_MODEL_BYTES:
        st.error(
            f"{upload.name} is {upload.size / 2**20:.0f} MB; generators over "
            f"{MAX_MODEL_BYTES // 2**20} MB are refused."
        )
        return None
    data = upload.getvalue()
    # A folder per content, the file under the student's own name: messages name their file.
    path = UPLOADS / hashlib.sha256(data).hexdigest()[:16] / upload_name(upload.name)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return str(path)


def upload_name(name: str) -> str:
    """A safe file name from an uploaded file's name (no folders, plain characters)."""
    stem = re.sub(r"[^\w.\- ]", "_", Path(name).name)[:80].strip(" .") or "upload"
    return stem if stem.endswith(".keras") else f"{stem}.keras"


def code_help(code: int) -> str:
    """How a coded generator reads its digit from the noise, in one sentence."""
    from gan.latent import MAP_CENTER, MAP_RING, MAP_VALUES

    if code == MAP_VALUES:
        ring = " ".join(str(digit) for digit in MAP_RING)
        return (
            "This generator reads the digit from where (z[0], z[1]) lies on its digit map: "
            f"{MAP_CENTER} in the middle, {ring} around it, look-alikes side by side; near a "
            "border two neighbours blend."
        )
    return (
        f"This generator reads the digit from its noise: the largest of z[0]…z[{code - 1}] "
        "picks it (with a soft code, two close values blend two digits)."
    )


def digit_picker(generator, key: str, container=st.sidebar) -> int | None:
    """A digit selector for generators that can be asked for one: conditional ones always
    draw the chosen digit; coded-digits ones default to the digit their noise picks (None)."""
    from gan.latent import digit_code_of, is_conditional

    if is_conditional(generator):
        default = {} if key in st.session_state else {"index": 7}  # a lesson link set it
        return container.selectbox(
            "Digit to draw", list(range(10)), key=key, persist_state="session", **default
        )
    code = digit_code_of(generator)
    if not code:
        return None
    choice = container.selectbox(
        "Digit to draw",
        [NOISE_PICKS, *range(10)],
        key=f"{key}-code",
        persist_state="session",
        help=code_help(code)
        + " Choosing a digit moves the code to that digit, clear of the others.",
    )
    return None if choice == NOISE_PICKS else choice
