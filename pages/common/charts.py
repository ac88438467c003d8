"""Plotly figures and image helpers for the pages."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from gan.detectors import SWING_SMOOTHING
from gan.presets import find_preset
from pages.common.state import LIVE_FIGURES

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
    "g_gradient": ("norm of G's gradient", "#e377c2"),
    "pixel_diversity": ("pixel diversity vs real", "#1f77b4"),
    "smallest_digit_diversity": ("least varied digit vs real", "#d62728"),
    "entropy": ("spread of the digits read (1 = even)", "#9467bd"),
}


CHARTS = {  # a run's live charts: curves, from which history, title, y range, smoothing
    "losses": (("g_loss", "d_loss"), "steps", "Losses", None, 15),
    "d_outputs": (("d_real", "d_fake"), "steps", "What D says", (0, 1), 15),
    "quality": (
        ("recognizability", "smallest_share", "smallest_digit_diversity"),
        "quality",
        "Sample quality",
        (0, 1.2),
        1,
    ),
    "frechet": (
        ("frechet_distance", "frechet_floor"),
        "quality",
        "Fréchet digit distance (lower is better)",
        None,
        1,
    ),
    # The failure detectors' evidence (gan.detectors):
    "lab-collapse": (
        ("entropy", "recognizability", "pixel_diversity", "smallest_digit_diversity"),
        "quality",
        "Coverage and diversity",
        (0, 1.3),
        1,
    ),
    "lab-vanishing": (
        ("d_real", "d_fake", "g_gradient"),
        "steps",
        "D's verdicts, G's gradient",
        "log",
        SWING_SMOOTHING,
    ),
    "lab-oscillation": (
        ("d_real", "d_fake"),
        "steps",
        "D's verdicts (do they settle?)",
        (0, 1),
        SWING_SMOOTHING,
    ),
}
MOST_POINTS = 1500  # a curve longer than this is thinned: the screen shows no more


def snapshot_figure(name: str, snap, cached: bool = False) -> go.Figure:
    """The chart `name` of `CHARTS` for a run's snapshot; `cached`: this session's figure with
    new data swapped in (see `live_figure`)."""
    names, source, title, y_range, window = CHARTS[name]
    start = snap.start
    if name == "d_outputs" and start and find_preset(start.config.preset).reports_accuracy:
        names += ("acc_real", "acc_fake")
    history = snap.quality if source == "quality" else snap.history
    if cached:
        return live_figure(name, history, names, title, y_range, window)
    return history_figure(history, names, title, y_range, window)


def curve(history: dict[str, list[float]], name: str, window: int):
    """The steps and the smoothed values of one statistic, thinned to MOST_POINTS."""
    steps, values = np.asarray(history.get("step", [])), smooth(history.get(name, []), window)
    every = -(-len(steps) // MOST_POINTS)
    return (steps[::every], values[::every]) if every > 1 else (steps, values)


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
    y_range: tuple[float, float] | str | None = None,
    window: int = 15,
) -> go.Figure:
    """Step curves of the named statistics, smoothed over `window` points; `y_range` "log"
    gives a logarithmic axis."""
    figure = go.Figure()
    for name in names:
        label, colour = LINES[name]
        steps, values = curve(history, name, window)  # arrays: Plotly checks lists item by item
        figure.add_trace(
            go.Scatter(
                x=steps,
                y=values,
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
    if y_range == "log":
        figure.update_yaxes(type="log", exponentformat="e")
    elif y_range:
        figure.update_yaxes(range=y_range)
    return figure


def live_figure(
    key: str,
    history: dict[str, list[float]],
    names: tuple[str, ...],
    title: str,
    y_range: tuple[float, float] | str | None = None,
    window: int = 15,
) -> go.Figure:
    """`history_figure`, built once per session and chart; later calls swap in the new data.

    Building a Plotly figure validates every property (about 11 ms a chart on 2 cores);
    replacing the traces' arrays costs about 1 ms. The live view redraws its charts every
    2 s, on the server that also answers every student's explorer.
    """
    figures = st.session_state.setdefault(LIVE_FIGURES, {})
    spec = (names, title, y_range, window)
    cached = figures.get(key)
    if cached is None or cached[0] != spec:
        figure = history_figure(history, names, title, y_range, window)
        figures[key] = (spec, figure)
        return figure
    figure = cached[1]
    with figure.batch_update():
        for trace, name in zip(figure.data, names, strict=True):
            trace.x, trace.y = curve(history, name, window)
    return figure


RUN_COLOURS = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#e7969c", "#6b6ecf", "#843c39",
)  # fmt: skip


def run_colour(index: int) -> str:
    """The colour of the `index`-th run, the same in the chart and beside its grid."""
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def compare_figure(runs: list[tuple[str, str, dict[str, list[float]]]], name: str) -> go.Figure:
    """One quality curve (`name`, by step) per run: (label, colour, quality history)."""
    figure = go.Figure()
    for label, colour, quality in runs:
        if quality.get(name):
            figure.add_trace(
                go.Scatter(
                    x=np.asarray(quality["step"]),
                    y=np.asarray(quality[name]),
                    name=label,
                    line={"color": colour},
                    mode="lines+markers",
                )
            )
    figure.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title=LINES[name][0],
        xaxis_title="step",
        legend={"orientation": "h", "y": -0.3},
    )
    return figure


def map_figure(point: np.ndarray, reach: float = 3.0) -> go.Figure:
    """The digit map of a map-coded generator (which digit each (z0, z1) picks), its digits
    written at their places, and `point` (the current z0, z1) marked."""
    from gan.latent import code_digits, map_places

    axis = np.linspace(-reach, reach, 151, dtype=np.float32)
    x, y = np.meshgrid(axis, axis)
    digits = code_digits(np.stack([x.ravel(), y.ravel()], axis=1), 2).reshape(x.shape)
    figure = go.Figure(
        go.Heatmap(x=axis, y=axis, z=digits, colorscale="Turbo", showscale=False, opacity=0.45)
    )
    places = map_places(np.arange(10))
    figure.add_trace(
        go.Scatter(
            x=places[:, 0],
            y=places[:, 1],
            text=[str(d) for d in range(10)],
            mode="text",
            textfont={"size": 18},
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[float(point[0])],
            y=[float(point[1])],
            mode="markers",
            name="z",
            marker={"size": 12, "color": "white", "line": {"width": 2, "color": "black"}},
        )
    )
    figure.update_layout(
        height=300,
        showlegend=False,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "z[0]", "range": [-reach, reach]},
        yaxis={"title": "z[1]", "range": [-reach, reach], "scaleanchor": "x"},
    )
    return figure


def crisp(image: np.ndarray, scale: int = 8) -> np.ndarray:
    """Enlarge an `(H, W)` image by pixel repetition, so digits stay sharp on screen."""
    return np.repeat(np.repeat(np.clip(image, 0.0, 1.0), scale, axis=0), scale, axis=1)


_encoded: OrderedDict[tuple[int, int], tuple[np.ndarray, bytes]] = OrderedDict()
_encoded_lock = threading.Lock()


def png_bytes(image: np.ndarray, scale: int) -> bytes:
    """An `(H, W)` image in [0, 1], enlarged, as a quickly compressed PNG (lossless).

    The last 64 are remembered by identity: live views redraw the same grid every second.
    """
    key = (id(image), scale)
    with _encoded_lock:
        hit = _encoded.get(key)
    if hit is not None and hit[0] is image:
        return hit[1]
    pixels = np.round(crisp(image, scale) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    with _encoded_lock:
        _encoded[key] = (image, buffer.getvalue())  # holding `image` keeps its id unique
        while len(_encoded) > 64:
            _encoded.popitem(last=False)
    return buffer.getvalue()


def frame_strip(frames: np.ndarray, readings=None, width: int = 84) -> None:
    """Frames `(n, H, W)` in [0, 1] side by side, wrapping to the screen's width (a phone
    shows four a row), each with what the classifier reads under it (`readings`: digits and
    confidences), or its number."""
    captions = [f"{index + 1}" for index in range(len(frames))]
    if readings is not None:
        digits, confidences = readings
        captions = [f"{d} · {c:.0%}" for d, c in zip(digits, confidences, strict=True)]
    pictures = [png_bytes(frame, 3) for frame in frames]
    st.image(pictures, caption=captions, width=width, output_format="PNG")


def scored_grid(images: np.ndarray, scores: np.ndarray, columns: int, scale: int = 2):
    """Images `(n, 28, 28)` in [0, 1] in a grid, each enlarged `scale` times with its score
    (a probability) written under it: `(H, W, 3)` in [0, 1], greener the higher."""
    from PIL import ImageDraw

    size, band = 28 * scale, 12
    rows = int(np.ceil(len(images) / columns))
    canvas = Image.new("RGB", (columns * (size + 2), rows * (size + band + 2)), (128, 128, 128))
    draw = ImageDraw.Draw(canvas)
    for index, (image, score) in enumerate(zip(images, scores, strict=True)):
        row, col = divmod(index, columns)
        x, y = col * (size + 2), row * (size + band + 2)
        pixels = np.round(crisp(image, scale) * 255).astype(np.uint8)
        canvas.paste(Image.fromarray(pixels).convert("RGB"), (x, y))
        colour = (int(255 * (1 - score)), int(200 * score), 40)
        draw.rectangle((x, y + size, x + size - 1, y + size + band - 1), fill=(255, 255, 255))
        draw.text((x + 2, y + size), f"{score:.0%}", fill=colour)
    return np.asarray(canvas, np.float32) / 255.0


def show_image(image: np.ndarray, caption: str, scale: int = 3, container=st) -> None:
    """Draw an `(H, W)` image in [0, 1] enlarged and lossless (PNG, not the default JPEG).

    Encoded here at PNG's fastest level: Streamlit's default level takes about 4x longer.
    """
    container.image(png_bytes(image, scale), caption=caption, output_format="PNG")
