"""The `Preset` schema: the fields of one GAN recipe, and the checks that they fit together.

The rows themselves, the classic recipes and the project's own, are data in `gan.presets`.
Numpy-free and TensorFlow-free, like them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DIGITS = 10  # the digit head's and a digit code's size
G_LOSSES = ("non-saturating", "minimax")  # G's loss: -log D(G(z)), or log(1 - D(G(z)))
MAX_D_STEPS = 10  # discriminator updates per generator update, at most
GROUPS = {"ours": "Our recipes", "classic": "Classic recipes", "demo": "Failure demos"}


@dataclass(frozen=True)
class Preset:
    """One GAN recipe: architecture, data range, loss and default hyper-parameters."""

    name: str
    summary: str
    source: str
    generator: str
    discriminator: str
    data_range: Literal["tanh", "sigmoid"]  # tanh: data in [-1, 1]; sigmoid: [0, 1]
    d_output: Literal["logits", "probability"]
    update: Literal["simultaneous", "alternating"]
    latent_dim: int = 100
    epochs: int = 50
    batch_size: int = 256
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta_1: float = 0.9
    real_label: float = 1.0  # < 1 is one-sided label smoothing
    g_loss: Literal["non-saturating", "minimax"] = "non-saturating"
    d_steps: int = 1  # discriminator updates per generator update
    grid: int = 4  # the progress grid is grid x grid samples
    reports_accuracy: bool = False
    keep_every: int = 0  # keep a copy of the generator every N epochs (0: off)
    conditional: bool = False
    ema: float = 0.0  # decay of the generator's moving average, saved and shown (0: off)
    digit_head: float = 0.0  # weight of the digit terms in G's loss; > 0 gives D a digit head
    mode_seeking: float = 0.0  # weight of the mode-seeking term in G's loss (0: off)
    noise_shortcut: bool = False  # principal G: its noise also sets the weights linearly
    noise_by_digit: bool = False  # conditional principal G: each digit's noise has its own weights
    digit_spread: float = 0.0  # > 0: D also sees how alike each digit's images are, x this
    digit_code: int = 0  # G turns its first N noise values into a digit code (10: hard; 2: a map)
    code_temperature: float = 0.0  # a map code's sparsemax temperature (a hard code has none)
    principal_components: int = 0  # > 0: G draws in (and D sees) the span of the data's top N
    lr_decay_steps: int = 0  # > 0: learning rates fall as lr / (1 + step / lr_decay_steps)
    g_width: int = 0  # the generator's width, for builders that take one (0: the builder's)
    d_width: int = 0  # the discriminator's filter count, for builders that take one (0: theirs)
    group: Literal["ours", "classic", "demo"] = "ours"  # where the Train page's picker lists it
    demonstrates: str = ""  # a failure demo's failure: a key of gan.detectors.FAILURES

    def __post_init__(self) -> None:
        """Refuse flags that do not fit together (a mistake in this file, not a user's)."""
        problems = [
            text
            for broken, text in (
                (self.data_range not in ("tanh", "sigmoid"), "data_range is tanh or sigmoid"),
                (
                    self.d_output not in ("logits", "probability"),
                    "d_output is logits or probability",
                ),
                (
                    self.update not in ("simultaneous", "alternating"),
                    "update is simultaneous or alternating",
                ),
                (not 0.0 < self.real_label <= 1.0, "real_label is in (0, 1]"),
                (self.g_loss not in G_LOSSES, "g_loss is non-saturating or minimax"),
                (not 1 <= self.d_steps <= MAX_D_STEPS, f"d_steps is 1 to {MAX_D_STEPS}"),
                (not 0.0 <= self.ema < 1.0, "ema is in [0, 1)"),
                (self.digit_head < 0.0, "digit_head is >= 0"),
                (self.mode_seeking < 0.0, "mode_seeking is >= 0"),
                (
                    self.digit_spread < 0.0 or (self.digit_spread and not self.d_takes_label),
                    "digit_spread is >= 0, and compares images of one digit: D takes labels",
                ),
                (self.digit_code not in (0, 2, DIGITS), f"digit_code is 0, 2 or {DIGITS}"),
                (
                    self.digit_code and not self.digit_head,
                    "a digit code needs a digit head to check it",
                ),
                (self.digit_code and self.conditional, "a G with a digit code takes no label"),
                (
                    self.digit_head and not (self.digit_code or self.conditional),
                    "a digit head checks the digit G was asked for, by label or by code",
                ),
                (
                    (self.digit_code == 2) != (self.code_temperature > 0),
                    "a map code (2 values) and only a map code has a temperature",
                ),
                (
                    self.digit_head and self.discriminator == "principal_discriminator",
                    "the principal discriminator has no digit head",
                ),
                (self.group not in GROUPS, "group is ours, classic or demo"),
                (
                    (self.group == "demo") != bool(self.demonstrates),
                    "a failure demo, and only a demo, names the failure it demonstrates",
                ),
                (
                    bool(self.principal_components) != (self.generator == "principal_generator"),
                    "principal_components goes with the principal_generator",
                ),
                (
                    (self.noise_shortcut or self.noise_by_digit or self.digit_spread)
                    and not self.principal_components,
                    "the noise shortcut, noise by digit and digit spread are the principal "
                    "networks' options",
                ),
                (
                    self.noise_by_digit and not self.conditional,
                    "noise by digit needs the digit: a conditional preset",
                ),
                (
                    self.principal_components and self.data_range != "tanh",
                    "principal components are computed for tanh data",
                ),
                (
                    self.grid < 1
                    or min(self.keep_every, self.lr_decay_steps, self.g_width, self.d_width) < 0,
                    "sizes are >= 0",
                ),
            )
            if broken
        ]
        if problems:
            raise ValueError(f"Preset {self.name!r}: {'; '.join(problems)}.")

    @property
    def d_takes_label(self) -> bool:
        """A conditional D gets the label as an input, unless its digit head checks the digit
        (AC-GAN: D itself is unconditional)."""
        return self.conditional and not self.digit_head
