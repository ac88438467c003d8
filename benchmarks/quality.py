"""Sample quality after fixed training budgets, for every preset, plus the shipped models.

Each (preset, seed) trains from scratch on the full MNIST training set in a fresh process,
timed like `python -m gan train --max-seconds`: the clock starts before TensorFlow is
imported and counts data loading and graph tracing. When the clock passes a budget, the
generator is scored on 1,000 samples (`gan.metrics`; the clock is paused while scoring), so
one run yields every budget's row. Prints a Markdown table: images seen, images/s,
recognizability, smallest digit share, Fréchet digit distance.

    python benchmarks/quality.py [--presets fast,mlp] [--budgets 30,120] [--seeds 0,1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan.config import RunConfig  # noqa: E402
from gan.control import Control  # noqa: E402
from gan.events import Callback  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.presets import PRESETS  # noqa: E402
from gan.recipe import Preset  # noqa: E402
from gan.trainer import Trainer  # noqa: E402

SAMPLES = 1000
SHIPPED = ("models/generator.keras", "models/conditional_generator.keras")


@dataclass
class Row:
    preset: str
    seed: int
    budget: float
    steps: int
    images: int
    recognizability: float
    smallest_share: float
    frechet_distance: float
    frechet_floor: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.budget


class Scorer(Callback):
    """Scores the generator as the (paused) clock passes each budget; stops after the last."""

    def __init__(self, trainer: Trainer, control: Control, budgets, started: float) -> None:
        self.trainer, self.control = trainer, control
        self.budgets, self.started = sorted(budgets), started
        self.paused = 0.0  # seconds spent scoring, left off the clock
        self.judge, self.rows = None, []

    def on_step(self, event) -> None:
        clock = time.monotonic() - self.started - self.paused
        if not self.budgets or clock < self.budgets[0]:
            return
        pause = time.monotonic()
        from gan.metrics import Judge

        self.judge = self.judge or Judge()
        generator = self.trainer.output_generator  # what the grid shows and the run saves
        quality = self.judge.evaluate_generator(generator, SAMPLES, seed=0)
        config = self.trainer.config
        self.rows.append(
            Row(
                config.preset,
                config.seed,
                self.budgets.pop(0),
                event.step,
                event.step * config.batch_size,
                quality.recognizability,
                quality.smallest_share,
                quality.frechet_distance,
                quality.frechet_floor,
            )
        )
        self.paused += time.monotonic() - pause
        if not self.budgets:
            self.control.stop("all budgets scored")


def measure(
    preset: str, seed: int, budgets: list[float], xla: bool = False, variant: Preset | None = None
) -> list[Row]:
    """Train `preset` (or a `variant` of it) until the last budget, scoring at each one
    (run in a fresh process)."""
    started = time.monotonic()
    settings = (
        {}
        if variant is None
        else {"batch_size": variant.batch_size, "lr_g": variant.lr_g, "lr_d": variant.lr_d}
    )
    config = RunConfig.create(preset, epochs=1000, seed=seed, xla=xla, **settings)
    trainer = Trainer.create(config, preset=variant)
    control = Control()
    scorer = Scorer(trainer, control, budgets, started)
    end = trainer.run([scorer], control, started)
    if end.reason not in ("stopped", "finished"):
        raise SystemExit(f"{preset} seed {seed}: {end.reason}: {end.message}")
    return scorer.rows


def measure_in_subprocess(
    preset: str, seed: int, budgets: list[float], script: str = __file__, extra=()
) -> list[Row]:
    """`measure` in a fresh interpreter, so each run pays TensorFlow's import as the CLI does."""
    command = [sys.executable, script, "--one", preset, str(seed), *extra]
    command += ["--budgets", ",".join(f"{b:g}" for b in budgets)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{preset} seed {seed} failed:\n{result.stderr[-2000:]}")
    return [Row(**row) for row in json.loads(result.stdout.strip().splitlines()[-1])]


def table(rows: list[Row]) -> str:
    lines = [
        "| preset | seed | budget (s) | images seen | images/s | recognizable | "
        "smallest digit share | Fréchet digit distance |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.preset} | {r.seed} | {r.budget:g} | {r.images:,} | {r.images_per_s:,.0f} | "
            f"{r.recognizability:.1%} | {r.smallest_share:.1%} | {r.frechet_distance:.1f} |"
        )
    return "\n".join(lines)


def shipped_models() -> str:
    """The shipped generators' figures (1,000 samples, seed 0)."""
    from gan.io import load_generator
    from gan.metrics import Judge

    judge = Judge()
    lines = [
        "| model | recognizable | smallest digit share | Fréchet digit distance (floor) "
        "| asked digit recognized |",
        "|---|---|---|---|---|",
    ]
    for path in SHIPPED:
        q = judge.evaluate_generator(load_generator(ROOT / path), SAMPLES, seed=0)
        asked = "—" if q.asked_digit_accuracy is None else f"{q.asked_digit_accuracy:.1%}"
        lines.append(
            f"| `{path}` | {q.recognizability:.1%} | {q.smallest_share:.1%} | "
            f"{q.frechet_distance:.1f} ({q.frechet_floor:.2f}) | {asked} |"
        )
    return "\n".join(lines)


def parse_list(text: str, kind=float) -> list:
    return [kind(item) for item in text.split(",") if item]


def run_all(presets: list[str], seeds: dict[str, list[int]], budgets: list[float]) -> list[Row]:
    rows = []
    for preset in presets:
        for seed in seeds.get(preset, [0]):
            found = measure_in_subprocess(preset, seed, budgets)
            print(table(found).splitlines()[-1], flush=True, file=sys.stderr)
            rows += found
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--budgets", default="30,120", help="seconds, comma-separated")
    parser.add_argument("--seeds", default="0", help="comma-separated, for every preset")
    parser.add_argument("--one", nargs=2, metavar=("PRESET", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    budgets = parse_list(args.budgets)
    if args.one:
        rows = measure(args.one[0], int(args.one[1]), budgets)
        print(json.dumps([row.__dict__ for row in rows]))
        return
    presets, seeds = parse_list(args.presets, str), parse_list(args.seeds, int)
    rows = run_all(presets, {p: seeds for p in presets}, budgets)
    print(f"machine: {describe()}")
    print(table(rows))
    print()
    print(shipped_models())


if __name__ == "__main__":
    main()
