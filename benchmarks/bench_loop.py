"""Cost of the real training loop (events, control, sampling) vs a bare tf.function loop.

Same model, same compiled step, same data, one process; rounds alternate so machine noise
hits both alike. Target: real / bare >= 0.95 images/s.

    python benchmarks/bench_loop.py [--preset fast] [--steps 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402
from gan.config import RunConfig  # noqa: E402
from gan.trainer import BackgroundRun, Callback, Control, Trainer  # noqa: E402


def bare_loop(trainer: Trainer, steps: int) -> float:
    """images/s of a plain loop: iterate the dataset, call the step, fetch the stats."""
    done, start = 0, time.perf_counter()
    while done < steps:
        for images, digits in trainer.dataset:
            trainer.train_step(images, digits).numpy()
            done += 1
            if done == steps:
                break
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = RunConfig.create(args.preset, epochs=10_000, sample_every=1.0)
    trainer = Trainer.create(config)
    bare_loop(trainer, 20)  # trace and warm up
    bare, real = [], []
    for _ in range(args.rounds):
        bare.append(bare_loop(trainer, args.steps))
        real.append(real_loop(trainer, args.steps))
    ratio = statistics.median(real) / statistics.median(bare)
    print(f"machine: {describe()}")
    print(
        f"preset {args.preset}, batch {config.batch_size}, {args.steps} steps x "
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
    print(f"ratio real/bare       : {ratio:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
