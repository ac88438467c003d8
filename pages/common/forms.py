"""Widgets -> RunConfig, with the engine's validation messages shown in place."""

from __future__ import annotations

import streamlit as st

from gan.config import DATASETS, ConfigError, RunConfig
from gan.presets import DEFAULT_PRESET, PRESETS
from gan.recipe import G_LOSSES, GROUPS, MAX_D_STEPS
from pages.common.links import from_link, keep_link

LINK_SETTINGS = ("preset", "latent_dim", "epochs", "batch_size", "lr_g", "lr_d", "seed")


def choose_preset(name: str) -> None:
    """Set the form's preset and load its defaults (a click elsewhere, e.g. a demo)."""
    st.session_state["preset"] = name
    _preset_defaults(name)


def _preset_defaults(name: str) -> None:
    """When the preset changes, load its defaults into the fields."""
    preset = PRESETS[name]
    for field in ("latent_dim", "epochs", "batch_size", "lr_g", "lr_d", "g_loss", "d_steps"):
        st.session_state[field] = getattr(preset, field)


def settings_from_link(given: dict[str, str]) -> str | None:
    """Set the form from a lesson link's values, or say why they cannot be used (the same
    message as typed values get)."""
    preset = given.pop("preset", st.session_state["preset"])
    try:
        if preset not in PRESETS:
            RunConfig.create(f"{preset}?")  # the unknown-preset message, naming the choices
        config = RunConfig.create(preset, **given)
    except ConfigError as error:
        return f"This link's settings were not used: {error}"
    choose_preset(preset)
    for name in given:
        st.session_state[name] = getattr(config, name)
    return None


def config_form(disabled: bool = False) -> tuple[RunConfig | None, str | None, str | None]:
    """The training settings, or None and what is wrong with the error shown under them; and
    what was wrong with a lesson link's settings, if one was opened."""
    if "preset" not in st.session_state:
        st.session_state["preset"] = DEFAULT_PRESET
        st.session_state["seed"] = 0
        _preset_defaults(DEFAULT_PRESET)
    link_problem = from_link("train", LINK_SETTINGS, settings_from_link)

    def field(key: str) -> dict:
        """A field's key, its value kept while the student visits other pages, and whether it
        is disabled (while a run trains)."""
        return {"key": key, "persist_state": "session", "disabled": disabled}

    preset = st.selectbox(
        "Preset",
        list(PRESETS),
        **field("preset"),
        on_change=lambda: _preset_defaults(st.session_state["preset"]),
        format_func=lambda name: f"{GROUPS[PRESETS[name].group]}: {name} — {PRESETS[name].summary}",
    )
    st.caption(f"Source: {PRESETS[preset].source}")
    left, right = st.columns(2)
    dataset = left.selectbox("Dataset", DATASETS, **field("dataset"))
    latent_dim = right.number_input(
        "Latent dimension",
        step=1,
        **field("latent_dim"),
        help="Length of the noise vector z (1–1024).",
    )
    epochs = left.number_input("Epochs", step=1, **field("epochs"))
    batch_size = right.number_input("Batch size", step=16, **field("batch_size"))
    with st.expander("More settings"):
        a, b = st.columns(2)
        lr_g = a.number_input(
            "Generator learning rate",
            **field("lr_g"),
            format="%.5f",
            step=1e-4,
        )
        lr_d = b.number_input(
            "Discriminator learning rate",
            **field("lr_d"),
            format="%.5f",
            step=1e-4,
        )
        g_loss = a.selectbox(
            "G's loss",
            G_LOSSES,
            **field("g_loss"),
            help="non-saturating: G minimises -log D(G(z)); minimax: log(1 - D(G(z))), "
            "whose gradient vanishes when D rejects every fake.",
        )
        d_steps = b.number_input(
            "D steps per G step",
            step=1,
            **field("d_steps"),
            help=f"How many times D learns for each step of G (1–{MAX_D_STEPS}).",
        )
        seed = a.number_input("Seed", step=1, **field("seed"))
        train_size = b.number_input(
            "Training images (0 = all)",
            value=0,
            step=1000,
            **field("train_size"),
            help="Fewer images make epochs shorter.",
        )
        max_seconds = a.number_input(
            "Time budget in seconds (0 = none)",
            value=0,
            step=10,
            **field("max_seconds"),
        )
        xla = b.checkbox(
            "Compile with XLA",
            **field("xla"),
            help="Faster steps for the classic conv presets on a CPU; the first step takes "
            "longer. See benchmarks/bench_xla.py.",
        )
    try:
        config = RunConfig.create(
            preset,
            dataset=dataset,
            latent_dim=latent_dim,
            epochs=epochs,
            batch_size=batch_size,
            lr_g=lr_g,
            lr_d=lr_d,
            g_loss=g_loss,
            d_steps=d_steps,
            seed=seed,
            train_size=train_size or None,
            max_seconds=max_seconds or None,
            xla=xla,
        )
    except ConfigError as error:
        st.error(str(error))
        return None, str(error), link_problem
    keep_link("train", {name: getattr(config, name) for name in LINK_SETTINGS})
    return config, None, link_problem
