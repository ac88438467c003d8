"""Sample quality at fixed step counts: does a preset hold up as a run goes on?

Trains `--preset` from scratch once per seed (no epoch limit) and scores the generator the
run would save (`python -m gan evaluate`'s figures, 1,000 samples) when the step count
reaches each of `--steps`: recognizable share, smallest digit share, Fréchet distance and
the least varied digit's within-digit diversity (1 = as varied as real digits). `--set
FIELD=VALUE` (repeatable) changes one of the preset's fields for a lab variant; `--grids
DIR` saves the run's fixed-noise grid (the Train page's) at each step count, to look at;
`--per-digit` prints every digit's within-digit diversity under each row.
Not timed: steps, not seconds, are what it compares.

    python benchmarks/quality_by_step.py [--preset quick-digits] [--seeds 0,1,2]
        [--steps 600,937,1400,1900] [--set principal_components=64] [--grids DIR]
        [--per-digit]

`--plot PNG --from LOG [LOG ...]` draws the curves of the tables printed into the logs (one
line per seed; seeds are often run in separate processes) instead of training.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality import SAMPLES, parse_list  # noqa: E402
from gan.config import RunConfig  # noqa: E402
from gan.control import Control  # noqa: E402
from gan.events import Callback  # noqa: E402
from gan.io import save_png  # noqa: E402
from gan.latent import tile  # noqa: E402
from gan.machine import describe  # noqa: E402
from gan.metrics import Judge  # noqa: E402
from gan.presets import DEFAULT_PRESET, PRESETS  # noqa: E402
from gan.trainer import Trainer  # noqa: E402


class AtSteps(Callback):
    """Prints a table row at each step count; stops the run after the last."""

    def __init__(
        self,
        trainer: Trainer,
        control: Control,
        steps: list[int],
        judge: Judge,
        grids=None,
        per_digit: bool = False,
    ):
        self.trainer, self.control, self.steps, self.judge = trainer, control, steps, judge
        self.grids, self.per_digit = grids, per_digit

    def on_step(self, event) -> None:
        if event.step not in self.steps:
            return
        quality = self.judge.evaluate_generator(self.trainer.output_generator, SAMPLES, seed=0)
        within = quality.smallest_digit_diversity
        print(
            f"| {self.trainer.config.seed} | {event.step:,} | {quality.recognizability:.1%} | "
            f"{quality.smallest_share:.1%} | {quality.frechet_distance:.1f} | "
            f"{'—' if within is None else f'{within:.2f}'} |",
            flush=True,
        )
        if self.per_digit:
            each = ("—" if d is None else f"{d:.2f}" for d in quality.digit_diversity)
            print(f"  variety of digits 0-9: {' '.join(each)}", flush=True)
        if self.grids:
            trainer = self.trainer
            name = f"{trainer.preset.name}-seed{trainer.config.seed}-step{event.step}.png"
            grid = tile(trainer.grid_images(), trainer.preset.grid)
            save_png(grid, Path(self.grids) / name, scale=2)
        if event.step == max(self.steps):
            self.control.stop("all step counts scored")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=DEFAULT_PRESET)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", default="600,937,1400,1900")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--grids", type=Path, help="save the fixed-noise grid here")
    parser.add_argument("--per-digit", action="store_true", help="print each digit's variety")
    parser.add_argument("--plot", type=Path, help="draw the curves of --from's tables here")
    parser.add_argument("--from", dest="logs", nargs="+", type=Path, default=[])
    args = parser.parse_args()
    if args.plot:
        machines = {line for log in args.logs for line in log.read_text().splitlines()}
        machine = ", ".join(sorted(m for m in machines if m.startswith("machine: ")))
        return plot(read_rows(args.logs), args.plot, machine)
    steps = parse_list(args.steps, int)
    preset = lab_variant(args.preset, args.set)
    if args.grids:
        args.grids.mkdir(parents=True, exist_ok=True)
    judge = Judge()
    print(f"machine: {describe()}")
    print(f"{preset.name}, scored at steps {', '.join(map(str, steps))}")
    print(
        "| seed | steps | recognizable | smallest digit share | Fréchet digit distance | "
        "least varied digit |"
    )
    print("|---|---|---|---|---|---|")
    for seed in parse_list(args.seeds, int):
        with tempfile.TemporaryDirectory() as out:
            config = RunConfig.create(preset.name, epochs=1000, seed=seed, out_dir=out)
            trainer = Trainer.create(config)
            control = Control()
            at_steps = AtSteps(trainer, control, steps, judge, args.grids, args.per_digit)
            trainer.run([at_steps], control)


def read_rows(logs: list[Path]) -> list[tuple]:
    """The rows this script printed into `logs`: (seed, steps, recognizable %, Fréchet,
    least varied digit or None)."""
    rows = []
    for log in logs:
        for line in log.read_text().splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) == 6 and cells[0].isdigit():
                seed, steps, recognizable, _, frechet, within = cells
                rows.append(
                    (
                        int(seed),
                        int(steps.replace(",", "")),
                        float(recognizable.rstrip("%")),
                        float(frechet),
                        None if within == "—" else float(within),
                    )
                )
    return rows


def plot(rows: list[tuple], path: Path, machine: str) -> None:
    """Recognizable share, Fréchet distance and the least varied digit against steps, a line
    per seed; `machine` is where the rows were measured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6), dpi=110)
    labels = ("recognizable, %", "Fréchet digit distance", "least varied digit (1 = real)")
    for seed in sorted({row[0] for row in rows}):
        mine = sorted(row for row in rows if row[0] == seed)
        for axis, column in zip(axes, (2, 3, 4), strict=True):
            points = [(row[1], row[column]) for row in mine if row[column] is not None]
            axis.plot(*zip(*points, strict=True), marker="o", markersize=3, label=f"seed {seed}")
    for axis, label in zip(axes, labels, strict=True):
        axis.set(xlabel="steps", title=label)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"Quality by step; {machine}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    print(f"curves: {path}")


def lab_variant(name: str, settings: list[str]):
    """The preset `name`, with each FIELD=VALUE of `settings` changed (a Python literal),
    registered under a name that says so."""
    if not settings:
        return PRESETS[name]
    changes = {}
    for setting in settings:
        field, _, value = setting.partition("=")
        changes[field] = ast.literal_eval(value)
    variant = replace(PRESETS[name], name=f"{name}+{'+'.join(settings)}", **changes)
    PRESETS[variant.name] = variant
    return variant


if __name__ == "__main__":
    main()
