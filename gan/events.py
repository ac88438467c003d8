"""What a training run reports: small immutable events, the `Callback` hooks that receive
them, the `Emitter` that calls every callback's hook in turn, and the command line's
`ProgressPrinter`.

Hooks run on the training thread: copy a few values, never render. Numpy-only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from gan.config import RunConfig

STATS = ("g_loss", "d_loss", "d_real", "d_fake", "acc_real", "acc_fake", "g_gradient")
HOOKS = ("on_start", "on_step", "on_samples", "on_epoch", "on_quality", "on_end")


@dataclass(frozen=True)
class StartEvent:
    """The run is prepared: what it trains on and how long it will take."""

    config: RunConfig
    data_source: str
    notice: str | None
    n_images: int
    steps_per_epoch: int
    total_steps: int
    step: int  # > 0 when resuming
    epoch: int


@dataclass(frozen=True)
class StepEvent:
    """One optimisation step; D outputs are mean probabilities on this batch."""

    step: int
    epoch: int
    g_loss: float
    d_loss: float
    d_real: float  # mean D(x)
    d_fake: float  # mean D(G(z))
    acc_real: float  # share of real images D calls real
    acc_fake: float  # share of fakes D calls fake
    g_gradient: float  # the global norm of G's gradient
    images_per_s: float
    elapsed: float  # seconds since the loop started


@dataclass(frozen=True)
class DView:
    """What D says of the progress grid's fakes and of ten real digits (probabilities of
    "real"), and `looks`: where it looks in the grid's first fake, `(28, 28)` in [0, 1]."""

    fake_scores: np.ndarray  # (n,), in the grid's order
    real_images: np.ndarray  # (10, 28, 28, 1) in [0, 1]
    real_scores: np.ndarray  # (10,)
    looks: np.ndarray  # |d D(x) / d x| for the first fake, scaled to its largest value


@dataclass(frozen=True)
class SamplesEvent:
    """The fixed-noise progress grid: `(H, W)` float32 in [0, 1], and what D says of it."""

    step: int
    epoch: int
    grid: np.ndarray
    d_view: DView | None = None


@dataclass(frozen=True)
class EpochEvent:
    """Means of the step statistics over one finished epoch (1-based)."""

    epoch: int
    step: int
    stats: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class QualityEvent:
    """Sample-quality metrics (see gan.metrics) of a fixed set of latents at this step."""

    step: int
    epoch: int
    quality: Any  # gan.metrics.Quality
    seconds: float  # how long computing it took (it runs on the training thread)


@dataclass(frozen=True)
class EndEvent:
    """How the run ended, and why."""

    reason: Literal["finished", "stopped", "diverged", "error"]
    message: str = ""
    step: int = 0
    epoch: int = 0


class Callback:
    """Override the hooks you need. Hooks run on the training thread: copy, never render."""

    def on_start(self, event: StartEvent) -> None: ...

    def on_step(self, event: StepEvent) -> None: ...

    def on_samples(self, event: SamplesEvent) -> None: ...

    def on_epoch(self, event: EpochEvent) -> None: ...

    def on_quality(self, event: QualityEvent) -> None: ...

    def on_end(self, event: EndEvent) -> None: ...


class Relay(Callback):
    """Hands every event to `send(hook, event)`: how a training in another process (a child,
    a Ray actor) reports to the app."""

    def __init__(self, send: Callable[[str, Any], None]) -> None:
        self.send = send

    def on_start(self, event: StartEvent) -> None:
        self.send("on_start", event)

    def on_step(self, event: StepEvent) -> None:
        self.send("on_step", event)

    def on_samples(self, event: SamplesEvent) -> None:
        self.send("on_samples", event)

    def on_epoch(self, event: EpochEvent) -> None:
        self.send("on_epoch", event)

    def on_quality(self, event: QualityEvent) -> None:
        self.send("on_quality", event)

    def on_end(self, event: EndEvent) -> None:
        self.send("on_end", event)


class Emitter:
    """Calls one hook (a name from HOOKS) on every callback, in order."""

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks = list(callbacks)

    def __call__(self, hook: str, event: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(event)


class ProgressPrinter(Callback):
    """tqdm progress bar plus the classic per-epoch loss line."""

    def __init__(self, total_steps: int, done_steps: int, reports_accuracy: bool) -> None:
        from tqdm import tqdm

        self.reports_accuracy = reports_accuracy
        self.bar = tqdm(
            total=total_steps,
            initial=done_steps,
            unit="step",
            dynamic_ncols=True,
            file=sys.stderr,
            mininterval=0.5 if sys.stderr.isatty() else 10.0,  # logs get a line per 10 s
        )

    def on_start(self, event) -> None:
        self.bar.write(f"Data: {event.data_source} ({event.n_images:,} images)")
        if event.notice:
            self.bar.write(f"Notice: {event.notice}")

    def on_step(self, event) -> None:
        self.bar.update(1)
        if event.step % 10 == 0:
            self.bar.set_postfix(
                g=f"{event.g_loss:.3f}", d=f"{event.d_loss:.3f}", img_s=f"{event.images_per_s:,.0f}"
            )

    def on_epoch(self, event) -> None:
        stats = event.stats
        line = f"Epoch {event.epoch}, Gen Loss: {stats['g_loss']:.4f}, "
        line += f"Disc Loss: {stats['d_loss']:.4f}"
        if self.reports_accuracy:
            line += f", Acc Real: {stats['acc_real']:.0%}, Acc Fake: {stats['acc_fake']:.0%}"
        self.bar.write(line)

    def on_end(self, event) -> None:
        self.bar.close()
