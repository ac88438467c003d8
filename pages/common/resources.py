"""Cached, read-only things (`st.cache_resource`), shared by every session of the server:
the shipped generators and classifier, the training digits, directions, digit mixers."""

from __future__ import annotations

import os

import numpy as np
import streamlit as st

from gan.io import MODELS
from pages.common.server import freeze_long_lived_objects

PRETRAINED = {
    "Pretrained digits (models/generator.keras)": MODELS / "generator.keras",
    "Pretrained, pick the digit (models/conditional_generator.keras)": MODELS
    / "conditional_generator.keras",
}


@st.cache_resource(show_spinner="Loading a pretrained generator…")
def pretrained_generator(path: str):
    """A shipped generator, loaded once per server process; never trained."""
    from gan.io import load_generator

    generator = load_generator(path)
    freeze_long_lived_objects()
    return generator


@st.cache_resource(show_spinner="Loading the digits…")
def training_data(dataset: str):
    """The training set, read once per process and shared read-only by all sessions."""
    from gan.data import load_dataset

    return load_dataset(dataset)


@st.cache_resource(show_spinner="Finding meaningful directions…")
def directions_for(path: str, k: int = 6) -> np.ndarray:
    """GANSpace-style latent directions of the generator at `path` (precomputed if shipped)."""
    from gan.io import directions_path

    sidecar = directions_path(path)
    if sidecar.is_file():
        return np.load(sidecar)[:k]
    from gan.models import latent_directions

    return latent_directions(load_any(path), k)


def load_any(path: str):
    """A generator by path: shipped ones from the shared cache, others loaded fresh."""
    if path in {str(p) for p in PRETRAINED.values()}:
        return pretrained_generator(path)
    return session_generator(path, os.path.getmtime(path))


@st.cache_resource(max_entries=32, show_spinner="Loading the generator…")
def session_generator(path: str, mtime: float):
    """A session's own generator file (a run, its generator now, an upload), by path and version."""
    from gan.io import load_generator

    return load_generator(path)


def digit_mixer_for(path: str):
    """The generator at `path` taking a digit mix (see `gan.models.digit_mixer`); None if it
    cannot be asked for a digit. Built once per file version: a new model costs a trace."""
    return _digit_mixer(path, os.path.getmtime(path))


@st.cache_resource(max_entries=32, show_spinner=False)
def _digit_mixer(path: str, mtime: float):
    from gan.models import digit_mixer

    return digit_mixer(load_any(path))


@st.cache_resource(show_spinner="Loading the digit classifier…")
def digit_classifier():
    """The metrics' classifier (models/classifier.keras), shared read-only; None if missing."""
    from gan.metrics import CLASSIFIER, load_classifier

    return load_classifier() if CLASSIFIER.is_file() else None


def read_digits(images: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The digit the classifier reads in each image `(n, 28, 28, 1)` in [0, 1], and its
    confidence; None without a classifier."""
    from gan.metrics import read_digits as read

    classifier = digit_classifier()
    return None if classifier is None else read(classifier, images)
