"""Cost of the real training loop (events, control, sampling) vs a bare tf.function loop.

Same model, same compiled step, same data, one process; rounds alternate so machine noise
hits both alike, and the best round of each is compared (as `timeit` does: slow rounds are
the machine's noise, not the code's cost). Target: real / bare >= 0.95 images/s.

    python benchmarks/bench_loop.py [--preset fast] [--set FIELD=VALUE] [--steps 200]
        [--rounds 7]

Also the cost of the time-based checkpoints (a whole checkpoint: the networks, hashes, the
commit and the moves) as a share of training time. Target: <= 2 %.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality_by_step import lab_variant  # noqa: E402
from gan.config import RunConfig  # noqa: E402
from gan.control import Control  # noqa: E402
from gan.events import STATS, Callback  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.runs import BackgroundRun  # noqa: E402
from gan.trainer import Trainer  # noqa: E402


def bare_loop(trainer: Trainer, steps: int) -> float:
    """images/s of a plain loop: take a batch, call the step, fetch the stats."""
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(*next(trainer.batches)).numpy()
    return steps * trainer.config.batch_size / (time.perf_counter() - start)


class StopAfter(Callback):
    """Stops the run once it reaches `last_step` (through Control, as the Stop button does)."""

    def __init__(self, control: Control, last_step: int) -> None:
        self.control, self.last_step = control, last_step

    def on_step(self, event) -> None:
        if event.step >= self.last_step:
            self.control.stop()


def real_loop(trainer: Trainer, steps: int) -> float:
    """images/s of `Trainer.run` with the app's callback, progress sampling every second."""
    control = Control()
    callbacks = [BackgroundRun(trainer.config), StopAfter(control, trainer.state.step + steps)]
    start = time.perf_counter()
    end = trainer.run(callbacks, control)
    elapsed = time.perf_counter() - start
    assert end.reason == "stopped", end
    return steps * trainer.config.batch_size / elapsed


def overhead_per_step(trainer: Trainer, steps: int = 2000) -> tuple[float, float]:
    """Seconds per step of each loop with a trivial step: the machinery alone, not the math."""
    import tensorflow as tf

    real_step = trainer.train_step
    trivial = tf.zeros(len(STATS))  # one value per statistic, as the real step returns
    trainer.train_step = tf.function(lambda images, digits: tf.reduce_mean(images) + trivial)
    bare_loop(trainer, 50)
    bare = min(bare_loop(trainer, steps) for _ in range(3))
    real = min(real_loop(trainer, steps) for _ in range(3))
    trainer.train_step = real_step
    batch = trainer.config.batch_size
    return batch / bare, batch / real


def checkpoint_seconds(config: RunConfig, data, saves: int = 5) -> float:
    """Median seconds of one whole checkpoint of this preset's networks."""
    with tempfile.TemporaryDirectory() as folder:
        values = {**config.to_dict(), "out_dir": folder}
        trainer = Trainer.create(RunConfig.from_dict(values), data)
        times = []
        for step in range(1, saves + 1):
            trainer.state.step = step  # a new step each time: nothing is skipped as saved
            started = time.perf_counter()
            trainer.checkpoints.save()
            times.append(time.perf_counter() - started)
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--quality-every",
        type=float,
        default=8.0,
        help="the Train page's live-metrics interval, seconds",
    )
    args = parser.parse_args()
    preset = lab_variant(args.preset, args.set)  # a lab variant's cost, e.g. a wider D
    config = RunConfig.create(preset.name, epochs=10_000, sample_every=1.0)
    trainer = Trainer.create(config)
    bare_loop(trainer, 20)  # trace and warm up
    bare, real = [], []
    for _ in range(args.rounds):
        bare.append(bare_loop(trainer, args.steps))
        real.append(real_loop(trainer, args.steps))
    bare_overhead, real_overhead = overhead_per_step(trainer)
    trainer.measure_quality(0)  # load the classifier, trace
    quality_seconds = statistics.median(trainer.measure_quality(0).seconds for _ in range(5))
    step_seconds = config.batch_size / max(bare)
    best_ratio = max(real) / max(bare)
    median_ratio = statistics.median(real) / statistics.median(bare)
    print(f"machine: {describe()}")
    print(
        f"preset {preset.name}, batch {config.batch_size}, {args.steps} steps x "
        f"{args.rounds} rounds, data: {trainer.data.source}"
    )
    print(
        f"bare tf.function loop : {statistics.median(bare):8.0f} images/s "
        f"(rounds: {', '.join(f'{v:.0f}' for v in bare)})"
    )
    print(
        f"real loop + callbacks : {statistics.median(real):8.0f} images/s "
        f"(rounds: {', '.join(f'{v:.0f}' for v in real)})"
    )
    print(
        f"ratio real/bare, best rounds (timeit's convention on a noisy machine): "
        f"{best_ratio:.3f} (target >= 0.95)"
    )
    print(f"ratio real/bare, medians: {median_ratio:.3f}")
    extra = real_overhead - bare_overhead
    print(
        f"loop machinery with a trivial step: bare {bare_overhead * 1e6:.0f} us/step, real "
        f"{real_overhead * 1e6:.0f} us/step; the extra {extra * 1e6:.0f} us is "
        f"{extra / step_seconds:.1%} of a {step_seconds * 1e3:.1f} ms training step, "
        f"i.e. a ratio of {step_seconds / (step_seconds + extra):.3f} without machine noise"
    )
    saving = checkpoint_seconds(config, trainer.data)
    every = config.checkpoint_every
    print(
        f"checkpoints: {saving * 1e3:.0f} ms each (generator, discriminator, average, run.json, "
        f"hashes, commit, moves); every {every:g} s that is "
        f"{saving / (every + saving):.1%} of training time (target <= 2%)"
    )
    share = quality_seconds / (args.quality_every + quality_seconds)
    print(
        f"live quality metrics: {quality_seconds * 1e3:.0f} ms per measurement on the training "
        f"thread; every {args.quality_every:g} s that is {share:.1%} of training time "
        "(target <= 5%)"
    )


if __name__ == "__main__":
    main()
