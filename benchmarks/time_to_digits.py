"""Time to digits: sample quality after 10, 20, 30, 60 and 120 s of training, per preset.

Issue 6's target: `python -m gan train --preset fast --max-seconds 30` (the budget counting
TensorFlow's import, data loading and graph tracing) gives >= 80% recognizable samples with
every digit >= 5%. Runs `benchmarks/quality.py`'s measurement for every preset (the fast
preset with several seeds, to show the spread), writes the curve to
`docs/time_to_digits.png`, then measures the same first 30 s in the app on a real server:
time from pressing Train to the first sample grid, and images/s in the app vs the CLI.

    python benchmarks/time_to_digits.py [--presets ...] [--fast-seeds 0,1,2] [--no-app]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_name, describe  # noqa: E402
from benchmarks.quality import Row, parse_list, run_all, table  # noqa: E402
from benchmarks.streamlit_client import Client, Tally, running_server  # noqa: E402
from gan.presets import PRESETS  # noqa: E402

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
    axis.axhline(0.8, color="grey", linestyle="--", linewidth=1)
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
    """Press Train (fast preset, `budget` s) in a real session; time the first grid."""
    client = Client(port, Tally())
    await client.connect()
    await client.run_and_wait("train")
    await asyncio.sleep(10)  # the user reads the form while TensorFlow warms up
    client.set_number("max_seconds", budget)
    pressed = time.monotonic()
    await client.click("Train")
    first_grid, rates = None, []
    while time.monotonic() - pressed < budget + 30:
        await client.tick()
        if first_grid is None and client.image.is_set():
            first_grid = client.image_at - pressed
        rate = client.metrics.get("Images/s", "…").replace(",", "")
        if rate.isdigit() and int(rate) > 0:
            rates.append(int(rate))
        if any("Run finished" in text for text in client.texts):
            break
        client.texts.clear()
    seen = int(client.metrics.get("Images seen", "0").replace(",", ""))
    await client.close()
    return {
        "first_grid_s": first_grid,
        "images_per_s": statistics.median(rates) if rates else 0,
        "images_seen": seen,
        "errors": client.tally.errors,
    }


def app_report(rows: list[Row], port: int) -> None:
    with running_server(port):
        app = asyncio.run(app_first_30_s(port))
    cli = [r for r in rows if r.preset == "fast" and r.budget in (30, 60, 120)]
    print(
        f"app, fast preset, 30 s budget: first grid {app['first_grid_s']:.1f} s after "
        "pressing Train; "
        f"{app['images_seen']:,} images seen; steady speed (median of the Images/s readout) "
        f"{app['images_per_s']:,.0f} images/s; errors: {len(app['errors'])}"
    )
    if cli:
        seen_30 = statistics.mean(r.images for r in cli if r.budget == 30)
        steady = [
            (b.images - a.images) / (b.budget - a.budget)
            for a, b in zip(cli, cli[1:], strict=False)
            if (a.seed, a.budget, b.budget) == (b.seed, 30, 60)
        ]
        print(
            f"CLI, same preset: {seen_30:,.0f} images seen in 30 s; steady speed "
            f"{statistics.mean(steady) if steady else 0:,.0f} images/s (30→60 s)"
        )
        print(f"app / CLI images seen in 30 s: {app['images_seen'] / seen_30:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--fast-seeds", default="0,1,2")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    parser.add_argument("--no-app", action="store_true", help="skip the in-app measurement")
    parser.add_argument("--port", type=int, default=8596)
    args = parser.parse_args()
    presets = parse_list(args.presets, str)
    seeds = {"fast": parse_list(args.fast_seeds, int)}
    rows = run_all(presets, seeds, parse_list(args.budgets))
    print(f"machine: {describe()}")
    print(table(rows))
    if "fast" in presets:
        print(spread(rows, "fast", 30))
    plot(rows, PLOT)
    print(f"curve: {PLOT.relative_to(ROOT)}")
    if not args.no_app:
        app_report(rows, args.port)


if __name__ == "__main__":
    main()
