"""Plotly figures and image helpers for the pages."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

LINES = {
    "g_loss": ("G loss", "#d62728"),
    "d_loss": ("D loss", "#1f77b4"),
    "d_real": ("mean D(x), real", "#2ca02c"),
    "d_fake": ("mean D(G(z)), fake", "#ff7f0e"),
    "acc_real": ("D accuracy on real", "#17becf"),
    "acc_fake": ("D accuracy on fake", "#9467bd"),
    "recognizability": ("recognizable samples", "#2ca02c"),
    "smallest_share": ("smallest digit share", "#8c564b"),
    "frechet_distance": ("Fréchet digit distance", "#7f7f7f"),
    "frechet_floor": ("real-vs-real floor", "#c7c7c7"),
}


def smooth(values: list[float], window: int = 15) -> np.ndarray:
    """Moving average so the curve's trend shows through step noise."""
    values = np.asarray(values, float)
    if len(values) < window:
        return values
    kernel = np.ones(window) / window
    head = np.cumsum(values[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(values, kernel, mode="valid")])


def history_figure(
    history: dict[str, list[float]],
    names: tuple[str, ...],
    title: str,
    y_range: tuple[float, float] | None = None,
    window: int = 15,
) -> go.Figure:
    """Step curves of the named statistics, smoothed over `window` points."""
    figure = go.Figure()
    steps = np.asarray(history.get("step", []))  # arrays: Plotly validates lists item by item
    for name in names:
        label, colour = LINES[name]
        figure.add_trace(
            go.Scatter(
                x=steps,
                y=smooth(history.get(name, []), window),
                name=label,
                line={"color": colour},
                mode="lines" if window > 1 else "lines+markers",
            )
        )
    figure.update_layout(
        title=title,
        height=280,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="step",
        legend={"orientation": "h", "y": -0.25},
        uirevision="keep",
    )
    if y_range:
        figure.update_yaxes(range=y_range)
    return figure


def compare_figure(runs) -> go.Figure:
    """G and D loss of several finished runs on one chart."""
    figure = go.Figure()
    for run in runs:
        for name, dash in (("g_loss", "solid"), ("d_loss", "dot")):
            figure.add_trace(
                go.Scatter(
                    x=np.asarray(run.history.get("step", [])),
                    y=smooth(run.history.get(name, [])),
                    name=f"{run.label}: {LINES[name][0]}",
                    line={"dash": dash},
                    mode="lines",
                )
            )
    figure.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="step",
        legend={"orientation": "h", "y": -0.3},
    )
    return figure


def crisp(image: np.ndarray, scale: int = 8) -> np.ndarray:
    """Enlarge an `(H, W)` image by pixel repetition, so digits stay sharp on screen."""
    return np.repeat(np.repeat(np.clip(image, 0.0, 1.0), scale, axis=0), scale, axis=1)


def show_image(image: np.ndarray, caption: str, scale: int = 3, container=st) -> None:
    """Draw an `(H, W)` image in [0, 1] enlarged and lossless (PNG, not the default JPEG)."""
    container.image(crisp(image, scale), caption=caption, clamp=True, output_format="PNG")
