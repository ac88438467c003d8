"""Training speed with and without XLA (`--xla`), per preset, measured in one process.

For each preset, two trainers on the same data differ only in `RunConfig.xla`. Each is traced
(and XLA-compiled) first; the compile time is printed. Then rounds alternate between them so
machine noise hits both alike, and the best round of each is compared (timeit's convention).

    python benchmarks/bench_xla.py [--presets dcgan,conv-sigmoid] [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_loop import bare_loop  # noqa: E402
from gan.config import RunConfig  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.presets import PRESETS  # noqa: E402
from gan.trainer import Trainer  # noqa: E402

TRAIN_SIZE = 8192  # step speed does not depend on how many images there are


def warmed_trainer(
    preset: str, xla: bool, batch_size: int | None, data
) -> tuple[Trainer, float, float]:
    """A trainer whose step is traced and compiled, the seconds its first step took, and its
    steps per second over the next three (a first guess for the round length)."""
    config = RunConfig.create(
        preset, epochs=10_000, batch_size=batch_size, train_size=TRAIN_SIZE, xla=xla
    )
    trainer = Trainer.create(config, data)
    start = time.perf_counter()
    bare_loop(trainer, 1)
    first = time.perf_counter() - start
    return trainer, first, bare_loop(trainer, 3) / trainer.config.batch_size


def compare(preset: str, batch_size: int | None, seconds: float, rounds: int, data) -> str:
    """One table row: images/s without and with XLA, their ratio, the compile times."""
    plain, plain_first, steps_per_second = warmed_trainer(preset, False, batch_size, data)
    xla, xla_first, _ = warmed_trainer(preset, True, batch_size, data)
    steps = max(3, int(seconds * steps_per_second))
    plain_rates, xla_rates = [], []
    for _ in range(rounds):
        plain_rates.append(bare_loop(plain, steps))
        xla_rates.append(bare_loop(xla, steps))
    best_plain, best_xla = max(plain_rates), max(xla_rates)
    return (
        f"| {preset} | {plain.config.batch_size} | {steps} | {best_plain:,.0f} | {best_xla:,.0f} | "
        f"**{best_xla / best_plain:.2f}** | {plain_first:.1f} s | {xla_first:.1f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--batch-size", type=int, help="one batch size for all (preset default)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from gan.data import load_dataset

    data = load_dataset("mnist")
    print(f"machine: {describe()}")
    print(f"data: first {TRAIN_SIZE:,} of {data.source}; {args.rounds} rounds per preset")
    print(
        "| preset | batch | steps per round | images/s | images/s with XLA | ratio "
        "| first step | first step with XLA |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for preset in args.presets.split(","):
        print(compare(preset, args.batch_size, args.seconds, args.rounds, data), flush=True)


if __name__ == "__main__":
    main()
