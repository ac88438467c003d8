"""Does the training loop stall when an epoch ends? The pause before the first step of
each new epoch, against the median step, over a few runs of the real loop.

Until December 2026 the loop made a new tf.data iterator for every epoch; here the first
step of epoch 2 then came 10-14 s after the last of epoch 1 in 4 of 6 runs (`fast`, seed 1;
the wait was inside the iterator's creation). The loop now draws from one endless stream.

    python benchmarks/epoch_boundary.py [--preset fast] [--runs 3] [--epochs 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan.config import RunConfig  # noqa: E402
from gan.data import load_dataset  # noqa: E402
from gan.events import Callback  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.trainer import Trainer  # noqa: E402


class Gaps(Callback):
    """Seconds between consecutive steps, by the step that ended the gap."""

    def __init__(self) -> None:
        self.last, self.gaps = None, {}

    def on_step(self, event) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.gaps[event.step] = now - self.last
        self.last = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    data = load_dataset("mnist")
    for seed in range(args.runs):
        config = RunConfig.create(args.preset, seed=seed, epochs=args.epochs)
        trainer, gaps = Trainer.create(config, data), Gaps()
        trainer.run([gaps])
        every = trainer.steps_per_epoch
        firsts = [epoch * every + 1 for epoch in range(1, args.epochs)]
        around = {step: gaps.gaps[step] for step in firsts}
        median = statistics.median(v for k, v in gaps.gaps.items() if k > 10)
        words = ", ".join(f"step {k}: {v:.2f} s" for k, v in around.items())
        print(f"seed {seed}: first step of each new epoch {words}; median step {median:.3f} s")


if __name__ == "__main__":
    main()
