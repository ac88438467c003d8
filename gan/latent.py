"""Latent-space tools: seeded noise, lerp, slerp, interpolation paths, principal directions.

Numpy only, so sliders respond without importing TensorFlow.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np

from gan.config import ConfigError
from gan.data import to_unit

Method = Literal["lerp", "slerp"]
DIRECTION_LIMIT = 3.0  # the explorer's direction sliders go from -3 to 3...
DIRECTION_STEP = 0.1  # ...in steps of 0.1
CODE_LAYER = "code_and_noise"  # the layer that joins a categorical code to the noise
CODE_SCALE = "code_temperature"  # the layer that divides a map code's scores by its temperature
MAP_LAYER = "digit_map"  # the layer that scores where a map-coded G's first two values lie
MAP_VALUES = 2  # a digit map is drawn on the plane of the first two noise values
MAP_CENTER = 5  # the digit in the middle of the map...
MAP_RING = (0, 2, 8, 3, 1, 7, 9, 4, 6)  # ...and the nine around it, look-alikes side by side
MAP_PLACE_RADIUS = 2.0  # asking the map for an outer digit puts (z0, z1) this far out on its spoke


def sample_noise(n: int, latent_dim: int, seed: int | None = None) -> np.ndarray:
    """Standard-normal latents `(n, latent_dim)` float32, reproducible for a given seed."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Straight line from a (t=0) to b (t=1)."""
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Great-circle path from a (t=0) to b (t=1); the norm moves linearly between theirs.

    Gaussian latents live near a sphere, so slerp keeps midpoints typical where lerp
    shrinks them. Identical directions fall back to lerp; opposite ones take a fixed
    perpendicular detour so the path is still well defined.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a == 0.0 or norm_b == 0.0:
        return lerp(a, b, t)
    unit_a, unit_b = a / norm_a, b / norm_b
    cos_omega = float(np.clip(unit_a @ unit_b, -1.0, 1.0))
    norm = (1.0 - t) * norm_a + t * norm_b
    if cos_omega > 1.0 - 1e-7:
        return lerp(a, b, t)
    if cos_omega < -1.0 + 1e-7:
        side = _perpendicular(unit_a)
        direction = np.cos(np.pi * t) * unit_a + np.sin(np.pi * t) * side
        return (norm * direction).astype(np.float32)
    omega = np.arccos(cos_omega)
    direction = (np.sin((1.0 - t) * omega) * unit_a + np.sin(t * omega) * unit_b) / np.sin(omega)
    return (norm * direction / np.linalg.norm(direction)).astype(np.float32)


def _perpendicular(unit: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to `unit`, chosen deterministically."""
    axis = np.zeros_like(unit)
    axis[int(np.argmin(np.abs(unit)))] = 1.0
    side = axis - (axis @ unit) * unit
    if len(unit) == 1 or np.linalg.norm(side) == 0.0:
        return -unit  # in one dimension there is no detour: pass through the origin
    return side / np.linalg.norm(side)


def interpolate(a: np.ndarray, b: np.ndarray, steps: int, method: Method = "slerp") -> np.ndarray:
    """`steps` latents `(steps, d)` from a to b inclusive, by lerp or slerp."""
    if steps < 2:
        raise ValueError("An interpolation needs at least 2 steps.")
    path = lerp if method == "lerp" else slerp
    return np.stack([path(a, b, t) for t in np.linspace(0.0, 1.0, steps)]).astype(np.float32)


def principal_directions(latents: np.ndarray, features: np.ndarray, k: int) -> np.ndarray:
    """GANSpace-style directions: the top-k principal axes of `features`, mapped to latent space.

    `features` `(n, f)` are activations computed from `latents` `(n, d)`; each returned row
    `(k, d)` is the least-squares latent direction that moves features along one axis,
    scaled to unit norm.
    """
    centred = features - features.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    scores = centred @ axes[:k].T  # (n, k)
    directions, *_ = np.linalg.lstsq(scores, latents - latents.mean(axis=0), rcond=None)
    return (directions / np.linalg.norm(directions, axis=1, keepdims=True)).astype(np.float32)


def direction_sweep(start: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The latents `(m, d)` a direction slider passes through, from -DIRECTION_LIMIT to
    +DIRECTION_LIMIT in DIRECTION_STEP steps, starting from `start`."""
    amounts = np.arange(-DIRECTION_LIMIT, DIRECTION_LIMIT + DIRECTION_STEP / 2, DIRECTION_STEP)
    return (start[None] + amounts[:, None] * direction[None]).astype(np.float32)


def tile(images: np.ndarray, columns: int | None = None, gap: int = 1) -> np.ndarray:
    """Images `(n, h, w[, 1])` in [0, 1] -> one grid image `(H, W)` float32, grey gaps."""
    images = np.asarray(images, np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    n, h, w = images.shape
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), 0.5, np.float32)
    for index, image in enumerate(images):
        row, col = divmod(index, columns)
        grid[row * (h + gap) : row * (h + gap) + h, col * (w + gap) : col * (w + gap) + w] = image
    return grid


def untile(grid: np.ndarray, columns: int, size: int = 28, gap: int = 1) -> np.ndarray:
    """The images `(n, size, size)` of a grid that `tile` made with `columns` columns."""
    rows = (grid.shape[0] + gap) // (size + gap)
    step = size + gap
    return np.stack(
        [
            grid[r * step : r * step + size, c * step : c * step + size]
            for r in range(rows)
            for c in range(columns)
        ]
    )


def output_range(generator) -> Literal["tanh", "sigmoid"]:
    """The range a generator draws in, read from its last layer's activation."""
    activation = getattr(generator.layers[-1], "activation", None)
    return "sigmoid" if getattr(activation, "__name__", "") == "sigmoid" else "tanh"


def is_conditional(generator) -> bool:
    """True when the generator also takes a digit label."""
    return len(generator.inputs) == 2


def _layer_named(generator, name: str):
    """The generator's layer called `name`, or None."""
    return next((layer for layer in generator.layers if layer.name == name), None)


def digit_code_of(generator) -> int:
    """How many leading noise values pick the digit, for a generator with a categorical code
    in its noise (the `coded-digits` preset; 2 for a digit map); 0 for any other generator."""
    if _layer_named(generator, MAP_LAYER) is not None:
        return MAP_VALUES
    layer = _layer_named(generator, CODE_LAYER)
    return 0 if layer is None else int(layer.input[0].shape[-1])


def code_temperature_of(generator) -> float:
    """The temperature of a soft digit code (see `gan.models._categorical_code`); 0 if none."""
    layer = _layer_named(generator, CODE_SCALE)
    return 0.0 if layer is None else float(1.0 / layer.scale)


def set_code_temperature(generator, temperature: float) -> None:
    """Make a generator with a soft digit code read it at `temperature` from now on (the
    weights stay): lower blends two digits over a narrower border, so fewer samples are
    shapes between two digits, and walks cross borders in fewer frames."""
    layer = _layer_named(generator, CODE_SCALE)
    if layer is None:
        raise ConfigError("This generator has no soft digit code to set a temperature for.")
    layer.scale = 1.0 / temperature


def takes_digit(generator) -> bool:
    """True when a digit can be asked for: a label input, or a code inside the noise."""
    return is_conditional(generator) or digit_code_of(generator) > 0


def digit_map() -> tuple[np.ndarray, np.ndarray]:
    """The digit map's scores `(z0, z1) @ weights + bias` `(2, 10)`, `(10,)`: whichever is
    largest picks the digit. The nine ring digits own equal slices around the origin (their
    weights are unit spokes); the centre digit (bias only) owns the regular 9-gon around the
    origin that holds a tenth of N(0, I), so each digit gets a tenth of the noise. Neighbours
    on the map are look-alikes (by this project's generators' pixel distances), so walking
    across a border changes the picture little."""
    angles = 2 * np.pi * np.arange(len(MAP_RING)) / len(MAP_RING)
    weights = np.zeros((MAP_VALUES, 10), np.float32)
    weights[:, MAP_RING] = np.cos(angles), np.sin(angles)
    bias = np.zeros(10, np.float32)
    bias[MAP_CENTER] = _inradius_holding(0.1, len(MAP_RING))
    return weights, bias


@functools.cache
def _inradius_holding(mass: float, sides: int) -> float:
    """The inradius of the regular polygon (centred at 0) that holds `mass` of N(0, I_2)."""
    half = np.pi / sides
    angles = np.linspace(0.0, half, 2001)  # from the middle of an edge to a corner

    def held(inradius: float) -> float:
        inside = 1.0 - np.exp(-0.5 * (inradius / np.cos(angles)) ** 2)
        return float(np.mean((inside[1:] + inside[:-1]) / 2))  # trapezoid over the sector

    low, high = 0.0, 5.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if held(middle) < mass else (low, middle)
    return (low + high) / 2


def code_digits(noise: np.ndarray, size: int) -> np.ndarray:
    """The digit each row's code picks: the position of the largest of its first `size`
    values, or for a digit map (`size` 2) the region its first two values lie in (what the
    generator's `code_and_noise` layer computes)."""
    head = np.asarray(noise)[:, :size]
    if size == MAP_VALUES:
        weights, bias = digit_map()
        head = head @ weights + bias
    return head.argmax(axis=1)


def map_places(digits) -> np.ndarray:
    """Points `(n, 2)` at the heart of each digit's region on the digit map: the origin for
    the centre digit, `MAP_PLACE_RADIUS` out along its spoke for a ring digit."""
    weights, _ = digit_map()
    digits = np.asarray(digits)
    places = MAP_PLACE_RADIUS * weights[:, digits].T
    places[digits == MAP_CENTER] = 0.0
    return places


def with_digit_code(noise: np.ndarray, digits, size: int) -> np.ndarray:
    """`noise` whose code asks for `digits`: in each row the largest of the first `size`
    values swaps places with the one at position `digit`. A swap keeps the row's values,
    so it stays ordinary Gaussian noise and everything but the digit stays put. A digit map
    (`size` 2) moves the first two values to the digit's place (`map_places`) instead."""
    z = np.array(noise, dtype=np.float32, copy=True)
    rows = np.arange(len(z))
    digits = np.broadcast_to(np.asarray(digits, dtype=np.int64), rows.shape)
    if size == MAP_VALUES:
        z[:, :size] = map_places(digits)
        return z
    top = code_digits(z, size)
    z[rows, top], z[rows, digits] = z[rows, digits], z[rows, top]
    return z


def digit_mixes(start: int, end: int, frames: int) -> np.ndarray:
    """`frames` digit mixes `(frames, 10)` float32 from all `start` to all `end`, evenly."""
    if frames < 2:
        raise ValueError("A morph needs at least 2 frames.")
    t = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
    one_hot = np.eye(10, dtype=np.float32)
    return (1.0 - t) * one_hot[start] + t * one_hot[end]


def render_mixed(mixer, generator, noise: np.ndarray, mixes: np.ndarray) -> np.ndarray:
    """Images `(n, 28, 28, 1)` in [0, 1] for `noise` `(n, d)` and digit mixes `(n, 10)`, from
    `mixer` (`gan.models.digit_mixer(generator)`)."""
    images = mixer.predict_on_batch([noise, np.asarray(mixes, np.float32)])
    return to_unit(np.asarray(images, dtype=np.float32), output_range(generator))


def latent_dim_of(generator) -> int:
    """Length of the generator's noise vector."""
    return int(generator.inputs[0].shape[-1])


def render(generator, noise: np.ndarray, digits: np.ndarray | None = None) -> np.ndarray:
    """Images for `noise` `(n, d)` (and digits `(n,)`, by label or by code): `(n, 28, 28, 1)`
    float32 in [0, 1]."""
    code = 0 if digits is None or is_conditional(generator) else digit_code_of(generator)
    if code:
        noise, digits = with_digit_code(noise, digits, code), None
    inputs = noise if digits is None else [noise, np.asarray(digits, np.int32)]
    # predict_on_batch runs a compiled function: ~1.5 ms here against ~17 ms for an eager call.
    images = np.asarray(generator.predict_on_batch(inputs), dtype=np.float32)
    return to_unit(images, output_range(generator))


def recode(conditional, coded) -> None:
    """Give `coded`, a freshly built generator with a digit code, the weights of
    `conditional`, a conditional one of the same body: the label's one-hot input becomes the
    code, so wherever the code is one-hot `coded` draws what `conditional` draws for that
    digit, and the noise carries the digit (fine-tune it to draw well between digits)."""
    if not is_conditional(conditional) or not digit_code_of(coded):
        raise ConfigError("Recoding takes a conditional generator and a preset with a digit code.")
    weights = conditional.get_weights()
    noise = latent_dim_of(conditional)  # the first kernel's rows: noise, then the one-hot label
    weights[0] = np.concatenate([weights[0][noise:], weights[0][:noise]])  # code, then noise
    digit_map_layer = _layer_named(coded, MAP_LAYER)  # a map's frozen weights come first
    fixed = digit_map_layer.get_weights() if digit_map_layer is not None else []
    try:
        coded.set_weights(fixed + weights)
    except ValueError as error:
        raise ConfigError(
            f"The conditional generator does not fit this preset's generator ({error})."
        ) from error
