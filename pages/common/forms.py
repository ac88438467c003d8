"""Widgets -> RunConfig, with the engine's validation messages shown in place."""

from __future__ import annotations

import streamlit as st

from gan.config import DATASETS, ConfigError, RunConfig
from gan.presets import DEFAULT_PRESET, GROUPS, PRESETS


def _preset_defaults(name: str) -> None:
    """When the preset changes, load its defaults into the fields."""
    preset = PRESETS[name]
    for field in ("latent_dim", "epochs", "batch_size", "lr_g", "lr_d"):
        st.session_state[field] = getattr(preset, field)


def config_form(disabled: bool = False) -> tuple[RunConfig | None, str | None]:
    """The training settings, or (None, what is wrong) with the error shown under them."""
    if "preset" not in st.session_state:
        st.session_state["preset"] = DEFAULT_PRESET
        _preset_defaults(DEFAULT_PRESET)
    preset = st.selectbox(
        "Preset",
        list(PRESETS),
        key="preset",
        disabled=disabled,
        on_change=lambda: _preset_defaults(st.session_state["preset"]),
        format_func=lambda name: f"{GROUPS[PRESETS[name].group]}: {name} — {PRESETS[name].summary}",
    )
    st.caption(f"Source: {PRESETS[preset].source}")
    left, right = st.columns(2)
    dataset = left.selectbox("Dataset", DATASETS, key="dataset", disabled=disabled)
    latent_dim = right.number_input(
        "Latent dimension",
        step=1,
        key="latent_dim",
        disabled=disabled,
        help="Length of the noise vector z (1–1024).",
    )
    epochs = left.number_input("Epochs", step=1, key="epochs", disabled=disabled)
    batch_size = right.number_input("Batch size", step=16, key="batch_size", disabled=disabled)
    with st.expander("More settings"):
        a, b = st.columns(2)
        lr_g = a.number_input(
            "Generator learning rate", key="lr_g", format="%.5f", step=1e-4, disabled=disabled
        )
        lr_d = b.number_input(
            "Discriminator learning rate", key="lr_d", format="%.5f", step=1e-4, disabled=disabled
        )
        seed = a.number_input("Seed", value=0, step=1, key="seed", disabled=disabled)
        train_size = b.number_input(
            "Training images (0 = all)",
            value=0,
            step=1000,
            key="train_size",
            disabled=disabled,
            help="Fewer images make epochs shorter.",
        )
        max_seconds = a.number_input(
            "Time budget in seconds (0 = none)",
            value=0,
            step=10,
            key="max_seconds",
            disabled=disabled,
        )
        xla = b.checkbox(
            "Compile with XLA",
            key="xla",
            disabled=disabled,
            help="Faster steps for the classic conv presets on a CPU; the first step takes "
            "longer. See benchmarks/bench_xla.py.",
        )
    try:
        return RunConfig.create(
            preset,
            dataset=dataset,
            latent_dim=latent_dim,
            epochs=epochs,
            batch_size=batch_size,
            lr_g=lr_g,
            lr_d=lr_d,
            seed=seed,
            train_size=train_size or None,
            max_seconds=max_seconds or None,
            xla=xla,
        ), None
    except ConfigError as error:
        st.error(str(error))
        return None, str(error)
