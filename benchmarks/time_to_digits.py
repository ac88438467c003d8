"""Time to digits: sample quality after 10, 20, 30, 60 and 120 s of training, per preset.

The target (issue 32): `python -m gan train --max-seconds 30` with the default preset (the
budget counting TensorFlow's import, data loading and graph tracing), then `python -m gan
evaluate` on 1,000 samples: >= 90 % recognizable, every digit >= 7 % and a Fréchet distance
<= 8x its real-vs-real floor, the median of 3 seeds. This script runs exactly those two
commands for the default preset's seeds, then `benchmarks/quality.py`'s measurement for
every preset (one run per preset and seed, scored as the clock passes each budget), writes
the curve to docs/time_to_digits.png, and measures the same first 30 s in the app on a real
server: time from pressing Train to the first grid and to the first step, images seen, and
the saved generator's figures.

    python benchmarks/time_to_digits.py [--presets ...] [--default-seeds 0,1,2]
        [--no-app | --app-only]
        [--plot docs/time_to_digits.png]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import Row, parse_list, run_all, table  # noqa: E402
from deploy.streamlit_client import Client, Tally, running_server  # noqa: E402
from gan.machine import cpu_name, describe  # noqa: E402
from gan.presets import DEFAULT_PRESET, PRESETS  # noqa: E402
from pages.common.runs import RUNS_ROOT  # noqa: E402

BUDGETS = [10, 20, 30, 60, 120]
PLOT = ROOT / "docs" / "time_to_digits.png"


def plot(rows: list[Row], path: Path) -> None:
    """Recognizability against the budget per preset; several seeds show as a band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.2), dpi=110)
    for preset in dict.fromkeys(r.preset for r in rows):
        budgets = sorted({r.budget for r in rows if r.preset == preset})
        by_budget = [
            [r.recognizability for r in rows if (r.preset, r.budget) == (preset, b)]
            for b in budgets
        ]
        means = [statistics.mean(v) for v in by_budget]
        (line,) = axis.plot(budgets, means, marker="o", label=preset)
        if any(len(v) > 1 for v in by_budget):
            axis.fill_between(
                budgets,
                [min(v) for v in by_budget],
                [max(v) for v in by_budget],
                color=line.get_color(),
                alpha=0.2,
            )
    axis.axhline(0.9, color="grey", linestyle="--", linewidth=1)
    axis.axvline(30, color="grey", linestyle=":", linewidth=1)
    axis.set(
        xscale="log",
        xlabel="training budget, s (TF import, loading and tracing included)",
        ylabel="recognizable samples (conf. ≥ 0.9)",
        ylim=(0, 1),
        xticks=BUDGETS,
    )
    axis.set_xticklabels([str(b) for b in BUDGETS])
    axis.legend(fontsize=8)
    axis.set_title(f"Time to digits on {cpu_name()}, {os.cpu_count()} cores")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def spread(rows: list[Row], preset: str, budget: float) -> str:
    values = [r for r in rows if (r.preset, r.budget) == (preset, budget)]
    rec = [r.recognizability for r in values]
    small = [r.smallest_share for r in values]
    return (
        f"{preset} at {budget:g} s over {len(values)} seeds: recognizable "
        f"{min(rec):.1%}–{max(rec):.1%} (mean {statistics.mean(rec):.1%}), smallest digit share "
        f"{min(small):.1%}–{max(small):.1%}"
    )


async def app_first_30_s(port: int, budget: int = 30) -> dict:
    """Press Train (the default preset, `budget` s) in a real session; time the first grid
    (where G starts) and the first step, and score the generator the run saved."""
    client = Client(port, Tally())
    await client.open("train")
    await asyncio.sleep(10)  # the user reads the form while TensorFlow warms up
    client.set_number("max_seconds", budget)
    before = set(RUNS_ROOT.glob("**/generator.keras"))  # runs live in per-session folders
    pressed = time.monotonic()
    await client.click("Train")
    first_grid = first_step = None
    rates = []
    while time.monotonic() - pressed < budget + 30:
        await client.tick()
        if first_grid is None and client.image.is_set():
            first_grid = client.image_at - pressed
        seen = int(client.metrics.get("Images seen", "0").replace(",", ""))
        if first_step is None and seen > 0:
            first_step = time.monotonic() - pressed
        rate = client.metrics.get("Images/s", "…").replace(",", "")
        if rate.isdigit() and int(rate) > 0:
            rates.append(int(rate))
        if any("Run finished" in text for text in client.texts):
            break
        client.texts.clear()
    seen = int(client.metrics.get("Images seen", "0").replace(",", ""))
    await client.close()
    (model,) = set(RUNS_ROOT.glob("**/generator.keras")) - before
    return {
        "first_grid_s": first_grid,
        "first_step_s": first_step,
        "images_per_s": statistics.median(rates) if rates else 0,
        "images_seen": seen,
        "quality": evaluate(model),
        "errors": client.tally.errors,
    }


def evaluate(model: Path) -> dict:
    """`python -m gan evaluate --model MODEL --json` (1,000 samples, no walks): its figures."""
    command = [sys.executable, "-m", "gan", "evaluate", "--model", str(model)]
    result = subprocess.run([*command, "--paths", "0", "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"evaluate failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def cli_30_s(seeds: list[int], budget: int = 30) -> list[dict]:
    """`python -m gan train --max-seconds 30 --seed S` then `evaluate`, as a user would."""
    rows = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "run"
            command = [sys.executable, "-m", "gan", "train", "--max-seconds", str(budget)]
            command += ["--seed", str(seed), "--out", str(out)]
            train = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if train.returncode != 0:
                raise SystemExit(f"train failed: {train.stderr[-2000:]}")
            step = int(train.stdout.split("(step ")[1].split(",")[0])
            rows.append({"seed": seed, "steps": step, **evaluate(out / "generator.keras")})
        row = rows[-1]
        print(
            f"default preset, CLI, {budget} s, seed {seed}: {row['steps']} steps, "
            f"{row['recognizability']:.1%} recognizable, "
            f"smallest digit {row['smallest_share']:.1%}, Fréchet {row['frechet_distance']:.1f}",
            file=sys.stderr,
            flush=True,
        )
    return rows


def cli_report(rows: list[dict], budget: int = 30) -> None:
    print(f"`python -m gan train --max-seconds {budget}` then `python -m gan evaluate`:")
    print("| seed | steps | recognizable | smallest digit share | Fréchet (x floor) |")
    print("|---|---|---|---|---|")
    for row in rows:
        row["times_floor"] = row["frechet_distance"] / row["frechet_floor"]
        print(
            f"| {row['seed']} | {row['steps']:,} | {row['recognizability']:.1%} | "
            f"{row['smallest_share']:.1%} | {row['frechet_distance']:.1f} "
            f"({row['times_floor']:.1f}x) |"
        )
    median = statistics.median(r["recognizability"] for r in rows)
    smallest = statistics.median(r["smallest_share"] for r in rows)
    times_floor = statistics.median(r["times_floor"] for r in rows)
    print(
        f"medians: recognizable {median:.1%} (target >= 90 %), smallest digit share "
        f"{smallest:.1%} (target >= 7 %), Fréchet {times_floor:.1f}x its floor (target <= 8x)"
    )


def app_report(cli: list[dict], port: int) -> None:
    with running_server(port):
        app = asyncio.run(app_first_30_s(port))
    quality = app["quality"]
    print(
        f"app, default preset, 30 s budget: first grid (where G starts) "
        f"{app['first_grid_s']:.1f} s after pressing Train, first step shown after "
        f"{app['first_step_s']:.1f} s; {app['images_seen']:,} images seen; steady speed "
        f"(median of the Images/s readout) {app['images_per_s']:,.0f} images/s; the saved "
        f"generator: {quality['recognizability']:.1%} recognizable, smallest digit "
        f"{quality['smallest_share']:.1%}, Fréchet {quality['frechet_distance']:.1f} "
        f"({quality['frechet_distance'] / quality['frechet_floor']:.1f}x its floor); "
        f"errors: {len(app['errors'])}"
    )
    if cli:
        steps = statistics.median(r["steps"] for r in cli)
        print(f"CLI, same budget: median {steps:,.0f} steps of 64 ({steps * 64:,.0f} images)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--default-seeds", default="0,1,2")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    parser.add_argument("--no-app", action="store_true", help="skip the in-app measurement")
    parser.add_argument("--app-only", action="store_true", help="only the in-app measurement")
    parser.add_argument("--port", type=int, default=8596)
    parser.add_argument("--plot", type=Path, default=PLOT, help="where the curve goes")
    args = parser.parse_args()
    if args.app_only:
        print(f"machine: {describe()}")
        return app_report([], args.port)
    presets = parse_list(args.presets, str)
    default_seeds = parse_list(args.default_seeds, int)
    cli = cli_30_s(default_seeds) if DEFAULT_PRESET in presets else []
    rows = run_all(presets, {DEFAULT_PRESET: default_seeds}, parse_list(args.budgets))
    print(f"machine: {describe()}")
    if cli:
        cli_report(cli)
    print(table(rows))
    if DEFAULT_PRESET in presets:
        print(spread(rows, DEFAULT_PRESET, 30))
    plot(rows, args.plot)
    print(f"curve: {args.plot}")
    if not args.no_app:
        app_report(cli, args.port)


if __name__ == "__main__":
    main()
