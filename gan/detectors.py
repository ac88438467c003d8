"""Live detectors of the three classic GAN failures, read from what every run records.

Each detector looks at a run's step history and quality curves (a `RunState`'s, or a
snapshot's) and answers with a `Finding`: "too early" until it can judge, then "clear" or
"firing", with one sentence of evidence. Each failure has a `Fix`: the one setting a running
training can change to cure it (sent with `Control.change`). Numpy-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from gan.quality import COVERAGE_NEEDS, VANISHED_SHARE, WITHIN_DIGIT_LOW

State = Literal["too early", "clear", "firing"]
Curves = dict[str, list[float]]

QUALITY_EVERY_S = 8.0  # the live quality measurements the detectors are tuned for
COLLAPSE_STEPS = 300  # before this, an untrained G's near-identical outputs are no collapse
COLLAPSE_PIXEL_DIVERSITY = 0.3  # samples this alike (vs real digits) are one image drawn again
FEW_DIGITS_SPREAD = 0.7  # digits drawn less evenly than this (entropy, 1 = even): collapsed
SPREAD_MEASUREMENTS = 3  # ... on average over this many quality measurements
SPREAD_NEEDS = 0.3  # ... each with at least this share of the samples reading as digits
SHARES_SWING = 0.4  # what G draws changing this much between measurements is no settling
GRADIENT_WINDOW = 50  # steps over which D's verdicts and G's gradient are averaged
FAKE_REJECTED = 0.05  # mean D(G(z)) below this: D rejects every fake
GRADIENT_VANISHED = 1e-3  # G's gradient norm below this: G no longer learns
SWING_WINDOW = 300  # steps over which the oscillation detector looks for swings
SWING_SMOOTHING = 20  # steps averaged before measuring a swing
SWING_LARGE = 0.5  # D(x) or D(G(z)) swinging over this much of [0, 1] is no settling


@dataclass(frozen=True)
class Finding:
    """What one detector says now."""

    failure: str  # a key of FAILURES
    state: State
    evidence: str

    @property
    def title(self) -> str:
        return FAILURES[self.failure].title


@dataclass(frozen=True)
class Fix:
    """The one setting that cures a failure, and why, in two sentences."""

    label: str  # the switch's words
    settings: Callable[[dict[str, Any]], dict[str, Any]]  # the run's config -> new values
    why: str


@dataclass(frozen=True)
class Failure:
    title: str
    detect: Callable[[Curves, Curves], Finding]
    fix: Fix


def collapse(steps: Curves, quality: Curves) -> Finding:
    """Mode collapse: G draws few of the ten digits (the spread of the digits its recognizable
    samples read as, averaged over the last SPREAD_MEASUREMENTS quality measurements in which
    at least SPREAD_NEEDS are recognizable, under FEW_DIGITS_SPREAD), or in each of the last
    two measurements every sample alike or one digit's samples (nearly) all alike."""
    done = steps["step"][-1] if steps.get("step") else 0
    readable = zip(quality.get("entropy", []), quality.get("recognizability", []), strict=True)
    judged = [spread for spread, share in readable if share >= SPREAD_NEEDS]
    if done < COLLAPSE_STEPS or len(judged) < SPREAD_MEASUREMENTS:
        return Finding(
            "collapse",
            "too early",
            f"Too early to tell: it needs {COLLAPSE_STEPS} steps and {SPREAD_MEASUREMENTS} "
            f"quality measurements in which {SPREAD_NEEDS:.0%} of the samples read as digits.",
        )
    spread = float(np.mean(judged[-SPREAD_MEASUREMENTS:]))
    if spread < FEW_DIGITS_SPREAD:
        shares = quality["class_shares"][-1]
        missing = [str(d) for d, share in enumerate(shares) if share < VANISHED_SHARE]
        gone = f"; now {', '.join(missing)} (almost) never appear" if missing else ""
        return Finding(
            "collapse",
            "firing",
            f"G draws few of the ten digits: their spread is {spread:.2f} (1 = all ten "
            f"equally often, real digits 1.00){gone}.",
        )
    signs = [_collapse_sign(quality, index) for index in (-2, -1)]
    if all(signs):
        return Finding("collapse", "firing", signs[-1])
    varied = (
        "each one varied"
        if quality["recognizability"][-1] >= COVERAGE_NEEDS
        else f"each one's variety judged once {COVERAGE_NEEDS:.0%} are recognizable"
    )
    return Finding("collapse", "clear", f"G draws all ten digits (spread {spread:.2f}), {varied}.")


def _collapse_sign(quality: Curves, index: int) -> str | None:
    """The sentence of collapse evidence in the `index`th quality measurement, or None."""
    pixels, readable = quality["pixel_diversity"][index], quality["recognizability"][index]
    if pixels < COLLAPSE_PIXEL_DIVERSITY:
        return (
            f"G draws nearly one image for every z: its samples vary {pixels:.2f}x as much "
            "as real digits."
        )
    within = quality["smallest_digit_diversity"][index]
    if readable >= COVERAGE_NEEDS and within is not None and within < WITHIN_DIGIT_LOW:
        return (
            f"Inside one digit G draws nearly one image: it varies {within:.2f}x as much as "
            "real digits."
        )
    return None


def vanishing_gradient(steps: Curves, quality: Curves) -> Finding:
    """D wins: over the last GRADIENT_WINDOW steps D rejects every fake and G's gradient is
    (nearly) zero."""
    window = _last_steps(steps, GRADIENT_WINDOW)
    if window is None:
        return Finding("vanishing", "too early", "Too early to tell: fewer than 100 steps.")
    fake, gradient = np.mean(window["d_fake"]), np.median(window["g_gradient"])
    evidence = f"mean D(G(z)) {fake:.3f}; G's gradient norm {gradient:.1e}"
    if fake < FAKE_REJECTED and gradient < GRADIENT_VANISHED:
        return Finding(
            "vanishing",
            "firing",
            f"D rejects every fake and G's gradient has vanished ({evidence}).",
        )
    return Finding("vanishing", "clear", f"G still gets a gradient ({evidence}).")


def oscillation(steps: Curves, quality: Curves) -> Finding:
    """Training that never settles: over the last SWING_WINDOW steps D's smoothed verdicts
    on real images or on fakes swing across more than SWING_LARGE of [0, 1], or over the last
    three quality measurements the digits G draws change by more than SHARES_SWING."""
    window = _last_steps(steps, SWING_WINDOW)
    shares = np.asarray(quality.get("class_shares", [])[-4:])
    if window is None or len(shares) < 4:
        return Finding(
            "oscillation",
            "too early",
            f"Too early to tell: it needs {2 * SWING_WINDOW} steps and 4 quality measurements.",
        )
    verdicts = max(swing_of(window["d_real"]), swing_of(window["d_fake"]))
    drawn = float(np.abs(np.diff(shares, axis=0)).sum(axis=1).mean() / 2)
    evidence = (
        f"D's verdicts swing by {verdicts:.2f} over {SWING_WINDOW} steps; the digits G draws "
        f"change by {drawn:.0%} between measurements"
    )
    if verdicts > SWING_LARGE or drawn > SHARES_SWING:
        return Finding("oscillation", "firing", f"The game does not settle: {evidence}.")
    return Finding("oscillation", "clear", f"{evidence}.")


def swing_of(values: list[float]) -> float:
    """The range of `values` after a moving average over SWING_SMOOTHING points."""
    values = np.asarray(values, float)
    if len(values) < SWING_SMOOTHING:
        return 0.0
    smooth = np.convolve(values, np.ones(SWING_SMOOTHING) / SWING_SMOOTHING, mode="valid")
    return float(smooth.max() - smooth.min())


def _last_steps(steps: Curves, count: int) -> dict[str, np.ndarray] | None:
    """The history's points of the last `count` steps, or None before `2 * count` steps."""
    step = np.asarray(steps.get("step", []))
    if len(step) == 0 or step[-1] < 2 * count:
        return None
    keep = step > step[-1] - count
    return {
        name: np.asarray(values)[keep] for name, values in steps.items() if len(values) == len(step)
    }


FAILURES = {
    "collapse": Failure(
        "Mode collapse",
        collapse,
        Fix(
            "Speed D up to G's pace",
            lambda config: {"lr_d": max(config["lr_g"], 2 * config["lr_d"])},
            "D now learns at least as fast as G, so it notices that G repeats a few digits and "
            "scores them low. G is pushed off them and spreads back over all ten digits.",
        ),
    ),
    "vanishing": Failure(
        "D wins: G's gradient vanished",
        vanishing_gradient,
        Fix(
            "Switch G to the non-saturating loss",
            lambda config: {"g_loss": "non-saturating"},
            "G now minimises -log D(G(z)) instead of log(1 - D(G(z))): the same goal, but its "
            "gradient is largest exactly when D rejects the fakes. So G learns again even "
            "against a D that wins.",
        ),
    ),
    "oscillation": Failure(
        "Training oscillates",
        oscillation,
        Fix(
            "Lower both learning rates 20x",
            lambda config: {"lr_g": config["lr_g"] / 20, "lr_d": config["lr_d"] / 20},
            "Each update now moves the networks twenty times less, so neither overshoots the "
            "other's last move. The game can settle instead of swinging.",
        ),
    ),
}


def diagnose(steps: Curves, quality: Curves) -> list[Finding]:
    """Every detector's finding on a run's step history and quality curves."""
    return [failure.detect(steps, quality) for failure in FAILURES.values()]
